// `--config=FILE`: runs a file of commands through the same engine as the prompt.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "control/command_engine.h"

namespace tundra {

// Runs each line in order, printing command output to stdout as it comes. Stops at the
// first failing line; the error names the file and line: "run.cfg:3: ...".
// `should_stop` is checked after each line (e.g. after `quit`).
absl::Status RunConfigFile(cli::CommandEngine& engine, const std::string& path,
                           const std::function<bool()>& should_stop);

}  // namespace tundra
