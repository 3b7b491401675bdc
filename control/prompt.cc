#include "control/prompt.h"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// rdline_new(), rdline_free() and rdline_get_opaque() are still marked
// experimental in DPDK 22.11. We drive rdline directly rather than through
// cmdline_parse: its per-token completion cannot ask our engine about the
// whole line, and the engine already owns the grammar.
#ifndef ALLOW_EXPERIMENTAL_API
#define ALLOW_EXPERIMENTAL_API
#endif
#include <cmdline_rdline.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tundra::cli {
namespace {

constexpr char kPrompt[] = "tundra> ";

// How often a terminal prompt idle in poll() rechecks should_quit().
constexpr int kQuitPollMs = 20;

void Print(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// What the rdline callbacks need; reached through rdline's opaque pointer.
struct Session {
  const PromptBackend& backend;
};

// Waits up to kQuitPollMs for input on stdin or for wake_fd; <0 on a poll error (not
// EINTR), 0 when stdin has nothing, >0 when it has.
int WaitForInput(int wake_fd) {
  pollfd pfds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  const int ready = poll(pfds, wake_fd >= 0 ? 2 : 1, kQuitPollMs);
  if (ready < 0) return errno == EINTR ? 0 : -1;
  return pfds[0].revents != 0 ? 1 : 0;
}

Session& SessionOf(rdline* rdl) { return *static_cast<Session*>(rdline_get_opaque(rdl)); }

int WriteChar(rdline*, char c) { return std::fputc(c, stdout) == EOF ? -1 : 0; }

void Validate(rdline* rdl, const char* buf, unsigned int size) {
  const std::string line(
      absl::StripTrailingAsciiWhitespace(absl::string_view(buf, strnlen(buf, size))));
  if (!line.empty()) rdline_add_history(rdl, line.c_str());
  SessionOf(rdl).backend.run(line);
}

// rdline's completion protocol: with *state == 0 (TAB) we may return
// RDLINE_RES_COMPLETE and text to insert; otherwise (and for '?', state -1)
// rdline calls us repeatedly, one choice per call returning 1, until we
// return 0, and *state is ours to count with.
int Complete(rdline* rdl, const char* buf, char* dst, unsigned int size, int* state) {
  std::string_view line(buf);
  std::vector<std::string> choices = SessionOf(rdl).backend.complete(line);
  if (*state == 0) {
    std::string_view partial = line.substr(line.find_last_of(" \t") + 1);
    bool has_slot = std::any_of(choices.begin(), choices.end(),
                                [](const std::string& c) { return c.starts_with('<'); });
    // Insert only keywords, never an "<arg>" hint; with a slot possible, only
    // when the user has started typing a word.
    if (!choices.empty() && (!has_slot || !partial.empty())) {
      std::string common;
      bool first = true;
      for (const std::string& c : choices) {
        if (c.starts_with('<')) continue;
        if (first) {
          common = c;
          first = false;
        } else {
          common.resize(std::mismatch(common.begin(), common.end(), c.begin(), c.end()).first -
                        common.begin());
        }
      }
      if (common.size() > partial.size() || (choices.size() == 1 && !first)) {
        std::string insert = common.substr(partial.size());
        if (choices.size() == 1) insert += ' ';
        std::snprintf(dst, size, "%s", insert.c_str());
        return RDLINE_RES_COMPLETE;
      }
    }
  }
  if (*state < 0) *state = 0;
  if (static_cast<size_t>(*state) >= choices.size()) return 0;
  std::snprintf(dst, size, "%s", choices[*state].c_str());
  ++*state;
  return 1;
}

// Character-at-a-time input without echo, as DPDK's cmdline_stdin_new() sets
// it up (ISIG off too: Ctrl-C reaches rdline, which clears the line). The
// destructor restores the terminal.
class RawTerminal {
 public:
  RawTerminal() {
    ok_ = tcgetattr(STDIN_FILENO, &saved_) == 0;
    if (!ok_) return;
    termios raw = saved_;
    raw.c_lflag &= ~(ICANON | ECHO | ISIG);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  ~RawTerminal() {
    if (ok_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool ok_ = false;
};

// Lines from a pipe or file. Polls like the terminal path, so should_quit() (the
// control thread's housekeeping tick) keeps running while no command arrives.
void RunLines(const PromptBackend& backend, const std::function<bool()>& should_quit, int wake_fd) {
  std::string buf;
  char chunk[4096];
  while (!should_quit()) {
    const int ready = WaitForInput(wake_fd);
    if (ready < 0) break;
    if (ready == 0) continue;
    const ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t pos;
    while ((pos = buf.find('\n')) != std::string::npos) {
      const std::string line = buf.substr(0, pos);
      buf.erase(0, pos + 1);
      backend.run(line);
      if (should_quit()) return;
    }
  }
  if (!buf.empty() && !should_quit()) backend.run(buf);
}

void RunTerminal(const PromptBackend& backend, const std::function<bool()>& should_quit,
                 int wake_fd) {
  Session session{backend};
  std::unique_ptr<rdline, decltype(&rdline_free)> rdl(
      rdline_new(WriteChar, Validate, Complete, &session), rdline_free);
  if (rdl == nullptr) {
    RunLines(backend, should_quit, wake_fd);
    return;
  }
  RawTerminal raw;
  rdline_newline(rdl.get(), kPrompt);
  std::fflush(stdout);
  while (true) {
    const int ready = WaitForInput(wake_fd);
    if (ready < 0) break;
    if (should_quit()) break;
    if (ready <= 0) continue;
    char input[64];
    ssize_t n = read(STDIN_FILENO, input, sizeof(input));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF or a dead terminal
    for (ssize_t i = 0; i < n; ++i) {
      int result = rdline_char_in(rdl.get(), input[i]);
      if (result == RDLINE_RES_VALIDATED) {
        if (should_quit()) return;
        rdline_newline(rdl.get(), kPrompt);
      } else if (result == RDLINE_RES_EOF || result == RDLINE_RES_EXITED) {
        Print("\n");  // leave the shell's prompt on a line of its own
        return;
      }
    }
    std::fflush(stdout);
  }
  Print("\n");
}

}  // namespace

void PrintResult(const absl::Status& status, std::string out) {
  if (!out.empty() && out.back() != '\n') out += '\n';
  if (!status.ok()) absl::StrAppend(&out, "error: ", status.message(), "\n");
  Print(out);
}

void RunPrompt(const PromptBackend& backend, const std::function<bool()>& should_quit,
               int wake_fd) {
  if (isatty(STDIN_FILENO)) {
    RunTerminal(backend, should_quit, wake_fd);
  } else {
    RunLines(backend, should_quit, wake_fd);
  }
}

void RunPrompt(CommandEngine& engine, const std::function<bool()>& should_quit, int wake_fd) {
  const PromptBackend backend{
      .run =
          [&engine](std::string_view line) {
            std::string out;
            const absl::Status status = engine.Execute(line, out);
            PrintResult(status, std::move(out));
          },
      .complete = [&engine](std::string_view line) { return engine.Complete(line); },
  };
  RunPrompt(backend, should_quit, wake_fd);
}

}  // namespace tundra::cli
