#include "control/capture.h"

#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tundra {

// What the callbacks see (through their user pointer) and the writer thread empties.
struct Capture::Session {
  CaptureRequest request;
  rte_mempool* pool = nullptr;
  rte_ring* ring = nullptr;
  rte_pcapng_t* file = nullptr;
  std::vector<const rte_eth_rxtx_callback*> rx_callbacks;  // [queue]
  std::vector<const rte_eth_rxtx_callback*> tx_callbacks;
  bool attached = false;
  uint64_t start_ns = 0;   // wall clock at start
  uint64_t start_tsc = 0;  // the TSC then
  uint64_t tsc_hz = 0;
  std::atomic<uint64_t> copied{0};  // by the workers
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> written{0};  // by the writer thread
  std::atomic<bool> draining{false};
  std::atomic<bool> full{false};  // `count` written
  std::thread writer;

  // On a worker, inside rx_burst / tx_burst.
  void Copy(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n,
            rte_pcapng_direction direction) {
    if (full.load(std::memory_order_relaxed)) return;
    const uint64_t now = rte_get_tsc_cycles();
    // DPDK 22.11's pcapng turns TSC into time as delta * 1e9 / hz in 64 bits, which
    // overflows ~9 s after the process started; the Enhanced Packet Block's timestamp
    // (RFC draft pcapng §4.3: words 3 and 4, in the IDB's nanoseconds) is written here.
    const uint64_t delta = now - start_tsc;
    const uint64_t ns =
        start_ns + delta / tsc_hz * 1000000000u + delta % tsc_hz * 1000000000u / tsc_hz;
    rte_mbuf* copies[64];
    for (uint16_t i = 0; i < n; i += 64) {
      const unsigned chunk = std::min<unsigned>(64, n - i);
      unsigned k = 0;
      for (unsigned j = 0; j < chunk; ++j) {
        rte_mbuf* c =
            rte_pcapng_copy(port, queue, pkts[i + j], pool, request.snaplen, now, direction);
        if (c == nullptr) continue;
        uint32_t* epb = rte_pktmbuf_mtod(c, uint32_t*);
        epb[3] = static_cast<uint32_t>(ns >> 32);
        epb[4] = static_cast<uint32_t>(ns);
        copies[k++] = c;
      }
      const unsigned queued =
          rte_ring_mp_enqueue_burst(ring, reinterpret_cast<void**>(copies), k, nullptr);
      if (queued < k) rte_pktmbuf_free_bulk(copies + queued, k - queued);
      copied.fetch_add(queued, std::memory_order_relaxed);
      dropped.fetch_add(chunk - queued, std::memory_order_relaxed);
    }
  }

  void WriterLoop() {
    rte_mbuf* batch[64];
    while (true) {
      const unsigned n =
          rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(batch), 64, nullptr);
      if (n == 0) {
        if (draining.load()) return;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      unsigned keep = n;
      const uint64_t before = written.load(std::memory_order_relaxed);
      if (request.count != 0 && before + n >= request.count) {
        keep = static_cast<unsigned>(request.count - before);
        rte_pktmbuf_free_bulk(batch + keep, n - keep);
        full.store(true);
      }
      if (keep > 0) (void)rte_pcapng_write_packets(file, batch, static_cast<uint16_t>(keep));
      written.store(before + keep, std::memory_order_relaxed);
    }
  }
};

namespace {

uint16_t OnRx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, uint16_t, void* session) {
  static_cast<Capture::Session*>(session)->Copy(port, queue, pkts, n, RTE_PCAPNG_DIRECTION_IN);
  return n;
}

uint16_t OnTx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, void* session) {
  static_cast<Capture::Session*>(session)->Copy(port, queue, pkts, n, RTE_PCAPNG_DIRECTION_OUT);
  return n;
}

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

Capture::Capture(rte_rcu_qsbr* qsbr) : qsbr_(qsbr) {}

Capture::~Capture() { (void)Stop(); }

absl::Status Capture::Start(const CaptureRequest& request, uint16_t nb_rxq, uint16_t nb_txq) {
  if (session_ != nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("a capture of port ", session_->request.port, " runs: 'capture stop' first"));
  }
  auto s = std::make_unique<Session>();
  s->request = request;
  const uint32_t id = next_id_++;
  s->pool = rte_pktmbuf_pool_create(absl::StrCat("tundra_cap", id).c_str(), kSlots - 1, 0, 0,
                                    static_cast<uint16_t>(rte_pcapng_mbuf_size(request.snaplen)),
                                    SOCKET_ID_ANY);
  s->ring =
      rte_ring_create(absl::StrCat("tundra_cap", id).c_str(), kSlots, SOCKET_ID_ANY, RING_F_SC_DEQ);
  auto undo = [&s] {
    rte_ring_free(s->ring);
    rte_mempool_free(s->pool);
  };
  if (s->pool == nullptr || s->ring == nullptr) {
    undo();
    return absl::ResourceExhaustedError(
        absl::StrCat("no memory for the capture's copies: ", rte_strerror(rte_errno)));
  }
  const int fd = open(request.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    undo();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", request.path, ": ", strerror(errno)));
  }
  s->file = rte_pcapng_fdopen(fd, nullptr, nullptr, "tundra", nullptr);
  if (s->file == nullptr) {
    close(fd);
    undo();
    return absl::InternalError(absl::StrCat("cannot start a pcapng file in ", request.path, ": ",
                                            rte_strerror(rte_errno)));
  }
  s->start_ns = NowNs();
  s->start_tsc = rte_get_tsc_cycles();
  s->tsc_hz = rte_get_tsc_hz();
  Session* raw = s.get();
  s->writer = std::thread([raw] { raw->WriterLoop(); });
  session_ = std::move(s);
  if (nb_rxq > 0 || nb_txq > 0) return Attach(nb_rxq, nb_txq);
  return absl::OkStatus();
}

absl::Status Capture::Attach(uint16_t nb_rxq, uint16_t nb_txq) {
  if (session_ == nullptr || session_->attached) return absl::OkStatus();
  Session& s = *session_;
  const uint16_t port = s.request.port;
  for (uint16_t q = 0; s.request.rx && q < nb_rxq; ++q) {
    s.rx_callbacks.push_back(rte_eth_add_rx_callback(port, q, OnRx, &s));
  }
  for (uint16_t q = 0; s.request.tx && q < nb_txq; ++q) {
    s.tx_callbacks.push_back(rte_eth_add_tx_callback(port, q, OnTx, &s));
  }
  s.attached = true;
  for (const auto* cb : s.rx_callbacks) {
    if (cb == nullptr) {
      (void)Stop();
      return absl::InternalError(absl::StrCat("cannot add an rx callback on port ", port));
    }
  }
  for (const auto* cb : s.tx_callbacks) {
    if (cb == nullptr) {
      (void)Stop();
      return absl::InternalError(absl::StrCat("cannot add a tx callback on port ", port));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Capture::Stop() {
  if (session_ == nullptr) return absl::FailedPreconditionError("no capture is running");
  Session& s = *session_;
  const uint16_t port = s.request.port;
  for (uint16_t q = 0; q < s.rx_callbacks.size(); ++q) {
    if (s.rx_callbacks[q] != nullptr) rte_eth_remove_rx_callback(port, q, s.rx_callbacks[q]);
  }
  for (uint16_t q = 0; q < s.tx_callbacks.size(); ++q) {
    if (s.tx_callbacks[q] != nullptr) rte_eth_remove_tx_callback(port, q, s.tx_callbacks[q]);
  }
  // Once every worker has passed a quiescent state, none is inside a callback any more:
  // the callbacks, and this session, can go.
  rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
  for (const auto* cb : s.rx_callbacks) rte_free(const_cast<rte_eth_rxtx_callback*>(cb));
  for (const auto* cb : s.tx_callbacks) rte_free(const_cast<rte_eth_rxtx_callback*>(cb));
  s.draining.store(true);
  s.writer.join();
  // Copies the count left out, if any.
  rte_mbuf* left[64];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst(s.ring, reinterpret_cast<void**>(left), 64, nullptr)) > 0) {
    rte_pktmbuf_free_bulk(left, n);
  }
  const uint64_t written = s.written.load();
  const uint64_t dropped = s.dropped.load();
  (void)rte_pcapng_write_stats(s.file, port, nullptr, s.start_ns, NowNs(), written + dropped,
                               dropped);
  rte_pcapng_close(s.file);
  rte_ring_free(s.ring);
  rte_mempool_free(s.pool);
  const std::string summary =
      absl::StrFormat("capture of port %u stopped: %u packets written to %s, %u dropped", port,
                      written, s.request.path, dropped);
  session_.reset();
  return summary;
}

std::string Capture::Poll() {
  if (session_ == nullptr || !session_->full.load()) return "";
  absl::StatusOr<std::string> summary = Stop();
  return summary.ok() ? *summary : "";
}

CaptureStatus Capture::status() const {
  CaptureStatus st;
  if (session_ == nullptr) return st;
  st.active = true;
  st.attached = session_->attached;
  st.request = session_->request;
  st.written = session_->written.load();
  st.dropped = session_->dropped.load();
  return st;
}

}  // namespace tundra
