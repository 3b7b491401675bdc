#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/absl_view.h"
#include "control/commands.h"
#include "control/tunnel_options.h"
#include "dataplane/tunnel_type.h"

namespace tundra {

// Turns `tunnel add` (or `segment add`) arguments into a spec, refusing options that do
// not apply.
absl::StatusOr<TunnelSpec> TunnelSpecFromArgs(const cli::Args& a, std::string_view noun) {
  TunnelSpec spec;
  spec.name = std::string(a.Word("name"));
  spec.type = *ParseTunnelType(a.Word("type"));  // the grammar offers only kTunnelTypes
  spec.local = a.Ip("local");
  spec.remote = a.Ip("remote");
  const char* type_name = TunnelTypeName(spec.type);
  auto not_for = [&](std::string_view option) {
    return absl::InvalidArgumentError(
        absl::StrFormat("'%s' does not apply to %s %s", option, type_name, noun));
  };
  if (IsUdpTunnel(spec.type)) {
    // An option of the wrong protocol says more than the missing vni it may stand for.
    for (const char* gre_only : {"key", "seq", "csum", "seq-check"}) {
      if (a.Has(gre_only)) return not_for(gre_only);
    }
    if (!a.Has("vni")) {
      return absl::InvalidArgumentError(
          absl::StrCat(type_name, " ", AsAbsl(noun), " need 'vni <n>'"));
    }
    spec.vni = static_cast<uint32_t>(a.Number("vni"));
    if (a.Has("dstport")) spec.dstport = static_cast<uint16_t>(a.Number("dstport"));
  } else {
    for (const char* udp_only : {"vni", "dstport", "udp-csum"}) {
      if (a.Has(udp_only)) return not_for(udp_only);
    }
    if (a.Has("key")) {
      spec.has_key = true;
      spec.key = static_cast<uint32_t>(a.Number("key"));
    }
    spec.seq = a.Has("seq") && a.Word("seq") == "on";
    spec.csum = a.Has("csum") && a.Word("csum") == "on";
    if (a.Has("seq-check")) {
      if (!spec.seq) {
        return absl::InvalidArgumentError("'seq-check' needs 'seq on'");
      }
      spec.seq_drop = a.Word("seq-check") == "drop";
    }
  }
  if (a.Has("oversize")) {
    if (spec.type != TunnelType::kGre) return not_for("oversize");
    spec.fragment = a.Word("oversize") == "fragment";
  }
  if (spec.type != TunnelType::kGeneve && a.Has("option")) return not_for("option");
  for (std::string_view text : a.Words("option")) {
    std::optional<GeneveOption> o = cli::ParseGeneveOption(text);
    if (!o) return absl::InvalidArgumentError(absl::StrFormat("bad GENEVE option '%s'", text));
    spec.options.push_back(*std::move(o));
  }
  if (a.Has("ttl")) {
    spec.ttl_inherit = !a.IsNumber("ttl");
    if (!spec.ttl_inherit) spec.ttl = static_cast<uint8_t>(a.Number("ttl"));
  }
  if (a.Has("tos")) {
    spec.tos_inherit = !a.IsNumber("tos");
    if (!spec.tos_inherit) spec.tos = static_cast<uint8_t>(a.Number("tos"));
  }
  if (a.Has("df")) {
    if (!spec.local.is_v4()) {
      return absl::InvalidArgumentError(
          "'df' applies to IPv4 underlay only (IPv6 never fragments)");
    }
    const std::string_view df = a.Word("df");
    spec.df = df == "set" ? DfMode::kSet : df == "clear" ? DfMode::kClear : DfMode::kInherit;
  }
  if (a.Has("udp-csum")) spec.udp_csum = a.Word("udp-csum") == "on";
  return spec;
}

// "vxlan|geneve|gre|gretap": the grammar's `type` alternatives, from the one name table.
std::string TunnelTypeAlternatives() {
  return absl::StrJoin(kTunnelTypes, "|",
                       [](std::string* out, const TunnelTypeEntry& e) { out->append(e.name); });
}

const char kTunnelOptionsSyntax[] =
    "[vni <vni:0..16777215>] "
    "[key <key:0..4294967295>] [dstport <dstport:1..65535>] [ttl <ttl:1..255|inherit>] "
    "[tos <tos:0..255|inherit>] [df <df:set|clear|inherit>] [udp-csum <udp-csum:on|off>] "
    "[seq <seq:on|off>] [csum <csum:on|off>] [seq-check <seq-check:count|drop>] "
    "[oversize <oversize:drop|fragment>] [option <option:geneve-option>]...";

absl::Status RegisterTunnelCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {absl::StrCat("tunnel add <name:name> type <type:", TunnelTypeAlternatives(),
                    "> local <local:ip> remote <remote:ip> ", kTunnelOptionsSyntax),
       "Add a point-to-point tunnel. local must be an uplink's address; the remote's MAC comes "
       "from 'neigh add'. vxlan/geneve need a vni; gretap carries Ethernet (xconnect), gre "
       "carries IP (route add). Defaults: dstport 4789 (vxlan) / 6081 (geneve), ttl 64, tos 0 "
       "(ECN always follows the inner packet, RFC 6040), df set, udp-csum off (always on over "
       "IPv6), no key/seq/csum, seq-check count, oversize drop.",
       [&app](const cli::Args& a, std::string&) -> absl::Status {
         absl::StatusOr<TunnelSpec> spec = TunnelSpecFromArgs(a, "tunnels");
         if (!spec.ok()) return spec.status();
         if (absl::Status st = app.writer().AddTunnel(*spec); !st.ok()) return st;
         app.stats().ClearTunnel(app.writer().tunnels().find(spec->name)->second.id);
         return absl::OkStatus();
       }},
      {"geneve option known <option:word>",
       "Register a critical GENEVE option <class>:<type> as understood by every GENEVE "
       "tunnel (RFC 8926 §3.5: unknown critical options are dropped).",
       [&app](const cli::Args& a, std::string&) -> absl::Status {
         // <class>:<type> is an option TLV without its data.
         const std::optional<GeneveOption> o =
             cli::ParseGeneveOption(absl::StrCat(AsAbsl(a.Word("option")), ":"));
         if (!o) {
           return absl::InvalidArgumentError(absl::StrFormat(
               "bad value '%s' for <option>: expected <class>:<type>, class 0..0xffff, "
               "type 0..0xff",
               a.Word("option")));
         }
         return app.writer().AddKnownGeneveOption(o->option_class, o->type);
       }},
      {"tunnel del <name:name>",
       "Delete a tunnel; packets in flight finish first. Refused, naming them, while an "
       "xconnect or a route uses the tunnel: delete those first.",
       [&app](const cli::Args& a, std::string&) { return app.writer().DelTunnel(a.Word("name")); }},
  });
}

}  // namespace tundra
