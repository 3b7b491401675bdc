// A minimal streaming JSON writer for `show ... json`: one object per line, keys in the
// order written. Enough for counters and names; not a general JSON library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tundra {

class JsonWriter {
 public:
  JsonWriter& BeginObject(std::string_view key = {}) { return Open(key, '{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray(std::string_view key = {}) { return Open(key, '['); }
  JsonWriter& EndArray() { return Close(']'); }

  JsonWriter& Field(std::string_view key, std::string_view value) {
    Prefix(key);
    AppendString(value);
    return *this;
  }
  JsonWriter& Field(std::string_view key, const char* value) {
    return Field(key, std::string_view(value));
  }
  JsonWriter& Field(std::string_view key, uint64_t value) {
    Prefix(key);
    absl::StrAppend(&out_, value);
    return *this;
  }
  JsonWriter& Field(std::string_view key, uint32_t value) { return Field(key, uint64_t{value}); }
  JsonWriter& Field(std::string_view key, uint16_t value) { return Field(key, uint64_t{value}); }
  JsonWriter& Field(std::string_view key, int value) {
    Prefix(key);
    absl::StrAppend(&out_, value);
    return *this;
  }
  JsonWriter& Field(std::string_view key, double value) {
    Prefix(key);
    absl::StrAppendFormat(&out_, "%.2f", value);
    return *this;
  }
  JsonWriter& Field(std::string_view key, bool value) {
    Prefix(key);
    out_ += value ? "true" : "false";
    return *this;
  }

  // The document, ending in a newline.
  std::string Finish() { return out_ + "\n"; }

 private:
  JsonWriter& Open(std::string_view key, char c) {
    Prefix(key);
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& Close(char c) {
    out_ += c;
    first_.pop_back();
    return *this;
  }
  void Prefix(std::string_view key) {
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
    if (!key.empty()) {
      AppendString(key);
      out_ += ':';
    }
  }
  void AppendString(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        absl::StrAppendFormat(&out_, "\\u%04x", c);
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;
};

}  // namespace tundra
