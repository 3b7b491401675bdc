#include "absl/strings/str_cat.h"
#include "control/commands.h"
#include "dataplane/proto/vxlan.h"

namespace tundra {

namespace {

TunnelType ParseType(std::string_view word) {
  if (word == "geneve") return TunnelType::kGeneve;
  if (word == "gre") return TunnelType::kGre;
  if (word == "gretap") return TunnelType::kGretap;
  return TunnelType::kVxlan;
}

bool UsesUdp(TunnelType t) { return t == TunnelType::kVxlan || t == TunnelType::kGeneve; }

// Turns `tunnel add` arguments into a spec, refusing options that do not apply.
absl::StatusOr<TunnelSpec> SpecFromArgs(const cli::Args& a) {
  TunnelSpec spec;
  spec.name = std::string(a.Word("name"));
  spec.type = ParseType(a.Word("type"));
  spec.local = a.Ip("local");
  spec.remote = a.Ip("remote");
  const char* type_name = TunnelTypeName(spec.type);
  auto not_for = [&](std::string_view option) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", std::string(option), "' does not apply to ", type_name, " tunnels"));
  };
  if (UsesUdp(spec.type)) {
    if (!a.Has("vni")) {
      return absl::InvalidArgumentError(absl::StrCat(type_name, " tunnels need 'vni <n>'"));
    }
    spec.vni = static_cast<uint32_t>(a.Number("vni"));
    if (a.Has("dstport")) spec.dstport = static_cast<uint16_t>(a.Number("dstport"));
    for (const char* gre_only : {"key", "seq", "csum", "seq-check"}) {
      if (a.Has(gre_only)) return not_for(gre_only);
    }
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
    std::optional<cli::GeneveOption> o = cli::ParseGeneveOption(text);
    if (!o) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad GENEVE option '", std::string(text), "'"));
    }
    spec.options.push_back(GeneveOption{o->option_class, o->type, o->data});
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

}  // namespace

absl::Status RegisterTunnelCommands(cli::CommandEngine& engine, App& app) {
  absl::Status s = engine.Add(
      "tunnel add <name:name> type <type:vxlan|geneve|gre|gretap> local <local:ip> "
      "remote <remote:ip> [vni <vni:0..16777215>] [key <key:0..4294967295>] "
      "[dstport <dstport:1..65535>] [ttl <ttl:1..255|inherit>] [tos <tos:0..255|inherit>] "
      "[df <df:set|clear|inherit>] [udp-csum <udp-csum:on|off>] [seq <seq:on|off>] "
      "[csum <csum:on|off>] [seq-check <seq-check:count|drop>] "
      "[oversize <oversize:drop|fragment>] [option <option:geneve-option>]...",
      "Add a point-to-point tunnel. local must be an uplink's address; the remote's MAC comes "
      "from 'neigh add'. vxlan/geneve need a vni; gretap carries Ethernet (xconnect), gre "
      "carries IP (route add). Defaults: dstport 4789 (vxlan) / 6081 (geneve), ttl 64, tos 0 "
      "(ECN always follows the inner packet, RFC 6040), df set, udp-csum off (always on over "
      "IPv6), no key/seq/csum, seq-check count, oversize drop.",
      [&app](const cli::Args& a, std::string&) -> absl::Status {
        absl::StatusOr<TunnelSpec> spec = SpecFromArgs(a);
        if (!spec.ok()) return spec.status();
        if (absl::Status st = app.writer().AddTunnel(*spec); !st.ok()) return st;
        app.stats().ClearTunnel(app.writer().tunnels().find(spec->name)->second.id);
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  s = engine.Add("geneve option known <option:word>",
                 "Register a critical GENEVE option <class>:<type> as understood by every GENEVE "
                 "tunnel (RFC 8926 §3.5: unknown critical options are dropped).",
                 [&app](const cli::Args& a, std::string&) -> absl::Status {
                   const std::string text(a.Word("option"));
                   const size_t colon = text.find(':');
                   std::optional<uint64_t> cls, type;
                   if (colon != std::string::npos) {
                     cls = cli::ParseNumber(std::string_view(text).substr(0, colon));
                     type = cli::ParseNumber(std::string_view(text).substr(colon + 1));
                   }
                   if (!cls || !type || *cls > 0xFFFF || *type > 0xFF) {
                     return absl::InvalidArgumentError(
                         absl::StrCat("bad value '", text,
                                      "' for <option>: expected <class>:<type>, class 0..0xffff, "
                                      "type 0..0xff"));
                   }
                   return app.writer().AddKnownGeneveOption(static_cast<uint16_t>(*cls),
                                                            static_cast<uint8_t>(*type));
                 });
  if (!s.ok()) return s;
  return engine.Add(
      "tunnel del <name:name>",
      "Delete a tunnel (and its xconnect); packets in flight finish first.",
      [&app](const cli::Args& a, std::string&) { return app.writer().DelTunnel(a.Word("name")); });
}

}  // namespace tundra
