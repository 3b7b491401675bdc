#include "control/control_protocol.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/absl_view.h"

namespace tundra::ctl {

std::string EncodeReply(const absl::Status& status, std::string_view output) {
  const absl::string_view message = status.ok() ? absl::string_view() : status.message();
  return absl::StrCat(status.ok() ? "ok " : "error ", output.size(), " ", message.size(), "\n",
                      AsAbsl(output), message);
}

std::optional<ReplyHeader> ParseReplyHeader(std::string_view line) {
  const std::vector<std::string_view> words = SplitViews(line, ' ');
  ReplyHeader header;
  if (words.size() != 3 || (words[0] != "ok" && words[0] != "error")) return std::nullopt;
  header.ok = words[0] == "ok";
  if (!absl::SimpleAtoi(AsAbsl(words[1]), &header.output_bytes) ||
      !absl::SimpleAtoi(AsAbsl(words[2]), &header.message_bytes) ||
      (header.ok && header.message_bytes != 0)) {
    return std::nullopt;
  }
  return header;
}

absl::Status CheckRequestText(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if ((c < 0x20 && c != '\t') || c >= 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrFormat("request holds byte 0x%02x at column %d: commands are printable "
                          "ASCII text",
                          c, i + 1));
    }
  }
  return absl::OkStatus();
}

absl::Status ExecuteRequest(cli::CommandEngine& engine, std::string_view line, std::string& out) {
  if (absl::Status s = CheckRequestText(line); !s.ok()) return s;
  if (line.starts_with(kCompletePrefix)) {
    const std::vector<std::string> choices = engine.Complete(line.substr(kCompletePrefix.size()));
    for (const std::string& c : choices) absl::StrAppend(&out, c, "\n");
    return absl::OkStatus();
  }
  if (line.starts_with('@')) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown request '", AsAbsl(line.substr(0, line.find(' '))),
        "' (the '@' requests are '@complete <line>' and '@batch', on the control socket)"));
  }
  return engine.Execute(line, out);
}

}  // namespace tundra::ctl
