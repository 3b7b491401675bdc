// Small helpers the table writer's files share (table_writer.cc, segment_writer.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "dataplane/decap_key.h"
#include "dataplane/tables.h"

namespace tundra {

// The key of a (port, VLAN) in the writer's maps.
inline uint32_t XconnectKey(uint16_t p, uint16_t vlan) { return (uint32_t{p} << 16) | vlan; }

inline std::string KeyBytes(const DecapKey& key) {
  return std::string(reinterpret_cast<const char*>(&key), sizeof(key));
}

// "a", "a and b", "a, b and c".
inline std::string JoinWithAnd(const std::vector<std::string>& items) {
  if (items.size() <= 1) return absl::StrJoin(items, "");
  return absl::StrCat(absl::StrJoin(items.begin(), items.end() - 1, ", "), " and ", items.back());
}

inline std::string PortVlan(uint16_t p, uint16_t vlan) {
  return vlan == kVlanUntagged ? absl::StrCat("port ", p)
                               : absl::StrCat("port ", p, " vlan ", vlan);
}

}  // namespace tundra
