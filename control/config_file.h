// `--config=FILE`: runs a file of commands through the same engine as the prompt.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "control/command_engine.h"

namespace tundra {

// A file that adds SAs (`sa add`) holds keys: like ssh with a private key, it is refused
// when anyone but its owner may read it (group or other read permission). Checked before
// any line runs, so nothing is half-applied. `tundra-ctl -f` checks the same.
absl::Status CheckKeysPrivate(const std::string& path);

// Runs each line in order, printing command output to stdout as it comes. Stops at the
// first failing line; the error names the file and line: "run.cfg:3: ...".
// `should_stop` is checked after each line (e.g. after `quit`).
absl::Status RunConfigFile(cli::CommandEngine& engine, const std::string& path,
                           const std::function<bool()>& should_stop);

}  // namespace tundra
