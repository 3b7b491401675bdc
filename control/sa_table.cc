#include "control/sa_table.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/absl_view.h"

namespace tundra {

const char* EspAeadName(EspAead aead) {
  return aead == EspAead::kAesGcm128 ? "aes-gcm-128" : "aes-gcm-256";
}

size_t EspAeadKeyBytes(EspAead aead) { return aead == EspAead::kAesGcm128 ? 16 : 32; }

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<SecretBytes> ParseSecretHex(std::string_view hex, size_t bytes,
                                           std::string_view what) {
  if (hex.size() > 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s must be %d hex digits (%d bits)", AsAbsl(what), 2 * bytes, 8 * bytes));
  };
  if (hex.size() != 2 * bytes) return bad();
  SecretBytes out(bytes);
  for (size_t i = 0; i < bytes; ++i) {
    const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return bad();  // `out` is wiped as it goes
    out.data()[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

absl::Status SaTable::Add(SaConfig sa) {
  if (by_name_.contains(sa.name)) {
    return absl::AlreadyExistsError(absl::StrCat("SA '", sa.name, "' already exists"));
  }
  // RFC 4303 §2.1: 0 is reserved for local use and 1..255 by IANA.
  if (sa.spi < 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("SPI ", sa.spi, " is reserved (RFC 4303: 0..255); use 256..4294967295"));
  }
  if (auto it = name_of_spi_.find(sa.spi); it != name_of_spi_.end()) {
    return absl::AlreadyExistsError(
        absl::StrFormat("SPI %u (0x%08x) is already SA '%s'", sa.spi, sa.spi, it->second));
  }
  if (sa.key.size() != EspAeadKeyBytes(sa.aead) || sa.salt.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(EspAeadName(sa.aead), " takes a ",
                                                   8 * EspAeadKeyBytes(sa.aead),
                                                   "-bit key and a 32-bit salt"));
  }
  if (sa.replay_window > SaConfig::kMaxReplayWindow) {
    return absl::InvalidArgumentError(
        absl::StrCat("replay-window ", sa.replay_window, " is over ", SaConfig::kMaxReplayWindow));
  }
  if (sa.esn && sa.replay_window == 0) {
    // RFC 4303 Appendix A2: the receiver infers the high 32 bits from its window.
    return absl::InvalidArgumentError("esn on needs a replay window (not 0)");
  }
  if (by_name_.size() >= max_sas_) {
    return absl::ResourceExhaustedError(absl::StrCat("SA table full (", max_sas_, " SAs)"));
  }
  name_of_spi_[sa.spi] = sa.name;
  std::string name = sa.name;
  by_name_.emplace(std::move(name), std::move(sa));
  return absl::OkStatus();
}

absl::Status SaTable::Delete(std::string_view name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return absl::NotFoundError(absl::StrCat("no SA '", AsAbsl(name), "'"));
  name_of_spi_.erase(it->second.spi);
  by_name_.erase(it);  // SecretBytes wipe the key and salt
  return absl::OkStatus();
}

const SaConfig* SaTable::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

const SaConfig* SaTable::FindBySpi(uint32_t spi) const {
  auto it = name_of_spi_.find(spi);
  return it == name_of_spi_.end() ? nullptr : Find(it->second);
}

std::vector<const SaConfig*> SaTable::List() const {
  std::vector<const SaConfig*> out;
  out.reserve(by_name_.size());
  for (const auto& [name, sa] : by_name_) out.push_back(&sa);
  return out;
}

}  // namespace tundra
