#include "control/config_file.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tundra {

absl::Status CheckKeysPrivate(const std::string& path) {
  std::ifstream in(path);
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || (st.st_mode & (S_IRGRP | S_IROTH)) == 0) {
    return absl::OkStatus();
  }
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    std::istringstream words(line);
    std::string first, second;
    words >> first >> second;
    if (first == "sa" && second == "add") {
      return absl::PermissionDeniedError(absl::StrFormat(
          "%s: holds SA keys (line %d) but is readable by group or others (mode %04o): "
          "chmod 600 it",
          path, line_no, st.st_mode & 07777));
    }
  }
  return absl::OkStatus();
}

absl::Status RunConfigFile(cli::CommandEngine& engine, const std::string& path,
                           const std::function<bool()>& should_stop) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open config file"));
  if (absl::Status s = CheckKeysPrivate(path); !s.ok()) return s;
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
