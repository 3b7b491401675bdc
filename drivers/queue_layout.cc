#include "drivers/queue_layout.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tundra::drivers {

bool PortQueueLayout::AnyTxQueueShared() const {
  return std::any_of(tx_users.begin(), tx_users.end(),
                     [](const std::vector<uint16_t>& users) { return users.size() > 1; });
}

std::vector<PortQueueLayout> PlanQueueLayout(uint16_t nb_workers,
                                             const std::vector<PortQueueCounts>& ports) {
  std::vector<PortQueueLayout> layout(ports.size());
  size_t next = 0;
  for (size_t p = 0; p < ports.size(); ++p) {
    PortQueueLayout& l = layout[p];
    for (uint16_t q = 0; q < ports[p].rx_queues; ++q) {
      l.rx_worker.push_back(static_cast<uint16_t>(next++ % nb_workers));
    }
    l.tx_users.resize(std::max<uint16_t>(ports[p].tx_queues, 1));
    for (uint16_t w = 0; w < nb_workers; ++w) l.tx_users[l.TxQueueOf(w)].push_back(w);
  }
  return layout;
}

std::string DescribeRxLayout(const PortQueueLayout& layout) {
  std::vector<std::string> parts;
  for (size_t q = 0; q < layout.rx_worker.size(); ++q) {
    parts.push_back(absl::StrCat("q", q, ": worker ", layout.rx_worker[q]));
  }
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

std::string DescribeTxLayout(const PortQueueLayout& layout) {
  std::vector<std::string> parts;
  for (uint16_t q = 0; q < layout.tx_queues(); ++q) {
    const std::vector<uint16_t>& users = layout.tx_users[q];
    if (users.empty()) {
      parts.push_back(absl::StrCat("q", q, ": unused"));
    } else if (users.size() == 1) {
      parts.push_back(absl::StrCat("q", q, ": worker ", users[0]));
    } else {
      parts.push_back(
          absl::StrCat("q", q, ": workers ", absl::StrJoin(users, ","), " (shared, locked)"));
    }
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace tundra::drivers
