#include "control/ctl_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/absl_view.h"
#include "control/control_protocol.h"

namespace tundra::ctl {

CtlClient::~CtlClient() { Close(); }

void CtlClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::Status CtlClient::Connect() {
  Close();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.empty() || path_.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("bad control socket path '", path_, "'"));
  }
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  if (connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    Close();
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to ", path_, ": ", std::strerror(err),
        err == ENOENT || err == ECONNREFUSED ? " (is tundra running with this --socket?)" : ""));
  }
  return absl::OkStatus();
}

absl::Status CtlClient::ReadSome(std::string& buf) {
  pollfd pfd = {fd_, POLLIN, 0};
  const int wait_ms = timeout_.count() > 0 ? static_cast<int>(timeout_.count()) : -1;
  int ready;
  do {
    ready = poll(&pfd, 1, wait_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    return absl::DeadlineExceededError(
        absl::StrCat("no reply from ", path_, " within ", timeout_.count() / 1000, " s"));
  }
  char chunk[65536];
  ssize_t n;
  do {
    n = recv(fd_, chunk, sizeof(chunk), 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    return absl::UnavailableError(
        absl::StrCat("tundra closed the connection before replying",
                     n < 0 ? absl::StrCat(" (", std::strerror(errno), ")") : ""));
  }
  buf.append(chunk, static_cast<size_t>(n));
  return absl::OkStatus();
}

absl::StatusOr<Reply> CtlClient::Request(std::string_view line) {
  if (fd_ >= 0) {
    // A readable idle connection means the server closed it (idle timeout): replace it.
    pollfd pfd = {fd_, POLLIN, 0};
    if (poll(&pfd, 1, 0) != 0) Close();
  }
  if (fd_ < 0) {
    if (absl::Status s = Connect(); !s.ok()) return s;
  }
  const std::string request = absl::StrCat(AsAbsl(line), "\n");
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      Close();
      return absl::UnavailableError(
          absl::StrCat("cannot send to ", path_, ": ", std::strerror(err)));
    }
    sent += static_cast<size_t>(n);
  }
  std::string buf;
  size_t eol;
  while ((eol = buf.find('\n')) == std::string::npos) {
    if (buf.size() > 64) break;  // no header is this long
    if (absl::Status s = ReadSome(buf); !s.ok()) {
      Close();
      return s;
    }
  }
  const std::optional<ReplyHeader> header =
      eol == std::string::npos ? std::nullopt
                               : ParseReplyHeader(std::string_view(buf).substr(0, eol));
  if (!header) {
    Close();
    return absl::DataLossError(
        absl::StrCat("not a tundra control reply: '", buf.substr(0, 64), "'"));
  }
  const size_t want = eol + 1 + header->output_bytes + header->message_bytes;
  while (buf.size() < want) {
    if (absl::Status s = ReadSome(buf); !s.ok()) {
      Close();
      return s;
    }
  }
  Reply reply;
  reply.ok = header->ok;
  reply.output = buf.substr(eol + 1, header->output_bytes);
  reply.message = buf.substr(eol + 1 + header->output_bytes, header->message_bytes);
  return reply;
}

}  // namespace tundra::ctl
