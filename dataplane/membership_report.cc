#include "dataplane/membership_report.h"

#include <cstring>

#include "dataplane/proto/checksum.h"
#include "dataplane/proto/ether.h"
#include "dataplane/proto/igmp.h"
#include "dataplane/proto/ip.h"

namespace tundra {

namespace {

uint16_t Checksum(const void* data, size_t len, uint64_t initial = 0) {
  return static_cast<uint16_t>(~FoldChecksum(RawSum(data, len, initial)));
}

uint16_t BuildIgmpv3(const uint8_t* src_v4, const uint8_t* group, uint8_t record_type,
                     uint8_t* frame) {
  auto* eth = reinterpret_cast<EtherHdr*>(frame);
  static constexpr uint8_t kAllRoutersMac[6] = {0x01, 0x00, 0x5E, 0x00, 0x00, 0x16};
  std::memcpy(eth->dst, kAllRoutersMac, 6);
  eth->ether_type = kEtherTypeIpv4;
  constexpr uint16_t kIpLen = kIpv4HdrLen + sizeof(kIpv4RouterAlert);
  constexpr uint16_t kIgmpLen = sizeof(Igmpv3ReportHdr) + sizeof(GroupRecordHdr) + 4;
  auto* ip = reinterpret_cast<Ipv4Hdr*>(eth + 1);
  ip->version_ihl = 0x40 | (kIpLen / 4);
  ip->tos = 0xC0;  // Internetwork Control, as RFC 3376 §4 hosts send
  ip->total_length = Be16(kIpLen + kIgmpLen);
  ip->fragment_offset = Be16(0x4000);  // DF
  ip->ttl = 1;
  ip->protocol = kIpProtoIgmp;
  if (src_v4 != nullptr) std::memcpy(ip->src, src_v4, 4);
  static constexpr uint8_t kAllIgmpv3Routers[4] = {224, 0, 0, 22};
  std::memcpy(ip->dst, kAllIgmpv3Routers, 4);
  uint8_t* opt = frame + kEtherHdrLen + kIpv4HdrLen;
  std::memcpy(opt, kIpv4RouterAlert, sizeof(kIpv4RouterAlert));
  ip->checksum = Be16::FromRaw(Checksum(ip, kIpLen));
  auto* igmp = reinterpret_cast<Igmpv3ReportHdr*>(opt + sizeof(kIpv4RouterAlert));
  igmp->type = kIgmpv3Report;
  igmp->records = Be16(1);
  auto* rec = reinterpret_cast<GroupRecordHdr*>(igmp + 1);
  rec->type = record_type;
  std::memcpy(rec + 1, group, 4);
  igmp->checksum = Be16::FromRaw(Checksum(igmp, kIgmpLen));
  return kEtherHdrLen + kIpLen + kIgmpLen;
}

uint16_t BuildMldv2(const uint8_t src_mac[6], const uint8_t* group, uint8_t record_type,
                    uint8_t* frame) {
  auto* eth = reinterpret_cast<EtherHdr*>(frame);
  static constexpr uint8_t kAllMldv2RoutersMac[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x16};
  std::memcpy(eth->dst, kAllMldv2RoutersMac, 6);
  eth->ether_type = kEtherTypeIpv6;
  constexpr uint16_t kHbhLen = 2 + sizeof(kIpv6RouterAlertMld);
  constexpr uint16_t kMldLen = sizeof(Mldv2ReportHdr) + sizeof(GroupRecordHdr) + 16;
  auto* ip = reinterpret_cast<Ipv6Hdr*>(eth + 1);
  ip->vtc_flow = Be32(6u << 28);
  ip->payload_len = Be16(kHbhLen + kMldLen);
  ip->next_header = kIpv6HopByHop;
  ip->hop_limit = 1;
  // fe80::/64 with the modified EUI-64 interface identifier (RFC 4291 App. A).
  const uint8_t link_local[16] = {0xFE,       0x80,       0,
                                  0,          0,          0,
                                  0,          0,          static_cast<uint8_t>(src_mac[0] ^ 0x02),
                                  src_mac[1], src_mac[2], 0xFF,
                                  0xFE,       src_mac[3], src_mac[4],
                                  src_mac[5]};
  std::memcpy(ip->src, link_local, 16);
  static constexpr uint8_t kAllMldv2Routers[16] = {0xFF, 0x02, 0, 0, 0, 0, 0, 0,
                                                   0,    0,    0, 0, 0, 0, 0, 0x16};
  std::memcpy(ip->dst, kAllMldv2Routers, 16);
  uint8_t* hbh = reinterpret_cast<uint8_t*>(ip + 1);
  hbh[0] = kIpProtoIcmpv6;
  hbh[1] = 0;  // 8 bytes
  std::memcpy(hbh + 2, kIpv6RouterAlertMld, sizeof(kIpv6RouterAlertMld));
  auto* mld = reinterpret_cast<Mldv2ReportHdr*>(hbh + kHbhLen);
  mld->type = kMldv2Report;
  mld->records = Be16(1);
  auto* rec = reinterpret_cast<GroupRecordHdr*>(mld + 1);
  rec->type = record_type;
  std::memcpy(rec + 1, group, 16);
  // The pseudo-header names the upper layer (ICMPv6), not the hop-by-hop header.
  uint8_t pseudo[40] = {};
  std::memcpy(pseudo, ip->src, 16);
  std::memcpy(pseudo + 16, ip->dst, 16);
  pseudo[35] = kMldLen;
  pseudo[39] = kIpProtoIcmpv6;
  mld->checksum = Be16::FromRaw(Checksum(mld, kMldLen, RawSum(pseudo, sizeof(pseudo))));
  return kEtherHdrLen + kIpv6HdrLen + kHbhLen + kMldLen;
}

}  // namespace

uint16_t BuildMembershipReport(uint8_t family, const uint8_t src_mac[6], const uint8_t* src_v4,
                               const uint8_t* group, uint8_t record_type, uint8_t* frame) {
  std::memset(frame, 0, kMembershipReportMax);
  std::memcpy(reinterpret_cast<EtherHdr*>(frame)->src, src_mac, 6);
  if (family == 4) {
    // 14 + 24 + 16 = 54 bytes: padded with zeros to the Ethernet minimum.
    const uint16_t len = BuildIgmpv3(src_v4, group, record_type, frame);
    return len < 60 ? 60 : len;
  }
  return BuildMldv2(src_mac, group, record_type, frame);
}

}  // namespace tundra
