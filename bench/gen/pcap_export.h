// --write_pcap: the packets tundra-gen would send, in the order it would send them
// (one tx port), to a pcap file for replay by other generators.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bench/gen/frame_builder.h"
#include "bench/gen/gen_spec.h"

namespace tundra::gen {

// Writes `count` packets; each stream numbers its packets from 0, timestamps (the
// payload's and the pcap's) are 0 and 1 us apart respectively.
absl::Status WritePcapTraffic(const GenSpec& spec, const std::vector<FrameTemplate>& templates,
                              const std::string& path, uint64_t count);

}  // namespace tundra::gen
