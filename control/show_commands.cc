// `show ...`, `clear stats` and `help`. Every show prints a human table, or with a
// trailing `json` one JSON object on one line (the form tests and scripts read).
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/absl_view.h"
#include "control/commands.h"
#include "control/json.h"
#include "control/stats_writers.h"
#include "dataplane/header_template.h"

namespace tundra {

namespace {

// The ports `which` names: "all" or one port id.
absl::StatusOr<std::vector<uint16_t>> SelectPorts(const App& app, const cli::Args& a) {
  std::vector<uint16_t> ports;
  if (a.IsNumber("which")) {
    const uint64_t p = a.Number("which");
    if (absl::Status s = app.writer().CheckPort(static_cast<uint16_t>(p)); !s.ok() || p > 0xFFFF) {
      return absl::NotFoundError(absl::StrFormat("port %s does not exist", a.Word("which")));
    }
    ports.push_back(static_cast<uint16_t>(p));
  } else {
    for (uint16_t p = 0; p < app.nb_ports(); ++p) ports.push_back(p);
  }
  return ports;
}

std::string ShowPortStats(const App& app, const std::vector<uint16_t>& ports, bool json) {
  JsonWriter j;
  std::string text;
  j.BeginObject().BeginArray("ports");
  for (uint16_t p : ports) {
    if (json) {
      WritePortStats(j, app, p);
      continue;
    }
    const PortTotals t = app.stats().Port(p);
    rte_eth_stats hw = {};
    const bool have_hw = app.port_runtime(p).started && rte_eth_stats_get(p, &hw) == 0;
    const char* role = PortRoleName(app.writer().port(p).role);
    absl::StrAppendFormat(&text, "port %u (%s, %s)\n", p, app.port_runtime(p).caps.name, role);
#define X(member, name, format, meaning) absl::StrAppendFormat(&text, format, t.member);
#define DROPS_TEXT(format) absl::StrAppendFormat(&text, format, t.total_drops());
#include "dataplane/port_counters.def"
#undef DROPS_TEXT
#undef X
    for (int r = 0; r < kNumDropReasons; ++r) {
      if (t.drops[r] != 0) {
        absl::StrAppendFormat(&text, "    %-18s %u\n", DropReasonName(static_cast<DropReason>(r)),
                              t.drops[r]);
      }
    }
    if (have_hw) {
      absl::StrAppendFormat(&text,
                            "  ethdev: ipackets %u opackets %u imissed %u ierrors %u oerrors %u "
                            "rx_nombuf %u\n",
                            hw.ipackets, hw.opackets, hw.imissed, hw.ierrors, hw.oerrors,
                            hw.rx_nombuf);
    }
  }
  j.EndArray().EndObject();
  return json ? j.Finish() : text;
}

std::string ShowPortInfo(const App& app, const std::vector<uint16_t>& ports, bool json) {
  JsonWriter j;
  std::string text;
  j.BeginObject().BeginArray("ports");
  for (uint16_t p : ports) {
    const PortConfig& pc = app.writer().port(p);
    const PortRuntime& rt = app.port_runtime(p);
    const std::string v4 = pc.v4 ? pc.v4->ToString() : "";
    const std::string v6 = pc.v6 ? pc.v6->ToString() : "";
    if (json) {
      j.BeginObject()
          .Field("port", p)
          .Field("name", rt.caps.name)
          .Field("driver", rt.caps.driver)
          .Field("role", PortRoleName(pc.role))
          .Field("mac", pc.mac.ToString())
          .Field("ipv4", v4)
          .Field("ipv6", v6)
          .Field("mtu", pc.mtu)
          .Field("started", rt.started)
          .Field("rx_queues", rt.state.rx_queues)
          .Field("tx_queues", rt.state.tx_queues)
          .Field("rss", rt.state.rss)
          .Field("tx_ipv4_cksum_offload", pc.tx_ip_checksum_offload)
          .Field("tx_udp_cksum_offload", pc.tx_udp_checksum_offload);
      // The multi-worker layout (drivers/queue_layout.h); empty before the first start.
      j.BeginArray("rss_fields");
      if (rt.state.rss) {
        for (const std::string& f : drivers::RssFieldNames(rt.state.rss_hf)) j.Field("", f);
      }
      j.EndArray().BeginArray("rx_workers");
      for (uint16_t w : rt.layout.rx_worker) j.Field("", w);
      j.EndArray().BeginArray("tx_workers");
      for (const std::vector<uint16_t>& users : rt.layout.tx_users) {
        j.BeginArray();
        for (uint16_t w : users) j.Field("", w);
        j.EndArray();
      }
      j.EndArray().Field("tx_shared", rt.layout.AnyTxQueueShared()).EndObject();
      continue;
    }
    absl::StrAppendFormat(&text,
                          "port %u: %s (driver %s) role %s mac %s mtu %u\n"
                          "  addresses: %s %s\n"
                          "  queues: rx %u tx %u (max %u/%u) rss %s; tx checksum offload: ip %s "
                          "udp %s\n",
                          p, rt.caps.name, rt.caps.driver, PortRoleName(pc.role), pc.mac.ToString(),
                          pc.mtu, v4.empty() ? "-" : v4, v6, rt.state.rx_queues, rt.state.tx_queues,
                          rt.caps.max_rx_queues, rt.caps.max_tx_queues, rt.state.rss ? "on" : "off",
                          pc.tx_ip_checksum_offload ? "on" : "off",
                          pc.tx_udp_checksum_offload ? "on" : "off");
    if (rt.started) {
      const std::string rss =
          rt.state.rss ? absl::StrJoin(drivers::RssFieldNames(rt.state.rss_hf), ",") : "";
      absl::StrAppendFormat(&text, "  rx layout: %s (%s)\n  tx layout: %s\n",
                            drivers::DescribeRxLayout(rt.layout),
                            rss.empty() ? "no rss" : absl::StrCat("rss on ", rss),
                            drivers::DescribeTxLayout(rt.layout));
    }
  }
  j.EndArray().EndObject();
  return json ? j.Finish() : text;
}

std::string ShowFwdStats(const App& app, bool json) {
  JsonWriter j;
  std::string text;
  j.BeginObject().BeginArray("workers");
  uint64_t all_packets = 0, all_cycles = 0;
  for (size_t w = 0; w < app.stats().nb_workers(); ++w) {
    const WorkerTotals t = app.stats().Worker(w);
    const double cpp = t.packets ? static_cast<double>(t.busy_cycles) / t.packets : 0.0;
    all_packets += t.packets;
    all_cycles += t.busy_cycles;
    if (json) {
      WriteWorkerStats(j, app, w);
    } else {
      absl::StrAppendFormat(&text, "worker %u (lcore %u):", w, app.worker_lcores()[w]);
#define X(member, name, format, meaning) absl::StrAppendFormat(&text, format, t.member);
#include "dataplane/worker_counters.def"
#undef X
      absl::StrAppendFormat(&text, ", %.2f cycles/packet\n", cpp);
    }
  }
  j.EndArray();
  const double tsc_hz = static_cast<double>(rte_get_tsc_hz());
  j.Field("tsc_hz", static_cast<uint64_t>(tsc_hz)).EndObject();
  if (!json) {
    absl::StrAppendFormat(
        &text, "total: %u packets, %.2f cycles/packet (TSC %.0f MHz)\n", all_packets,
        all_packets ? static_cast<double>(all_cycles) / all_packets : 0.0, tsc_hz / 1e6);
  }
  return json ? j.Finish() : text;
}

std::string ShowMempool(const App& app, bool json) {
  JsonWriter j;
  std::string text;
  j.BeginObject().BeginArray("mempools");
  for (rte_mempool* pool : app.pools()) {
    const uint64_t in_use = rte_mempool_in_use_count(pool);
    const uint64_t avail = rte_mempool_avail_count(pool);
    if (json) {
      j.BeginObject()
          .Field("name", pool->name)
          .Field("size", uint64_t{pool->size})
          .Field("in_use", in_use)
          .Field("free", avail)
          .EndObject();
    } else {
      absl::StrAppendFormat(&text, "mempool %s: size %u in use %u free %u\n", pool->name,
                            pool->size, in_use, avail);
    }
  }
  j.EndArray().EndObject();
  if (!json && app.pools().empty()) text = "no mempools yet (created at start)\n";
  return json ? j.Finish() : text;
}

std::string ShowTunnels(const App& app, const cli::Args& a, bool stats, bool json) {
  JsonWriter j;
  std::string text;
  j.BeginObject().BeginArray("tunnels");
  const std::string_view only = a.Has("name") ? a.Word("name") : std::string_view();
  for (const auto& [name, rec] : app.writer().tunnels()) {
    if (!only.empty() && name != only) continue;
    const TunnelSpec& s = rec.spec;
    if (json) {
      WriteTunnel(j, app, name, rec);
      continue;
    }
    const TunnelFacts f = FactsOf(app, rec);
    const TunnelTotals& t = f.totals;
    const std::string ident = IsUdpTunnel(s.type)
                                  ? absl::StrCat("vni ", s.vni, " dstport ", TunnelUdpPort(s))
                                  : absl::StrCat(s.has_key ? absl::StrCat("key ", s.key) : "no key",
                                                 s.seq ? " seq" : "", s.csum ? " csum" : "");
    absl::StrAppendFormat(
        &text,
        "tunnel %s (id %u): %s local %s remote %s %s\n"
        "  uplink port %u, neighbor %s, xconnect %s, overhead %u bytes, inner "
        "MTU %d\n",
        name, rec.id, TunnelTypeName(s.type), s.local.ToString(), s.remote.ToString(), ident,
        rec.uplink, f.resolved ? "resolved" : "UNRESOLVED", f.attachment, f.overhead, f.inner_mtu);
    if (stats) {
#define X(member, name, format, meaning) absl::StrAppendFormat(&text, format, t.member);
#define DROPS_TEXT(format) absl::StrAppendFormat(&text, format, t.total_drops());
#include "dataplane/tunnel_counters.def"
#undef DROPS_TEXT
#undef X
#define X(r)                                                                  \
  if (uint64_t d = t.drops[TunnelDropSlot(DropReason::r)]; d != 0) {          \
    absl::StrAppendFormat(&text, " %s=%u", DropReasonName(DropReason::r), d); \
  }
      TUNDRA_TUNNEL_DROPS(X)
#undef X
      text += "\n";
    }
  }
  j.EndArray().EndObject();
  if (!only.empty() && !app.writer().tunnels().contains(only)) {
    return "";
  }
  return json ? j.Finish() : text;
}

// A handler for `show port ... <which> [json]`: `show` prints the ports `which` selects.
cli::Handler ForPorts(const App& app,
                      std::string (*show)(const App&, const std::vector<uint16_t>&, bool)) {
  return [&app, show](const cli::Args& a, std::string& out) -> absl::Status {
    absl::StatusOr<std::vector<uint16_t>> ports = SelectPorts(app, a);
    if (!ports.ok()) return ports.status();
    out += show(app, *ports, a.Has("json"));
    return absl::OkStatus();
  };
}

}  // namespace

absl::Status RegisterShowCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {"show port stats <which:all|port> [json]",
       "Per-port packets, bytes and drops by reason (summed over workers), and ethdev counters.",
       ForPorts(app, ShowPortStats)},
      {"show port info <which:all|port> [json]",
       "Port roles, addresses, queues and offload capabilities.", ForPorts(app, ShowPortInfo)},
      {"show fwd stats [json]",
       "Per worker: packets, busy TSC cycles and cycles per packet (as testpmd's "
       "--record-core-cycles).",
       [&app](const cli::Args& a, std::string& out) {
         out += ShowFwdStats(app, a.Has("json"));
         return absl::OkStatus();
       }},
      {"show mempool [json]", "mbufs in use and free per pool (leak checks).",
       [&app](const cli::Args& a, std::string& out) {
         out += ShowMempool(app, a.Has("json"));
         return absl::OkStatus();
       }},
      {"show tunnel [stats] [<name:name>] [json]",
       "Tunnels with their overhead and inner MTU; with 'stats', packets, bytes and "
       "drops by reason.",
       [&app](const cli::Args& a, std::string& out) -> absl::Status {
         if (a.Has("name") && !app.writer().tunnels().contains(a.Word("name"))) {
           return absl::NotFoundError(absl::StrFormat("no tunnel '%s'", a.Word("name")));
         }
         out += ShowTunnels(app, a, a.Has("stats"), a.Has("json"));
         return absl::OkStatus();
       }},
      {"clear stats", "Reset every port, tunnel, segment and worker counter to zero.",
       [&app](const cli::Args&, std::string&) {
         app.stats().Clear();
         app.writer().ClearSegmentCounts();
         for (uint16_t p = 0; p < app.nb_ports(); ++p) {
           if (app.port_runtime(p).started) rte_eth_stats_reset(p);
         }
         return absl::OkStatus();
       }},
  });
}

absl::Status RegisterAllCommands(cli::CommandEngine& engine, App& app) {
  for (auto reg :
       {RegisterPortCommands, RegisterNeighborCommands, RegisterTunnelCommands,
        RegisterXconnectCommands, RegisterSegmentCommands, RegisterRouteCommands,
        RegisterRunCommands, RegisterShowCommands, RegisterLogCommands, RegisterCaptureCommands,
        RegisterTraceCommands, RegisterSaCommands, RegisterXfrmCommands}) {
    if (absl::Status s = reg(engine, app); !s.ok()) return s;
  }
  return engine.Add("help [<topic:word>]...", "List commands, or show one command's syntax.",
                    [&engine](const cli::Args& a, std::string& out) {
                      out += engine.Help(absl::StrJoin(a.Words("topic"), " ", ViewFormatter()));
                      return absl::OkStatus();
                    });
}

}  // namespace tundra
