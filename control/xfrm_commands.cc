// `show xfrm [json]`: what the xfrm mirror (--xfrm, control/xfrm_mirror.h) sees and did.
#include <linux/xfrm.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/app.h"
#include "control/commands.h"
#include "control/json.h"

namespace tundra {
namespace {

const char* DirName(uint8_t dir) {
  return dir == XFRM_POLICY_IN ? "in" : dir == XFRM_POLICY_OUT ? "out" : "fwd";
}

}  // namespace

absl::Status RegisterXfrmCommands(cli::CommandEngine& engine, App& app) {
  return engine.Add(
      "show xfrm [json]",
      "The kernel's IPsec SAs and policies as --xfrm mirrors them (never a key), and the "
      "tunnels they protect.",
      [&app](const cli::Args& a, std::string& out) -> absl::Status {
        const XfrmTables* x = app.xfrm_tables();
        const NetlinkMirror* m = app.xfrm_mirror();
        if (x == nullptr || m == nullptr) {
          return absl::FailedPreconditionError("the xfrm mirror is off (tundra ... -- --xfrm)");
        }
        JsonWriter j;
        std::string text = absl::StrFormat(
            "xfrm mirror: %s, %u messages, %u resyncs after overflow, %u errors\n",
            m->synced() ? "in sync" : "dumping", m->messages(), m->resyncs(), m->errors());
        j.BeginObject()
            .Field("synced", m->synced())
            .Field("messages", m->messages())
            .Field("resyncs", m->resyncs())
            .Field("errors", m->errors())
            .BeginArray("sas");
        for (const auto& [key, sa] : x->sas()) {
          j.BeginObject()
              .Field("spi", sa.spi)
              .Field("src", sa.src.ToString())
              .Field("dst", sa.dst.ToString())
              .Field("aead", sa.aead)
              .Field("usable", sa.Usable())
              .EndObject();
          absl::StrAppendFormat(&text, "  sa spi 0x%08x %s > %s %s%s\n", sa.spi, sa.src.ToString(),
                                sa.dst.ToString(), sa.aead.empty() ? "(not AEAD)" : sa.aead,
                                sa.Usable() ? "" : " (not usable: tundra does AES-GCM transport)");
        }
        j.EndArray().BeginArray("policies");
        for (const auto& [key, p] : x->policies()) {
          const std::string sel =
              absl::StrCat(p.src.ToString(), "/", p.src_len, " > ", p.dst.ToString(), "/",
                           p.dst_len, p.proto ? absl::StrCat(" proto ", p.proto) : "",
                           p.dport_mask ? absl::StrCat(" dport ", p.dport) : "");
          j.BeginObject()
              .Field("dir", DirName(p.dir))
              .Field("index", key.second)
              .Field("selector", sel)
              .Field("esp_transport", p.esp_transport)
              .EndObject();
          absl::StrAppendFormat(&text, "  policy %s %s%s\n", DirName(p.dir), sel,
                                p.esp_transport ? " esp transport" : "");
        }
        j.EndArray().BeginArray("tunnels");
        for (const auto& [tunnel, binding] : app.xfrm_bound()) {
          j.BeginObject().Field("name", tunnel).Field("sas", binding).EndObject();
          absl::StrAppendFormat(&text, "  tunnel %s: %s\n", tunnel, binding);
        }
        j.EndArray().BeginArray("waiting");
        for (const std::string& tunnel : app.xfrm_waiting()) {
          j.BeginObject().Field("name", tunnel).EndObject();
          absl::StrAppendFormat(&text, "  tunnel %s: selected, waiting for SAs\n", tunnel);
        }
        j.EndArray().EndObject();
        out = a.Has("json") ? j.Finish() : text;
        return absl::OkStatus();
      });
}

}  // namespace tundra
