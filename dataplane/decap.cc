#include "dataplane/decap.h"

#include "dataplane/decap_check.h"
#include "dataplane/decap_classify.h"
#include "dataplane/decap_deliver.h"
#include "dataplane/decap_parse.h"
#include "dataplane/esp_input.h"

namespace tundra {

void DecapBurst(WorkerContext& ctx, uint16_t rx_port, rte_mbuf** pkts, uint16_t n) {
  DecapBatch& b = ctx.decap;
  b.rx_port = rx_port;
  b.esp = false;
  if (const EspInboundTable* esp = ctx.tables->esp_inbound(); esp != nullptr) [[unlikely]] {
    n = EspInputStage(ctx, rx_port, *esp, pkts, n, b.esp);  // decrypt ESP in place
  }
  ParseStage(ctx, *ctx.tables->port(rx_port), pkts, n, b);  // outer headers → flows
  if (b.n == 0) return;
  ClassifyStage(*ctx.tables, ctx.decap_cache, b);  // flow keys → tunnels
  CheckStage(ctx, b);                              // the tunnels' rules; sequence; ECN
  DeliverStage(ctx, b);                            // strip, tag, count, emit
}

}  // namespace tundra
