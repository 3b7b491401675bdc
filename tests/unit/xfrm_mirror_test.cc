// The xfrm mirror's tables (control/xfrm_mirror.h): NETLINK_XFRM messages built as the
// kernel sends them (libmnl, linux/xfrm.h structures) into SAs and policies, and the
// rule that decides which tunnel gets which SAs.
#include "control/xfrm_mirror.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

namespace tundra::testing {
namespace {

void SetV4(xfrm_address_t& a, const char* ip) { inet_pton(AF_INET, ip, &a.a4); }

struct Msg {
  std::array<char, 4096> buf{};
  nlmsghdr* nlh;
  explicit Msg(uint16_t type) : nlh(mnl_nlmsg_put_header(buf.data())) { nlh->nlmsg_type = type; }
};

// An SA as `ip xfrm state add src S dst D proto esp spi SPI mode M aead ALG KEY ICV`.
Msg NewSa(const char* src, const char* dst, uint32_t spi, const char* alg = "rfc4106(gcm(aes))",
          size_t key_bytes = 20, uint32_t icv = 128, uint8_t mode = XFRM_MODE_TRANSPORT,
          uint16_t type = XFRM_MSG_NEWSA) {
  Msg m(type);
  auto* info =
      static_cast<xfrm_usersa_info*>(mnl_nlmsg_put_extra_header(m.nlh, sizeof(xfrm_usersa_info)));
  info->family = AF_INET;
  SetV4(info->saddr, src);
  SetV4(info->id.daddr, dst);
  info->id.spi = htonl(spi);
  info->id.proto = IPPROTO_ESP;
  info->mode = mode;
  info->replay_window = 32;
  std::array<char, sizeof(xfrm_algo_aead) + 36> alg_buf{};
  auto* a = reinterpret_cast<xfrm_algo_aead*>(alg_buf.data());
  std::strncpy(a->alg_name, alg, sizeof(a->alg_name) - 1);
  a->alg_key_len = static_cast<unsigned>(key_bytes * 8);
  a->alg_icv_len = icv;
  for (size_t i = 0; i < key_bytes; ++i) a->alg_key[i] = static_cast<char>(i + spi);
  mnl_attr_put(m.nlh, XFRMA_ALG_AEAD, sizeof(xfrm_algo_aead) + key_bytes, a);
  return m;
}

Msg DelSa(const char* dst, uint32_t spi) {
  Msg m(XFRM_MSG_DELSA);
  auto* id =
      static_cast<xfrm_usersa_id*>(mnl_nlmsg_put_extra_header(m.nlh, sizeof(xfrm_usersa_id)));
  id->family = AF_INET;
  SetV4(id->daddr, dst);
  id->spi = htonl(spi);
  id->proto = IPPROTO_ESP;
  return m;
}

// `ip xfrm policy add src S/32 dst D/32 proto P [dport N] dir DIR tmpl proto esp mode M`.
Msg NewPolicy(const char* src, const char* dst, uint8_t dir, uint32_t index, uint8_t proto = 17,
              uint16_t dport = 4789, uint8_t tmpl_proto = IPPROTO_ESP,
              uint8_t tmpl_mode = XFRM_MODE_TRANSPORT) {
  Msg m(XFRM_MSG_NEWPOLICY);
  auto* info = static_cast<xfrm_userpolicy_info*>(
      mnl_nlmsg_put_extra_header(m.nlh, sizeof(xfrm_userpolicy_info)));
  info->sel.family = AF_INET;
  SetV4(info->sel.saddr, src);
  SetV4(info->sel.daddr, dst);
  info->sel.prefixlen_s = info->sel.prefixlen_d = 32;
  info->sel.proto = proto;
  if (dport != 0) {
    info->sel.dport = htons(dport);
    info->sel.dport_mask = 0xffff;
  }
  info->dir = dir;
  info->index = index;
  info->action = XFRM_POLICY_ALLOW;
  xfrm_user_tmpl t = {};
  t.id.proto = tmpl_proto;
  t.mode = tmpl_mode;
  t.family = AF_INET;
  mnl_attr_put(m.nlh, XFRMA_TMPL, sizeof(t), &t);
  return m;
}

// As the kernel announces a deletion: by index, or (deleted by selector) with no index in
// the id and the whole policy in XFRMA_POLICY.
Msg DelPolicy(uint8_t dir, uint32_t index, bool by_selector = false) {
  Msg m(XFRM_MSG_DELPOLICY);
  auto* id = static_cast<xfrm_userpolicy_id*>(
      mnl_nlmsg_put_extra_header(m.nlh, sizeof(xfrm_userpolicy_id)));
  id->dir = dir;
  id->index = by_selector ? 0 : index;
  if (by_selector) {
    xfrm_userpolicy_info info = {};
    info.dir = dir;
    info.index = index;
    mnl_attr_put(m.nlh, XFRMA_POLICY, sizeof(info), &info);
  }
  return m;
}

XfrmTunnel Vxlan(const char* name = "t1") {
  XfrmTunnel t;
  t.name = name;
  t.local = *IpAddress::Parse("192.0.2.1");
  t.remote = *IpAddress::Parse("192.0.2.2");
  t.proto = 17;
  t.dport = 4789;
  return t;
}

TEST_CASE("xfrm: an SA message becomes an SA, with its key, and goes with DELSA", "[xfrm]") {
  XfrmTables x;
  REQUIRE(x.Apply(*NewSa("192.0.2.1", "192.0.2.2", 0x1001).nlh));
  REQUIRE(x.sas().size() == 1);
  const XfrmSa& sa = x.sas().begin()->second;
  CHECK(sa.spi == 0x1001);
  CHECK(sa.src == *IpAddress::Parse("192.0.2.1"));
  CHECK(sa.dst == *IpAddress::Parse("192.0.2.2"));
  CHECK(sa.aead == "rfc4106(gcm(aes))");
  CHECK(sa.keymat.size() == 20);
  CHECK(sa.keymat.data()[0] == static_cast<uint8_t>(0x1001 & 0xff));
  CHECK(sa.replay_window == 32);
  CHECK(sa.Usable());
  // UPDSA replaces it; DELSA removes it by (dst, spi).
  REQUIRE(x.Apply(*NewSa("192.0.2.1", "192.0.2.2", 0x1001, "rfc4106(gcm(aes))", 36, 128,
                         XFRM_MODE_TRANSPORT, XFRM_MSG_UPDSA)
                       .nlh));
  CHECK(x.sas().size() == 1);
  CHECK(x.sas().begin()->second.keymat.size() == 36);
  REQUIRE(x.Apply(*DelSa("192.0.2.9", 0x1001).nlh));  // another destination: not it
  CHECK(x.sas().size() == 1);
  REQUIRE(x.Apply(*DelSa("192.0.2.2", 0x1001).nlh));
  CHECK(x.sas().empty());
}

TEST_CASE("xfrm: only AES-GCM (RFC 4106) transport SAs with a 128-bit ICV are usable", "[xfrm]") {
  XfrmTables x;
  x.Apply(*NewSa("192.0.2.1", "192.0.2.2", 0x10, "rfc4106(gcm(aes))", 20, 64).nlh);
  x.Apply(*NewSa("192.0.2.1", "192.0.2.2", 0x11, "rfc4543(gcm(aes))").nlh);
  x.Apply(
      *NewSa("192.0.2.1", "192.0.2.2", 0x12, "rfc4106(gcm(aes))", 20, 128, XFRM_MODE_TUNNEL).nlh);
  x.Apply(*NewSa("192.0.2.1", "192.0.2.2", 0x13, "rfc4106(gcm(aes))", 28).nlh);  // AES-192
  for (const auto& [key, sa] : x.sas()) CHECK_FALSE(sa.Usable());
}

TEST_CASE("xfrm: a short or foreign message changes nothing", "[xfrm]") {
  XfrmTables x;
  Msg m(XFRM_MSG_NEWSA);  // header only, no xfrm_usersa_info
  CHECK_FALSE(x.Apply(*m.nlh));
  Msg other(XFRM_MSG_ACQUIRE);
  CHECK_FALSE(x.Apply(*other.nlh));
  CHECK(x.sas().empty());
  CHECK(x.policies().empty());
}

TEST_CASE("xfrm: a policy selects the tunnel, the newest SAs protect it", "[xfrm]") {
  XfrmTables x;
  std::vector<std::string> waiting;
  CHECK(x.Bindings({Vxlan()}, &waiting).empty());
  CHECK(waiting.empty());  // no policy: not the mirror's business
  x.Apply(*NewPolicy("192.0.2.1", "192.0.2.2", XFRM_POLICY_OUT, 1).nlh);
  CHECK(x.Bindings({Vxlan()}, &waiting).empty());
  CHECK(waiting == std::vector<std::string>{"t1"});  // selected, no SAs yet
  x.Apply(*NewSa("192.0.2.1", "192.0.2.2", 0x1001).nlh);
  x.Apply(*NewSa("192.0.2.2", "192.0.2.1", 0x2001).nlh);
  waiting.clear();
  std::vector<XfrmBinding> b = x.Bindings({Vxlan()}, &waiting);
  REQUIRE(b.size() == 1);
  CHECK(b[0].tunnel == "t1");
  CHECK(b[0].out.second == 0x1001);
  REQUIRE(b[0].in.size() == 1);
  CHECK(b[0].in[0].second == 0x2001);
  // A rekey: the new pair is installed before the old goes. Out switches to the new SA,
  // in takes both, newest first.
  x.Apply(*NewSa("192.0.2.2", "192.0.2.1", 0x2002).nlh);
  x.Apply(*NewSa("192.0.2.1", "192.0.2.2", 0x1002).nlh);
  b = x.Bindings({Vxlan()});
  REQUIRE(b.size() == 1);
  CHECK(b[0].out.second == 0x1002);
  REQUIRE(b[0].in.size() == 2);
  CHECK(b[0].in[0].second == 0x2002);
  CHECK(b[0].in[1].second == 0x2001);
  x.Apply(*DelSa("192.0.2.1", 0x2001).nlh);
  x.Apply(*DelSa("192.0.2.2", 0x1001).nlh);
  b = x.Bindings({Vxlan()});
  REQUIRE(b.size() == 1);
  CHECK(b[0].in.size() == 1);
  // The policy goes (deleted by selector): the tunnel is no longer selected at all.
  x.Apply(*NewPolicy("192.0.2.2", "192.0.2.1", XFRM_POLICY_IN, 8).nlh);
  x.Apply(*DelPolicy(XFRM_POLICY_IN, 8).nlh);
  REQUIRE(x.policies().size() == 1);
  x.Apply(*DelPolicy(XFRM_POLICY_OUT, 1, true).nlh);
  CHECK(x.policies().empty());
  waiting.clear();
  CHECK(x.Bindings({Vxlan()}, &waiting).empty());
  CHECK(waiting.empty());
}

TEST_CASE("xfrm: the selector must cover the tunnel's outer packets", "[xfrm]") {
  XfrmTunnel gre = Vxlan("g1");
  gre.proto = 47;
  gre.dport = 0;
  const auto selected = [](XfrmTables& x, const XfrmTunnel& t) {
    std::vector<std::string> waiting;
    x.Bindings({t}, &waiting);
    return !waiting.empty();
  };
  XfrmTables wrong_port, wrong_dir, wrong_proto, tunnel_mode, any, gre_only;
  wrong_port.Apply(*NewPolicy("192.0.2.1", "192.0.2.2", XFRM_POLICY_OUT, 1, 17, 6081).nlh);
  wrong_dir.Apply(*NewPolicy("192.0.2.1", "192.0.2.2", XFRM_POLICY_IN, 1).nlh);
  wrong_proto.Apply(*NewPolicy("192.0.2.1", "192.0.2.2", XFRM_POLICY_OUT, 1, 6, 0).nlh);
  tunnel_mode.Apply(*NewPolicy("192.0.2.1", "192.0.2.2", XFRM_POLICY_OUT, 1, 17, 4789, IPPROTO_ESP,
                               XFRM_MODE_TUNNEL)
                         .nlh);
  any.Apply(*NewPolicy("192.0.2.1", "192.0.2.2", XFRM_POLICY_OUT, 1, 0, 0).nlh);
  gre_only.Apply(*NewPolicy("192.0.2.1", "192.0.2.2", XFRM_POLICY_OUT, 1, 47, 0).nlh);
  CHECK_FALSE(selected(wrong_port, Vxlan()));
  CHECK_FALSE(selected(wrong_dir, Vxlan()));
  CHECK_FALSE(selected(wrong_proto, Vxlan()));
  CHECK_FALSE(selected(tunnel_mode, Vxlan()));
  CHECK(selected(any, Vxlan()));
  CHECK(selected(any, gre));
  CHECK(selected(gre_only, gre));
  CHECK_FALSE(selected(gre_only, Vxlan()));
}

}  // namespace
}  // namespace tundra::testing
