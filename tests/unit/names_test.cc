// The lists that user-facing names come from: the tunnel type table (parsed and printed
// by the same entries) and the counter .def lists, which README's counter table must
// follow row for row.
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "dataplane/counters.h"
#include "dataplane/tunnel_type.h"

namespace tundra::testing {
namespace {

TEST_CASE("tunnel type names parse back to their type", "[names]") {
  for (const TunnelTypeEntry& e : kTunnelTypes) {
    INFO(e.name);
    CHECK(ParseTunnelType(e.name) == e.type);
    CHECK(TunnelTypeName(e.type) == e.name);
  }
  CHECK(ParseTunnelType("vxlan") == TunnelType::kVxlan);
  CHECK(ParseTunnelType("gretap") == TunnelType::kGretap);
  CHECK_FALSE(ParseTunnelType("VXLAN").has_value());
  CHECK_FALSE(ParseTunnelType("").has_value());
  CHECK(IsUdpTunnel(TunnelType::kGeneve));
  CHECK_FALSE(IsUdpTunnel(TunnelType::kGretap));
  CHECK(IsGreTunnel(TunnelType::kGre));
  CHECK_FALSE(IsGreTunnel(TunnelType::kVxlan));
}

struct CounterRow {
  const char* where;  // the README table's "of" column
  const char* name;
  const char* text;
  const char* meaning;
};

std::vector<CounterRow> AllCounters() {
  return {
#define X(member, name, text, meaning) {"port", name, text, meaning},
#include "dataplane/port_counters.def"
#undef X
#define X(member, name, text, meaning) {"tunnel", name, text, meaning},
#include "dataplane/tunnel_counters.def"
#undef X
#define X(member, name, text, meaning) {"segment", name, text, meaning},
#include "dataplane/segment_counters.def"
#undef X
#define X(member, name, text, meaning) {"worker", name, text, meaning},
#include "dataplane/worker_counters.def"
#undef X
  };
}

std::string ReadReadme() {
  std::ifstream in(TUNDRA_SOURCE_ROOT "/README.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("every counter's text piece formats exactly one number", "[names][counters]") {
  for (const CounterRow& c : AllCounters()) {
    INFO(c.name);
    CHECK(absl::ParsedFormat<'u'>::New(c.text) != nullptr);
  }
}

TEST_CASE("README's counter table is the .def lists, row for row", "[names][counters][readme]") {
  const std::string readme = ReadReadme();
  REQUIRE_FALSE(readme.empty());
  std::set<std::string> listed;
  for (const CounterRow& c : AllCounters()) {
    const std::string row = absl::StrCat("| `", c.name, "` | ", c.where, " | ", c.meaning, " |\n");
    INFO("README.md lacks the row: " << row);
    CHECK(absl::StrContains(readme, row));
    listed.insert(c.name);
  }
  // ...and has no row for a counter the lists do not have.
  const size_t begin = readme.find("| counter | of | meaning |\n");
  REQUIRE(begin != std::string::npos);
  const size_t end = readme.find("\n\n", begin);
  for (absl::string_view line : absl::StrSplit(readme.substr(begin, end - begin), '\n')) {
    if (!absl::StartsWith(line, "| `")) continue;
    const std::string name(line.substr(3, line.find('`', 3) - 3));
    INFO("README.md lists a counter no .def has: " << name);
    CHECK(listed.contains(name));
  }
}

TEST_CASE("README's drop-reason table names every drop reason", "[names][readme]") {
  const std::string readme = ReadReadme();
  for (int r = 0; r < kNumDropReasons; ++r) {
    const std::string row = absl::StrCat("| `", DropReasonName(static_cast<DropReason>(r)), "` |");
    INFO("README.md lacks the row: " << row);
    CHECK(absl::StrContains(readme, row));
  }
}

}  // namespace
}  // namespace tundra::testing
