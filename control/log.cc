#include "control/log.h"

#include <array>

namespace tundra::log {
namespace {

constexpr std::array<const char*, static_cast<size_t>(Type::kCount)> kNames = {
    "control", "port", "neigh", "fdb", "table"};

std::array<int, static_cast<size_t>(Type::kCount)> g_ids = {-1, -1, -1, -1, -1};

}  // namespace

void Init() {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (g_ids[i] >= 0) continue;
    const std::string name = absl::StrFormat("tundra.%s", kNames[i]);
    // Picks up a level given with --log-level=tundra.port:debug (or a pattern) at start.
    g_ids[i] = rte_log_register_type_and_pick_level(name.c_str(), RTE_LOG_INFO);
  }
}

int Id(Type type) { return g_ids[static_cast<size_t>(type)]; }
const char* Name(Type type) { return kNames[static_cast<size_t>(type)]; }

void Write(Type type, uint32_t level, std::string_view message) {
  rte_log(level, static_cast<uint32_t>(Id(type)), "tundra.%s: %.*s\n", Name(type),
          static_cast<int>(message.size()), message.data());
}

absl::Status TableFull(std::string message) {
  Emit(Type::kTable, RTE_LOG_WARNING, "%s", message);
  return absl::ResourceExhaustedError(std::move(message));
}

}  // namespace tundra::log
