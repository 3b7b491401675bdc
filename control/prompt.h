// The interactive prompt: "tundra> " with line editing, history and TAB
// completion from DPDK's rdline (the line editor under dpdk-testpmd), every
// line run through the same CommandEngine as the config file.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "control/command_engine.h"

namespace tundra::cli {

// Where the prompt's lines go: this process's engine, or a tundra at the other end of
// the control socket (tundra-ctl).
struct PromptBackend {
  // Runs one line and prints its output, then "error: <message>" when it failed.
  std::function<void(std::string_view line)> run;
  // The completion candidates for the token at the end of `line` (CommandEngine::Complete).
  std::function<std::vector<std::string>(std::string_view line)> complete;
};

// Prints a command's output (with a final newline), then "error: <message>" if it failed.
void PrintResult(const absl::Status& status, std::string out);

// On a terminal: shows "tundra> ", edits lines (arrows, Ctrl-A/E/K/W, history
// with up/down), completes with TAB (inserts the common prefix of the
// keywords that fit, or lists the choices including "<arg>" slots) and lists
// the choices with '?'. Each entered line goes to engine.Execute(); its output
// is printed, and a failing status prints "error: <message>". As in testpmd,
// Ctrl-C clears the line rather than killing the process (the terminal is
// restored on every return path); Ctrl-D on an empty line is EOF.
//
// If stdin is not a terminal, reads lines with std::getline instead (no
// prompt, no echo) and executes each the same way.
//
// Returns on EOF, or when should_quit() is true after a command. On a
// terminal should_quit() is also polled a few times a second while waiting
// for input, and at once whenever `wake_fd` (if not -1) becomes readable: the control
// socket's, so its requests are served while the prompt waits.
void RunPrompt(CommandEngine& engine, const std::function<bool()>& should_quit, int wake_fd = -1);
void RunPrompt(const PromptBackend& backend, const std::function<bool()>& should_quit,
               int wake_fd = -1);

}  // namespace tundra::cli
