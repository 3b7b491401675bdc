#include "bench/gen/pcap_export.h"

#include "bench/gen/packet_schedule.h"
#include "bench/gen/pcap_writer.h"

namespace tundra::gen {

absl::Status WritePcapTraffic(const GenSpec& spec, const std::vector<FrameTemplate>& templates,
                              const std::string& path, uint64_t count) {
  PcapWriter w;
  if (absl::Status st = w.Open(path); !st.ok()) return st;
  const auto sizes = static_cast<uint32_t>(spec.sizes.size());
  PacketSchedule schedule(0, 1, spec.streams(), sizes);
  std::vector<uint64_t> seq(spec.streams(), 0);
  std::vector<uint8_t> frame;
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t index = 0;
    const uint32_t s = schedule.Next(&index);
    const FrameTemplate& t = templates[index];
    frame = t.bytes;
    StampFrame(t, frame.data(), seq[s]++, 0);
    if (absl::Status st = w.Write(frame.data(), static_cast<uint32_t>(frame.size()), i); !st.ok()) {
      return st;
    }
  }
  return w.Close();
}

}  // namespace tundra::gen
