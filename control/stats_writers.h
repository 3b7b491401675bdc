// One object per port, worker, tunnel and segment, written once for every reader: `show
// ... json` writes them with JsonWriter (control/json.h), the telemetry endpoints with
// TelemetryWriter (control/telemetry_writer.h). Their fields come from the counter lists
// (dataplane/*_counters.def, drop_reasons.def), so a counter added there appears in both.
//
// W is either writer: BeginObject/EndObject/BeginArray/EndArray/Field(key, value).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "control/app.h"

namespace tundra {

const char* PortRoleName(PortRole role);

// What `show tunnel` derives from a tunnel's record, for its text and its objects alike.
struct TunnelFacts {
  TunnelTotals totals;
  uint16_t overhead = 0;   // outer header bytes (0 while unresolved)
  int inner_mtu = 0;       // the largest inner IP packet the uplink's MTU lets through
  std::string attachment;  // "port P [vlan V]" or "none"
  bool resolved = false;
  std::optional<IpAddress> via;  // the next hop
};
TunnelFacts FactsOf(const App& app, const TunnelRecord& rec);

// Where an FDB entry sends: "port P [vlan V]" or "remote <ip>".
std::string FdbPlaceText(const SegmentRecord& seg, FdbPlace place);

template <class W>
void WritePortStats(W& j, const App& app, uint16_t port);
template <class W>
void WriteWorkerStats(W& j, const App& app, size_t worker);
template <class W>
void WriteTunnel(W& j, const App& app, const std::string& name, const TunnelRecord& rec);
template <class W>
void WriteSegment(W& j, const App& app, const std::string& name, const SegmentRecord& seg);

}  // namespace tundra
