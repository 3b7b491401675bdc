// Answers ARP requests and IPv6 Neighbor Solicitations: for the uplink's own VTEP
// addresses (so underlay peers resolve us without static entries), for a routed access
// port's address, and for a segment's tenant hosts (ARP/ND suppression). The request
// mbuf is rewritten in place into the reply: no allocation on the worker.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/tables.h"

namespace tundra {

// `m` holds an ARP frame. Returns true after turning it into our reply.
bool AnswerArp(const PortView& port, rte_mbuf* m);

// `m` holds an IPv6 packet (header at `l3_off`) carrying ICMPv6. Returns true after
// turning a Neighbor Solicitation for our address into a Neighbor Advertisement.
bool AnswerNeighborSolicit(const PortView& port, rte_mbuf* m, uint16_t l3_off);

// The IPv4 address the ARP request in `m` (an Ethernet frame) asks for, or null when it
// is not a well-formed Ethernet/IPv4 request.
const uint8_t* ArpRequestTarget(const rte_mbuf* m);
// Turns the ARP request in `m` into the answer "its target is at `mac`", to its sender.
void MakeArpReply(rte_mbuf* m, const uint8_t mac[6]);

// The address the Neighbor Solicitation in `m` (IPv6 header at `l3_off`) asks for, or
// null when it is not one RFC 4861 §7.1.1 lets us answer (hop limit 255, code 0, not
// duplicate address detection).
const uint8_t* SolicitTarget(const rte_mbuf* m, uint16_t l3_off);
// Turns that solicitation into the advertisement "its target is at `mac`" (solicited,
// override, with the target link-layer address option). False, `m` unchanged, when the
// mbuf has no room for the reply.
bool MakeNeighborAdvert(rte_mbuf* m, uint16_t l3_off, const uint8_t mac[6]);

}  // namespace tundra
