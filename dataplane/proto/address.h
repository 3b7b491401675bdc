// IP and MAC addresses as the control plane and the tables see them: plain
// bytes in network order, parsed from and printed to text. The hot path never
// parses text; it compares these bytes against header fields directly.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace tundra {

struct IpAddress {
  // 4 or 6; 0 means "unset". An IPv4 address uses bytes[0..3], the rest are 0.
  uint8_t family = 0;
  std::array<uint8_t, 16> bytes{};

  bool is_v4() const { return family == 4; }
  bool is_v6() const { return family == 6; }
  // 224.0.0.0/4 (RFC 5771) or ff00::/8 (RFC 4291 §2.7).
  bool is_multicast() const {
    return (family == 4 && (bytes[0] & 0xF0) == 0xE0) || (family == 6 && bytes[0] == 0xFF);
  }
  bool operator==(const IpAddress&) const = default;

  static IpAddress V4(uint32_t host_order) {
    IpAddress a;
    a.family = 4;
    a.bytes[0] = host_order >> 24;
    a.bytes[1] = host_order >> 16;
    a.bytes[2] = host_order >> 8;
    a.bytes[3] = host_order;
    return a;
  }
  static IpAddress FromV4Bytes(const void* p) {
    IpAddress a;
    a.family = 4;
    std::memcpy(a.bytes.data(), p, 4);
    return a;
  }
  static IpAddress FromV6Bytes(const void* p) {
    IpAddress a;
    a.family = 6;
    std::memcpy(a.bytes.data(), p, 16);
    return a;
  }

  static std::optional<IpAddress> Parse(std::string_view text) {
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddress a;
    if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
      a.family = 4;
      return a;
    }
    if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
      a.family = 6;
      return a;
    }
    return std::nullopt;
  }

  std::string ToString() const {
    char buf[INET6_ADDRSTRLEN];
    if (family == 4) return inet_ntop(AF_INET, bytes.data(), buf, sizeof(buf));
    if (family == 6) return inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
    return "unset";
  }
};

struct IpPrefix {
  IpAddress addr;
  uint8_t len = 0;

  bool operator==(const IpPrefix&) const = default;

  // "<ip>/<plen>", plen within the family's width.
  static std::optional<IpPrefix> Parse(std::string_view text) {
    size_t slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto addr = IpAddress::Parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    const absl::string_view len_text(text.data() + slash + 1, text.size() - slash - 1);
    // One to three digits: SimpleAtoi alone would also take a sign or white space.
    unsigned len = 0;
    if (len_text.empty() || len_text.size() > 3 ||
        !std::all_of(len_text.begin(), len_text.end(),
                     [](char c) { return absl::ascii_isdigit(c); }) ||
        !absl::SimpleAtoi(len_text, &len) || len > (addr->is_v4() ? 32u : 128u)) {
      return std::nullopt;
    }
    return IpPrefix{*addr, static_cast<uint8_t>(len)};
  }

  std::string ToString() const { return absl::StrCat(addr.ToString(), "/", unsigned{len}); }
};

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  bool operator==(const MacAddress&) const = default;
  bool is_zero() const { return bytes == std::array<uint8_t, 6>{}; }

  // Exactly six colon-separated pairs of hex digits: "02:00:00:00:00:01".
  static std::optional<MacAddress> Parse(std::string_view text) {
    const std::vector<absl::string_view> octets =
        absl::StrSplit(absl::string_view(text.data(), text.size()), ':');
    if (octets.size() != 6) return std::nullopt;
    MacAddress m;
    for (size_t i = 0; i < octets.size(); ++i) {
      if (octets[i].size() != 2 || !absl::ascii_isxdigit(octets[i][0]) ||
          !absl::ascii_isxdigit(octets[i][1])) {
        return std::nullopt;
      }
      m.bytes[i] = static_cast<uint8_t>(absl::HexStringToBytes(octets[i])[0]);
    }
    return m;
  }

  std::string ToString() const {
    return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3],
                           bytes[4], bytes[5]);
  }
};

// Whether the first `plen` bits of `addr` and `net` (4 or 16 bytes each) agree.
inline bool InPrefix(const uint8_t* addr, const uint8_t* net, uint8_t plen) {
  for (int b = 0; plen > 0; ++b, plen = plen > 8 ? plen - 8 : 0) {
    const uint8_t mask = static_cast<uint8_t>(0xFF00 >> (plen > 8 ? 8 : plen));
    if ((addr[b] ^ net[b]) & mask) return false;
  }
  return true;
}

inline bool PrefixContains(const IpPrefix& prefix, const IpAddress& ip) {
  return ip.family == prefix.addr.family &&
         InPrefix(ip.bytes.data(), prefix.addr.bytes.data(), prefix.len);
}

// The first `len` bits of `ip`, the rest zero.
inline IpAddress MaskAddress(const IpAddress& ip, uint8_t len) {
  IpAddress m = ip;
  const size_t width = ip.is_v4() ? 4 : 16;
  for (size_t b = 0; b < width; ++b) {
    const int bits = std::clamp(static_cast<int>(len) - static_cast<int>(8 * b), 0, 8);
    m.bytes[b] &= static_cast<uint8_t>(0xFF00 >> bits);
  }
  return m;
}

// `prefix` with the address bits past its length cleared: how routes are keyed.
inline IpPrefix NormalizePrefix(const IpPrefix& prefix) {
  return IpPrefix{MaskAddress(prefix.addr, prefix.len), prefix.len};
}

// The Ethernet address an IP multicast group is sent to: 01:00:5e and the group's low 23
// bits (RFC 1112 §6.4), or 33:33 and its low 32 bits (RFC 2464 §7).
inline MacAddress MulticastMac(const IpAddress& group) {
  MacAddress m;
  if (group.is_v4()) {
    m.bytes = {0x01,           0x00,          0x5E, static_cast<uint8_t>(group.bytes[1] & 0x7F),
               group.bytes[2], group.bytes[3]};
  } else {
    m.bytes = {0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]};
  }
  return m;
}

}  // namespace tundra
