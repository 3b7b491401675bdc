// The interactive prompt: "tundra> " with line editing, history and TAB
// completion from DPDK's rdline (the line editor under dpdk-testpmd), every
// line run through the same CommandEngine as the config file.
#pragma once

#include <functional>

#include "control/command_engine.h"

namespace tundra::cli {

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
// for input, so it must be cheap and safe to call from this thread (e.g. an
// atomic flag another thread or a signal handler sets).
void RunPrompt(CommandEngine& engine, const std::function<bool()>& should_quit);

}  // namespace tundra::cli
