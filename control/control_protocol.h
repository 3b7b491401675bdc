// The control socket's wire format, shared by the server (control_socket.cc), tundra-ctl
// and the Python client (scripts/lib/tundra_client.py).
//
// A request is one line of text ending in '\n' (a '\r' before it is ignored): a command
// in the same grammar as --config and the prompt, or one of two others:
//   "@complete <partial line>"  the prompt's completion candidates for that line, one per
//                               output line;
//   "@batch"                    from now on, once a request on this connection fails,
//                               the ones after it are not run (each answered with an
//                               error saying so). A client may then send a whole batch
//                               without waiting for each reply and still stop at the
//                               first error (tundra-ctl -f).
// Text without a '\n' when the client closes is discarded, never run.
//
// A reply is a header line, then two byte strings of the lengths it gives:
//
//   ok <output-bytes> 0\n<output>
//   error <output-bytes> <message-bytes>\n<output><message>
//
// so a client knows exactly where a reply ends whatever the output holds. The output is
// what the command printed (a failing command may have printed some); the message is the
// error text, without the "error: " the prompt puts in front of it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "control/command_engine.h"

namespace tundra::ctl {

// Requests longer than this (without their '\n') are refused whole (an error reply);
// the connection stays usable.
inline constexpr size_t kMaxRequestBytes = 64 * 1024;

// The request prefix that asks for completion candidates instead of running a command.
// No command starts with '@', so it cannot shadow one.
inline constexpr std::string_view kCompletePrefix = "@complete ";
inline constexpr std::string_view kBatchRequest = "@batch";

// Where tundra listens when run as root without --socket.
inline constexpr char kDefaultSocketPath[] = "/run/tundra/tundra.sock";

std::string EncodeReply(const absl::Status& status, std::string_view output);

struct ReplyHeader {
  bool ok = false;
  size_t output_bytes = 0;
  size_t message_bytes = 0;
};

// Parses a header line (without its '\n'); nullopt when it is not one.
std::optional<ReplyHeader> ParseReplyHeader(std::string_view line);

// Why a request line cannot be run (a control character, a byte outside ASCII), or OK.
absl::Status CheckRequestText(std::string_view line);

// Runs one request line on the control thread: a command through `engine`, or a
// completion. `out` receives the output.
absl::Status ExecuteRequest(cli::CommandEngine& engine, std::string_view line, std::string& out);

}  // namespace tundra::ctl
