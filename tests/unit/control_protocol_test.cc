// The control socket's framing (control/control_protocol.h): what the server writes is
// what the client reads back, for any output, and junk is never taken for a reply.
#include "control/control_protocol.h"

#include <catch2/catch.hpp>
#include <string>

#include "absl/status/status.h"

namespace tundra::ctl {
namespace {

TEST_CASE("control replies frame any output and the error message exactly", "[ctl]") {
  const std::string output = "line one\nok 3 0\n\nerror 1 1\n";
  for (const absl::Status& status :
       {absl::OkStatus(), absl::InvalidArgumentError("no tunnel 't9'\nsecond line")}) {
    const std::string reply = EncodeReply(status, output);
    const size_t eol = reply.find('\n');
    const std::optional<ReplyHeader> h = ParseReplyHeader(std::string_view(reply).substr(0, eol));
    REQUIRE(h.has_value());
    CHECK(h->ok == status.ok());
    CHECK(reply.substr(eol + 1, h->output_bytes) == output);
    CHECK(reply.substr(eol + 1 + h->output_bytes) == std::string(status.message()));
    CHECK(eol + 1 + h->output_bytes + h->message_bytes == reply.size());
  }
}

TEST_CASE("reply headers that are not exactly ok|error N M are refused", "[ctl]") {
  for (const char* bad : {"", "ok", "ok 1", "ok 1 2", "fine 1 0", "ok -1 0", "ok 1 0 0",
                          "error x 1", "ok  1 0", "OK 1 0", "error 1 99999999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(ParseReplyHeader(bad).has_value());
  }
  CHECK(ParseReplyHeader("error 0 5").has_value());
}

TEST_CASE("requests are printable ASCII; the offending byte and column are named", "[ctl]") {
  CHECK(CheckRequestText("show port stats all\tjson").ok());
  const absl::Status s = CheckRequestText(std::string("help\0x", 6));
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).starts_with("request holds byte 0x00 at column 5"));
  CHECK_FALSE(CheckRequestText("caf\xc3\xa9").ok());
  CHECK_FALSE(CheckRequestText("a\x7f").ok());
}

}  // namespace
}  // namespace tundra::ctl
