// Byte order in the type system (after BESS's BigEndian<T> and OVS's ovs_be16):
// a wire field is a Be16/Be32 and never converts implicitly to a host integer. The
// type is packed (alignment 1) so it sits at any offset of a packed header struct.
// Constants are built at compile time in network order, so the hot path compares
// raw values without swapping.
#pragma once

#include <cstdint>
#include <type_traits>

namespace tundra {

template <typename T>
class __attribute__((packed)) BigEndian {
  static_assert(std::is_unsigned_v<T>);

 public:
  constexpr BigEndian() = default;
  constexpr explicit BigEndian(T host) : raw_(Swap(host)) {}

  static constexpr BigEndian FromRaw(T raw) {
    BigEndian b;
    b.raw_ = raw;
    return b;
  }

  constexpr T host() const { return Swap(raw_); }
  constexpr T raw() const { return raw_; }

  constexpr bool operator==(const BigEndian&) const = default;

 private:
  static constexpr T Swap(T v) {
    if constexpr (sizeof(T) == 1) {
      return v;
    } else if constexpr (sizeof(T) == 2) {
      return __builtin_bswap16(v);
    } else if constexpr (sizeof(T) == 4) {
      return __builtin_bswap32(v);
    } else {
      return __builtin_bswap64(v);
    }
  }

  T raw_;  // no initialiser: keeps the type trivial, so headers stay packed PODs
};

using Be16 = BigEndian<uint16_t>;
using Be32 = BigEndian<uint32_t>;

static_assert(sizeof(Be16) == 2 && sizeof(Be32) == 4);
static_assert(Be16(0x0800).raw() == 0x0008);

}  // namespace tundra
