// The kernel's IPsec tables (xfrm SAs and policies) of tundra's network namespace, as
// strongSwan or `ip xfrm` installed them, mirrored over netlink (NETLINK_XFRM through
// NetlinkMirror) into ESP on tundra's tunnels: tundra does the ESP, the kernel only
// holds the keys. What a tunnel gets (XfrmBindings) is decided here from the tables
// alone; App applies it with the same Protect/Unprotect as `tunnel <name> protect`.
//
// A point-to-point tunnel (local L, remote R) is protected when an outbound policy
// (dir out, action allow) selects its outer packets — L to R, protocol any or its own
// (UDP to its port for vxlan/geneve, GRE for gre/gretap) — through an ESP transport
// template; its outbound SA is then the newest ESP transport SA from L to R with
// AES-GCM (rfc4106(gcm(aes)), 128-bit ICV), its inbound SAs the two newest from R to L
// (both during a rekey, as strongSwan installs the new pair before deleting the old).
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "control/secret_bytes.h"
#include "dataplane/proto/address.h"

namespace tundra {

struct XfrmSa {
  IpAddress src, dst;
  uint32_t spi = 0;
  bool transport = false;  // XFRM_MODE_TRANSPORT
  bool esp = false;
  std::string aead;    // the algorithm's kernel name; empty when not AEAD
  SecretBytes keymat;  // key then salt, as the kernel holds it
  uint32_t icv_bits = 0;
  uint32_t replay_window = 0;
  bool esn = false;
  uint64_t order = 0;  // when it was added or last updated: newer is larger

  // AES-GCM per RFC 4106 in transport mode, as tundra's ESP does it.
  bool Usable() const;
};

struct XfrmPolicy {
  IpAddress src, dst;
  uint8_t src_len = 0, dst_len = 0;
  uint8_t proto = 0;  // 0: any
  uint16_t dport = 0, dport_mask = 0;
  uint8_t dir = 0;  // XFRM_POLICY_IN / OUT / FWD
  bool allow = true;
  bool esp_transport = false;  // one of its templates: ESP in transport mode
};

// A tunnel as the mirror needs to see it.
struct XfrmTunnel {
  std::string name;
  IpAddress local, remote;
  uint8_t proto = 0;   // 17 (udp) or 47 (gre)
  uint16_t dport = 0;  // udp: the tunnel's port
};

struct XfrmBinding {
  std::string tunnel;
  std::pair<IpAddress, uint32_t> out;              // (dst, spi) of the outbound SA
  std::vector<std::pair<IpAddress, uint32_t>> in;  // newest first, one or two
};

class XfrmTables {
 public:
  // Applies one NETLINK_XFRM message (NEW/UPD/DEL SA and policy, EXPIRE, FLUSH); false
  // for a message it does not use.
  bool Apply(const nlmsghdr& nlh);
  void Clear();

  // The tunnels of `tunnels` that the policies protect and the SAs can protect now.
  // A tunnel with a policy but no usable SA in each direction is in `waiting`.
  std::vector<XfrmBinding> Bindings(const std::vector<XfrmTunnel>& tunnels,
                                    std::vector<std::string>* waiting = nullptr) const;

  using SaKey = std::pair<std::string, uint32_t>;  // (dst bytes, spi)
  static SaKey KeyOf(const IpAddress& dst, uint32_t spi);
  const std::map<SaKey, XfrmSa>& sas() const { return sas_; }
  const std::map<std::pair<uint8_t, uint32_t>, XfrmPolicy>& policies() const { return policies_; }

 private:
  std::map<SaKey, XfrmSa> sas_;
  std::map<std::pair<uint8_t, uint32_t>, XfrmPolicy> policies_;  // (dir, index)
  uint64_t order_ = 0;
};

}  // namespace tundra
