#include "control/xfrm_mirror.h"

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include <algorithm>
#include <cstring>

namespace tundra {
namespace {

constexpr uint8_t kIpProtoEsp = 50;

IpAddress AddressOf(const xfrm_address_t& a, uint16_t family) {
  const auto* b = reinterpret_cast<const uint8_t*>(&a);
  return family == AF_INET6 ? IpAddress::FromV6Bytes(b) : IpAddress::FromV4Bytes(b);
}

bool InPrefix(const IpAddress& ip, const IpAddress& net, uint8_t len) {
  if (ip.family != net.family) return false;
  const uint8_t bits = std::min<uint8_t>(len, ip.is_v4() ? 32 : 128);
  for (uint8_t i = 0; i < bits; ++i) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((ip.bytes[i / 8] & mask) != (net.bytes[i / 8] & mask)) return false;
  }
  return true;
}

// The attribute of `type` after a fixed header of `hdr_len` bytes, or nullptr.
const nlattr* FindAttr(const nlmsghdr& nlh, size_t hdr_len, uint16_t type) {
  const nlattr* found = nullptr;
  auto* msg = const_cast<nlmsghdr*>(&nlh);  // libmnl's walk takes it non-const
  for (auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_offset(msg, hdr_len));
       mnl_attr_ok(attr, static_cast<int>(static_cast<char*>(mnl_nlmsg_get_payload_tail(msg)) -
                                          reinterpret_cast<char*>(attr)));
       attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) == type) found = attr;
  }
  return found;
}

bool PayloadFits(const nlmsghdr& nlh, size_t len) { return nlh.nlmsg_len >= NLMSG_LENGTH(len); }

}  // namespace

bool XfrmSa::Usable() const {
  return esp && transport && aead == "rfc4106(gcm(aes))" && icv_bits == 128 &&
         (keymat.size() == 16 + 4 || keymat.size() == 32 + 4);
}

XfrmTables::SaKey XfrmTables::KeyOf(const IpAddress& dst, uint32_t spi) {
  return {std::string(reinterpret_cast<const char*>(dst.bytes.data()), 16) +
              static_cast<char>(dst.family),
          spi};
}

void XfrmTables::Clear() {
  sas_.clear();
  policies_.clear();
}

bool XfrmTables::Apply(const nlmsghdr& nlh) {
  switch (nlh.nlmsg_type) {
    case XFRM_MSG_NEWSA:
    case XFRM_MSG_UPDSA: {
      if (!PayloadFits(nlh, sizeof(xfrm_usersa_info))) return false;
      const auto* info = static_cast<const xfrm_usersa_info*>(mnl_nlmsg_get_payload(&nlh));
      XfrmSa sa;
      sa.dst = AddressOf(info->id.daddr, info->family);
      sa.src = AddressOf(info->saddr, info->family);
      sa.spi = ntohl(info->id.spi);
      sa.esp = info->id.proto == kIpProtoEsp;
      sa.transport = info->mode == XFRM_MODE_TRANSPORT;
      sa.replay_window = info->replay_window;
      sa.esn = (info->flags & XFRM_STATE_ESN) != 0;
      if (const nlattr* a = FindAttr(nlh, sizeof(*info), XFRMA_ALG_AEAD)) {
        const auto* alg = static_cast<const xfrm_algo_aead*>(mnl_attr_get_payload(a));
        const size_t key_bytes = (alg->alg_key_len + 7) / 8;
        if (mnl_attr_get_payload_len(a) >= sizeof(*alg) + key_bytes) {
          sa.aead.assign(alg->alg_name, strnlen(alg->alg_name, sizeof(alg->alg_name)));
          sa.icv_bits = alg->alg_icv_len;
          sa.keymat = SecretBytes(key_bytes);
          std::memcpy(sa.keymat.data(), alg->alg_key, key_bytes);
        }
      }
      if (const nlattr* a = FindAttr(nlh, sizeof(*info), XFRMA_REPLAY_ESN_VAL)) {
        if (mnl_attr_get_payload_len(a) >= sizeof(xfrm_replay_state_esn)) {
          sa.replay_window =
              static_cast<const xfrm_replay_state_esn*>(mnl_attr_get_payload(a))->replay_window;
        }
      }
      sa.order = ++order_;
      sas_[KeyOf(sa.dst, sa.spi)] = std::move(sa);
      return true;
    }
    case XFRM_MSG_DELSA: {
      if (!PayloadFits(nlh, sizeof(xfrm_usersa_id))) return false;
      const auto* id = static_cast<const xfrm_usersa_id*>(mnl_nlmsg_get_payload(&nlh));
      sas_.erase(KeyOf(AddressOf(id->daddr, id->family), ntohl(id->spi)));
      return true;
    }
    case XFRM_MSG_EXPIRE: {
      if (!PayloadFits(nlh, sizeof(xfrm_user_expire))) return false;
      const auto* e = static_cast<const xfrm_user_expire*>(mnl_nlmsg_get_payload(&nlh));
      // A soft expiry asks the IKE daemon to rekey; at the hard one the kernel deletes it.
      if (e->hard) {
        sas_.erase(KeyOf(AddressOf(e->state.id.daddr, e->state.family), ntohl(e->state.id.spi)));
      }
      return true;
    }
    case XFRM_MSG_FLUSHSA:
      sas_.clear();
      return true;
    case XFRM_MSG_NEWPOLICY:
    case XFRM_MSG_UPDPOLICY: {
      if (!PayloadFits(nlh, sizeof(xfrm_userpolicy_info))) return false;
      const auto* info = static_cast<const xfrm_userpolicy_info*>(mnl_nlmsg_get_payload(&nlh));
      XfrmPolicy p;
      const xfrm_selector& sel = info->sel;
      const uint16_t family = sel.family != 0 ? sel.family : AF_INET;
      p.src = AddressOf(sel.saddr, family);
      p.dst = AddressOf(sel.daddr, family);
      p.src_len = sel.prefixlen_s;
      p.dst_len = sel.prefixlen_d;
      p.proto = sel.proto;
      p.dport = ntohs(sel.dport);
      p.dport_mask = ntohs(sel.dport_mask);
      p.dir = info->dir;
      p.allow = info->action == XFRM_POLICY_ALLOW;
      if (const nlattr* a = FindAttr(nlh, sizeof(*info), XFRMA_TMPL)) {
        const auto* t = static_cast<const xfrm_user_tmpl*>(mnl_attr_get_payload(a));
        const size_t n = mnl_attr_get_payload_len(a) / sizeof(xfrm_user_tmpl);
        for (size_t i = 0; i < n; ++i) {
          p.esp_transport |= t[i].id.proto == kIpProtoEsp && t[i].mode == XFRM_MODE_TRANSPORT;
        }
      }
      policies_[{info->dir, info->index}] = p;
      return true;
    }
    case XFRM_MSG_DELPOLICY: {
      if (!PayloadFits(nlh, sizeof(xfrm_userpolicy_id))) return false;
      const auto* id = static_cast<const xfrm_userpolicy_id*>(mnl_nlmsg_get_payload(&nlh));
      // Deleted by selector, the id names no index; the kernel's notice then carries the
      // whole policy (XFRMA_POLICY), index included.
      uint32_t index = id->index;
      uint8_t dir = id->dir;
      if (const nlattr* a = FindAttr(nlh, sizeof(*id), XFRMA_POLICY)) {
        if (mnl_attr_get_payload_len(a) >= sizeof(xfrm_userpolicy_info)) {
          const auto* info = static_cast<const xfrm_userpolicy_info*>(mnl_attr_get_payload(a));
          index = info->index;
          dir = info->dir;
        }
      }
      policies_.erase({dir, index});
      return true;
    }
    case XFRM_MSG_FLUSHPOLICY:
      policies_.clear();
      return true;
    default:
      return false;
  }
}

std::vector<XfrmBinding> XfrmTables::Bindings(const std::vector<XfrmTunnel>& tunnels,
                                              std::vector<std::string>* waiting) const {
  std::vector<XfrmBinding> out;
  for (const XfrmTunnel& t : tunnels) {
    const bool selected = std::any_of(policies_.begin(), policies_.end(), [&](const auto& kv) {
      const XfrmPolicy& p = kv.second;
      return p.dir == XFRM_POLICY_OUT && p.allow && p.esp_transport &&
             InPrefix(t.local, p.src, p.src_len) && InPrefix(t.remote, p.dst, p.dst_len) &&
             (p.proto == 0 || p.proto == t.proto) &&
             (p.proto != 17 || (t.dport & p.dport_mask) == (p.dport & p.dport_mask));
    });
    if (!selected) continue;
    const XfrmSa* best_out = nullptr;
    std::vector<const XfrmSa*> ins;
    for (const auto& [key, sa] : sas_) {
      if (!sa.Usable()) continue;
      if (sa.src == t.local && sa.dst == t.remote) {
        if (best_out == nullptr || sa.order > best_out->order) best_out = &sa;
      } else if (sa.src == t.remote && sa.dst == t.local) {
        ins.push_back(&sa);
      }
    }
    if (best_out == nullptr || ins.empty()) {
      if (waiting != nullptr) waiting->push_back(t.name);
      continue;
    }
    std::sort(ins.begin(), ins.end(),
              [](const XfrmSa* a, const XfrmSa* b) { return a->order > b->order; });
    XfrmBinding b;
    b.tunnel = t.name;
    b.out = {best_out->dst, best_out->spi};
    for (size_t i = 0; i < ins.size() && i < 2; ++i) b.in.push_back({ins[i]->dst, ins[i]->spi});
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace tundra
