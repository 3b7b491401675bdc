// One Catch2 runner for every unit test: initialises EAL once (no hugepages, no PCI,
// one lcore) so tests can create mempools, hashes and RCU variables.
#define CATCH_CONFIG_RUNNER
#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "control/eal_runtime_dir.h"

int main(int argc, char** argv) {
  const std::string prefix = "tundra_unit_" + std::to_string(getpid());
  std::string file_prefix = "--file-prefix=" + prefix;
  // 512 MB: the route tables (allocated at a Tables' first route) hold three 64 MB
  // tbl24 arrays: an rte_lpm and two rte_lpm6 copies.
  char* eal_argv[] = {argv[0],
                      const_cast<char*>("-l"),
                      const_cast<char*>("0"),
                      const_cast<char*>("--no-pci"),
                      const_cast<char*>("--no-huge"),
                      const_cast<char*>("-m"),
                      const_cast<char*>("512"),
                      const_cast<char*>("--log-level=warning"),
                      file_prefix.data(),
                      nullptr};
  if (rte_eal_init(9, eal_argv) < 0) {
    std::fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
    return 2;
  }
  tundra::RemoveEalRuntimeDirAtExit();
  const int rc = Catch::Session().run(argc, argv);
  rte_eal_cleanup();
  return rc;
}
