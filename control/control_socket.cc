#include "control/control_socket.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "control/control_protocol.h"

namespace tundra::ctl {
namespace {

using Clock = std::chrono::steady_clock;

std::string ErrnoText(int err) { return std::strerror(err); }

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty()) return absl::InvalidArgumentError("the control socket path is empty");
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "control socket path '", path, "' is longer than ", sizeof(addr.sun_path) - 1, " bytes"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// What is at `path` before we bind: nothing, a socket nobody listens on (removed), or an
// error naming what is there.
absl::Status ClearStaleSocket(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat ", path, ": ", ErrnoText(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::AlreadyExistsError(
        absl::StrCat(path, " exists and is not a socket; not replacing it"));
  }
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText(errno)));
  const int rc = connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int err = errno;
  close(probe);
  if (rc == 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "another process is serving ", path, " (a tundra already running? give it --socket=...)"));
  }
  if (err != ECONNREFUSED) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot tell whether ", path, " is in use: ", ErrnoText(err)));
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot remove the stale socket ", path, ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

struct ControlSocket::Client {
  int fd = -1;
  std::string in;
  std::string out;
  size_t out_sent = 0;
  bool eof = false;         // the client closed its side: run what is whole, then close
  bool discarding = false;  // dropping the rest of a request that was too long
  bool batch = false;       // "@batch": after a failure, run nothing more
  bool batch_failed = false;
  bool dead = false;
  uint32_t events = 0;  // what epoll watches
  Clock::time_point last_activity;

  bool has_output() const { return out_sent < out.size(); }
  bool has_line() const { return in.find('\n') != std::string::npos; }
};

ControlSocket::ControlSocket(ControlSocketOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<ControlSocket>> ControlSocket::Open(
    const ControlSocketOptions& options) {
  std::unique_ptr<ControlSocket> s(new ControlSocket(options));
  if (absl::Status status = s->Listen(); !status.ok()) return status;
  return s;
}

absl::Status ControlSocket::Listen() {
  const std::string& path = options_.path;
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0700) == 0) {
      created_dir_ = true;
    } else if (errno != EEXIST) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create the directory ", dir, ": ", ErrnoText(errno)));
    }
  }
  if (absl::Status s = ClearStaleSocket(path, *addr); !s.ok()) return s;
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText(errno)));
  // The file is created by bind() with the umask's mode: never readable by others, even
  // for a moment.
  const mode_t old_mask = umask(0177);
  const int rc = bind(listen_fd_, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  const int err = errno;
  umask(old_mask);
  if (rc != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot bind the control socket ", path, ": ", ErrnoText(err)));
  }
  if (listen(listen_fd_, 64) != 0) {
    return absl::InternalError(absl::StrCat("listen on ", path, ": ", ErrnoText(errno)));
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", ErrnoText(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null: the listening socket
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

ControlSocket::~ControlSocket() {
  for (auto& c : clients_) close(c->fd);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(options_.path.c_str());
  }
  if (created_dir_) rmdir(options_.path.substr(0, options_.path.rfind('/')).c_str());
}

void ControlSocket::Accept() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a client that went away before we got to it
    if (clients_.size() >= options_.max_clients) {
      const std::string reply =
          EncodeReply(absl::ResourceExhaustedError(absl::StrCat("too many control connections (",
                                                                options_.max_clients, ")")),
                      "");
      (void)send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      continue;
    }
    auto c = std::make_unique<Client>();
    c->fd = fd;
    c->last_activity = Clock::now();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c.get();
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    c->events = EPOLLIN;
    clients_.push_back(std::move(c));
  }
}

void ControlSocket::Read(Client& c) {
  char buf[16384];
  // Read no further than one request past the limit: enough to see it is too long.
  while (!c.eof && !c.dead && c.in.size() <= kMaxRequestBytes && !c.has_line()) {
    const ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      std::string_view data(buf, static_cast<size_t>(n));
      c.last_activity = Clock::now();
      if (c.discarding) {
        const size_t end = data.find('\n');
        if (end == std::string_view::npos) continue;
        data.remove_prefix(end + 1);
        c.discarding = false;
      }
      c.in.append(data);
    } else if (n == 0) {
      c.eof = true;
    } else if (errno == EINTR) {
      continue;
    } else {
      if (errno != EAGAIN && errno != EWOULDBLOCK) c.dead = true;
      return;
    }
  }
}

void ControlSocket::Flush(Client& c) {
  while (c.has_output() && !c.dead) {
    const ssize_t n =
        send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
      c.last_activity = Clock::now();
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) c.dead = true;
      return;
    }
  }
  if (!c.has_output()) {
    c.out.clear();
    c.out_sent = 0;
  }
}

bool ControlSocket::RunOne(Client& c, const RequestHandler& handle) {
  const size_t end = c.in.find('\n');
  if (end == std::string::npos || end > kMaxRequestBytes) {
    if (c.in.size() > kMaxRequestBytes) {
      // Refused whole; the rest of it, up to its '\n', is read and dropped.
      c.out += EncodeReply(absl::InvalidArgumentError(absl::StrCat(
                               "request longer than ", kMaxRequestBytes, " bytes; not run")),
                           "");
      c.discarding = end == std::string::npos;
      c.in.erase(0, end == std::string::npos ? c.in.size() : end + 1);
      return true;
    }
    return false;
  }
  std::string_view line(c.in.data(), end);
  if (line.ends_with('\r')) line.remove_suffix(1);
  std::string output;
  absl::Status status;
  if (line == kBatchRequest) {
    c.batch = true;
    c.batch_failed = false;
  } else if (c.batch_failed) {
    status = absl::FailedPreconditionError("not run: an earlier request of this batch failed");
  } else {
    status = handle(line, output);
    c.batch_failed = c.batch && !status.ok();
  }
  c.out += EncodeReply(status, output);
  c.in.erase(0, end + 1);
  return true;
}

void ControlSocket::WatchWrites(Client& c, bool on) {
  // Reads are watched only while the client may send its next request: not while its
  // reply waits to be written (back-pressure), nor while a whole request waits its turn.
  uint32_t want = 0;
  if (on) {
    want = EPOLLOUT;
  } else if (!c.has_line() && !c.eof) {
    want = EPOLLIN;
  }
  if (want == c.events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.ptr = &c;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.events = want;
}

bool ControlSocket::Service(const RequestHandler& handle, int budget) {
  epoll_event events[64];
  const int n = epoll_wait(epoll_fd_, events, 64, 0);
  for (int i = 0; i < n; ++i) {
    auto* c = static_cast<Client*>(events[i].data.ptr);
    if (c == nullptr) {
      Accept();
      continue;
    }
    if (events[i].events & EPOLLOUT) Flush(*c);
    if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) Read(*c);
  }
  // One request per client per round, so a client that pipelines cannot starve others.
  bool ran = true;
  while (budget > 0 && ran) {
    ran = false;
    for (auto& c : clients_) {
      if (budget == 0) break;
      if (c->dead || c->has_output()) continue;
      if (!c->has_line()) Read(*c);
      if (RunOne(*c, handle)) {
        --budget;
        ran = true;
      }
      Flush(*c);
    }
  }
  const Clock::time_point now = Clock::now();
  bool more = false;
  for (auto& c : clients_) {
    if (c->has_output()) Flush(*c);
    if (c->has_output()) {
      if (now - c->last_activity > options_.idle_timeout) c->dead = true;
    } else if (c->eof && !c->has_line()) {
      c->dead = true;  // text without a '\n' at the end is discarded, never run
    } else if (now - c->last_activity > options_.idle_timeout && !c->has_line()) {
      c->dead = true;
    }
    if (c->dead) {
      close(c->fd);
      continue;
    }
    WatchWrites(*c, c->has_output());
    if (!c->has_output() && c->has_line()) more = true;
  }
  std::erase_if(clients_, [](const std::unique_ptr<Client>& c) { return c->dead; });
  return more;
}

void ControlSocket::Drain(std::chrono::milliseconds wait) {
  const Clock::time_point deadline = Clock::now() + wait;
  for (auto& c : clients_) {
    while (c->has_output() && !c->dead && Clock::now() < deadline) {
      pollfd pfd = {c->fd, POLLOUT, 0};
      if (poll(&pfd, 1, 10) > 0) Flush(*c);
    }
    close(c->fd);
  }
  clients_.clear();
}

}  // namespace tundra::ctl
