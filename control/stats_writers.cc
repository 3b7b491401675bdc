#include "control/stats_writers.h"

#include <rte_ethdev.h>

#include "absl/strings/str_cat.h"
#include "control/json.h"
#include "control/telemetry_writer.h"
#include "dataplane/esp.h"
#include "dataplane/header_template.h"

namespace tundra {

const char* PortRoleName(PortRole role) {
  switch (role) {
    case PortRole::kUplink:
      return "uplink";
    case PortRole::kAccess:
      return "access";
    case PortRole::kNone:
      break;
  }
  return "none";
}

TunnelFacts FactsOf(const App& app, const TunnelRecord& rec) {
  TunnelFacts f;
  const TunnelSpec& s = rec.spec;
  f.totals = app.stats().Tunnel(rec.id);
  const Tunnel* entry = app.tables().tunnel(rec.id);
  // A protected tunnel's packets also carry ESP, at most kEspMaxOverhead bytes of it.
  f.overhead = entry ? entry->hdr_len + ((entry->flags & kTunnelEsp) ? kEspMaxOverhead : 0) : 0;
  const uint16_t mtu = app.writer().port(rec.uplink).mtu;
  // L2 tunnels also carry the inner Ethernet header.
  f.inner_mtu = static_cast<int>(mtu) - (f.overhead - 14) - (s.type == TunnelType::kGre ? 0 : 14);
  f.attachment = rec.attachment.valid
                     ? (rec.attachment.vlan ? absl::StrCat("port ", rec.attachment.port, " vlan ",
                                                           rec.attachment.vlan)
                                            : absl::StrCat("port ", rec.attachment.port))
                     : "none";
  f.resolved = entry != nullptr && app.writer().nexthops().PathResolved(rec.path);
  f.via = app.writer().nexthops().PathVia(rec.path);
  return f;
}

std::string FdbPlaceText(const SegmentRecord& seg, FdbPlace place) {
  if (IsRemotePlace(place)) {
    const SegmentRemoteRecord* r = seg.RemoteById(PlaceTunnel(place));
    return absl::StrCat("remote ", r != nullptr ? r->ip.ToString() : "?");
  }
  return PlaceVlan(place) != kVlanUntagged
             ? absl::StrCat("port ", PlacePort(place), " vlan ", PlaceVlan(place))
             : absl::StrCat("port ", PlacePort(place));
}

template <class W>
void WritePortStats(W& j, const App& app, uint16_t p) {
  const PortTotals t = app.stats().Port(p);
  rte_eth_stats hw = {};
  const bool have_hw = app.port_runtime(p).started && rte_eth_stats_get(p, &hw) == 0;
  j.BeginObject()
      .Field("port", p)
      .Field("name", app.port_runtime(p).caps.name)
      .Field("role", PortRoleName(app.writer().port(p).role));
#define X(member, name, text, meaning) j.Field(name, t.member);
#include "dataplane/port_counters.def"
#undef X
  j.Field("drops", t.total_drops()).BeginObject("drop_reasons");
  for (int r = 0; r < kNumDropReasons; ++r) {
    j.Field(DropReasonName(static_cast<DropReason>(r)), t.drops[r]);
  }
  j.EndObject()
      .BeginObject("ethdev")
      .Field("ipackets", have_hw ? hw.ipackets : 0)
      .Field("opackets", have_hw ? hw.opackets : 0)
      .Field("ibytes", have_hw ? hw.ibytes : 0)
      .Field("obytes", have_hw ? hw.obytes : 0)
      .Field("imissed", have_hw ? hw.imissed : 0)
      .Field("ierrors", have_hw ? hw.ierrors : 0)
      .Field("oerrors", have_hw ? hw.oerrors : 0)
      .Field("rx_nombuf", have_hw ? hw.rx_nombuf : 0)
      .EndObject()
      .EndObject();
}

template <class W>
void WriteWorkerStats(W& j, const App& app, size_t w) {
  const WorkerTotals t = app.stats().Worker(w);
  const double cpp = t.packets ? static_cast<double>(t.busy_cycles) / t.packets : 0.0;
  j.BeginObject().Field("worker", static_cast<uint64_t>(w)).Field("lcore", app.worker_lcores()[w]);
#define X(member, name, text, meaning) j.Field(name, t.member);
#include "dataplane/worker_counters.def"
#undef X
  j.Field("cycles_per_packet", cpp).EndObject();
}

template <class W>
void WriteTunnel(W& j, const App& app, const std::string& name, const TunnelRecord& rec) {
  const TunnelSpec& s = rec.spec;
  const TunnelFacts f = FactsOf(app, rec);
  const TunnelTotals& t = f.totals;
  j.BeginObject()
      .Field("name", name)
      .Field("id", rec.id)
      .Field("type", TunnelTypeName(s.type))
      .Field("local", s.local.ToString())
      .Field("remote", s.remote.ToString())
      .Field("vni", s.vni)
      .Field("has_key", s.has_key)
      .Field("key", s.key)
      .Field("seq", s.seq)
      .Field("csum", s.csum)
      .Field("options", static_cast<uint64_t>(s.options.size()))
      .Field("dstport", IsUdpTunnel(s.type) ? TunnelUdpPort(s) : uint16_t{0})
      .Field("uplink", rec.uplink)
      .Field("attachment", f.attachment)
      .Field("resolved", f.resolved)
      .Field("next_hop", f.via ? f.via->ToString() : "")
      .Field("overhead", f.overhead)
      .Field("inner_mtu", f.inner_mtu);
#define X(member, name, text, meaning) j.Field(name, t.member);
#include "dataplane/tunnel_counters.def"
#undef X
  j.Field("drops", t.total_drops()).BeginObject("drop_reasons");
#define X(r) j.Field(DropReasonName(DropReason::r), t.drops[TunnelDropSlot(DropReason::r)]);
  TUNDRA_TUNNEL_DROPS(X)
#undef X
  j.EndObject().EndObject();
}

template <class W>
void WriteSegment(W& j, const App& app, const std::string& name, const SegmentRecord& seg) {
  const TunnelSpec& s = seg.spec;
  const SegmentTotals t = app.stats().Segment(seg.id);
  const uint32_t static_macs = static_cast<uint32_t>(seg.fdb.size()) - seg.learned_macs;
  j.BeginObject()
      .Field("name", name)
      .Field("id", seg.id)
      .Field("type", TunnelTypeName(s.type))
      .Field("local", s.local.ToString())
      .Field("vni", s.vni)
      .Field("key", s.key)
      .Field("dstport", IsUdpTunnel(s.type) ? TunnelUdpPort(s) : uint16_t{0})
      .Field("uplink", seg.uplink);
  j.BeginArray("members");
  for (const SegmentMember& m : seg.members) {
    j.BeginObject().Field("port", m.port).Field("vlan", m.vlan).EndObject();
  }
  j.EndArray().BeginArray("remotes");
  for (const SegmentRemoteRecord& r : seg.remotes) {
    const Tunnel* entry = app.tables().tunnel(r.id);
    const TunnelTotals rt = app.stats().Tunnel(r.id);
    const std::optional<IpAddress> via = app.writer().nexthops().PathVia(r.path);
    j.BeginObject()
        .Field("ip", r.ip.ToString())
        .Field("learned", r.learned)
        .Field("resolved", entry != nullptr && app.writer().nexthops().PathResolved(r.path))
        .Field("next_hop", via ? via->ToString() : "")
        .Field("esp_out", r.protection ? r.protection->out_name : "")
        .Field("encap_packets", rt.encap_packets)
        .Field("decap_packets", rt.decap_packets)
        .EndObject();
  }
  j.EndArray()
      .Field("group", seg.group ? seg.group->ip.ToString() : "")
      .Field("group_encap_packets",
             seg.group ? app.stats().Tunnel(seg.group->id).encap_packets : uint64_t{0})
      .Field("ageing", seg.ageing_s)
      .Field("max_macs", seg.max_macs)
      .Field("unknown_remote", seg.learn_unknown_remote ? "learn" : "drop")
      .Field("suppress", seg.suppress)
      .Field("hosts", static_cast<uint64_t>(seg.hosts.size()))
      .Field("macs", static_cast<uint64_t>(seg.fdb.size()))
      .Field("learned_macs", seg.learned_macs)
      .Field("static_macs", static_macs);
#define X(member, name, text, meaning) j.Field(name, t.member);
#include "dataplane/segment_counters.def"
#undef X
  j.Field("learned", seg.learned)
      .Field("moved", seg.moved)
      .Field("aged", seg.aged)
      .Field("limit_dropped", seg.limit_dropped)
      .Field("drops", t.total_drops())
      .BeginObject("drop_reasons");
#define X(r) j.Field(DropReasonName(DropReason::r), t.drops[SegmentDropSlot(DropReason::r)]);
  TUNDRA_SEGMENT_DROPS(X)
#undef X
  j.EndObject().EndObject();
}

#define TUNDRA_INSTANTIATE(W)                                                            \
  template void WritePortStats<W>(W&, const App&, uint16_t);                             \
  template void WriteWorkerStats<W>(W&, const App&, size_t);                             \
  template void WriteTunnel<W>(W&, const App&, const std::string&, const TunnelRecord&); \
  template void WriteSegment<W>(W&, const App&, const std::string&, const SegmentRecord&);
TUNDRA_INSTANTIATE(JsonWriter)
TUNDRA_INSTANTIATE(TelemetryWriter)
#undef TUNDRA_INSTANTIATE

}  // namespace tundra
