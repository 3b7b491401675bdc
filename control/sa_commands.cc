// `sa add`, `sa del`, `show sa` (DESIGN.md §5.1): ESP security associations. No
// output or error of these commands contains a key or a salt.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/absl_view.h"
#include "control/commands.h"
#include "control/json.h"
#include "control/sa_table.h"

namespace tundra {
namespace {

absl::StatusOr<SaConfig> SaFromArgs(const cli::Args& a) {
  SaConfig sa;
  sa.name = std::string(a.Word("name"));
  sa.spi = static_cast<uint32_t>(a.Number("spi"));
  sa.aead = a.Word("aead") == "aes-gcm-256" ? EspAead::kAesGcm256 : EspAead::kAesGcm128;
  absl::StatusOr<SecretBytes> key = ParseSecretHex(
      a.Word("key"), EspAeadKeyBytes(sa.aead), absl::StrCat("the key of ", EspAeadName(sa.aead)));
  if (!key.ok()) return key.status();
  sa.key = std::move(*key);
  absl::StatusOr<SecretBytes> salt = ParseSecretHex(a.Word("salt"), 4, "the salt");
  if (!salt.ok()) return salt.status();
  sa.salt = std::move(*salt);
  sa.esn = a.Word("esn") == "on";
  if (a.Has("window")) sa.replay_window = static_cast<uint32_t>(a.Number("window"));
  // `lifetime [bytes <n>] [packets <n>]`: the first limit after `lifetime`, then maybe
  // the other one.
  for (const char* which : {"limit1", "limit2"}) {
    const std::string what = absl::StrCat(which, "_kind");
    if (!a.Has(what)) continue;
    if (which == std::string_view("limit2") && !a.Has("limit1_kind")) {
      return absl::InvalidArgumentError("'bytes' or 'packets' comes after 'lifetime'");
    }
    uint64_t& limit = a.Word(what) == "bytes" ? sa.lifetime_bytes : sa.lifetime_packets;
    if (limit != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("lifetime ", AsAbsl(a.Word(what)), " given twice"));
    }
    limit = a.Number(which);
  }
  return sa;
}

std::vector<std::string_view> InSas(const cli::Args& a) {
  std::vector<std::string_view> in = {a.Word("in")};
  if (a.Has("in2")) in.push_back(a.Word("in2"));
  return in;
}

App::ProtectedPath SegmentPath(const cli::Args& a) {
  App::ProtectedPath path;
  path.segment = std::string(a.Word("name"));
  path.remote = a.Ip("remote");
  return path;
}

void ShowSa(const SaConfig& sa, const App::SaRuntime* rt, JsonWriter& j, std::string& text) {
  const EspStats st = rt != nullptr ? rt->sa->stats() : EspStats{};
  const char* dir = rt == nullptr ? "" : rt->direction == EspDirection::kOutbound ? "out" : "in";
  const App::ProtectedPath none;
  const App::ProtectedPath& path = rt != nullptr ? rt->protects : none;
  j.BeginObject()
      .Field("name", sa.name)
      .Field("spi", sa.spi)
      .Field("aead", EspAeadName(sa.aead))
      .Field("key_bits", uint32_t(8 * sa.key.size()))
      .Field("esn", sa.esn)
      .Field("replay_window", sa.replay_window)
      .Field("lifetime_bytes", sa.lifetime_bytes)
      .Field("lifetime_packets", sa.lifetime_packets)
      .Field("tunnel", path.tunnel)
      .Field("segment", path.segment)
      .Field("remote", path.segment.empty() ? std::string() : path.remote.ToString())
      .Field("direction", dir)
      .Field("expired", rt != nullptr && rt->sa->expired())
      .Field("packets", st.packets)
      .Field("bytes", st.bytes)
      .Field("malformed", st.malformed)
      .Field("auth_failed", st.auth_failed)
      .Field("replay", st.replay)
      .Field("expired_drops", st.expired)
      .Field("no_room", st.no_room)
      .EndObject();
  const auto limit = [](uint64_t n) { return n == 0 ? std::string("none") : absl::StrCat(n); };
  absl::StrAppendFormat(&text,
                        "%s: spi %u (0x%08x), %s (%d-bit key, hidden), esn %s, replay-window "
                        "%s, lifetime bytes %s packets %s\n",
                        sa.name, sa.spi, sa.spi, EspAeadName(sa.aead), 8 * sa.key.size(),
                        sa.esn ? "on" : "off",
                        sa.replay_window == 0 ? std::string("off") : absl::StrCat(sa.replay_window),
                        limit(sa.lifetime_bytes), limit(sa.lifetime_packets));
  if (rt != nullptr) {
    absl::StrAppendFormat(&text,
                          "  %s%s%s: %u packets, %u bytes; drops: malformed %u, auth-failed %u, "
                          "replay %u, expired %u, no-room %u%s\n",
                          dir, path.empty() ? "" : " of ", path.ToString(false), st.packets,
                          st.bytes, st.malformed, st.auth_failed, st.replay, st.expired, st.no_room,
                          rt->sa->expired() ? " (lifetime reached)" : "");
  }
}

}  // namespace

absl::Status RegisterSaCommands(cli::CommandEngine& engine, App& app) {
  return engine.AddAll({
      {"sa add <name:name> spi <spi:0..4294967295> aead <aead:aes-gcm-128|aes-gcm-256> "
       "key <key:word> salt <salt:word> [esn <esn:on|off>] [replay-window <window:0..4096>] "
       "[lifetime <limit1_kind:bytes|packets> <limit1:1..18446744073709551615>] "
       "[<limit2_kind:bytes|packets> <limit2:1..18446744073709551615>]",
       "Add an ESP security association (RFC 4303, AES-GCM per RFC 4106): SPI 256.., key "
       "and salt in hex (32 or 64 digits, and 8). Anti-replay window in packets (default "
       "64, 0 off); after a lifetime limit the SA is no longer used. Keys are never shown.",
       [&app](const cli::Args& a, std::string&) -> absl::Status {
         absl::StatusOr<SaConfig> sa = SaFromArgs(a);
         if (!sa.ok()) return sa.status();
         return app.sas().Add(std::move(*sa));
       }},
      {"sa del <name:name>",
       "Delete an SA (not while it protects a tunnel or a segment's remote); its key and salt "
       "are wiped from memory.",
       [&app](const cli::Args& a, std::string&) { return app.DeleteSa(a.Word("name")); }},
      {"tunnel <name:name> protect out <out:name> in <in:name> [in <in2:name>]",
       "Encrypt the tunnel with ESP in transport mode (RFC 4303): every packet leaves under "
       "the out SA, and only ESP of the in SA(s) is accepted. Given again with new SAs it "
       "switches at once: a rekey names the new out SA and both in SAs, then the new in SA "
       "alone.",
       [&app](const cli::Args& a, std::string&) {
         App::ProtectedPath path;
         path.tunnel = std::string(a.Word("name"));
         return app.Protect(path, a.Word("out"), InSas(a));
       }},
      {"tunnel <name:name> no protect", "Send and accept the tunnel's traffic in clear again.",
       [&app](const cli::Args& a, std::string&) {
         App::ProtectedPath path;
         path.tunnel = std::string(a.Word("name"));
         return app.Unprotect(path);
       }},
      {"segment <name:name> remote <remote:ip> protect out <out:name> in <in:name> [in <in2:name>]",
       "Encrypt the segment's traffic to and from one configured remote VTEP, as 'tunnel "
       "protect' does for a tunnel: known unicast and each flooded copy to it leave as ESP, "
       "and only ESP of the in SA(s) is accepted from it. Not for a segment with a group "
       "(its BUM would leave in clear).",
       [&app](const cli::Args& a, std::string&) {
         return app.Protect(SegmentPath(a), a.Word("out"), InSas(a));
       }},
      {"segment <name:name> remote <remote:ip> no protect",
       "Send and accept the traffic of that remote VTEP in clear again.",
       [&app](const cli::Args& a, std::string&) { return app.Unprotect(SegmentPath(a)); }},
      {"show sa [<name:name>] [json]",
       "SAs: SPI, algorithm and key size, ESN, replay window, lifetime (never key material).",
       [&app](const cli::Args& a, std::string& out) -> absl::Status {
         JsonWriter j;
         std::string text;
         j.BeginObject().BeginArray("sas");
         if (a.Has("name")) {
           const SaConfig* sa = app.sas().Find(a.Word("name"));
           if (sa == nullptr) {
             return absl::NotFoundError(absl::StrCat("no SA '", AsAbsl(a.Word("name")), "'"));
           }
           ShowSa(*sa, app.sa_runtime(sa->name), j, text);
         } else {
           for (const SaConfig* sa : app.sas().List())
             ShowSa(*sa, app.sa_runtime(sa->name), j, text);
         }
         j.EndArray().EndObject();
         out = a.Has("json") ? j.Finish() : text;
         return absl::OkStatus();
       }},
  });
}

}  // namespace tundra
