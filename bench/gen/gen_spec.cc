#include "bench/gen/gen_spec.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/gen/payload.h"

namespace tundra::gen {
namespace {

constexpr uint16_t kEthIpUdpLen = 14 + 20 + 8;

absl::StatusOr<uint64_t> ParseNumber(absl::string_view key, absl::string_view text, uint64_t min,
                                     uint64_t max) {
  uint64_t v = 0;
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": not a number: '", text, "'"));
  }
  if (v < min || v > max) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": ", v, " is outside ", min, "..", max));
  }
  return v;
}

absl::Status SetIp(absl::string_view key, absl::string_view text, IpAddress& out) {
  auto ip = IpAddress::Parse(std::string_view(text.data(), text.size()));
  if (!ip) return absl::InvalidArgumentError(absl::StrCat(key, ": bad IP address '", text, "'"));
  out = *ip;
  return absl::OkStatus();
}

absl::Status SetMac(absl::string_view key, absl::string_view text, MacAddress& out) {
  auto mac = MacAddress::Parse(std::string_view(text.data(), text.size()));
  if (!mac) return absl::InvalidArgumentError(absl::StrCat(key, ": bad MAC address '", text, "'"));
  out = *mac;
  return absl::OkStatus();
}

}  // namespace

const char* GenProtoName(GenProto proto) {
  switch (proto) {
    case GenProto::kNone:
      return "none";
    case GenProto::kVxlan:
      return "vxlan";
    case GenProto::kGeneve:
      return "geneve";
    case GenProto::kGre:
      return "gre";
    case GenProto::kGretap:
      return "gretap";
  }
  return "unknown";
}

GenSpec DefaultSpec(uint8_t underlay) {
  GenSpec s;
  s.underlay = underlay;
  if (underlay == 6) {
    s.local_ip = *IpAddress::Parse("2001:db8::2");
    s.remote_ip = *IpAddress::Parse("2001:db8::1");
  } else {
    s.local_ip = *IpAddress::Parse("192.0.2.2");
    s.remote_ip = *IpAddress::Parse("192.0.2.1");
  }
  s.src_mac = *MacAddress::Parse("02:00:00:00:00:02");
  s.dst_mac = *MacAddress::Parse("02:00:00:00:00:01");
  s.inner_src_mac = *MacAddress::Parse("02:00:00:00:10:01");
  s.inner_dst_mac = *MacAddress::Parse("02:00:00:00:10:02");
  s.inner_src_ip = *IpAddress::Parse("10.1.0.1");
  s.inner_dst_ip = *IpAddress::Parse("10.2.0.1");
  return s;
}

absl::StatusOr<GenProto> ParseProto(absl::string_view text) {
  if (text == "none") return GenProto::kNone;
  if (text == "vxlan") return GenProto::kVxlan;
  if (text == "geneve") return GenProto::kGeneve;
  if (text == "gre") return GenProto::kGre;
  if (text == "gretap") return GenProto::kGretap;
  return absl::InvalidArgumentError(
      absl::StrCat("proto: '", text, "' is not none|vxlan|geneve|gre|gretap"));
}

absl::Status SetSize(absl::string_view text, GenSpec& spec) {
  if (text == "imix") {
    spec.imix = true;
    spec.sizes.assign(std::begin(kImixPattern), std::end(kImixPattern));
    return absl::OkStatus();
  }
  auto v = ParseNumber("size", text, kMinFrameSize, kMaxFrameSize);
  if (!v.ok()) return v.status();
  spec.imix = false;
  spec.sizes = {static_cast<uint16_t>(*v)};
  return absl::OkStatus();
}

absl::Status ApplySpecString(absl::string_view text, GenSpec& spec) {
  for (absl::string_view item : absl::StrSplit(text, absl::ByAnyChar(" ,;"), absl::SkipEmpty())) {
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("spec: '", item, "' is not key=value"));
    }
    const absl::string_view key = item.substr(0, eq);
    const absl::string_view val = item.substr(eq + 1);
    absl::Status st;
    if (key == "proto") {
      auto p = ParseProto(val);
      if (!p.ok()) return p.status();
      spec.proto = *p;
    } else if (key == "size") {
      st = SetSize(val, spec);
    } else if (key == "flows" || key == "tunnels" || key == "vni" || key == "ip" || key == "opts" ||
               key == "dstport" || key == "sport" || key == "dport" || key == "key" ||
               key == "seq") {
      const uint64_t max = key == "ip" ? 6 : 0xFFFFFFFF;
      auto v = ParseNumber(key, val, 0, max);
      if (!v.ok()) return v.status();
      if (key == "flows") spec.flows = static_cast<uint32_t>(*v);
      if (key == "tunnels") spec.tunnels = static_cast<uint32_t>(*v);
      if (key == "vni") spec.vni_base = static_cast<uint32_t>(*v);
      if (key == "opts") spec.geneve_options = static_cast<uint8_t>(*v > 255 ? 255 : *v);
      if (key == "key") spec.gre_key = *v != 0;
      if (key == "seq") spec.gre_seq = *v != 0;
      if (key == "ip") {
        if (*v != 4 && *v != 6) return absl::InvalidArgumentError("ip: 4 or 6");
        // Switching family also switches the default outer addresses.
        if (*v != spec.underlay) {
          const GenSpec d = DefaultSpec(static_cast<uint8_t>(*v));
          spec.local_ip = d.local_ip;
          spec.remote_ip = d.remote_ip;
        }
        spec.underlay = static_cast<uint8_t>(*v);
      }
      if (key == "dstport" || key == "sport" || key == "dport") {
        if (*v > 0xFFFF) return absl::InvalidArgumentError(absl::StrCat(key, ": > 65535"));
        const auto port = static_cast<uint16_t>(*v);
        if (key == "dstport") spec.dstport = port;
        if (key == "sport") spec.inner_sport = port;
        if (key == "dport") spec.inner_dport = port;
      }
    } else if (key == "local") {
      st = SetIp(key, val, spec.local_ip);
    } else if (key == "remote") {
      st = SetIp(key, val, spec.remote_ip);
    } else if (key == "inner_src") {
      st = SetIp(key, val, spec.inner_src_ip);
    } else if (key == "inner_dst") {
      st = SetIp(key, val, spec.inner_dst_ip);
    } else if (key == "smac") {
      st = SetMac(key, val, spec.src_mac);
    } else if (key == "dmac") {
      st = SetMac(key, val, spec.dst_mac);
    } else if (key == "inner_smac") {
      st = SetMac(key, val, spec.inner_src_mac);
    } else if (key == "inner_dmac") {
      st = SetMac(key, val, spec.inner_dst_mac);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("spec: unknown key '", key, "'"));
    }
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status ValidateSpec(const GenSpec& spec) {
  if (spec.flows == 0 || spec.tunnels == 0) {
    return absl::InvalidArgumentError("flows and tunnels must be at least 1");
  }
  if (uint64_t{spec.flows} * spec.tunnels > kMaxStreams) {
    return absl::InvalidArgumentError(
        absl::StrCat("flows * tunnels must be at most ", kMaxStreams, " streams"));
  }
  if (spec.sizes.empty()) return absl::InvalidArgumentError("no frame size");
  for (uint16_t s : spec.sizes) {
    if (s < kMinFrameSize || s > kMaxFrameSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("size ", s, " is outside ", kMinFrameSize, "..", kMaxFrameSize));
    }
    static_assert(kMinFrameSize - kFcsLen >= kEthIpUdpLen + kPayloadLen);
  }
  if (spec.proto != GenProto::kNone) {
    if (spec.underlay != 4 && spec.underlay != 6) {
      return absl::InvalidArgumentError("underlay must be 4 or 6");
    }
    if (spec.local_ip.family != spec.underlay || spec.remote_ip.family != spec.underlay) {
      return absl::InvalidArgumentError(absl::StrCat("outer addresses ", spec.local_ip.ToString(),
                                                     " and ", spec.remote_ip.ToString(),
                                                     " are not IPv", spec.underlay));
    }
  }
  if (spec.geneve_options != 0 && spec.geneve_options != 2) {
    return absl::InvalidArgumentError("opts: GENEVE options must be 0 or 2");
  }
  if (spec.geneve_options != 0 && spec.proto != GenProto::kGeneve) {
    return absl::InvalidArgumentError("opts: only for proto=geneve");
  }
  if (!spec.inner_src_ip.is_v4() || !spec.inner_dst_ip.is_v4()) {
    return absl::InvalidArgumentError("inner addresses must be IPv4");
  }
  const uint64_t last_vni = uint64_t{spec.vni_base} + spec.tunnels - 1;
  const bool gre = spec.proto == GenProto::kGre || spec.proto == GenProto::kGretap;
  if (!gre && spec.proto != GenProto::kNone && last_vni > kMaxVniValue) {
    return absl::InvalidArgumentError(
        absl::StrCat("vni ", spec.vni_base, " + tunnels exceeds ", kMaxVniValue));
  }
  if (gre && spec.tunnels > 1 && !spec.gre_key) {
    return absl::InvalidArgumentError("several GRE tunnels need key=1");
  }
  return absl::OkStatus();
}

std::string DescribeSpec(const GenSpec& spec) {
  std::string size = spec.imix ? "imix" : absl::StrCat(spec.sizes[0], "B");
  std::string under = spec.proto == GenProto::kNone ? "" : absl::StrCat("/ipv", spec.underlay);
  std::string extra;
  if (spec.proto == GenProto::kGeneve) extra = absl::StrCat(" opts=", spec.geneve_options);
  if (spec.gre_seq) extra = " seq";
  return absl::StrFormat("%s%s %s flows=%u tunnels=%u vni=%u%s", GenProtoName(spec.proto), under,
                         size, spec.flows, spec.tunnels, spec.vni_base, extra);
}

}  // namespace tundra::gen
