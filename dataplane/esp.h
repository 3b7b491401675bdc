// ESP (RFC 4303) in transport mode over a tunnel's outer IP header, with AES-GCM
// (RFC 4106): the SA processing is DPDK's librte_ipsec, the cipher the ipsec_mb PMD's
// AES-GCM in synchronous CPU-crypto mode, so a worker encrypts and decrypts its own
// burst without leaving run-to-completion (no crypto queues, no second core).
//
// Outbound: the outer Ethernet + IP header stay, an ESP header and IV go after the IP
// header, and everything behind it (the UDP or GRE header and the tunnel payload) is
// encrypted, padded and followed by the 16-byte ICV. Inbound undoes it after checking
// the ICV and the anti-replay window.
#pragma once

#include <rte_ipsec.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "dataplane/replay_window.h"

namespace tundra {

// The crypto device every SA's session lives on, created on first use.
class EspCrypto {
 public:
  // Creates the ipsec_mb AES-GCM virtual device (crypto_aesni_gcm) and its session pool.
  static absl::StatusOr<std::unique_ptr<EspCrypto>> Create(uint32_t max_sessions, int socket);
  ~EspCrypto();
  EspCrypto(const EspCrypto&) = delete;
  EspCrypto& operator=(const EspCrypto&) = delete;

  uint8_t dev_id() const { return dev_id_; }
  rte_mempool* session_pool() const { return sessions_; }

 private:
  EspCrypto() = default;
  uint8_t dev_id_ = 0;
  rte_mempool* sessions_ = nullptr;
};

// What an SA is built from: the configured SA (control/sa_table.h) as the dataplane
// needs it. `key` points at 16 or 32 bytes the caller owns.
struct EspParams {
  uint32_t spi = 0;
  const uint8_t* key = nullptr;
  uint8_t key_len = 16;
  uint8_t salt[4] = {};
  bool esn = false;
  uint32_t replay_window = 64;  // 0: off
  // Where the SA starts: outbound, the first sequence number to send (0 or 1: 1);
  // inbound, the window's top, the highest taken as seen. 0 for a new SA.
  uint64_t initial_seq = 0;
  // After this many bytes (of the packets as protected or received) or packets the SA
  // is no longer used: packets are refused as kExpired. 0: no limit.
  uint64_t lifetime_bytes = 0;
  uint64_t lifetime_packets = 0;
};

// What an SA counted, in its direction (read by the control thread at any time).
struct EspStats {
  uint64_t packets = 0, bytes = 0;
  uint64_t malformed = 0, auth_failed = 0, replay = 0, expired = 0, no_room = 0;
};

enum class EspDirection : uint8_t { kOutbound, kInbound };

inline constexpr uint16_t kEspMaxBurst = 64;
// What ESP adds to an IP packet at most: header 8, IV 8, padding 3 (AES-GCM aligns the
// trailer to 4 bytes), pad length and next header 2, ICV 16.
inline constexpr uint16_t kEspMaxOverhead = 8 + 8 + 3 + 2 + 16;

// Why Unprotect refused a packet.
enum class EspError : uint8_t {
  kNone,
  kMalformed,   // too short for an ESP header, IV and ICV, or not block aligned
  kAuthFailed,  // the ICV does not match: wrong key, or the packet was altered
  kReplay,      // a sequence number already seen, or behind the window
  kBadPadding,  // decrypted, but the RFC 4303 padding bytes are wrong
  kExpired,     // the SA reached its lifetime
};

// One SA in one direction over one outer family, as librte_ipsec runs it. Outbound
// sequence numbers are atomic, so several workers may protect with one SA at once;
// inbound, Unprotect holds the SA's lock (librte_ipsec and the window take one writer).
class EspSa {
 public:
  static absl::StatusOr<std::unique_ptr<EspSa>> Create(EspCrypto& crypto, const EspParams& params,
                                                       EspDirection direction,
                                                       uint8_t outer_family);
  ~EspSa();  // frees the session (DPDK zeroes its key schedule) and wipes the SA
  EspSa(const EspSa&) = delete;
  EspSa& operator=(const EspSa&) = delete;

  // Each mbuf: an Ethernet frame whose outer IP header starts at l2_len and is l3_len
  // long (both set). Protects them in place and returns how many were, those first;
  // behind them, unchanged: up to *within_lifetime those without room for the header or
  // trailer, then those past the SA's lifetime.
  uint16_t Protect(rte_mbuf** m, uint16_t n, uint16_t* within_lifetime);
  // Checks and decrypts ESP packets in place (l2_len, l3_len set as above); returns how
  // many passed, those first, in order; for each i at or past that count, errors[i]
  // tells why m[i] failed (errors holds n entries). n is at most kEspMaxBurst.
  uint16_t Unprotect(rte_mbuf** m, uint16_t n, EspError* errors);

  uint32_t spi() const { return spi_; }
  EspStats stats() const;
  // Whether a lifetime limit was reached (then every packet is refused).
  bool expired() const { return expired_.load(std::memory_order_relaxed); }

 private:
  EspSa(uint32_t window, bool esn, uint64_t top) : window_(window, esn, top) {}
  uint16_t UnprotectLocked(rte_mbuf** m, uint16_t n, EspError* errors);
  // Moves m[i] for which drop[i] is set behind the rest, in order, with their errors.
  static uint16_t Partition(rte_mbuf** m, uint16_t n, const bool* drop, EspError* errors,
                            const EspError* why);
  uint32_t spi_ = 0;
  uint32_t sa_size_ = 0;
  rte_ipsec_sa* sa_ = nullptr;
  void* session_ = nullptr;
  uint8_t dev_id_ = 0;
  rte_ipsec_session ss_{};
  ReplayWindow window_;  // inbound: what is a replay (see replay_window.h)
  rte_spinlock_t lock_ = RTE_SPINLOCK_INITIALIZER;  // inbound: one Unprotect at a time
  uint64_t lifetime_bytes_ = 0, lifetime_packets_ = 0;
  std::atomic<bool> expired_{false};
  // Counted once per call, not per packet; several workers share an outbound SA.
  std::atomic<uint64_t> packets_{0}, bytes_{0}, malformed_{0}, auth_failed_{0}, replay_{0},
      expired_drops_{0}, no_room_{0};
  // How many of m[0..n) the lifetime still allows (packets exactly, bytes by packet).
  uint16_t WithinLifetime(rte_mbuf* const* m, uint16_t n) const;
  // Counts `n` packets of `bytes`; marks the SA expired once a lifetime limit is reached.
  void Use(uint64_t n, uint64_t bytes);
};

}  // namespace tundra
