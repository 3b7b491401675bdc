// The SA table (`sa add`): key parsing that never quotes its input, the RFC 4303 SPI
// rules, one SA per name and per SPI, and key material wiped on delete.
#include "control/sa_table.h"

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/match.h"

namespace tundra::testing {
namespace {

constexpr char kKey128[] = "00112233445566778899aabbccddeeff";

SaConfig MakeSa(std::string name, uint32_t spi, EspAead aead = EspAead::kAesGcm128) {
  SaConfig sa;
  sa.name = std::move(name);
  sa.spi = spi;
  sa.aead = aead;
  sa.key = std::move(*ParseSecretHex(
      aead == EspAead::kAesGcm128 ? std::string(kKey128) : std::string(kKey128) + kKey128,
      EspAeadKeyBytes(aead), "key"));
  sa.salt = std::move(*ParseSecretHex("0xdeadbeef", 4, "salt"));
  return sa;
}

TEST_CASE("secret hex parses exact lengths and never quotes its input", "[sa]") {
  absl::StatusOr<SecretBytes> k = ParseSecretHex(kKey128, 16, "the key");
  REQUIRE(k.ok());
  CHECK(k->size() == 16);
  CHECK(k->data()[0] == 0x00);
  CHECK(k->data()[15] == 0xff);
  CHECK(ParseSecretHex("0XDEADBEEF", 4, "salt")->data()[0] == 0xde);
  for (const char* bad : {"00112233445566778899aabbccddeeXX", "0011", "",
                          "00112233445566778899aabbccddeeff00", "0x"}) {
    INFO(bad);
    absl::StatusOr<SecretBytes> r = ParseSecretHex(bad, 16, "the key");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == "the key must be 32 hex digits (128 bits)");
  }
}

TEST_CASE("SecretBytes moves without copies and wipes", "[sa]") {
  SecretBytes a = std::move(*ParseSecretHex(kKey128, 16, "k"));
  SecretBytes b = std::move(a);
  CHECK(a.empty());
  CHECK(b.size() == 16);
  b.Wipe();
  CHECK(b.empty());
}

TEST_CASE("SA table: SPI rules, one SA per name and SPI, delete", "[sa]") {
  SaTable t(3);
  REQUIRE(t.Add(MakeSa("s1", 256)).ok());
  CHECK(absl::StrContains(t.Add(MakeSa("s0", 255)).message(), "reserved"));
  CHECK(absl::StrContains(t.Add(MakeSa("s0", 0)).message(), "reserved"));
  CHECK(t.Add(MakeSa("s1", 300)).message() == "SA 's1' already exists");
  CHECK(t.Add(MakeSa("s2", 256)).message() == "SPI 256 (0x00000100) is already SA 's1'");
  SaConfig wide = MakeSa("w", 301, EspAead::kAesGcm256);
  CHECK(wide.key.size() == 32);
  REQUIRE(t.Add(std::move(wide)).ok());
  SaConfig short_key = MakeSa("k", 302);
  short_key.aead = EspAead::kAesGcm256;  // a 128-bit key for a 256-bit algorithm
  CHECK(t.Add(std::move(short_key)).message() ==
        "aes-gcm-256 takes a 256-bit key and a 32-bit salt");
  SaConfig window = MakeSa("r", 303);
  window.replay_window = 4097;
  CHECK(absl::StrContains(t.Add(std::move(window)).message(), "replay-window 4097"));
  SaConfig esn = MakeSa("e", 304);
  esn.esn = true;
  esn.replay_window = 0;
  CHECK(t.Add(std::move(esn)).message() == "esn on needs a replay window (not 0)");
  REQUIRE(t.Add(MakeSa("s3", 0xffffffff)).ok());
  CHECK(absl::StrContains(t.Add(MakeSa("s4", 400)).message(), "SA table full (3 SAs)"));

  REQUIRE(t.FindBySpi(301) != nullptr);
  CHECK(t.FindBySpi(301)->name == "w");
  CHECK(t.List().size() == 3);
  REQUIRE(t.Delete("s1").ok());
  CHECK(t.Find("s1") == nullptr);
  CHECK(t.FindBySpi(256) == nullptr);
  CHECK(t.Delete("s1").message() == "no SA 's1'");
  REQUIRE(t.Add(MakeSa("s1", 256)).ok());  // the SPI is free again
}

}  // namespace
}  // namespace tundra::testing
