#include "bench/gen/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tundra::gen {
namespace {

double LossPct(const RxTotals& t) {
  return t.sent ? 100.0 * static_cast<double>(t.lost) / static_cast<double>(t.sent) : 0;
}

std::string OptRate(const std::optional<double>& v) {
  return v ? absl::StrFormat("%.4f", *v) : "null";
}

}  // namespace

LatencySummaryUs SummarizeLatency(const LatencyHistogram& h, double tsc_hz) {
  const double per_us = tsc_hz / 1e6;
  auto us = [&](double cycles) { return per_us > 0 ? cycles / per_us : 0; };
  LatencySummaryUs s;
  if (h.count() == 0) return s;
  s.min = us(static_cast<double>(h.min()));
  s.avg = us(h.mean());
  s.p50 = us(static_cast<double>(h.Quantile(0.50)));
  s.p90 = us(static_cast<double>(h.Quantile(0.90)));
  s.p99 = us(static_cast<double>(h.Quantile(0.99)));
  s.p999 = us(static_cast<double>(h.Quantile(0.999)));
  s.max = us(static_cast<double>(h.max()));
  return s;
}

std::string FormatTrialLine(int index, const TrialResult& t, bool pass) {
  const std::string target =
      t.target_mpps > 0 ? absl::StrFormat("%8.4f", t.target_mpps) : "   max  ";
  return absl::StrFormat(
      "trial %2d  target %s Mpps  offered %8.4f  rx %8.4f Mpps  sent %llu lost %llu (%.4f%%)  %s",
      index, target, t.offered_mpps, t.rx_mpps, static_cast<unsigned long long>(t.totals.sent),
      static_cast<unsigned long long>(t.totals.lost), LossPct(t.totals), pass ? "pass" : "fail");
}

std::string FormatSummary(const RunReport& r) {
  std::string out = absl::StrFormat("tundra-gen %s: %s\n", r.mode, r.spec);
  if (r.ndr_mpps) absl::StrAppendFormat(&out, "  NDR        %.4f Mpps\n", *r.ndr_mpps);
  if (r.pdr_mpps) absl::StrAppendFormat(&out, "  PDR        %.4f Mpps\n", *r.pdr_mpps);
  if (r.trial == nullptr) return out;
  const TrialResult& t = *r.trial;
  const RxTotals& c = t.totals;
  absl::StrAppendFormat(&out, "  offered    %.4f Mpps over %.3f s   received %.4f Mpps\n",
                        t.offered_mpps, t.tx_seconds, t.rx_mpps);
  absl::StrAppendFormat(
      &out,
      "  sent %llu  received %llu  lost %llu (%.4f%%)  reordered %llu  "
      "duplicated %llu\n",
      static_cast<unsigned long long>(c.sent), static_cast<unsigned long long>(c.received),
      static_cast<unsigned long long>(c.lost), LossPct(c),
      static_cast<unsigned long long>(c.reordered), static_cast<unsigned long long>(c.duplicated));
  absl::StrAppendFormat(
      &out, "  other rx %llu  stale %llu  generator rx missed %llu  tx retries %llu\n",
      static_cast<unsigned long long>(t.rx_other), static_cast<unsigned long long>(c.stale),
      static_cast<unsigned long long>(t.port_rx_missed),
      static_cast<unsigned long long>(t.tx_retries));
  const LatencySummaryUs l = SummarizeLatency(*t.latency, r.tsc_hz);
  absl::StrAppendFormat(&out,
                        "  latency us min %.2f avg %.2f p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f "
                        "max %.2f\n",
                        l.min, l.avg, l.p50, l.p90, l.p99, l.p999, l.max);
  return out;
}

std::string FormatJson(const RunReport& r) {
  static const TrialResult kEmpty;
  const TrialResult& t = r.trial ? *r.trial : kEmpty;
  const RxTotals& c = t.totals;
  const LatencySummaryUs l = SummarizeLatency(*t.latency, r.tsc_hz);
  return absl::StrFormat(
      "{\"mode\":\"%s\",\"spec\":\"%s\",\"offered_mpps\":%.4f,\"rx_mpps\":%.4f,"
      "\"loss_pct\":%.6f,\"sent\":%llu,\"received\":%llu,\"lost\":%llu,\"reordered\":%llu,"
      "\"duplicated\":%llu,\"latency_us\":{\"min\":%.3f,\"avg\":%.3f,\"p50\":%.3f,"
      "\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f},\"ndr_mpps\":%s,"
      "\"pdr_mpps\":%s,\"trials\":%d,\"duration_s\":%.3f,\"rx_other\":%llu}",
      r.mode, r.spec, t.offered_mpps, t.rx_mpps, LossPct(c),
      static_cast<unsigned long long>(c.sent), static_cast<unsigned long long>(c.received),
      static_cast<unsigned long long>(c.lost), static_cast<unsigned long long>(c.reordered),
      static_cast<unsigned long long>(c.duplicated), l.min, l.avg, l.p50, l.p90, l.p99, l.p999,
      l.max, OptRate(r.ndr_mpps), OptRate(r.pdr_mpps), r.trials, t.tx_seconds,
      static_cast<unsigned long long>(t.rx_other));
}

}  // namespace tundra::gen
