// Which worker polls each rx queue and which tx queue each worker sends on, per port:
// the multi-worker layout, decided once when the ports are configured.
//
//  * rx: the (port, rx queue) pairs of all ports, in port then queue order, are dealt to
//    the workers round-robin. A port with one rx queue (no RSS) is polled by one worker;
//    consecutive single-queue ports land on different workers.
//  * tx: worker w sends on queue w % tx_queues of every port. With a tx queue per worker
//    (the usual case) each worker has its own and tx takes no lock. A port with fewer tx
//    queues than workers has some queues used by several workers (as Open vSwitch does
//    with fewer tx queues than PMD threads); those, and only those, are shared and the
//    workers take a per-(port, queue) lock around tx_burst on them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tundra::drivers {

struct PortQueueLayout {
  std::vector<uint16_t> rx_worker;              // rx queue q is polled by rx_worker[q]
  std::vector<std::vector<uint16_t>> tx_users;  // tx queue q is sent on by these workers

  uint16_t tx_queues() const { return static_cast<uint16_t>(tx_users.size()); }
  // The tx queue worker `w` uses on this port.
  uint16_t TxQueueOf(uint16_t w) const { return static_cast<uint16_t>(w % tx_users.size()); }
  bool TxQueueShared(uint16_t q) const { return tx_users[q].size() > 1; }
  bool AnyTxQueueShared() const;
};

struct PortQueueCounts {
  uint16_t rx_queues = 0;
  uint16_t tx_queues = 0;  // at least 1
};

// The layout for `nb_workers` workers over ports with these (configured) queue counts,
// indexed by port id.
std::vector<PortQueueLayout> PlanQueueLayout(uint16_t nb_workers,
                                             const std::vector<PortQueueCounts>& ports);

// Human forms, for the start log and `show port info`:
//   "q0: worker 0, q1: worker 1"
//   "q0: workers 0,2 (shared, locked), q1: worker 1"
std::string DescribeRxLayout(const PortQueueLayout& layout);
std::string DescribeTxLayout(const PortQueueLayout& layout);

}  // namespace tundra::drivers
