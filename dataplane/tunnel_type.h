// The tunnel protocols and their user-facing names: one table that `tunnel add ... type`
// parses with and `show` prints with, so the two can never disagree. The enum's values
// are stored in decap keys and in the UDP-port table, so they are fixed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tundra {

enum class TunnelType : uint8_t { kVxlan = 1, kGeneve = 2, kGre = 3, kGretap = 4 };

struct TunnelTypeEntry {
  TunnelType type;
  std::string_view name;  // the `type` word of `tunnel add` and of `show tunnel`
};

// In the order the grammar offers them (`type vxlan|geneve|gre|gretap`).
inline constexpr std::array<TunnelTypeEntry, 4> kTunnelTypes = {{
    {TunnelType::kVxlan, "vxlan"},
    {TunnelType::kGeneve, "geneve"},
    {TunnelType::kGre, "gre"},
    {TunnelType::kGretap, "gretap"},
}};

// Always NUL-terminated (the table holds literals), so it also serves as a C string.
constexpr const char* TunnelTypeName(TunnelType type) {
  for (const TunnelTypeEntry& e : kTunnelTypes) {
    if (e.type == type) return e.name.data();
  }
  return "unknown";
}

constexpr std::optional<TunnelType> ParseTunnelType(std::string_view word) {
  for (const TunnelTypeEntry& e : kTunnelTypes) {
    if (e.name == word) return e.type;
  }
  return std::nullopt;
}

constexpr bool IsUdpTunnel(TunnelType t) {
  return t == TunnelType::kVxlan || t == TunnelType::kGeneve;
}
constexpr bool IsGreTunnel(TunnelType t) {
  return t == TunnelType::kGre || t == TunnelType::kGretap;
}

}  // namespace tundra
