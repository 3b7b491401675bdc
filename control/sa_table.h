// ESP security associations as configured (`sa add`, DESIGN.md §5.1): the control
// thread's table of SAs with their key material. Keys never leave it in text: `show sa`,
// errors and logs name an SA's algorithm and key size, never its key or salt, and a
// deleted SA's key and salt are wiped.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/secret_bytes.h"

namespace tundra {

// RFC 4106 AES-GCM with a 16-byte ICV and an 8-byte explicit IV.
enum class EspAead : uint8_t { kAesGcm128, kAesGcm256 };

const char* EspAeadName(EspAead aead);
// 16 or 32.
size_t EspAeadKeyBytes(EspAead aead);

struct SaConfig {
  std::string name;
  uint32_t spi = 0;
  EspAead aead = EspAead::kAesGcm128;
  SecretBytes key;   // EspAeadKeyBytes(aead) bytes
  SecretBytes salt;  // 4 bytes: RFC 4106's nonce salt, part of the keying material
  bool esn = false;  // RFC 4303 extended (64-bit) sequence numbers
  uint32_t replay_window = kDefaultReplayWindow;  // packets; 0 turns anti-replay off
  uint64_t lifetime_bytes = 0;                    // 0: no limit
  uint64_t lifetime_packets = 0;                  // 0: no limit

  static constexpr uint32_t kDefaultReplayWindow = 64;
  static constexpr uint32_t kMaxReplayWindow = 4096;
};

// Hex digits (an optional 0x prefix; no separators) into exactly `bytes` bytes. The
// error names `what` and the expected length, never the text it was given.
absl::StatusOr<SecretBytes> ParseSecretHex(std::string_view hex, size_t bytes,
                                           std::string_view what);

class SaTable {
 public:
  explicit SaTable(uint32_t max_sas = 4096) : max_sas_(max_sas) {}

  // Validates and adds; on error nothing changes (and `sa` is wiped when it is dropped).
  absl::Status Add(SaConfig sa);
  // Removes the SA and wipes its key and salt.
  absl::Status Delete(std::string_view name);
  const SaConfig* Find(std::string_view name) const;
  const SaConfig* FindBySpi(uint32_t spi) const;
  // By name.
  std::vector<const SaConfig*> List() const;
  size_t size() const { return by_name_.size(); }

 private:
  uint32_t max_sas_;
  std::map<std::string, SaConfig, std::less<>> by_name_;
  absl::flat_hash_map<uint32_t, std::string> name_of_spi_;
};

}  // namespace tundra
