// EAL creates a runtime directory per --file-prefix (/var/run/dpdk/<prefix>: its shared
// config, fbarrays and telemetry socket) and leaves it behind when the process ends.
// Short-lived processes with a per-pid prefix (unit tests, fuzzers, micro benchmarks)
// would otherwise leave one per run.
#ifndef TUNDRA_CONTROL_EAL_RUNTIME_DIR_H_
#define TUNDRA_CONTROL_EAL_RUNTIME_DIR_H_

#include <rte_eal.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace tundra {

// After a successful rte_eal_init with a prefix no other process shares: removes the
// runtime directory and what is in it when the process exits (std::exit, or a return
// from main). No secondary process can attach after that.
inline void RemoveEalRuntimeDirAtExit() {
  static const std::string* dir = new std::string(rte_eal_get_runtime_dir());
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(*dir, ignored);
  });
}

}  // namespace tundra

#endif  // TUNDRA_CONTROL_EAL_RUNTIME_DIR_H_
