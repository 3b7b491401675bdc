// tundra-gen's command-line flags (gflags) and the spec they describe. The flags give
// every field; --spec, applied after them, overrides any of them in one string.
#pragma once

#include <gflags/gflags.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/gen/gen_spec.h"

DECLARE_string(tx_port);
DECLARE_string(rx_port);
DECLARE_string(mode);
DECLARE_double(rate);
DECLARE_double(duration);
DECLARE_double(drain_ms);
DECLARE_double(pdr_loss_pct);
DECLARE_double(precision_pct);
DECLARE_int32(max_trials);
DECLARE_double(lower_mpps);
DECLARE_double(upper_mpps);
DECLARE_string(write_pcap);
DECLARE_uint64(count);
DECLARE_uint32(mbufs);
DECLARE_uint32(per_stream);
DECLARE_uint32(link_wait_s);
DECLARE_bool(wait_stdin_eof);
DECLARE_uint32(hold_max_s);

namespace tundra::gen {

absl::StatusOr<GenSpec> SpecFromFlags();

// "0" or "0,1": DPDK port ids.
absl::StatusOr<std::vector<uint16_t>> ParsePortList(const char* flag, const std::string& text);

}  // namespace tundra::gen
