#include "control/netlink_mirror.h"

#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include <array>

#include "absl/strings/str_cat.h"

namespace tundra {

absl::StatusOr<std::unique_ptr<NetlinkMirror>> NetlinkMirror::Open(
    int bus, const std::vector<unsigned>& groups, const std::vector<uint16_t>& dump_types,
    Handler& handler) {
  std::unique_ptr<NetlinkMirror> m(new NetlinkMirror(handler));
  m->sock_ = mnl_socket_open2(bus, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (m->sock_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("netlink socket (bus ", bus, "): ", strerror(errno)));
  }
  if (mnl_socket_bind(m->sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
    return absl::UnavailableError(absl::StrCat("netlink bind: ", strerror(errno)));
  }
  for (unsigned g : groups) {
    int group = static_cast<int>(g);
    if (mnl_socket_setsockopt(m->sock_, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
      return absl::UnavailableError(
          absl::StrCat("netlink group ", g, ": ", strerror(errno), " (needs CAP_NET_ADMIN)"));
    }
  }
  m->port_id_ = mnl_socket_get_portid(m->sock_);
  m->dump_types_ = dump_types;
  m->Resync();
  return m;
}

NetlinkMirror::~NetlinkMirror() {
  if (sock_ != nullptr) mnl_socket_close(sock_);
}

absl::Status NetlinkMirror::SendDump(uint16_t type) {
  std::array<char, 8192> buf;  // room for one header (MNL_SOCKET_BUFFER_SIZE is not constexpr)
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  // Never 0: multicast notices carry their requester's sequence number, often 0.
  dump_seq_ = dump_seq_ == 0 ? static_cast<uint32_t>(time(nullptr)) | 1 : dump_seq_ + 1;
  if (dump_seq_ == 0) dump_seq_ = 1;
  nlh->nlmsg_seq = dump_seq_;
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) {
    return absl::UnavailableError(absl::StrCat("netlink dump request: ", strerror(errno)));
  }
  return absl::OkStatus();
}

void NetlinkMirror::Resync() {
  synced_ = false;
  handler_.Reset();
  next_dump_ = 0;
  if (dump_types_.empty()) {
    synced_ = true;
    handler_.DumpDone();
    return;
  }
  if (SendDump(dump_types_[0]).ok()) {
    next_dump_ = 1;
  } else {
    ++errors_;
  }
}

int NetlinkMirror::OnMessage(const nlmsghdr* nlh, void* data) {
  auto* self = static_cast<NetlinkMirror*>(data);
  ++self->messages_;
  self->handler_.Message(*nlh);
  return MNL_CB_OK;
}

void NetlinkMirror::Poll() {
  std::array<char, 1 << 16> buf;  // a dump's datagrams carry many messages each
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == ENOBUFS) {  // the kernel dropped updates: only a dump can tell which
        ++resyncs_;
        Resync();
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      ++errors_;
      break;
    }
    // Walk the datagram: data messages to the handler; a dump's DONE or ERROR moves on.
    int left = static_cast<int>(n);
    for (const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
         mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      const bool of_dump = next_dump_ != 0 && nlh->nlmsg_seq == dump_seq_ && nlh->nlmsg_seq != 0;
      if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) {
        if (nlh->nlmsg_type == NLMSG_ERROR) {
          const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
          if (err->error != 0) ++errors_;
        }
        if (!of_dump) continue;
        if (next_dump_ < dump_types_.size() && SendDump(dump_types_[next_dump_]).ok()) {
          ++next_dump_;
        } else {
          next_dump_ = 0;
          synced_ = true;
          handler_.DumpDone();
        }
        continue;
      }
      if (nlh->nlmsg_type < NLMSG_MIN_TYPE) continue;
      OnMessage(nlh, this);
    }
  }
}

}  // namespace tundra
