// `trace add`, `show trace`, `clear trace` (dataplane/trace.h): the workers record, the
// control thread formats.
#include <rte_cycles.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/absl_view.h"
#include "control/commands.h"
#include "control/json.h"

namespace tundra {
namespace {

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

std::string Mac(const uint8_t* p) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

// A one-line summary of the headers in `b` (display only: what tcpdump -e would show
// first), an Ethernet frame or, with `ip`, an IP packet. Stops where the bytes end.
std::string Summary(const uint8_t* b, size_t len, bool ip = false, int depth = 0) {
  std::string s;
  size_t off = 0;
  uint16_t type = 0;
  if (!ip) {
    if (len < 14) return "(short frame)";
    absl::StrAppend(&s, Mac(b + 6), " > ", Mac(b));
    type = Be16(b + 12);
    off = 14;
    while ((type == 0x8100 || type == 0x88a8) && off + 4 <= len) {
      absl::StrAppend(&s, " vlan ", Be16(b + off) & 0xfff);
      type = Be16(b + off + 2);
      off += 4;
    }
  } else {
    type = len > 0 && (b[0] >> 4) == 6 ? 0x86dd : 0x0800;
  }
  uint8_t proto = 0;
  if (type == 0x0800 && off + 20 <= len) {
    const uint8_t* h = b + off;
    absl::StrAppendFormat(&s, "%sipv4 %u.%u.%u.%u > %u.%u.%u.%u ttl %u", s.empty() ? "" : " ",
                          h[12], h[13], h[14], h[15], h[16], h[17], h[18], h[19], h[8]);
    proto = h[9];
    off += (h[0] & 0xf) * 4u;
  } else if (type == 0x86dd && off + 40 <= len) {
    const uint8_t* h = b + off;
    auto v6 = [](const uint8_t* a) {
      std::string t;
      for (int i = 0; i < 16; i += 2) absl::StrAppendFormat(&t, "%s%x", i ? ":" : "", Be16(a + i));
      return t;
    };
    absl::StrAppendFormat(&s, "%sipv6 %s > %s hlim %u", s.empty() ? "" : " ", v6(h + 8), v6(h + 24),
                          h[7]);
    proto = h[6];
    off += 40;
  } else if (type == 0x0806) {
    return absl::StrCat(s, " arp");
  } else {
    return absl::StrFormat("%s type 0x%04x", s, type);
  }
  if (proto == 17 && off + 8 <= len) {
    const uint16_t dport = Be16(b + off + 2);
    absl::StrAppend(&s, " udp ", Be16(b + off), " > ", dport);
    off += 8;
    if ((dport == 4789 || dport == 6081) && off + 8 <= len) {
      const size_t hdr = dport == 4789 ? 8 : 8 + (b[off] & 0x3f) * 4u;
      absl::StrAppend(&s, dport == 4789 ? " vxlan" : " geneve", " vni ", Be32(b + off + 4) >> 8);
      if (depth == 0 && off + hdr < len) {
        absl::StrAppend(&s, " | ", Summary(b + off + hdr, len - off - hdr, false, 1));
      }
    }
  } else if (proto == 47 && off + 4 <= len) {
    const uint16_t flags = Be16(b + off);
    const uint16_t ptype = Be16(b + off + 2);
    size_t hdr = 4;
    absl::StrAppend(&s, " gre");
    if (flags & 0x8000) hdr += 4;  // checksum
    if ((flags & 0x2000) && off + hdr + 4 <= len) {
      absl::StrAppend(&s, " key ", Be32(b + off + hdr));
      hdr += 4;
    }
    if ((flags & 0x1000) && off + hdr + 4 <= len) {
      absl::StrAppend(&s, " seq ", Be32(b + off + hdr));
      hdr += 4;
    }
    if (depth == 0 && off + hdr < len) {
      absl::StrAppend(&s, " | ",
                      ptype == 0x6558 ? Summary(b + off + hdr, len - off - hdr, false, 1)
                                      : Summary(b + off + hdr, len - off - hdr, true, 1));
    }
  } else if (proto == 6 && off + 4 <= len) {
    absl::StrAppend(&s, " tcp ", Be16(b + off), " > ", Be16(b + off + 2));
  } else if ((proto == 1 || proto == 58) && off + 2 <= len) {
    absl::StrAppend(&s, proto == 1 ? " icmp" : " icmp6", " type ", b[off], " code ", b[off + 1]);
  } else {
    absl::StrAppend(&s, " proto ", proto);
  }
  return s;
}

const char* PathName(TracePath p) {
  switch (p) {
    case TracePath::kDecap:
      return "decap";
    case TracePath::kEncap:
      return "encap";
    case TracePath::kRoute:
      return "route";
    case TracePath::kNone:
      break;
  }
  return "none";
}

const char* Verdict(const TraceRecord& r) {
  if (r.drop != DropReason::kNone) return "dropped";
  if (r.punted) return "punted";
  return r.outputs > 0 ? "sent" : "consumed";
}

// The stages the packet went through, up to the one that dropped it.
std::string Stages(const TraceRecord& r) {
  std::vector<std::string_view> stages;
  switch (r.path) {
    case TracePath::kDecap:
      stages = {"parse", "classify", "check", "deliver"};
      break;
    case TracePath::kEncap:
      stages = {"parse", "classify", "encap"};
      break;
    case TracePath::kRoute:
      stages = {"parse", "classify", "check", "encap"};
      break;
    case TracePath::kNone:
      stages = {"classify"};
      break;
  }
  if (r.segment != 0)
    stages.insert(stages.end() - (r.path == TracePath::kDecap ? 0 : 1), "segment");
  std::string out;
  for (std::string_view stage : stages) {
    absl::StrAppend(&out, out.empty() ? "" : " > ", AsAbsl(stage));
    if (r.drop != DropReason::kNone && stage == DropStage(r.drop)) {
      return absl::StrCat(out, " (drop)");
    }
  }
  if (r.drop != DropReason::kNone) return absl::StrCat(out, " > ", DropStage(r.drop), " (drop)");
  return r.outputs > 0 ? absl::StrCat(out, " > tx") : out;
}

std::string TunnelName(const App& app, uint32_t id) {
  if (id == kNoTunnel) return "";
  for (const auto& [name, rec] : app.writer().tunnels()) {
    if (rec.id == id) return name;
  }
  for (const auto& [name, seg] : app.writer().segments()) {
    if (seg.anchor == id) return absl::StrCat(name, " (segment)");
    for (const SegmentRemoteRecord& r : seg.remotes) {
      if (r.id == id) return absl::StrCat(name, " remote ", r.ip.ToString());
    }
  }
  return absl::StrCat("id ", id);
}

std::string SegmentName(const App& app, uint32_t id) {
  for (const auto& [name, seg] : app.writer().segments()) {
    if (seg.id == id) return name;
  }
  return id == 0 ? "" : absl::StrCat("id ", id);
}

std::string ShowTrace(const App& app, bool json) {
  JsonWriter j;
  std::string text;
  j.BeginObject().BeginArray("trace");
  const double hz = static_cast<double>(rte_get_tsc_hz());
  for (size_t w = 0; w < app.traces().size(); ++w) {
    const TraceBuffer* t = app.traces()[w].get();
    if (t == nullptr) continue;
    const uint32_t count = t->count.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < count; ++i) {
      const TraceRecord& r = t->records[i];
      const std::string tunnel = TunnelName(app, r.tunnel);
      const std::string segment = SegmentName(app, r.segment);
      const std::string in = Summary(r.in.bytes, r.in.copied);
      const bool dropped = r.drop != DropReason::kNone;
      if (json) {
        j.BeginObject()
            .Field("worker", static_cast<uint64_t>(w))
            .Field("seq", r.seq)
            .Field("time", static_cast<double>(r.tsc) / hz)
            .Field("port", r.in.port)
            .Field("queue", r.in.queue)
            .Field("length", r.in.length)
            .Field("path", PathName(r.path))
            .Field("stages", Stages(r))
            .Field("input", in)
            .Field("tunnel", tunnel)
            .Field("tunnel_id", r.tunnel)
            .Field("segment", segment)
            .Field("verdict", Verdict(r))
            .Field("drop_reason", dropped ? DropReasonName(r.drop) : "")
            .Field("drop_stage", dropped ? DropStage(r.drop) : "")
            .Field("outputs", r.outputs)
            .BeginArray("sent");
        for (uint16_t k = 0; k < r.shown; ++k) {
          j.BeginObject()
              .Field("port", r.out[k].port)
              .Field("queue", r.out[k].queue)
              .Field("length", r.out[k].length)
              .Field("output", Summary(r.out[k].bytes, r.out[k].copied))
              .EndObject();
        }
        j.EndArray().EndObject();
        continue;
      }
      absl::StrAppendFormat(&text, "worker %u packet %u: port %u queue %u, %u bytes, %s\n", w,
                            r.seq, r.in.port, r.in.queue, r.in.length, PathName(r.path));
      absl::StrAppendFormat(&text, "  in:   %s\n", in);
      absl::StrAppendFormat(&text, "  path: %s\n", Stages(r));
      if (!tunnel.empty() || !segment.empty()) {
        absl::StrAppendFormat(&text, "  via:  %s%s%s\n", tunnel.empty() ? "" : "tunnel ", tunnel,
                              segment.empty() ? "" : absl::StrCat(" segment ", segment));
      }
      if (dropped) {
        absl::StrAppendFormat(&text, "  drop: %s, at %s\n", DropReasonName(r.drop),
                              DropStage(r.drop));
      } else if (r.punted) {
        text += "  punt: to the control thread\n";
      } else if (r.outputs == 0) {
        text += "  consumed: nothing sent\n";
      }
      for (uint16_t k = 0; k < r.shown; ++k) {
        absl::StrAppendFormat(&text, "  out:  port %u queue %u, %u bytes: %s\n", r.out[k].port,
                              r.out[k].queue, r.out[k].length,
                              Summary(r.out[k].bytes, r.out[k].copied));
      }
      if (r.outputs > r.shown) {
        absl::StrAppendFormat(&text, "  ... %u copies in all\n", r.outputs);
      }
    }
  }
  j.EndArray().EndObject();
  if (!json && text.empty()) text = "no packets traced\n";
  return json ? j.Finish() : text;
}

}  // namespace

absl::Status RegisterTraceCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {"trace add <count:1..10000> [port <port:port>]",
       "Each worker records the next <count> packets it receives (on <port> only, if "
       "given): headers, path, tunnel or segment, drop reason and stage, or each copy "
       "sent. Adds to what is recorded; 'show trace' prints it.",
       [&app](const cli::Args& a, std::string&) {
         return app.AddTrace(static_cast<uint32_t>(a.Number("count")),
                             a.Has("port") ? static_cast<int32_t>(a.Number("port")) : -1);
       }},
      {"show trace [json]", "The packets the trace recorded, per worker, in order.",
       [&app](const cli::Args& a, std::string& out) {
         out += ShowTrace(app, a.Has("json"));
         return absl::OkStatus();
       }},
      {"clear trace", "Stop tracing and forget what it recorded.",
       [&app](const cli::Args&, std::string&) {
         app.ClearTrace();
         return absl::OkStatus();
       }},
  });
}

}  // namespace tundra
