#include "bench/gen/pcap_writer.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tundra::gen {
namespace {

// https://www.tcpdump.org/manpages/pcap-savefile.5.txt, written in host order (the
// magic tells readers which).
struct PcapFileHeader {
  uint32_t magic = 0xA1B2C3D4;
  uint16_t version_major = 2;
  uint16_t version_minor = 4;
  int32_t thiszone = 0;
  uint32_t sigfigs = 0;
  uint32_t snaplen = 65535;
  uint32_t linktype = 1;  // LINKTYPE_ETHERNET
};
static_assert(sizeof(PcapFileHeader) == 24);

struct PcapRecordHeader {
  uint32_t ts_sec;
  uint32_t ts_usec;
  uint32_t incl_len;
  uint32_t orig_len;
};
static_assert(sizeof(PcapRecordHeader) == 16);

absl::Status IoError(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

PcapWriter::~PcapWriter() { (void)Close(); }

absl::Status PcapWriter::Open(const std::string& path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) return IoError("cannot create", path);
  path_ = path;
  const PcapFileHeader h;
  if (std::fwrite(&h, sizeof(h), 1, file_) != 1) return IoError("cannot write", path_);
  return absl::OkStatus();
}

absl::Status PcapWriter::Write(const uint8_t* data, uint32_t len, uint64_t usec) {
  const PcapRecordHeader r{static_cast<uint32_t>(usec / 1000000),
                           static_cast<uint32_t>(usec % 1000000), len, len};
  if (std::fwrite(&r, sizeof(r), 1, file_) != 1 || std::fwrite(data, 1, len, file_) != len) {
    return IoError("cannot write", path_);
  }
  return absl::OkStatus();
}

absl::Status PcapWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) return IoError("cannot close", path_);
  return absl::OkStatus();
}

}  // namespace tundra::gen
