// The C++ side of the control socket's client: one connection to a running tundra, one
// request at a time (tundra-ctl). The Python one is scripts/lib/tundra_client.py.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tundra::ctl {

struct Reply {
  bool ok = false;
  std::string output;
  std::string message;  // the error text when !ok
};

class CtlClient {
 public:
  // `timeout` bounds connecting and each reply (0: wait as long as it takes).
  CtlClient(std::string path, std::chrono::milliseconds timeout)
      : path_(std::move(path)), timeout_(timeout) {}
  ~CtlClient();
  CtlClient(const CtlClient&) = delete;
  CtlClient& operator=(const CtlClient&) = delete;

  // Connects now (Request() connects on its own when needed). UnavailableError when
  // nothing listens at the path.
  absl::Status Connect();

  // Sends one request line (no '\n' inside) and waits for its reply. A transport
  // failure (no tundra, the connection lost, no reply in time) is an error status; a
  // command tundra refused is an ok status with reply.ok false. A connection the server
  // closed while idle is replaced before sending.
  absl::StatusOr<Reply> Request(std::string_view line);

  // Sends the requests without waiting for each reply (as fast as the socket takes them)
  // and calls on_reply(i, reply) for each in order; stops sending once it returns false.
  // Meant after "@batch", so nothing after a failed request runs.
  absl::Status Pipeline(const std::vector<std::string>& requests,
                        const std::function<bool(size_t, const Reply&)>& on_reply);

 private:
  void Close();
  absl::Status ReadSome(std::string& buf);

  std::string path_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
};

}  // namespace tundra::ctl
