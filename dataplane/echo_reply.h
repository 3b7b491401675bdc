// Answers ICMP and ICMPv6 echo requests (ping) addressed to a port's own address: an
// uplink's VTEP address (decap_parse.cc) and a routed access port's gateway address
// (route_input.cc), so operators can ping tundra. Like neighbor_reply.h it rewrites the
// request mbuf in place into the reply: no allocation on the worker. Only packets that
// are for us and are not tunnel packets get here, so the tunnel fast path never pays.
//
// A request is answered only when it is well formed: ICMP code 0, at least the 8-byte
// echo header, a correct checksum over the whole message (ICMPv6: with its
// pseudo-header), a unicast source (Ethernet and IP) to send the reply to, and, over
// IPv4, no fragment and no IP options. Anything else that claims to be an echo request
// is dropped with a named reason, never answered.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/ip_input.h"
#include "dataplane/tables.h"

namespace tundra {

enum class EchoVerdict : uint8_t {
  kNotEcho,  // not an echo request: `m` unchanged, the caller goes on as before
  kReplied,  // `m` is now the echo reply, to send back out of the port it came in on
  kDrop,     // an echo request that must not be answered: `drop` says why
};

// `m` holds an Ethernet frame whose IP packet (header at kEtherHdrLen, passed IP input
// as `ip` says; IPv6 extension headers may or may not have been skipped) is addressed
// to `port`'s own unicast address, which the caller has checked. Extension headers
// before an ICMPv6 echo request are skipped and left out of the reply.
EchoVerdict AnswerEcho(const PortView& port, rte_mbuf* m, const IpInput& ip, DropReason& drop);

}  // namespace tundra
