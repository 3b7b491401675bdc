// A segment as the workers see it: one VNI (vxlan, geneve) or key (gretap) on one local
// VTEP address, spread over local members (ports, or VLANs of ports) and remote VTEPs.
// Like a Tunnel it is immutable once published; a change publishes a new entry (the
// rules of tables.h). Each remote VTEP is a Tunnel of its own (Tunnel::segment names
// the segment), so encap to a remote is the point-to-point path, template and all.
#pragma once

#include <cstdint>
#include <vector>

namespace tundra {

// Tables::Config's default capacity.
inline constexpr uint32_t kDefaultMaxSegments = 16384;

// The attachment table holds a tunnel id, or a segment id with this bit set.
inline constexpr uint32_t kAttachSegment = 1u << 31;

struct SegmentMember {
  uint16_t port = 0;
  uint16_t vlan = 0;  // 0: untagged
};

struct Segment {
  uint32_t id = 0;
  // A learned FDB entry whose stamp is this many seconds old is refreshed by the next
  // frame from its MAC (0: ageing off, never).
  uint16_t refresh_s = 0;
  // Frames from remote VTEPs that are not in `remotes` are delivered and learned from
  // (`unknown-remote learn`), rather than dropped.
  bool learn_unknown_remote = false;
  // ARP/ND suppression (segment_suppress.h).
  bool suppress = false;
  std::vector<SegmentMember> members;
  std::vector<uint32_t> remotes;  // the flood list: tunnel ids of the remote VTEPs
};

}  // namespace tundra
