#include "control/config_file.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace tundra {

absl::Status RunConfigFile(cli::CommandEngine& engine, const std::string& path,
                           const std::function<bool()>& should_stop) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open config file"));
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string out;
    absl::Status s = engine.Execute(line, out);
    if (!out.empty()) {
      std::fputs(out.c_str(), stdout);
      std::fflush(stdout);
    }
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat(path, ":", line_no, ": ", s.message()));
    }
    if (should_stop()) break;
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return absl::OkStatus();
}

}  // namespace tundra
