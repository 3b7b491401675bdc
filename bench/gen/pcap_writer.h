// A minimal libpcap file writer (the classic format: 24-byte file header, 16-byte
// record headers, microsecond timestamps, LINKTYPE_ETHERNET), so the generated traffic
// can be replayed by Pktgen-DPDK, TRex or net_pcap's infinite_rx.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"

namespace tundra::gen {

class PcapWriter {
 public:
  PcapWriter() = default;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();

  absl::Status Open(const std::string& path);
  // Records `len` bytes stamped `usec` microseconds after the epoch.
  absl::Status Write(const uint8_t* data, uint32_t len, uint64_t usec);
  absl::Status Close();

 private:
  FILE* file_ = nullptr;
  std::string path_;
};

}  // namespace tundra::gen
