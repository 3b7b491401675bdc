// tundra-ctl: runs commands on a running tundra through its control socket (like vppctl
// or grcli). One command from the arguments, a batch from -f FILE or a pipe, or an
// interactive prompt whose completion comes from the server's grammar.
//
// Exit status: 0 when every command succeeded, 1 when tundra answered an error (printed
// on stderr), 2 when tundra could not be reached (or the arguments are wrong).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "control/absl_view.h"
#include "control/config_file.h"
#include "control/control_protocol.h"
#include "control/ctl_client.h"
#include "control/prompt.h"

namespace {

constexpr char kUsage[] =
    "usage: tundra-ctl [--socket=PATH] [--json] [--timeout=SECONDS] <command words>\n"
    "       tundra-ctl [--socket=PATH] [--timeout=SECONDS] -f FILE   (FILE '-': stdin)\n"
    "       tundra-ctl [--socket=PATH]                  (a prompt; a batch when stdin is a pipe)\n"
    "\n"
    "Runs commands on a running tundra through its control socket (tundra -- --socket=PATH,\n"
    "default /run/tundra/tundra.sock). The commands are the grammar of tundra's prompt and\n"
    "--config ('help' lists them). --json asks for the json form of a 'show'. A batch stops\n"
    "at the first failing command and names its line. --timeout bounds the wait for each\n"
    "reply (default 60; 0: no limit).\n"
    "\n"
    "Exit status: 0 ok, 1 tundra answered an error, 2 tundra could not be reached or bad\n"
    "arguments.\n";

constexpr int kExitError = 1;
constexpr int kExitUnreachable = 2;

struct Options {
  std::string socket = tundra::ctl::kDefaultSocketPath;
  bool json = false;
  int timeout_s = 60;
  std::string file;
  std::vector<std::string> words;
};

// Leading options, then the command words (taken as they are, whatever they look like).
bool ParseArgs(int argc, char** argv, Options& o, std::string& error) {
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (!a.starts_with('-')) break;
    if (a.starts_with("--socket=")) {
      o.socket = std::string(a.substr(9));
    } else if (a == "--json") {
      o.json = true;
    } else if (a.starts_with("--timeout=")) {
      if (!absl::SimpleAtoi(tundra::AsAbsl(a.substr(10)), &o.timeout_s) || o.timeout_s < 0) {
        error = absl::StrCat("bad --timeout '", tundra::AsAbsl(a.substr(10)),
                             "' (whole seconds, 0: no limit)");
        return false;
      }
    } else if (a == "-f" && i + 1 < argc) {
      o.file = argv[++i];
    } else if (a.starts_with("--file=")) {
      o.file = std::string(a.substr(7));
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      error = absl::StrCat("unknown option '", tundra::AsAbsl(a), "'");
      return false;
    }
  }
  for (; i < argc; ++i) o.words.emplace_back(argv[i]);
  if (!o.file.empty() && !o.words.empty()) {
    error = "give either -f FILE or a command, not both";
    return false;
  }
  return true;
}

std::string WithJson(std::string command, bool json) {
  const std::vector<std::string_view> words =
      tundra::SplitViews(command, ' ', absl::SkipWhitespace());
  if (json && !words.empty() && words.front() == "show" && words.back() != "json") {
    absl::StrAppend(&command, " json");
  }
  return command;
}

void PrintOutput(const std::string& output) {
  std::fwrite(output.data(), 1, output.size(), stdout);
  if (!output.empty() && output.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
}

int RunOne(tundra::ctl::CtlClient& client, const Options& o) {
  const absl::StatusOr<tundra::ctl::Reply> reply =
      client.Request(WithJson(absl::StrJoin(o.words, " "), o.json));
  if (!reply.ok()) {
    absl::FPrintF(stderr, "tundra-ctl: %s\n", reply.status().message());
    return kExitUnreachable;
  }
  PrintOutput(reply->output);
  if (!reply->ok) {
    absl::FPrintF(stderr, "error: %s\n", reply->message);
    return kExitError;
  }
  return 0;
}

// The batch is pipelined after "@batch": tundra runs the lines in order and none after a
// failed one, without a round trip per line.
int RunBatch(tundra::ctl::CtlClient& client, const Options& o, std::istream& in,
             const std::string& name) {
  std::vector<std::string> requests;
  std::vector<int> line_numbers;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    const std::string_view text = tundra::AsStd(absl::StripAsciiWhitespace(line));
    if (text.empty() || text.starts_with('#')) continue;
    requests.push_back(WithJson(std::string(text), o.json));
    line_numbers.push_back(line_no);
  }
  if (requests.empty()) return 0;
  const absl::StatusOr<tundra::ctl::Reply> batch = client.Request(tundra::ctl::kBatchRequest);
  if (!batch.ok() || !batch->ok) {
    absl::FPrintF(stderr, "tundra-ctl: %s\n",
                  batch.ok() ? batch->message : std::string(batch.status().message()));
    return kExitUnreachable;
  }
  int status = 0;
  const absl::Status s = client.Pipeline(requests, [&](size_t i, const tundra::ctl::Reply& r) {
    PrintOutput(r.output);
    if (r.ok) return true;
    absl::FPrintF(stderr, "%s:%d: error: %s\n", name, line_numbers[i], r.message);
    status = kExitError;
    return false;
  });
  if (!s.ok()) {
    absl::FPrintF(stderr, "tundra-ctl: %s: %s\n", name, s.message());
    return kExitUnreachable;
  }
  return status;
}

int RunInteractive(tundra::ctl::CtlClient& client, const Options& o) {
  int status = 0;
  const tundra::cli::PromptBackend backend{
      .run =
          [&](std::string_view line) {
            const absl::StatusOr<tundra::ctl::Reply> reply =
                client.Request(WithJson(std::string(line), o.json));
            if (!reply.ok()) {
              tundra::cli::PrintResult(reply.status(), "");
              status = kExitUnreachable;
              return;
            }
            tundra::cli::PrintResult(
                reply->ok ? absl::OkStatus() : absl::InvalidArgumentError(reply->message),
                reply->output);
          },
      .complete =
          [&](std::string_view line) {
            std::vector<std::string> choices;
            const absl::StatusOr<tundra::ctl::Reply> reply = client.Request(
                absl::StrCat(tundra::AsAbsl(tundra::ctl::kCompletePrefix), tundra::AsAbsl(line)));
            if (reply.ok() && reply->ok) {
              for (std::string_view c :
                   tundra::SplitViews(reply->output, '\n', absl::SkipEmpty())) {
                choices.emplace_back(c);
              }
            }
            return choices;
          },
  };
  tundra::cli::RunPrompt(backend, [] { return false; });
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string error;
  if (!ParseArgs(argc, argv, o, error)) {
    absl::FPrintF(stderr, "tundra-ctl: %s\n\n%s", error, kUsage);
    return kExitUnreachable;
  }
  tundra::ctl::CtlClient client(o.socket, std::chrono::seconds(o.timeout_s));
  if (absl::Status s = client.Connect(); !s.ok()) {
    absl::FPrintF(stderr, "tundra-ctl: %s\n", s.message());
    return kExitUnreachable;
  }
  if (!o.words.empty()) return RunOne(client, o);
  if (o.file == "-" || (o.file.empty() && !isatty(STDIN_FILENO))) {
    return RunBatch(client, o, std::cin, "<stdin>");
  }
  if (!o.file.empty()) {
    if (absl::Status s = tundra::CheckKeysPrivate(o.file); !s.ok()) {
      absl::FPrintF(stderr, "tundra-ctl: %s\n", s.message());
      return 1;
    }
    std::ifstream in(o.file);
    if (!in) {
      absl::FPrintF(stderr, "tundra-ctl: cannot open %s\n", o.file);
      return kExitUnreachable;
    }
    return RunBatch(client, o, in, o.file);
  }
  return RunInteractive(client, o);
}
