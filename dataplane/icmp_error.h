// The ICMP error a router sends for a packet too big for the next hop: IPv4
// "fragmentation needed and DF set" with the next-hop MTU (RFC 792, RFC 1191) or ICMPv6
// "packet too big" (RFC 4443 §3.2), addressed to the packet's sender, from the routed
// access port's own address. Path MTU discovery through a tunnel depends on it.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>

#include "dataplane/tables.h"

namespace tundra {

// The error for inner packet `m` (IP at offset 0) that does not fit `mtu`, as a frame
// to `sender_mac` out of `port`; nullptr when the port has no address of that family or
// `pool` is empty.
rte_mbuf* BuildTooBig(rte_mempool* pool, const PortView& port, const uint8_t* sender_mac,
                      const rte_mbuf* m, uint16_t mtu);

}  // namespace tundra
