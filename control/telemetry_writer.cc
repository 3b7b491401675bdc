#include "control/telemetry_writer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace tundra {

TelemetryWriter::TelemetryWriter(rte_tel_data* d) : d_(d) { rte_tel_data_start_dict(d_); }

std::string TelemetryWriter::Key(std::string_view name) {
  std::string key(name.substr(0, RTE_TEL_MAX_STRING_LEN - 1));
  for (char& c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/') c = '_';
  }
  return key;
}

bool TelemetryWriter::FullKey(std::string_view key, std::string& out) const {
  if (array_depth_ > 0 || depth_ == 0) return false;
  out.clear();
  for (const std::string& p : prefixes_) {
    out += p;
    out += '/';
  }
  out += Key(key);
  return true;
}

TelemetryWriter& TelemetryWriter::BeginObject(std::string_view key) {
  if (array_depth_ == 0 && depth_ > 0) prefixes_.push_back(Key(key));
  if (array_depth_ == 0) ++depth_;
  return *this;
}

TelemetryWriter& TelemetryWriter::EndObject() {
  if (array_depth_ == 0) {
    --depth_;
    if (!prefixes_.empty()) prefixes_.pop_back();
  }
  return *this;
}

TelemetryWriter& TelemetryWriter::BeginArray(std::string_view) {
  ++array_depth_;
  return *this;
}

TelemetryWriter& TelemetryWriter::EndArray() {
  --array_depth_;
  return *this;
}

TelemetryWriter& TelemetryWriter::Field(std::string_view key, std::string_view value) {
  std::string k;
  if (FullKey(key, k)) {
    const std::string v(value.substr(0, RTE_TEL_MAX_STRING_LEN - 1));
    Count(rte_tel_data_add_dict_string(d_, k.c_str(), v.c_str()));
  }
  return *this;
}

TelemetryWriter& TelemetryWriter::Field(std::string_view key, uint64_t value) {
  std::string k;
  if (FullKey(key, k)) Count(rte_tel_data_add_dict_u64(d_, k.c_str(), value));
  return *this;
}

TelemetryWriter& TelemetryWriter::Field(std::string_view key, int value) {
  std::string k;
  if (FullKey(key, k)) Count(rte_tel_data_add_dict_int(d_, k.c_str(), value));
  return *this;
}

TelemetryWriter& TelemetryWriter::Field(std::string_view key, double value) {
  return Field(key, std::string_view(absl::StrFormat("%.2f", value)));
}

}  // namespace tundra
