// The control socket: a UNIX stream socket on which other processes (tundra-ctl, the test
// and bench scripts, an orchestrator) run commands on a live tundra, framed as
// control_protocol.h describes.
//
// Everything here runs on the control thread and never blocks: Service() accepts, reads,
// runs whole request lines one at a time through the handler and writes what the socket
// takes. Each client has a bounded input buffer, and a client whose reply is not read yet
// gets no further request run, so a slow, silent or hostile client costs one slot and its
// own memory, never another client's turn or a worker's time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tundra::ctl {

struct ControlSocketOptions {
  std::string path;
  // A connection with no byte in or out for this long is closed.
  std::chrono::milliseconds idle_timeout{60000};
  size_t max_clients = 64;
};

// Runs one request line; fills the output. Called only from Service().
using RequestHandler = std::function<absl::Status(std::string_view line, std::string& out)>;

class ControlSocket {
 public:
  // Binds and listens on options.path with mode 0600. Creates its directory (mode 0700)
  // when missing. An existing socket nobody listens on (a tundra that was killed) is
  // replaced; a live one, or anything else at that path, is an error.
  static absl::StatusOr<std::unique_ptr<ControlSocket>> Open(const ControlSocketOptions& options);
  ~ControlSocket();  // closes every connection and removes the socket file
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Readable (for poll()) whenever Service() has something to do.
  int fd() const { return epoll_fd_; }
  const std::string& path() const { return options_.path; }
  size_t clients() const { return clients_.size(); }

  // Accepts, reads and writes what is ready and runs up to `budget` requests, taking the
  // clients in turn (one request each per round). Returns true when requests are still
  // waiting (call again after the control thread's other housekeeping).
  bool Service(const RequestHandler& handle, int budget = 64);

  // Writes what is left of the replies for up to `wait`, then closes every connection
  // (at exit, so a `quit` sent over the socket gets its "ok").
  void Drain(std::chrono::milliseconds wait);

 private:
  struct Client;
  explicit ControlSocket(ControlSocketOptions options);
  absl::Status Listen();
  void Accept();
  void Read(Client& c);
  void Flush(Client& c);
  // Runs the first whole line of c's input; false when it has none.
  bool RunOne(Client& c, const RequestHandler& handle);
  void WatchWrites(Client& c, bool on);

  ControlSocketOptions options_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  bool created_dir_ = false;
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace tundra::ctl
