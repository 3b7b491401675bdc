// tundra's log types in DPDK's log framework: one line per event that matters (a port's
// link going up or down, a table full, learn events lost, a next hop that does not
// answer), never one per packet. EAL's --log-level=tundra.*:debug and the `log level`
// command set them; lines go wherever DPDK's log goes (stderr, or syslog for a service).
#pragma once

#include <rte_log.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace tundra::log {

enum class Type { kControl, kPort, kNeigh, kFdb, kTable, kCount };

// Registers the types ("tundra.control", "tundra.port", "tundra.neigh", "tundra.fdb",
// "tundra.table"; default level info) once, after rte_eal_init.
void Init();

// The DPDK log type id, and the name without "tundra.".
int Id(Type type);
const char* Name(Type type);

void Write(Type type, uint32_t level, std::string_view message);

// Logs "tundra.<type>: <formatted>" at RTE_LOG_<level>.
template <typename... Args>
void Emit(Type type, uint32_t level, const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (!rte_log_can_log(Id(type), level)) return;
  Write(type, level, absl::StrFormat(format, args...));
}

// A table ran out of entries: logged (tundra.table, warning) and returned as
// ResourceExhausted, so an orchestrator that only reads the log sees it too.
absl::Status TableFull(std::string message);

}  // namespace tundra::log
