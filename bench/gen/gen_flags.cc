#include "bench/gen/gen_flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

DEFINE_string(tx_port, "0", "DPDK port id(s) to send on, comma separated");
DEFINE_string(rx_port, "0", "DPDK port id(s) to receive on (may be the tx port)");
DEFINE_string(spec, "",
              "traffic spec overriding the flags below, e.g. "
              "\"proto=geneve opts=2 size=imix flows=64 tunnels=8 ip=6\"");
DEFINE_string(proto, "vxlan", "none | vxlan | geneve | gre | gretap");
DEFINE_string(size, "64", "inner frame size 64..1518 (with FCS), or imix (7:4:1 of 64/570/1518)");
DEFINE_uint32(flows, 1, "inner flows per tunnel (inner source IP and UDP port vary)");
DEFINE_uint32(tunnels, 1, "tunnels: VNIs / GRE keys vni..vni+tunnels-1");
DEFINE_uint32(vni, 100, "first VNI (or GRE key)");
DEFINE_uint32(underlay, 4, "outer IP version: 4 or 6");
DEFINE_uint32(geneve_opts, 0, "GENEVE options per packet: 0 or 2");
DEFINE_uint32(dstport, 0, "outer UDP destination port (0: 4789 vxlan, 6081 geneve)");
DEFINE_bool(gre_key, true, "gre/gretap: carry the RFC 2890 key");
DEFINE_string(local_ip, "", "outer source (default 192.0.2.2 / 2001:db8::2: tundra's remote)");
DEFINE_string(remote_ip, "", "outer destination (default 192.0.2.1 / 2001:db8::1: tundra)");
DEFINE_string(src_mac, "02:00:00:00:00:02", "outer source MAC");
DEFINE_string(dst_mac, "02:00:00:00:00:01", "outer destination MAC (tundra's uplink)");
DEFINE_string(inner_src_mac, "02:00:00:00:10:01", "inner source MAC");
DEFINE_string(inner_dst_mac, "02:00:00:00:10:02", "inner destination MAC");
DEFINE_string(inner_src_ip, "10.1.0.1", "inner source IPv4 (flow i adds i)");
DEFINE_string(inner_dst_ip, "10.2.0.1", "inner destination IPv4");
DEFINE_uint32(inner_sport, 1024, "inner UDP source port (flow i adds i)");
DEFINE_uint32(inner_dport, 5001, "inner UDP destination port");

DEFINE_string(mode, "mrr", "mrr | ndr | pdr | ndrpdr | fixed");
DEFINE_double(rate, 0, "--mode=fixed: offered rate in Mpps (0: as fast as possible)");
DEFINE_double(duration, 1, "seconds per trial");
DEFINE_double(drain_ms, 100, "after a trial's last packet, receive this long before counting");
DEFINE_double(pdr_loss_pct, 0.5, "PDR: the largest loss that passes, in percent");
DEFINE_double(precision_pct, 1, "NDR/PDR: stop when the interval is under this % of the rate");
DEFINE_int32(max_trials, 12, "NDR/PDR: most trials per search");
DEFINE_double(lower_mpps, 0, "NDR/PDR: lower bound of the search");
DEFINE_double(upper_mpps, 0, "NDR/PDR: upper bound (0: the MRR trial's offered rate)");
DEFINE_string(write_pcap, "", "write --count packets to this pcap instead of sending");
DEFINE_uint64(count, 1000, "--write_pcap: packets to write");
DEFINE_uint32(mbufs, 16383, "mbuf pool size");
DEFINE_uint32(per_stream, 0, "also print the first N streams' counters");
DEFINE_uint32(link_wait_s, 10, "wait this long for every port's link (memif: the peer) to be up");
DEFINE_bool(wait_stdin_eof, false,
            "after the run, keep the ports open until stdin reaches EOF (at most "
            "--hold_max_s): a memif peer can stop polling before its link goes down");
DEFINE_uint32(hold_max_s, 120, "--wait_stdin_eof: close the ports after this long anyway");

namespace tundra::gen {
namespace {

bool IsDefault(const char* name) {
  gflags::CommandLineFlagInfo info;
  return !gflags::GetCommandLineFlagInfo(name, &info) || info.is_default;
}

}  // namespace

absl::StatusOr<std::vector<uint16_t>> ParsePortList(const char* flag, const std::string& text) {
  std::vector<uint16_t> ports;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    uint32_t v = 0;
    if (!absl::SimpleAtoi(item, &v) || v > 0xFFFF) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": bad port '", item, "'"));
    }
    ports.push_back(static_cast<uint16_t>(v));
  }
  if (ports.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": no port"));
  return ports;
}

absl::StatusOr<GenSpec> SpecFromFlags() {
  if (FLAGS_underlay != 4 && FLAGS_underlay != 6) {
    return absl::InvalidArgumentError("--underlay: 4 or 6");
  }
  GenSpec spec = DefaultSpec(static_cast<uint8_t>(FLAGS_underlay));
  auto proto = ParseProto(FLAGS_proto);
  if (!proto.ok()) return proto.status();
  spec.proto = *proto;
  // The flags in spec-string form, so both go through one validated parser.
  std::string text =
      absl::StrCat("flows=", FLAGS_flows, " tunnels=", FLAGS_tunnels, " vni=", FLAGS_vni,
                   " opts=", FLAGS_geneve_opts, " dstport=", FLAGS_dstport,
                   " key=", FLAGS_gre_key ? 1 : 0, " sport=", FLAGS_inner_sport,
                   " dport=", FLAGS_inner_dport, " smac=", FLAGS_src_mac, " dmac=", FLAGS_dst_mac,
                   " inner_smac=", FLAGS_inner_src_mac, " inner_dmac=", FLAGS_inner_dst_mac,
                   " inner_src=", FLAGS_inner_src_ip, " inner_dst=", FLAGS_inner_dst_ip);
  if (!IsDefault("local_ip")) absl::StrAppend(&text, " local=", FLAGS_local_ip);
  if (!IsDefault("remote_ip")) absl::StrAppend(&text, " remote=", FLAGS_remote_ip);
  if (absl::Status st = SetSize(FLAGS_size, spec); !st.ok()) return st;
  if (absl::Status st = ApplySpecString(text, spec); !st.ok()) return st;
  if (absl::Status st = ApplySpecString(FLAGS_spec, spec); !st.ok()) return st;
  if (absl::Status st = ValidateSpec(spec); !st.ok()) return st;
  return spec;
}

}  // namespace tundra::gen
