// The JsonWriter interface (control/json.h) onto a DPDK telemetry reply, so the objects
// of control/stats_writers.h also answer the telemetry endpoints.
//
// A telemetry dict holds scalars and at most one level of containers, with at most
// RTE_TEL_MAX_DICT_ENTRIES entries, keys of [A-Za-z0-9_/] only. So the object is written
// flat: a nested object's fields get its key as a prefix ("drop_reasons/no_role"), '-' in
// a key becomes '_', arrays (lists of members and remotes, which can be long) are left
// out — their counts are fields of their own — and a double becomes a string ("%.2f").
// Fields past the dict's capacity are dropped and counted in dropped().
#pragma once

#include <rte_telemetry.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tundra {

class TelemetryWriter {
 public:
  // Starts `d` as a dict; the first BeginObject() is that dict.
  explicit TelemetryWriter(rte_tel_data* d);

  TelemetryWriter& BeginObject(std::string_view key = {});
  TelemetryWriter& EndObject();
  TelemetryWriter& BeginArray(std::string_view key = {});
  TelemetryWriter& EndArray();
  TelemetryWriter& Field(std::string_view key, std::string_view value);
  TelemetryWriter& Field(std::string_view key, const char* value) {
    return Field(key, std::string_view(value));
  }
  TelemetryWriter& Field(std::string_view key, uint64_t value);
  TelemetryWriter& Field(std::string_view key, uint32_t value) {
    return Field(key, uint64_t{value});
  }
  TelemetryWriter& Field(std::string_view key, uint16_t value) {
    return Field(key, uint64_t{value});
  }
  TelemetryWriter& Field(std::string_view key, int value);
  TelemetryWriter& Field(std::string_view key, double value);
  TelemetryWriter& Field(std::string_view key, bool value) {
    return Field(key, uint64_t{value ? 1u : 0u});
  }

  size_t dropped() const { return dropped_; }

  // A telemetry key for `name`: characters outside [A-Za-z0-9_/] become '_'.
  static std::string Key(std::string_view name);

 private:
  // The key `key` gets at the current depth; empty while inside an array.
  bool FullKey(std::string_view key, std::string& out) const;
  void Count(int rc) {
    if (rc != 0) ++dropped_;
  }

  rte_tel_data* d_;
  std::vector<std::string> prefixes_;  // one per open object below the top
  int depth_ = 0;                      // open objects
  int array_depth_ = 0;                // open arrays (their contents are left out)
  size_t dropped_ = 0;
};

}  // namespace tundra
