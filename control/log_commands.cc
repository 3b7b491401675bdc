// `log level <type> <level>` and `show log`: tundra's log types (control/log.h).
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/absl_view.h"
#include "control/commands.h"
#include "control/json.h"
#include "control/log.h"

namespace tundra {
namespace {

constexpr std::array<const char*, 8> kLevelNames = {"emerg",   "alert",  "crit", "err",
                                                    "warning", "notice", "info", "debug"};

// RTE_LOG_EMERG is 1, RTE_LOG_DEBUG 8.
const char* LevelName(int level) { return level >= 1 && level <= 8 ? kLevelNames[level - 1] : "?"; }

int LevelOf(std::string_view name) {
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (name == kLevelNames[i]) return static_cast<int>(i) + 1;
  }
  return 0;
}

}  // namespace

absl::Status RegisterLogCommands(cli::CommandEngine& engine, App&) {
  return engine.AddAll({
      // <type:word>: "port" in an alternative list would be read as the port-number kind.
      {"log level <type:word> <level:emerg|alert|crit|err|warning|notice|info|debug>",
       "Set the level of one of tundra's log types (tundra.<type>), or of all of them. "
       "DPDK's own types are set with EAL's --log-level.",
       [](const cli::Args& a, std::string&) -> absl::Status {
         const int level = LevelOf(a.Word("level"));
         bool known = a.Word("type") == "all";
         for (int t = 0; t < static_cast<int>(log::Type::kCount); ++t) {
           known = known || a.Word("type") == log::Name(static_cast<log::Type>(t));
         }
         if (!known) {
           return absl::InvalidArgumentError(absl::StrCat(
               "unknown log type '", AsAbsl(a.Word("type")),
               "': one of control, port, neigh, fdb, table or all (DPDK's own types are set "
               "with EAL's --log-level)"));
         }
         for (int t = 0; t < static_cast<int>(log::Type::kCount); ++t) {
           const auto type = static_cast<log::Type>(t);
           if (a.Word("type") != "all" && a.Word("type") != log::Name(type)) continue;
           if (rte_log_set_level(static_cast<uint32_t>(log::Id(type)),
                                 static_cast<uint32_t>(level)) != 0) {
             return absl::InternalError(
                 absl::StrCat("cannot set the level of tundra.", log::Name(type)));
           }
         }
         return absl::OkStatus();
       }},
      {"show log [json]", "tundra's log types and their levels.",
       [](const cli::Args& a, std::string& out) {
         JsonWriter j;
         j.BeginObject().BeginArray("log");
         for (int t = 0; t < static_cast<int>(log::Type::kCount); ++t) {
           const auto type = static_cast<log::Type>(t);
           const std::string name = absl::StrCat("tundra.", log::Name(type));
           const char* level = LevelName(rte_log_get_level(static_cast<uint32_t>(log::Id(type))));
           j.BeginObject().Field("type", name).Field("level", level).EndObject();
           absl::StrAppendFormat(&out, "%-16s %s\n", name, level);
         }
         j.EndArray().EndObject();
         if (a.Has("json")) out = j.Finish();
         return absl::OkStatus();
       }},
  });
}

}  // namespace tundra
