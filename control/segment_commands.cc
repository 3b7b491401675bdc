// `segment ...`, `fdb ...`, `show segment` and `show fdb` (DESIGN.md §5.1).
#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/absl_view.h"
#include "control/commands.h"
#include "control/json.h"
#include "control/stats_writers.h"
#include "control/tunnel_options.h"
#include "dataplane/header_template.h"
#include "dataplane/tunnel_type.h"

namespace tundra {

namespace {

uint16_t Port(const cli::Args& a) { return static_cast<uint16_t>(a.Number("port")); }
// 0 (untagged) when no `vlan` was given.
uint16_t Vlan(const cli::Args& a) { return static_cast<uint16_t>(a.Number("vlan")); }
std::optional<IpAddress> IpOf(const cli::Args& a) {
  return a.Has("ip") ? std::optional<IpAddress>(a.Ip("ip")) : std::nullopt;
}

absl::StatusOr<TunnelSpec> SegmentSpecFromArgs(const cli::Args& a) {
  absl::StatusOr<TunnelSpec> spec = TunnelSpecFromArgs(a, "segments");
  if (!spec.ok()) return spec.status();
  if (spec->type == TunnelType::kGretap && !spec->has_key) {
    return absl::InvalidArgumentError("gretap segments need 'key <n>'");
  }
  return spec;
}

std::string ShowSegments(const App& app, const cli::Args& a, bool json) {
  const std::string_view only = a.Has("name") ? a.Word("name") : std::string_view();
  if (!only.empty() && app.writer().FindSegment(only) == nullptr) return "";
  JsonWriter j;
  std::string text;
  j.BeginObject().BeginArray("segments");
  for (const auto& [name, seg] : app.writer().segments()) {
    if (!only.empty() && name != only) continue;
    const TunnelSpec& s = seg.spec;
    const SegmentTotals t = app.stats().Segment(seg.id);
    const uint32_t static_macs = static_cast<uint32_t>(seg.fdb.size()) - seg.learned_macs;
    if (json) {
      WriteSegment(j, app, name, seg);
      continue;
    }
    std::vector<std::string> members;
    for (const SegmentMember& m : seg.members) {
      members.push_back(m.vlan ? absl::StrCat(m.port, ".", m.vlan) : absl::StrCat(m.port));
    }
    std::vector<std::string> remotes;
    for (const SegmentRemoteRecord& r : seg.remotes) {
      const Tunnel* entry = app.tables().tunnel(r.id);
      const std::optional<IpAddress> via = app.writer().nexthops().PathVia(r.path);
      const bool resolved = entry != nullptr && app.writer().nexthops().PathResolved(r.path);
      remotes.push_back(absl::StrCat(
          r.ip.ToString(), r.learned ? " (learned)" : "",
          via && *via != r.ip ? absl::StrCat(" via ", via->ToString()) : "",
          resolved ? "" : " UNRESOLVED",
          r.protection ? absl::StrCat(" (ESP out ", r.protection->out_name, ")") : ""));
    }
    absl::StrAppendFormat(
        &text,
        "segment %s (id %u): %s local %s %s\n"
        "  members: %s\n  remotes: %s\n%s"
        "  macs %u (%u learned, %u static), ageing %s, max-macs %s, unknown-remote %s, "
        "suppress %s (%u IP bindings)\n",
        name, seg.id, TunnelTypeName(s.type), s.local.ToString(),
        IsUdpTunnel(s.type) ? absl::StrCat("vni ", s.vni, " dstport ", TunnelUdpPort(s))
                            : absl::StrCat("key ", s.key),
        members.empty() ? "none" : absl::StrJoin(members, ", "),
        remotes.empty() ? "none" : absl::StrJoin(remotes, ", "),
        seg.group ? absl::StrCat("  group: ", seg.group->ip.ToString(), " (",
                                 app.stats().Tunnel(seg.group->id).encap_packets,
                                 " packets flooded to it)\n")
                  : "",
        seg.fdb.size(), seg.learned_macs, static_macs,
        seg.ageing_s ? absl::StrCat(seg.ageing_s, "s") : "off",
        seg.max_macs ? absl::StrCat(seg.max_macs) : "off",
        seg.learn_unknown_remote ? "learn" : "drop", seg.suppress ? "on" : "off", seg.hosts.size());
#define X(member, name, format, meaning) absl::StrAppendFormat(&text, format, t.member);
#include "dataplane/segment_counters.def"
#undef X
    absl::StrAppendFormat(&text, "  learned %u, moved %u, aged %u, limit dropped %u; drops %u",
                          seg.learned, seg.moved, seg.aged, seg.limit_dropped, t.total_drops());
#define X(r)                                                                  \
  if (uint64_t d = t.drops[SegmentDropSlot(DropReason::r)]; d != 0) {         \
    absl::StrAppendFormat(&text, " %s=%u", DropReasonName(DropReason::r), d); \
  }
    TUNDRA_SEGMENT_DROPS(X)
#undef X
    text += "\n";
  }
  j.EndArray().EndObject();
  if (!json && text.empty()) text = "no segments\n";
  return json ? j.Finish() : text;
}

std::string ShowFdb(const App& app, const cli::Args& a, bool json) {
  const std::string_view only = a.Has("segment") ? a.Word("segment") : std::string_view();
  if (!only.empty() && app.writer().FindSegment(only) == nullptr) return "";
  const uint32_t now = app.tables().fdb_now_s();
  JsonWriter j;
  std::string text;
  j.BeginObject().BeginArray("fdb");
  for (const auto& [name, seg] : app.writer().segments()) {
    if (!only.empty() && name != only) continue;
    // In MAC order, so the listing is stable.
    std::vector<std::pair<uint64_t, FdbRecord>> entries(seg.fdb.begin(), seg.fdb.end());
    absl::flat_hash_map<uint64_t, std::vector<std::string>> ips;  // MAC → its bindings
    for (const auto& [ip, h] : seg.hosts) ips[MacKey(h.mac.bytes.data())].push_back(ip.ToString());
    for (auto& [mac, list] : ips) std::sort(list.begin(), list.end());
    std::sort(entries.begin(), entries.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [mac, rec] : entries) {
      const FdbPlace place = EntryPlace(rec.entry);
      const bool is_static = EntryStatic(rec.entry);
      const uint32_t age = is_static ? 0 : now - rec.seen_s;  // static entries do not age
      if (json) {
        j.BeginObject()
            .Field("segment", name)
            .Field("mac", MacOfKey(mac).ToString())
            .Field("kind", is_static ? "static" : "learned")
            .Field("age", age)
            .BeginArray("ips");
        if (auto it = ips.find(mac); it != ips.end()) {
          for (const std::string& ip : it->second) j.Field({}, ip);
        }
        j.EndArray();
        if (IsRemotePlace(place)) {
          const SegmentRemoteRecord* r = seg.RemoteById(PlaceTunnel(place));
          j.Field("remote", r != nullptr ? r->ip.ToString() : "");
        } else {
          j.Field("port", PlacePort(place)).Field("vlan", PlaceVlan(place));
        }
        j.EndObject();
        continue;
      }
      auto it = ips.find(mac);
      absl::StrAppendFormat(&text, "%-12s %s  %-24s %-7s %-5s %s\n", name, MacOfKey(mac).ToString(),
                            FdbPlaceText(seg, place), is_static ? "static" : "learned",
                            is_static ? "-" : absl::StrCat(age, "s"),
                            it != ips.end() ? absl::StrJoin(it->second, " ") : "");
    }
  }
  j.EndArray().EndObject();
  if (!json) {
    text = text.empty() ? "no FDB entries\n"
                        : absl::StrFormat("%-12s %-17s  %-24s %-7s %-5s %s\n", "SEGMENT", "MAC",
                                          "WHERE", "KIND", "AGE", "IP") +
                              text;
  }
  return json ? j.Finish() : text;
}

// A handler for `segment <name> ...` commands that call one writer method.
template <typename F>
cli::Handler OnSegment(App& app, F f) {
  return [&app, f](const cli::Args& a, std::string&) { return f(app.writer(), a); };
}

}  // namespace

absl::Status RegisterSegmentCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {absl::StrCat("segment add <name:name> type <type:vxlan|geneve|gretap> local <local:ip> ",
                    kTunnelOptionsSyntax),
       "Add a multipoint L2 segment: one VNI (vxlan, geneve) or key (gretap) on one local VTEP "
       "address, bridging its members (access ports or VLANs) and remote VTEPs through an FDB "
       "that learns from both sides. Every tunnel add option applies to each remote's copy.",
       [&app](const cli::Args& a, std::string&) -> absl::Status {
         absl::StatusOr<TunnelSpec> spec = SegmentSpecFromArgs(a);
         if (!spec.ok()) return spec.status();
         if (absl::Status s = app.writer().AddSegment(*spec); !s.ok()) return s;
         app.stats().ClearSegment(app.writer().FindSegment(spec->name)->id);
         return absl::OkStatus();
       }},
      {"segment del <name:name>",
       "Delete a segment with its members, remotes and FDB; packets in flight finish first.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) { return w.DelSegment(a.Word("name")); })},
      {"segment <name:name> member port <port:port> [vlan <vlan:1..4094>]",
       "Make an access port (or one VLAN of it: the tag is stripped inside the segment and "
       "pushed back on the way out) a member of the segment.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.AddSegmentMember(a.Word("name"), Port(a), Vlan(a));
                 })},
      {"segment <name:name> no member port <port:port> [vlan <vlan:1..4094>]",
       "Remove a member, with the FDB entries that point at it.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.DelSegmentMember(a.Word("name"), Port(a), Vlan(a));
                 })},
      {"segment <name:name> remote <remote:ip>",
       "Add a remote VTEP: flooded frames get a copy (unless the segment has a group), and "
       "frames from it are accepted. Its next hop is resolved as a tunnel's remote's is.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.AddSegmentRemote(a.Word("name"), a.Ip("remote"));
                 })},
      {"segment <name:name> no remote <remote:ip>",
       "Remove a remote VTEP, with the FDB entries that point at it.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.DelSegmentRemote(a.Word("name"), a.Ip("remote"));
                 })},
      {"segment <name:name> group <group:ip>",
       "Flood to an underlay multicast group (RFC 7348 4.2) instead of to each remote: BUM "
       "frames leave once, to the group's address and MAC, and packets to the group are "
       "accepted as the segment's. Replaces an earlier group. Remotes still receive known "
       "unicast and are accepted; 'unknown-remote learn' learns the others from the group.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.SetSegmentGroup(a.Word("name"), a.Ip("group"));
                 })},
      {"segment <name:name> no group", "Flood to each remote again.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.SetSegmentGroup(a.Word("name"), std::nullopt);
                 })},
      {"segment <name:name> ageing <ageing:1..65535|off>",
       "Remove learned MACs not seen for this many seconds (default 300; off: never).",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.SetSegmentAgeing(
                       a.Word("name"),
                       a.IsNumber("ageing") ? static_cast<uint32_t>(a.Number("ageing")) : 0);
                 })},
      {"segment <name:name> max-macs <max-macs:1..16777216|off>",
       "Learn at most this many MACs (default off); frames from further new MACs are still "
       "forwarded, not learned, and counted (limit_dropped).",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.SetSegmentMaxMacs(
                       a.Word("name"),
                       a.IsNumber("max-macs") ? static_cast<uint32_t>(a.Number("max-macs")) : 0);
                 })},
      {"segment <name:name> unknown-remote <unknown-remote:drop|learn>",
       "What to do with frames from a VTEP that is not one of the segment's remotes: drop them "
       "(the default: an anti-spoofing rule) or accept them and learn their MACs towards it.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.SetSegmentUnknownRemote(a.Word("name"),
                                                    a.Word("unknown-remote") == "learn");
                 })},
      {"segment <name:name> suppress <suppress:on|off>",
       "ARP/ND suppression (default off): answer members' ARP requests and neighbor "
       "solicitations for tenant addresses the segment knows (snooped from ARP/ND, or 'fdb add "
       "... ip') instead of flooding them to every VTEP.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.SetSegmentSuppress(a.Word("name"), a.Word("suppress") == "on");
                 })},
      {"fdb add <segment:name> <mac:mac> port <port:port> [vlan <vlan:1..4094>] [ip <ip:ip>]",
       "A static FDB entry towards a member: wins over learning, never ages. 'ip' also binds a "
       "tenant address to the MAC for ARP/ND suppression.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.AddFdb(a.Word("segment"), a.Mac("mac"), Port(a), Vlan(a), std::nullopt,
                                   IpOf(a));
                 })},
      {"fdb add <segment:name> <mac:mac> remote <remote:ip> [ip <ip:ip>]",
       "A static FDB entry towards one of the segment's remote VTEPs (and an IP binding).",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.AddFdb(a.Word("segment"), a.Mac("mac"), 0, 0, a.Ip("remote"), IpOf(a));
                 })},
      {"fdb del <segment:name> <mac:mac>", "Remove one FDB entry, static or learned.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.DelFdb(a.Word("segment"), a.Mac("mac"));
                 })},
      {"fdb flush <segment:name> [learned]",
       "Remove every FDB entry of the segment, or only the learned ones.",
       OnSegment(app,
                 [](TableWriter& w, const cli::Args& a) {
                   return w.FlushFdb(a.Word("segment"), a.Has("learned"));
                 })},
      {"show segment [<name:name>] [json]",
       "Segments: members, remotes, MAC counts, settings and counters.",
       [&app](const cli::Args& a, std::string& out) -> absl::Status {
         const std::string text = ShowSegments(app, a, a.Has("json"));
         if (text.empty()) {
           return absl::NotFoundError(absl::StrCat("no segment '", AsAbsl(a.Word("name")), "'"));
         }
         out += text;
         return absl::OkStatus();
       }},
      {"show fdb [<segment:name>] [json]",
       "FDB entries: segment, MAC, where (port/VLAN or remote), static or learned, age.",
       [&app](const cli::Args& a, std::string& out) -> absl::Status {
         const std::string text = ShowFdb(app, a, a.Has("json"));
         if (text.empty()) {
           return absl::NotFoundError(absl::StrCat("no segment '", AsAbsl(a.Word("segment")), "'"));
         }
         out += text;
         return absl::OkStatus();
       }},
  });
}

}  // namespace tundra
