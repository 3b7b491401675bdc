// `capture start|stop`: a pcapng file of what one port receives and/or sends, written by
// tundra itself with DPDK's pcapng library, for machines where dpdk-dumpcap (a secondary
// process, which needs hugepages; rte_pdump is enabled for it too) cannot attach.
//
// ethdev rx/tx callbacks on the port's queues copy each packet (rte_pcapng_copy) into a
// pool of the capture's own and a ring; a writer thread of the capture's own empties the
// ring into the file, so neither a worker nor the control thread waits on the disk.
// What does not fit (pool or ring full) is counted as dropped, never waited for. With no
// capture running there is no callback: ethdev's own check for one is all it costs.
#pragma once

#include <rte_rcu_qsbr.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tundra {

struct CaptureRequest {
  uint16_t port = 0;
  bool rx = true;
  bool tx = true;
  uint64_t count = 0;  // stop after this many packets; 0: until `capture stop`
  uint32_t snaplen = 0;
  std::string path;
};

struct CaptureStatus {
  bool active = false;
  bool attached = false;  // callbacks installed (the ports have been started)
  CaptureRequest request;
  uint64_t written = 0;
  uint64_t dropped = 0;
};

class Capture {
 public:
  // Copies made per capture at most in flight (pool and ring size).
  static constexpr uint32_t kSlots = 1024;
  static constexpr uint32_t kMaxSnaplen = 9728;

  explicit Capture(rte_rcu_qsbr* qsbr);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Opens the file (refused if one capture already runs). Attaches at once when the
  // port's queues exist (nb_rxq/nb_txq > 0), else at Attach(): a capture started before
  // `start` sees the first packet.
  absl::Status Start(const CaptureRequest& request, uint16_t nb_rxq, uint16_t nb_txq);
  // When the ports have just been configured (App::Start).
  absl::Status Attach(uint16_t nb_rxq, uint16_t nb_txq);
  // Detaches, waits for the workers to leave the callbacks, writes what is queued, the
  // interface statistics, and closes the file. A summary line.
  absl::StatusOr<std::string> Stop();
  // Control-thread tick: stops a capture whose count is reached. Returns its summary,
  // empty otherwise.
  std::string Poll();

  CaptureStatus status() const;

  // One capture's state; public only for the ethdev callbacks in capture.cc.
  struct Session;

 private:
  rte_rcu_qsbr* qsbr_;
  std::unique_ptr<Session> session_;
  uint32_t next_id_ = 0;
};

}  // namespace tundra
