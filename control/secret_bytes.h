// Key material: bytes that are wiped (explicit_bzero, which the compiler may not drop as
// a dead store) when they are replaced or destroyed, and never copied implicitly.
#pragma once

#include <string.h>  // explicit_bzero (glibc declares it here)
#include <strings.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tundra {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : bytes_(n) {}
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& o) noexcept : bytes_(std::move(o.bytes_)) { o.bytes_.clear(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      Wipe();
      bytes_ = std::move(o.bytes_);
      o.bytes_.clear();
    }
    return *this;
  }
  ~SecretBytes() { Wipe(); }

  void Wipe() {
    if (!bytes_.empty()) explicit_bzero(bytes_.data(), bytes_.size());
    bytes_.clear();
  }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  // Never grown after construction, so no reallocation leaves an unwiped copy behind.
  std::vector<uint8_t> bytes_;
};

}  // namespace tundra
