// Port bring-up over DPDK ethdev, for any PMD: physical NICs or vdevs (pcap, af_packet,
// tap, ring, memif, null). Reads what a port can do, configures its queues, RSS and tx
// offloads from that, and stops/closes it cleanly (net_pcap flushes its file on close).
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/proto/address.h"

namespace tundra::drivers {

struct PortCaps {
  std::string driver;
  std::string name;
  uint16_t max_rx_queues = 1;
  uint16_t max_tx_queues = 1;
  uint16_t max_rx_desc = 4096;
  uint16_t max_tx_desc = 4096;
  uint16_t min_mtu = 68;
  uint16_t max_mtu = 1500;
  uint64_t rss_offloads = 0;  // flow types the port can hash on
  // Tx checksum offloads (RTE_ETH_TX_OFFLOAD_*).
  bool tx_ipv4_cksum = false;
  bool tx_udp_cksum = false;
  bool tx_outer_ipv4_cksum = false;
  bool tx_outer_udp_cksum = false;
  bool tx_multi_segs = false;
  int socket = 0;
};

absl::StatusOr<PortCaps> ProbePort(uint16_t port_id);

struct PortSetup {
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint16_t mtu = 1500;  // 0: leave the port's default
  rte_mempool* pool = nullptr;
  bool promiscuous = true;
  bool enable_tx_checksum_offload = true;
};

// What was actually configured (desc counts may be clamped to the port's limits).
struct PortState {
  uint16_t rx_queues = 0;
  uint16_t tx_queues = 0;
  uint16_t rx_desc = 0;
  uint16_t tx_desc = 0;
  uint16_t mtu = 1500;
  bool tx_ipv4_cksum = false;  // enabled offloads
  bool tx_udp_cksum = false;
  bool tx_outer_cksum = false;  // outer IPv4 + outer UDP checksums of tunnel packets
  bool rss = false;
  uint64_t rss_hf = 0;  // RTE_ETH_RSS_* flow types hashed when `rss`
};

// Configures and starts `port_id`.
absl::StatusOr<PortState> ConfigureAndStartPort(uint16_t port_id, const PortCaps& caps,
                                                const PortSetup& setup);

// The names of the flow-type groups `rss_hf` hashes on: "ip" (addresses), "udp", "tcp"
// (addresses and ports).
std::vector<std::string> RssFieldNames(uint64_t rss_hf);

// Stops and closes the port; errors are reported, not fatal.
absl::Status StopAndClosePort(uint16_t port_id);

absl::StatusOr<MacAddress> PortMac(uint16_t port_id);
absl::Status SetPortMac(uint16_t port_id, const MacAddress& mac);

// Descriptors to size a pool for: what rx rings hold, what tx rings may hold, per-lcore
// caches and one burst in flight per queue.
uint32_t MbufsNeeded(uint16_t rx_queues, uint16_t rx_desc, uint16_t tx_queues, uint16_t tx_desc);

absl::StatusOr<rte_mempool*> CreateMbufPool(const std::string& name, uint32_t mbufs, int socket);

}  // namespace tundra::drivers
