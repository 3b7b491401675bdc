#include "dataplane/esp.h"

#include <rte_cryptodev.h>
#include <rte_dev.h>
#include <rte_esp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <strings.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tundra {
namespace {

constexpr char kCryptoDevice[] = "crypto_aesni_gcm_tundra";
constexpr uint16_t kMaxBurst = kEspMaxBurst;
constexpr uint16_t kIcvLen = 16;  // RFC 4106: the full 16-byte tag
constexpr uint16_t kIvLen = 8;    // RFC 4106: the explicit IV (the nonce's last 8 bytes)
// Where a crypto op would carry its IV; CPU crypto takes the IV directly, but the
// transform must name a place.
constexpr uint16_t kIvOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);

void FixIpv4Checksum(rte_mbuf* m) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, m->l2_len);
  if ((ip->version_ihl >> 4) != 4) return;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
}

uint8_t OuterProto(const rte_mbuf* m) {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, m->l2_len);
  if ((ip->version_ihl >> 4) == 4) return ip->next_proto_id;
  return rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, m->l2_len)->proto;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EspCrypto>> EspCrypto::Create(uint32_t max_sessions, int socket) {
  if (rte_eal_hotplug_add("vdev", kCryptoDevice, "max_nb_queue_pairs=1") != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the AES-GCM crypto device (", kCryptoDevice,
                     "): DPDK's crypto_ipsec_mb driver and libipsec-mb are needed"));
  }
  auto c = std::unique_ptr<EspCrypto>(new EspCrypto());
  const int id = rte_cryptodev_get_dev_id(kCryptoDevice);
  if (id < 0) return absl::InternalError("the AES-GCM crypto device has no id");
  c->dev_id_ = static_cast<uint8_t>(id);
  rte_cryptodev_info info;
  rte_cryptodev_info_get(c->dev_id_, &info);
  if ((info.feature_flags & RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO) == 0) {
    return absl::UnavailableError("the AES-GCM crypto device has no CPU-crypto mode");
  }
  c->sessions_ = rte_cryptodev_sym_session_pool_create(
      "tundra_esp_sessions", max_sessions, rte_cryptodev_sym_get_private_session_size(c->dev_id_),
      0, 0, socket);
  if (c->sessions_ == nullptr) {
    return absl::ResourceExhaustedError("no memory for the crypto session pool");
  }
  rte_cryptodev_config conf = {};
  conf.socket_id = socket;
  conf.nb_queue_pairs = 1;
  rte_cryptodev_qp_conf qp = {};
  qp.nb_descriptors = 32;
  qp.mp_session = c->sessions_;
  if (rte_cryptodev_configure(c->dev_id_, &conf) != 0 ||
      rte_cryptodev_queue_pair_setup(c->dev_id_, 0, &qp, socket) != 0 ||
      rte_cryptodev_start(c->dev_id_) != 0) {
    return absl::InternalError("cannot start the AES-GCM crypto device");
  }
  return c;
}

EspCrypto::~EspCrypto() {
  rte_cryptodev_stop(dev_id_);
  rte_cryptodev_close(dev_id_);
  rte_eal_hotplug_remove("vdev", kCryptoDevice);
  rte_mempool_free(sessions_);
}

absl::StatusOr<std::unique_ptr<EspSa>> EspSa::Create(EspCrypto& crypto, const EspParams& p,
                                                     EspDirection direction, uint8_t outer_family) {
  const bool out = direction == EspDirection::kOutbound;
  rte_crypto_sym_xform xform = {};
  xform.type = RTE_CRYPTO_SYM_XFORM_AEAD;
  xform.aead.op = out ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
  xform.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
  xform.aead.key.data = p.key;
  xform.aead.key.length = p.key_len;
  xform.aead.iv.offset = kIvOffset;
  xform.aead.iv.length = 12;  // salt + explicit IV
  xform.aead.digest_length = kIcvLen;
  xform.aead.aad_length = p.esn ? 12 : 8;  // SPI + 64- or 32-bit sequence number

  rte_ipsec_sa_prm prm = {};
  // Outbound, several workers may take sequence numbers from one SA at once.
  prm.flags = out ? RTE_IPSEC_SAFLAG_SQN_ATOM : 0;
  prm.ipsec_xform.spi = p.spi;
  std::memcpy(&prm.ipsec_xform.salt, p.salt, sizeof(p.salt));  // as on the wire
  prm.ipsec_xform.direction =
      out ? RTE_SECURITY_IPSEC_SA_DIR_EGRESS : RTE_SECURITY_IPSEC_SA_DIR_INGRESS;
  prm.ipsec_xform.proto = RTE_SECURITY_IPSEC_SA_PROTO_ESP;
  prm.ipsec_xform.mode = RTE_SECURITY_IPSEC_SA_MODE_TRANSPORT;
  prm.ipsec_xform.options.esn = p.esn ? 1 : 0;
  prm.ipsec_xform.esn.value = p.initial_seq;
  prm.ipsec_xform.replay_win_sz = p.replay_window;
  prm.crypto_xform = &xform;
  // librte_ipsec names the transport SA's IP version by these protocol numbers.
  prm.trs.proto = outer_family == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;

  const int size = rte_ipsec_sa_size(&prm);
  if (size < 0) return absl::InvalidArgumentError("librte_ipsec refused the SA's parameters");
  auto sa = std::unique_ptr<EspSa>(new EspSa(out ? 0 : p.replay_window, p.esn, p.initial_seq));
  sa->spi_ = p.spi;
  sa->lifetime_bytes_ = p.lifetime_bytes;
  sa->lifetime_packets_ = p.lifetime_packets;
  sa->dev_id_ = crypto.dev_id();
  sa->sa_size_ = static_cast<uint32_t>(size);
  sa->sa_ = static_cast<rte_ipsec_sa*>(rte_zmalloc("tundra_esp_sa", size, RTE_CACHE_LINE_SIZE));
  if (sa->sa_ == nullptr) return absl::ResourceExhaustedError("no memory for an SA");
  if (rte_ipsec_sa_init(sa->sa_, &prm, size) < 0) {
    return absl::InvalidArgumentError("librte_ipsec could not set up the SA");
  }
  sa->session_ = rte_cryptodev_sym_session_create(crypto.dev_id(), &xform, crypto.session_pool());
  if (sa->session_ == nullptr) {
    return absl::ResourceExhaustedError("no crypto session left (too many SAs in use)");
  }
  sa->ss_.sa = sa->sa_;
  sa->ss_.type = RTE_SECURITY_ACTION_TYPE_CPU_CRYPTO;
  sa->ss_.crypto.ses = static_cast<rte_cryptodev_sym_session*>(sa->session_);
  sa->ss_.crypto.dev_id = crypto.dev_id();
  if (rte_ipsec_session_prepare(&sa->ss_) != 0) {
    return absl::InternalError("librte_ipsec could not prepare the session");
  }
  return sa;
}

EspSa::~EspSa() {
  if (session_ != nullptr) rte_cryptodev_sym_session_free(dev_id_, session_);
  if (sa_ != nullptr) {
    explicit_bzero(sa_, sa_size_);  // the salt, the window
    rte_free(sa_);
  }
}

EspStats EspSa::stats() const {
  EspStats st;
  st.packets = packets_.load(std::memory_order_relaxed);
  st.bytes = bytes_.load(std::memory_order_relaxed);
  st.malformed = malformed_.load(std::memory_order_relaxed);
  st.auth_failed = auth_failed_.load(std::memory_order_relaxed);
  st.replay = replay_.load(std::memory_order_relaxed);
  st.expired = expired_drops_.load(std::memory_order_relaxed);
  st.no_room = no_room_.load(std::memory_order_relaxed);
  return st;
}

void EspSa::Use(uint64_t n, uint64_t bytes) {
  const uint64_t p = packets_.fetch_add(n, std::memory_order_relaxed) + n;
  const uint64_t b = bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if ((lifetime_packets_ != 0 && p >= lifetime_packets_) ||
      (lifetime_bytes_ != 0 && b >= lifetime_bytes_)) {
    expired_.store(true, std::memory_order_relaxed);
  }
}

uint16_t EspSa::WithinLifetime(rte_mbuf* const* m, uint16_t n) const {
  if (lifetime_packets_ == 0 && lifetime_bytes_ == 0) return n;
  uint64_t packets = packets_.load(std::memory_order_relaxed);
  uint64_t bytes = bytes_.load(std::memory_order_relaxed);
  uint16_t i = 0;
  for (; i < n; ++i) {
    if ((lifetime_packets_ != 0 && packets >= lifetime_packets_) ||
        (lifetime_bytes_ != 0 && bytes + m[i]->pkt_len > lifetime_bytes_)) {
      break;
    }
    ++packets;
    bytes += m[i]->pkt_len;
  }
  return i;
}

uint16_t EspSa::Protect(rte_mbuf** m, uint16_t n, uint16_t* within_lifetime) {
  // What the lifetime allows is protected; the rest stays behind it, refused.
  const uint16_t allowed = WithinLifetime(m, n);
  *within_lifetime = allowed;
  if (allowed < n) {
    expired_.store(true, std::memory_order_relaxed);
    expired_drops_.fetch_add(n - allowed, std::memory_order_relaxed);
  }
  const uint16_t k = rte_ipsec_pkt_cpu_prepare(&ss_, m, allowed);
  const uint16_t done = rte_ipsec_pkt_process(&ss_, m, k);
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < done; ++i) {
    FixIpv4Checksum(m[i]);
    // The UDP or GRE header is ciphertext now: no port may touch it.
    m[i]->ol_flags &= ~(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TUNNEL_MASK |
                        RTE_MBUF_F_TX_OUTER_IP_CKSUM | RTE_MBUF_F_TX_OUTER_UDP_CKSUM);
    bytes += m[i]->pkt_len;
  }
  if (done != allowed) no_room_.fetch_add(allowed - done, std::memory_order_relaxed);
  if (done != 0) Use(done, bytes);
  return done;
}

uint16_t EspSa::Partition(rte_mbuf** m, uint16_t n, const bool* drop, EspError* errors,
                          const EspError* why) {
  rte_mbuf* bad[kMaxBurst];
  EspError bad_why[kMaxBurst];
  uint16_t good = 0, nbad = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (drop[i]) {
      bad[nbad] = m[i];
      bad_why[nbad++] = why[i];
    } else {
      m[good++] = m[i];
    }
  }
  for (uint16_t i = 0; i < nbad; ++i) {
    m[good + i] = bad[i];
    errors[good + i] = bad_why[i];
  }
  return good;
}

uint16_t EspSa::Unprotect(rte_mbuf** m, uint16_t n, EspError* errors) {
  rte_spinlock_lock(&lock_);
  const uint16_t allowed = WithinLifetime(m, n);
  if (allowed < n) {
    expired_.store(true, std::memory_order_relaxed);
    expired_drops_.fetch_add(n - allowed, std::memory_order_relaxed);
    for (uint16_t i = allowed; i < n; ++i) errors[i] = EspError::kExpired;
  }
  const uint16_t good = UnprotectLocked(m, allowed, errors);
  // The expired ones behind the refused ones, in place already ([allowed, n)).
  rte_spinlock_unlock(&lock_);
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < good; ++i) bytes += m[i]->pkt_len;
  if (good != 0) Use(good, bytes);
  uint64_t malformed = 0, auth = 0, replay = 0;
  for (uint16_t i = good; i < n; ++i) {
    malformed += errors[i] == EspError::kMalformed || errors[i] == EspError::kBadPadding;
    auth += errors[i] == EspError::kAuthFailed;
    replay += errors[i] == EspError::kReplay;
  }
  if (malformed != 0) malformed_.fetch_add(malformed, std::memory_order_relaxed);
  if (auth != 0) auth_failed_.fetch_add(auth, std::memory_order_relaxed);
  if (replay != 0) replay_.fetch_add(replay, std::memory_order_relaxed);
  return good;
}

uint16_t EspSa::UnprotectLocked(rte_mbuf** m, uint16_t n, EspError* errors) {
  constexpr uint32_t kMinLen = sizeof(rte_esp_hdr) + kIvLen + sizeof(rte_esp_tail) + kIcvLen;
  // First the window (tundra's: replay_window.h) and the length, before any crypto.
  bool drop[kMaxBurst] = {};
  EspError why[kMaxBurst] = {};
  uint64_t seq[kMaxBurst];
  rte_mbuf* order[kMaxBurst];
  for (uint16_t i = 0; i < n; ++i) {
    m[i]->ol_flags &= ~RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED;
    const uint32_t hlen = m[i]->l2_len + m[i]->l3_len;
    const uint32_t plen = m[i]->pkt_len > hlen ? m[i]->pkt_len - hlen : 0;
    drop[i] = plen < kMinLen || ((plen - sizeof(rte_esp_hdr) - kIvLen - kIcvLen) & 3) != 0;
    why[i] = EspError::kMalformed;
    if (drop[i]) continue;
    const auto* esp = rte_pktmbuf_mtod_offset(m[i], const rte_esp_hdr*, hlen);
    seq[i] = window_.Reconstruct(rte_be_to_cpu_32(esp->seq));
    drop[i] = !window_.Check(seq[i]);
    why[i] = EspError::kReplay;
  }
  uint16_t k = Partition(m, n, drop, errors, why);
  for (uint16_t i = 0, j = 0; i < n; ++i) {
    if (!drop[i]) seq[j++] = seq[i];  // the sequence numbers of m[0..k), in order
  }
  for (uint16_t i = 0; i < k; ++i) order[i] = m[i];

  // librte_ipsec: its own (partial) window and the length again, then decryption and
  // the ICV; what it refuses goes behind the rest, in order.
  const uint16_t prepared = rte_ipsec_pkt_cpu_prepare(&ss_, m, k);
  for (uint16_t i = prepared; i < k; ++i) errors[i] = EspError::kReplay;
  // Then the ICV's verdict and the padding, ESP stripped.
  const uint16_t done = rte_ipsec_pkt_process(&ss_, m, prepared);
  for (uint16_t i = done; i < prepared; ++i) {
    if (m[i]->ol_flags & RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED) {
      errors[i] = EspError::kAuthFailed;
    } else {
      errors[i] = OuterProto(m[i]) == IPPROTO_ESP ? EspError::kBadPadding : EspError::kReplay;
    }
  }
  // Authentic packets enter the window in order; a duplicate within the burst fails here.
  for (uint16_t i = 0, j = 0; i < done; ++i) {
    while (order[j] != m[i]) ++j;  // m[0..done) is a subsequence of order[0..k)
    drop[i] = !window_.Update(seq[j]);
    why[i] = EspError::kReplay;
    if (!drop[i]) FixIpv4Checksum(m[i]);
  }
  // The duplicates go to [good, done), before those refused earlier (errors untouched).
  return Partition(m, done, drop, errors, why);
}

}  // namespace tundra
