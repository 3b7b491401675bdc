// What a router does to the IP header of a packet it forwards (RFC 1812 §5.3.1,
// RFC 8200 §3): decrement the TTL / hop limit, refusing when it would reach zero.
#pragma once

#include <cstdint>

#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ip.h"

namespace tundra {

// Decrements an IPv4 TTL with the RFC 1624 incremental checksum update; false (nothing
// changed) when the TTL is 1 or 0.
inline bool DecrementTtl(Ipv4Hdr* ip) {
  if (ip->ttl <= 1) return false;
  const uint16_t old_word = reinterpret_cast<const uint16_t*>(ip)[4];
  --ip->ttl;
  const uint16_t new_word = reinterpret_cast<const uint16_t*>(ip)[4];
  ip->checksum = Be16::FromRaw(UpdateChecksum16(ip->checksum.raw(), old_word, new_word));
  return true;
}

inline bool DecrementHopLimit(Ipv6Hdr* ip) {
  if (ip->hop_limit <= 1) return false;
  --ip->hop_limit;
  return true;
}

}  // namespace tundra
