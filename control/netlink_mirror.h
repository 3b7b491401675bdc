// Follows a kernel table over netlink, for the control thread: dump it, then follow the
// multicast groups' updates, and when the socket overflows (ENOBUFS: updates were lost)
// forget everything and dump again. Non-blocking: Poll() reads what is there and
// returns. One class for every table tundra mirrors (xfrm SAs and policies here; FRR's
// FDB and neighbors through NETLINK_ROUTE next), each a Handler.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace tundra {

class NetlinkMirror {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Everything known so far is stale: a full dump follows.
    virtual void Reset() = 0;
    // One message, from a dump or a multicast group, in arrival order.
    virtual void Message(const nlmsghdr& nlh) = 0;
    // The dump of `dump_types` (all of them) is complete.
    virtual void DumpDone() = 0;
  };

  // Opens `bus` (NETLINK_XFRM, NETLINK_ROUTE...), joins `groups` (group numbers, not
  // bit masks) and starts dumping `dump_types` (each a GET message type) in turn.
  static absl::StatusOr<std::unique_ptr<NetlinkMirror>> Open(
      int bus, const std::vector<unsigned>& groups, const std::vector<uint16_t>& dump_types,
      Handler& handler);
  ~NetlinkMirror();
  NetlinkMirror(const NetlinkMirror&) = delete;
  NetlinkMirror& operator=(const NetlinkMirror&) = delete;

  // Reads and hands over every message waiting; re-dumps after an overflow.
  void Poll();

  bool synced() const { return synced_; }
  uint64_t messages() const { return messages_; }
  uint64_t resyncs() const { return resyncs_; }  // overflows recovered by a dump
  uint64_t errors() const { return errors_; }    // netlink errors answered to a dump

 private:
  NetlinkMirror(Handler& handler) : handler_(handler) {}
  absl::Status SendDump(uint16_t type);
  void Resync();
  static int OnMessage(const nlmsghdr* nlh, void* self);

  Handler& handler_;
  mnl_socket* sock_ = nullptr;
  std::vector<uint16_t> dump_types_;
  size_t next_dump_ = 0;   // dump_types_[next_dump_ - 1] is being dumped; 0: none
  uint32_t dump_seq_ = 0;  // the running dump's sequence number
  uint32_t port_id_ = 0;
  bool synced_ = false;
  uint64_t messages_ = 0, resyncs_ = 0, errors_ = 0;
};

}  // namespace tundra
