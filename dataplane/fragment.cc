#include "dataplane/fragment.h"

#include <rte_ip_frag.h>

#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {
// Most fragments one oversized packet may become.
constexpr uint16_t kMaxFragments = 8;
}  // namespace

bool SendFragments(WorkerContext& ctx, uint16_t rx_port, const EncapPacket& p) {
  const Tunnel& t = *p.t;
  const auto* ip = rte_pktmbuf_mtod(p.m, const Ipv4Hdr*);
  if (!(t.flags & kTunnelFragment) || ip->version() != 4 || ip->dont_fragment() ||
      ctx.indirect_pool == nullptr) {
    return false;
  }
  const uint16_t inner_mtu = static_cast<uint16_t>(t.max_l3_len - (t.hdr_len - kEtherHdrLen));
  rte_mbuf* frags[kMaxFragments];
  const int nf = rte_ipv4_fragment_packet(p.m, frags, kMaxFragments, inner_mtu, ctx.direct_pool,
                                          ctx.indirect_pool);
  if (nf <= 0) return false;
  rte_pktmbuf_free(p.m);
  EncapPacket batch[kMaxFragments];
  for (int f = 0; f < nf; ++f) {
    // rte_ipv4_fragment_packet leaves each fragment's header checksum to us.
    auto* fip = rte_pktmbuf_mtod(frags[f], Ipv4Hdr*);
    fip->checksum = Be16(0);
    fip->checksum = Be16::FromRaw(~FoldChecksum(RawSum(fip, fip->header_len())));
    batch[f] = EncapPacket{frags[f], &t, p.id, rte_pktmbuf_pkt_len(frags[f]), DropReason::kNone};
  }
  ctx.counters->tunnels[p.id].fragments.Add(static_cast<uint64_t>(nf));
  PushStage(ctx, rx_port, batch, static_cast<uint16_t>(nf));
  return true;
}

}  // namespace tundra
