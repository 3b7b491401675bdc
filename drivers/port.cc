#include "drivers/port.h"

#include <rte_mbuf.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tundra::drivers {

namespace {

absl::Status EthError(int rc, uint16_t port_id, const char* what) {
  return absl::InternalError(
      absl::StrCat("port ", port_id, ": ", what, " failed: ", rte_strerror(-rc)));
}

// Per-lcore mempool cache; DPDK recommends a divisor of the pool size near 256.
constexpr unsigned kPoolCache = 256;

}  // namespace

absl::StatusOr<PortCaps> ProbePort(uint16_t port_id) {
  if (!rte_eth_dev_is_valid_port(port_id)) {
    return absl::NotFoundError(absl::StrCat("port ", port_id, " does not exist"));
  }
  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(port_id, &info); rc != 0) {
    return EthError(rc, port_id, "rte_eth_dev_info_get");
  }
  PortCaps caps;
  caps.driver = info.driver_name != nullptr ? info.driver_name : "";
  char name[RTE_ETH_NAME_MAX_LEN];
  if (rte_eth_dev_get_name_by_port(port_id, name) == 0) caps.name = name;
  caps.max_rx_queues = info.max_rx_queues;
  caps.max_tx_queues = info.max_tx_queues;
  caps.max_rx_desc = info.rx_desc_lim.nb_max;
  caps.max_tx_desc = info.tx_desc_lim.nb_max;
  caps.min_mtu = info.min_mtu;
  caps.max_mtu = info.max_mtu;
  caps.rss_offloads = info.flow_type_rss_offloads;
  const uint64_t tx = info.tx_offload_capa;
  caps.tx_ipv4_cksum = tx & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  caps.tx_udp_cksum = tx & RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  caps.tx_outer_ipv4_cksum = tx & RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM;
  caps.tx_outer_udp_cksum = tx & RTE_ETH_TX_OFFLOAD_OUTER_UDP_CKSUM;
  caps.tx_multi_segs = tx & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  const int socket = rte_eth_dev_socket_id(port_id);
  caps.socket = socket < 0 ? 0 : socket;
  return caps;
}

absl::StatusOr<PortState> ConfigureAndStartPort(uint16_t port_id, const PortCaps& caps,
                                                const PortSetup& setup) {
  if (setup.rx_queues > caps.max_rx_queues || setup.tx_queues > caps.max_tx_queues) {
    return absl::FailedPreconditionError(
        absl::StrCat("port ", port_id, " (", caps.name, ") supports ", caps.max_rx_queues,
                     " rx and ", caps.max_tx_queues, " tx queues; ", setup.rx_queues, " rx and ",
                     setup.tx_queues, " tx were asked for"));
  }
  PortState st;
  st.rx_queues = setup.rx_queues;
  st.tx_queues = setup.tx_queues;
  rte_eth_conf conf = {};
  // RSS spreads flows over the workers' rx queues; on decap the outer UDP source port
  // carries the inner flow's entropy (RFC 7348 §5), so hash on L4 ports where possible.
  const uint64_t rss_hf = caps.rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP);
  if (setup.rx_queues > 1 && rss_hf != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
    st.rss = true;
    st.rss_hf = rss_hf;
  }
  if (setup.enable_tx_checksum_offload) {
    if (caps.tx_ipv4_cksum) {
      conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
      st.tx_ipv4_cksum = true;
    }
    if (caps.tx_udp_cksum) {
      conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
      st.tx_udp_cksum = true;
    }
    if (caps.tx_outer_ipv4_cksum && caps.tx_outer_udp_cksum) {
      conf.txmode.offloads |=
          RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_OUTER_UDP_CKSUM;
      st.tx_outer_cksum = true;
    }
  }
  if (caps.tx_multi_segs) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;

  if (int rc = rte_eth_dev_configure(port_id, setup.rx_queues, setup.tx_queues, &conf); rc != 0) {
    return EthError(rc, port_id, "rte_eth_dev_configure");
  }
  uint16_t rx_desc = setup.rx_desc;
  uint16_t tx_desc = setup.tx_desc;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc); rc != 0) {
    return EthError(rc, port_id, "rte_eth_dev_adjust_nb_rx_tx_desc");
  }
  st.rx_desc = rx_desc;
  st.tx_desc = tx_desc;
  if (setup.mtu != 0) {
    // Not every vdev implements MTU changes; keep its own value then.
    if (rte_eth_dev_set_mtu(port_id, setup.mtu) == 0) st.mtu = setup.mtu;
  }
  uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(port_id, &mtu) == 0 && mtu != 0) st.mtu = mtu;

  rte_eth_dev_info info;
  rte_eth_dev_info_get(port_id, &info);
  for (uint16_t q = 0; q < setup.rx_queues; ++q) {
    rte_eth_rxconf rxconf = info.default_rxconf;
    if (int rc = rte_eth_rx_queue_setup(port_id, q, rx_desc, caps.socket, &rxconf, setup.pool);
        rc != 0) {
      return EthError(rc, port_id, "rte_eth_rx_queue_setup");
    }
  }
  for (uint16_t q = 0; q < setup.tx_queues; ++q) {
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(port_id, q, tx_desc, caps.socket, &txconf); rc != 0) {
      return EthError(rc, port_id, "rte_eth_tx_queue_setup");
    }
  }
  if (int rc = rte_eth_dev_start(port_id); rc != 0) {
    return EthError(rc, port_id, "rte_eth_dev_start");
  }
  if (setup.promiscuous) {
    // Some vdevs (pcap) have no promiscuous switch and see everything anyway.
    rte_eth_promiscuous_enable(port_id);
  } else {
    // A segment's multicast group arrives to the group's MAC.
    rte_eth_allmulticast_enable(port_id);
  }
  return st;
}

std::vector<std::string> RssFieldNames(uint64_t rss_hf) {
  std::vector<std::string> names;
  if (rss_hf & RTE_ETH_RSS_IP) names.push_back("ip");
  if (rss_hf & RTE_ETH_RSS_UDP) names.push_back("udp");
  if (rss_hf & RTE_ETH_RSS_TCP) names.push_back("tcp");
  return names;
}

absl::Status StopAndClosePort(uint16_t port_id) {
  absl::Status status;
  if (int rc = rte_eth_dev_stop(port_id); rc != 0) status = EthError(rc, port_id, "stop");
  if (int rc = rte_eth_dev_close(port_id); rc != 0 && status.ok()) {
    status = EthError(rc, port_id, "close");
  }
  return status;
}

absl::StatusOr<MacAddress> PortMac(uint16_t port_id) {
  rte_ether_addr addr;
  if (int rc = rte_eth_macaddr_get(port_id, &addr); rc != 0) {
    return EthError(rc, port_id, "rte_eth_macaddr_get");
  }
  MacAddress mac;
  std::copy(addr.addr_bytes, addr.addr_bytes + 6, mac.bytes.begin());
  return mac;
}

absl::Status SetPortMac(uint16_t port_id, const MacAddress& mac) {
  rte_ether_addr addr;
  std::copy(mac.bytes.begin(), mac.bytes.end(), addr.addr_bytes);
  if (int rc = rte_eth_dev_default_mac_addr_set(port_id, &addr); rc != 0) {
    // Ports without a settable MAC (pcap, af_packet) still take our MAC as the one the
    // dataplane answers for and sends from; only the PMD's own filter is unchanged.
    return EthError(rc, port_id, "rte_eth_dev_default_mac_addr_set");
  }
  return absl::OkStatus();
}

uint32_t MbufsNeeded(uint16_t rx_queues, uint16_t rx_desc, uint16_t tx_queues, uint16_t tx_desc) {
  return uint32_t{rx_queues} * rx_desc + uint32_t{tx_queues} * tx_desc + uint32_t{rx_queues} * 32;
}

absl::StatusOr<rte_mempool*> CreateMbufPool(const std::string& name, uint32_t mbufs, int socket) {
  mbufs = std::max<uint32_t>(mbufs, 4096);
  rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), mbufs, kPoolCache, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot create mbuf pool '", name, "' of ",
                                                     mbufs, " mbufs: ", rte_strerror(rte_errno)));
  }
  return pool;
}

}  // namespace tundra::drivers
