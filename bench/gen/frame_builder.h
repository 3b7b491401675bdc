// Pre-built frames: one template per (stream, frame size), complete with outer and
// inner headers and checksums, so that sending a packet is a copy plus a stamp of its
// sequence number and timestamp. The outer header comes from tundra's own
// BuildTunnel (dataplane/header_template.h); only lengths, the outer UDP source port
// and checksums are finished here.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/gen/gen_spec.h"

namespace tundra::gen {

struct FrameTemplate {
  std::vector<uint8_t> bytes;  // the whole frame (no FCS), seq and tsc zero
  uint32_t stream = 0;
  uint16_t payload_off = 0;  // where the 18-byte payload starts
  // Outer UDP checksum over IPv6 covers the stamped bytes, so it is finished per
  // packet: udp_csum_off is the checksum field (0: none to update) and udp_base_sum
  // the folded sum of everything else with the field and the stamp zero.
  uint16_t udp_csum_off = 0;
  uint16_t udp_base_sum = 0;
  bool stamp_odd = false;  // the stamp sits at an odd offset from the UDP header
  // GRE sequence number (0: none): per tunnel, stream seq × flows + flow + 1, which
  // counts up within a tunnel when its flows are sent in turn.
  uint16_t gre_seq_off = 0;
  uint32_t gre_seq_flows = 1;
  uint32_t gre_seq_flow = 0;
};

// Templates for every stream and size: index [stream * sizes + size_index].
absl::StatusOr<std::vector<FrameTemplate>> BuildTemplates(const GenSpec& spec);

// Builds one template (exposed for tests).
absl::StatusOr<FrameTemplate> BuildTemplate(const GenSpec& spec, uint32_t stream, uint16_t size);

// Writes seq and tsc into `frame` (a copy of t.bytes) and finishes its checksum.
void StampFrame(const FrameTemplate& t, uint8_t* frame, uint64_t seq, uint64_t tsc);

}  // namespace tundra::gen
