// What decap's stages hand on to each other (decap.cc runs them in order):
//
//   parse     each packet's outer headers → a flow (a new one, or one an earlier packet
//             of the burst parsed, when the headers repeat it), or a drop
//   classify  each flow's key → its tunnel
//   check     per flow: the tunnel's rules (remote, options, attachment) → what its
//             packets do; per packet, only where the flow needs it: GRE sequence
//             numbers and RFC 6040 ECN
//   deliver   strip the outer headers, tag, count and emit; L3 packets go to routing,
//             a segment's frames to its FDB stage
//
// A "flow" is one tunnel's set of outer headers in the burst. Packets of one tunnel
// stream share it, so the lookup and the per-tunnel checks run once for all of them;
// flows of other tunnels of the same shape share one full parse (DecapParse).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/burst.h"
#include "dataplane/counters.h"
#include "dataplane/decap_key.h"
#include "dataplane/tunnel.h"
#include "dataplane/tunnel_parse.h"

namespace tundra {

// What the full parser found in a packet's outer headers, beside the flow's key.
struct DecapParse {
  TunnelParse tunnel;  // what the tunnel header said
  uint8_t family = 0;  // outer IP version
  uint8_t outer_ecn = 0;
};

// What the check stage decided for the packets of a flow.
enum class FlowAction : uint8_t {
  kBridge,   // to the tunnel's attachment
  kRoute,    // an L3 tunnel's IP packet, to its host (route_deliver.h)
  kSegment,  // to the segment's FDB stage (segment_forward.h)
  kPunt,     // a GENEVE control packet, to the control thread
  kDrop,     // every packet, for DecapFlow::drop
};

// Per-packet checks a flow needs (DecapFlow::checks).
enum : uint8_t {
  kCheckSequence = 1,  // GRE sequence numbers (RFC 2890)
  kCheckEcn = 2,       // outer ECN to decapsulate (RFC 6040)
  kCheckEsp = 4,       // ESP: a protected tunnel's packets came decrypted by its SA
};

struct DecapFlow {
  // parse
  DecapKey key;
  alignas(8) uint8_t remote[16];  // the outer source address (4 or 16 bytes)
  uint8_t parse = 0;              // index of its DecapParse
  uint8_t first = 0;              // index of its first packet
  // classify
  uint32_t id = kNoTunnel;
  const Tunnel* t = nullptr;
  // check
  FlowAction action = FlowAction::kDrop;
  DropReason drop = DropReason::kNone;  // kDrop's reason
  uint8_t checks = 0;
  bool no_attachment = false;  // dropped after the sequence number, as for one packet
  uint16_t strip = 0;          // outer header bytes
  uint16_t out_port = 0;       // kBridge: the attachment
  uint16_t vlan = 0;
  uint32_t segment = 0;         // kSegment: its id; `id` is the remote VTEP's tunnel
  bool unknown_remote = false;  // kSegment: from a remote not in the segment (learn mode)
};

struct DecapPacket {
  rte_mbuf* m;
  uint8_t flow;     // index into DecapBatch::flows
  DropReason drop;  // kNone while the packet goes on
  uint32_t seq;     // GRE sequence number, when the tunnel header has one
};

struct DecapBatch {
  uint16_t rx_port = 0;
  uint16_t n = 0;        // packets that passed parse
  uint16_t nflows = 0;   // flows they share
  uint16_t nparses = 0;  // full parses the flows share
  bool esp = false;      // some packets came decrypted (esp_input.h): check every flow
  DecapPacket pkts[kBurstSize];
  DecapFlow flows[kBurstSize];
  DecapParse parses[kBurstSize];
};

}  // namespace tundra
