// Builds a tunnel's immutable worker entry, including its precomputed outer header.
#pragma once

#include <cstdint>

#include "dataplane/tunnel.h"
#include "dataplane/tunnel_spec.h"

namespace tundra {

// The UDP destination port a spec uses: its own, else the protocol's IANA port.
uint16_t TunnelUdpPort(const TunnelSpec& spec);

// Bytes of GENEVE options (with their headers) a spec carries.
uint16_t GeneveOptionsLen(const TunnelSpec& spec);

// Fills `out` (which must be value-initialised) for `spec` over `underlay`.
void BuildTunnel(const TunnelSpec& spec, const Underlay& underlay, uint32_t id,
                 const Attachment& attachment, Tunnel& out);

}  // namespace tundra
