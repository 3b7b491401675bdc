// What decap's parse stage records per packet for the stages after the bulk lookup.
#pragma once

#include <cstdint>

#include "dataplane/tables.h"
#include "dataplane/tunnel_parse.h"

namespace tundra {

// What parsing the outer headers of one packet found.
struct OuterParse {
  DecapKey key;
  uint16_t remote_off = 0;  // offset of the outer source address
  uint8_t outer_ecn = 0;    // ECN bits of the outer IP header
  TunnelParse tunnel;       // what the tunnel header said (inner_off, options, seq...)
};

}  // namespace tundra
