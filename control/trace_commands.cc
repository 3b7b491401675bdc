// `trace add`, `show trace`, `clear trace` (dataplane/trace.h): the workers record, the
// control thread formats.
#include <netinet/in.h>
#include <rte_cycles.h>
#include <rte_ether.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/absl_view.h"
#include "control/commands.h"
#include "control/json.h"
#include "dataplane/proto/address.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/geneve.h"
#include "dataplane/proto/gre.h"
#include "dataplane/proto/ip.h"
#include "dataplane/proto/udp.h"
#include "dataplane/proto/vxlan.h"

namespace tundra {
namespace {

std::string MacText(const uint8_t* p) {
  MacAddress mac;
  std::copy_n(p, mac.bytes.size(), mac.bytes.begin());
  return mac.ToString();
}

// A one-line summary of the headers in `b` (display only, what tcpdump -e shows first),
// read through the wire structs of dataplane/proto: an Ethernet frame, or with `ip` an
// IP packet; one tunnel level deep. Stops where the bytes end.
std::string Summary(const uint8_t* b, size_t len, bool ip = false, int depth = 0) {
  std::string s;
  size_t off = 0;
  uint16_t type;
  if (!ip) {
    if (len < kEtherHdrLen) return "(short frame)";
    const auto* eth = reinterpret_cast<const EtherHdr*>(b);
    absl::StrAppend(&s, MacText(eth->src), " > ", MacText(eth->dst));
    type = eth->ether_type.host();
    off = kEtherHdrLen;
    while ((type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) &&
           off + kVlanHdrLen <= len) {
      // The tag starts with the TPID just read as the type; the next type follows it.
      const auto* tag = reinterpret_cast<const VlanTag*>(b + off - sizeof(Be16));
      absl::StrAppend(&s, " vlan ", tag->tci.host() & kVlanIdMask);
      type = reinterpret_cast<const Be16*>(b + off + sizeof(Be16))->host();
      off += kVlanHdrLen;
    }
  } else {
    type = len > 0 && (b[0] >> 4) == 6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4;
  }
  const char* sep = s.empty() ? "" : " ";
  uint8_t proto;
  if (type == RTE_ETHER_TYPE_IPV4 && off + kIpv4HdrLen <= len) {
    const auto* h = reinterpret_cast<const Ipv4Hdr*>(b + off);
    absl::StrAppend(&s, sep, "ipv4 ", IpAddress::FromV4Bytes(h->src).ToString(), " > ",
                    IpAddress::FromV4Bytes(h->dst).ToString(), " ttl ", h->ttl);
    proto = h->protocol;
    off += h->header_len();
  } else if (type == RTE_ETHER_TYPE_IPV6 && off + kIpv6HdrLen <= len) {
    const auto* h = reinterpret_cast<const Ipv6Hdr*>(b + off);
    absl::StrAppend(&s, sep, "ipv6 ", IpAddress::FromV6Bytes(h->src).ToString(), " > ",
                    IpAddress::FromV6Bytes(h->dst).ToString(), " hlim ", h->hop_limit);
    proto = h->next_header;
    off += kIpv6HdrLen;
  } else if (type == RTE_ETHER_TYPE_ARP) {
    return absl::StrCat(s, " arp");
  } else {
    return absl::StrFormat("%s type 0x%04x", s, type);
  }
  auto inner = [&](size_t at, bool inner_ip) {
    if (depth == 0 && at < len) absl::StrAppend(&s, " | ", Summary(b + at, len - at, inner_ip, 1));
  };
  if (proto == IPPROTO_UDP && off + kUdpHdrLen <= len) {
    const auto* udp = reinterpret_cast<const UdpHdr*>(b + off);
    const uint16_t dport = udp->dst_port.host();
    absl::StrAppend(&s, " udp ", udp->src_port.host(), " > ", dport);
    off += kUdpHdrLen;
    if (dport == kVxlanDefaultPort && off + kVxlanHdrLen <= len) {
      absl::StrAppend(&s, " vxlan vni ", reinterpret_cast<const VxlanHdr*>(b + off)->vni());
      inner(off + kVxlanHdrLen, false);
    } else if (dport == kGeneveDefaultPort && off + sizeof(GeneveHdr) <= len) {
      const auto* g = reinterpret_cast<const GeneveHdr*>(b + off);
      absl::StrAppend(&s, " geneve vni ", g->vni());
      inner(off + sizeof(GeneveHdr) + g->options_len(), false);
    }
  } else if (proto == IPPROTO_GRE && off + kGreHdrLen <= len) {
    const auto* gre = reinterpret_cast<const GreHdr*>(b + off);
    const uint16_t flags = gre->flags_version.host();
    size_t at = off + kGreHdrLen + ((flags & GreHdr::kChecksum) ? kGreOptionLen : 0);
    absl::StrAppend(&s, " gre");
    for (const auto& [bit, name] :
         {std::pair{GreHdr::kKey, " key "}, std::pair{GreHdr::kSequence, " seq "}}) {
      if ((flags & bit) == 0 || at + kGreOptionLen > len) continue;
      absl::StrAppend(&s, name, reinterpret_cast<const Be32*>(b + at)->host());
      at += kGreOptionLen;
    }
    inner(at, gre->protocol.host() != RTE_ETHER_TYPE_TEB);
  } else if (proto == IPPROTO_TCP && off + 4 <= len) {
    const auto* ports = reinterpret_cast<const Be16*>(b + off);
    absl::StrAppend(&s, " tcp ", ports[0].host(), " > ", ports[1].host());
  } else if ((proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) && off + 2 <= len) {
    absl::StrAppend(&s, proto == IPPROTO_ICMP ? " icmp" : " icmp6", " type ", b[off], " code ",
                    b[off + 1]);
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
