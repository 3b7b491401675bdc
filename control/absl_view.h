// Debian 12's Abseil is built with its own absl::string_view
// (ABSL_OPTION_USE_STD_STRING_VIEW 0), which neither takes nor becomes the
// std::string_view our APIs use. These spell that conversion once, so that
// absl::StrCat, StrSplit and StrJoin serve std::string_view text. (absl::StrFormat
// takes std::string_view as it is.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace tundra {

inline absl::string_view AsAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view AsStd(absl::string_view s) { return {s.data(), s.size()}; }

// absl::StrSplit(text, delimiter[, predicate]) as views into `text`.
template <typename Delimiter, typename Predicate = absl::AllowEmpty>
std::vector<std::string_view> SplitViews(std::string_view text, Delimiter delimiter,
                                         Predicate predicate = {}) {
  std::vector<std::string_view> pieces;
  for (absl::string_view piece : absl::StrSplit(AsAbsl(text), delimiter, predicate)) {
    pieces.push_back(AsStd(piece));
  }
  return pieces;
}

// An absl::StrJoin formatter for std::string_view pieces (the default takes absl's).
struct ViewFormatter {
  void operator()(std::string* out, std::string_view piece) const { out->append(piece); }
};

}  // namespace tundra
