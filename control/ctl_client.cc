#include "control/ctl_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

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

namespace {

// Takes the first whole reply off the front of `buf`: nullopt while it is incomplete, an
// error when `buf` does not start with a reply header.
absl::StatusOr<std::optional<Reply>> TakeReply(std::string& buf) {
  const size_t eol = buf.find('\n');
  if (eol == std::string::npos) {
    if (buf.size() > 64) {  // no header is this long
      return absl::DataLossError(
          absl::StrCat("not a tundra control reply: '", buf.substr(0, 64), "'"));
    }
    return std::optional<Reply>();
  }
  const std::optional<ReplyHeader> header = ParseReplyHeader(std::string_view(buf).substr(0, eol));
  if (!header) {
    return absl::DataLossError(absl::StrCat("not a tundra control reply: '",
                                            buf.substr(0, std::min<size_t>(eol, 64)), "'"));
  }
  const size_t end = eol + 1 + header->output_bytes + header->message_bytes;
  if (buf.size() < end) return std::optional<Reply>();
  Reply reply;
  reply.ok = header->ok;
  reply.output = buf.substr(eol + 1, header->output_bytes);
  reply.message = buf.substr(eol + 1 + header->output_bytes, header->message_bytes);
  buf.erase(0, end);
  return std::optional<Reply>(std::move(reply));
}

}  // namespace

absl::Status CtlClient::Pipeline(const std::vector<std::string>& requests,
                                 const std::function<bool(size_t, const Reply&)>& on_reply) {
  if (fd_ < 0) {
    if (absl::Status s = Connect(); !s.ok()) return s;
  }
  std::string out, in;
  size_t next = 0;     // the next request to queue in `out`
  size_t replied = 0;  // replies handed to on_reply
  bool stop = false;
  const int wait_ms = timeout_.count() > 0 ? static_cast<int>(timeout_.count()) : -1;
  while (replied < next || (!stop && next < requests.size())) {
    // Keep up to 256 KiB queued: enough to keep tundra busy, bounded whatever the batch.
    while (!stop && next < requests.size() && out.size() < (256u << 10)) {
      absl::StrAppend(&out, AsAbsl(requests[next++]), "\n");
    }
    pollfd pfd = {fd_, static_cast<short>(POLLIN | (out.empty() ? 0 : POLLOUT)), 0};
    int ready;
    do {
      ready = poll(&pfd, 1, wait_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      Close();
      return absl::DeadlineExceededError(
          absl::StrCat("no reply from ", path_, " within ", timeout_.count() / 1000, " s"));
    }
    if (!out.empty() && (pfd.revents & POLLOUT)) {
      const ssize_t n = send(fd_, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) out.erase(0, static_cast<size_t>(n));
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (absl::Status s = ReadSome(in); !s.ok()) {
        Close();
        return s;
      }
      while (true) {
        absl::StatusOr<std::optional<Reply>> reply = TakeReply(in);
        if (!reply.ok()) {
          Close();
          return reply.status();
        }
        if (!reply->has_value()) break;
        if (!on_reply(replied++, **reply)) {
          // Requests already sent are refused by the server ("@batch"); nothing more
          // is sent, and the connection is not reused.
          Close();
          return absl::OkStatus();
        }
      }
    }
  }
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
  while (true) {
    absl::StatusOr<std::optional<Reply>> reply = TakeReply(buf);
    if (!reply.ok()) {
      Close();
      return reply.status();
    }
    if (reply->has_value()) return **reply;
    if (absl::Status s = ReadSome(buf); !s.ok()) {
      Close();
      return s;
    }
  }
}

}  // namespace tundra::ctl
