#include "control/command_engine.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/absl_view.h"
#include "dataplane/proto/geneve.h"

namespace tundra::cli {

// ---------------------------------------------------------------------------
// Args

void Args::AddValue(std::string_view name, Value value) {
  auto it = values_.find(name);
  if (it == values_.end()) it = values_.emplace(std::string(name), std::vector<Value>{}).first;
  it->second.push_back(std::move(value));
}

void Args::AddKeyword(std::string_view word) { keywords_.emplace(word); }

const Args::Value* Args::First(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? nullptr : &it->second.front();
}

bool Args::Has(std::string_view name) const {
  return First(name) != nullptr || keywords_.contains(name);
}

std::string_view Args::Word(std::string_view name) const {
  const Value* v = First(name);
  return v ? std::string_view(v->text) : std::string_view();
}

uint64_t Args::Number(std::string_view name) const {
  const Value* v = First(name);
  return v ? v->number : 0;
}

bool Args::IsNumber(std::string_view name) const {
  const Value* v = First(name);
  return v && v->is_number;
}

const IpAddress& Args::Ip(std::string_view name) const {
  static const IpAddress kUnset;
  const Value* v = First(name);
  return v ? v->ip : kUnset;
}

const IpPrefix& Args::Prefix(std::string_view name) const {
  static const IpPrefix kUnset;
  const Value* v = First(name);
  return v ? v->prefix : kUnset;
}

const MacAddress& Args::Mac(std::string_view name) const {
  static const MacAddress kUnset;
  const Value* v = First(name);
  return v ? v->mac : kUnset;
}

std::vector<std::string_view> Args::Words(std::string_view name) const {
  std::vector<std::string_view> words;
  auto it = values_.find(name);
  if (it != values_.end()) {
    for (const Value& v : it->second) words.push_back(v.text);
  }
  return words;
}

// ---------------------------------------------------------------------------
// Value kinds

std::optional<uint64_t> ParseNumber(std::string_view text) {
  const bool hex = text.size() > 2 && text[0] == '0' && absl::ascii_tolower(text[1]) == 'x';
  const std::string_view digits = text.substr(hex ? 2 : 0);
  // absl's parsers also take a sign and white space around the digits; the grammar does not.
  auto is_digit = [hex](char c) { return hex ? absl::ascii_isxdigit(c) : absl::ascii_isdigit(c); };
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) return std::nullopt;
  uint64_t value = 0;
  if (!(hex ? absl::SimpleHexAtoi(AsAbsl(digits), &value)
            : absl::SimpleAtoi(AsAbsl(digits), &value))) {
    return std::nullopt;  // too large for 64 bits
  }
  return value;
}

std::optional<GeneveOption> ParseGeneveOption(std::string_view text) {
  const std::vector<std::string_view> parts = SplitViews(text, ':');
  if (parts.size() != 3) return std::nullopt;
  std::optional<uint64_t> option_class = ParseNumber(parts[0]);
  std::optional<uint64_t> type = ParseNumber(parts[1]);
  if (!option_class || *option_class > 0xffff || !type || *type > 0xff) return std::nullopt;
  const std::string_view hex = parts[2];
  // RFC 8926: the option length is 5 bits counting 4-byte words.
  if (hex.size() % 8 != 0 || hex.size() / 2 > kGeneveMaxOptionDataLen ||
      !std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
    return std::nullopt;
  }
  const std::string bytes = absl::HexStringToBytes(AsAbsl(hex));
  return GeneveOption{static_cast<uint16_t>(*option_class), static_cast<uint8_t>(*type),
                      std::vector<uint8_t>(bytes.begin(), bytes.end())};
}

namespace {

enum class Kind { kLiteral, kPort, kRange, kIp, kIp4, kIp6, kPrefix, kMac, kName, kGeneve, kWord };

// The kinds of the syntax language: the word a syntax string names one by (none for
// literals and LO..HI ranges) and how an error message describes what it takes.
struct KindInfo {
  Kind kind;
  std::string_view name;
  std::string_view description;  // ports and ranges append their bounds
};
constexpr KindInfo kKindInfo[] = {
    {Kind::kLiteral, "", "a keyword"},
    {Kind::kPort, "port", "a port number"},
    {Kind::kRange, "", "a number"},
    {Kind::kIp, "ip", "an IP address"},
    {Kind::kIp4, "ip4", "an IPv4 address"},
    {Kind::kIp6, "ip6", "an IPv6 address"},
    {Kind::kPrefix, "prefix", "an IP prefix <address>/<length>"},
    {Kind::kMac, "mac", "a MAC address aa:bb:cc:dd:ee:ff"},
    {Kind::kName, "name", "a name of 1..32 characters [A-Za-z_][A-Za-z0-9_.-]*"},
    {Kind::kGeneve, "geneve-option",
     "a GENEVE option <class 0..0xffff>:<type 0..0xff>:<hex data, a multiple of 4 bytes, at "
     "most 124>"},
    {Kind::kWord, "word", "a word"},
};

// The table is indexed by Kind, so a lookup cannot miss (g++ -O3 could not prove a
// search always finds its entry, and warned -Warray-bounds).
constexpr bool KindInfoInKindOrder() {
  for (size_t i = 0; i < std::size(kKindInfo); ++i) {
    if (static_cast<size_t>(kKindInfo[i].kind) != i) return false;
  }
  return std::size(kKindInfo) == static_cast<size_t>(Kind::kWord) + 1;
}
static_assert(KindInfoInKindOrder(), "kKindInfo must list every Kind, in enum order");

const KindInfo& KindInfoOf(Kind kind) { return kKindInfo[static_cast<size_t>(kind)]; }

// One alternative of an argument: a literal word or a value kind.
struct Alt {
  Kind kind = Kind::kLiteral;
  std::string literal;  // kLiteral only
  uint64_t lo = 0;      // kRange and kPort
  uint64_t hi = 0;
};

bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-'; }

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  if (!absl::ascii_isalpha(s[0]) && s[0] != '_') return false;
  return std::all_of(s.begin(), s.end(), IsNameChar);
}

// Checks `token` against one alternative, filling `value` on success.
bool AcceptAlt(const Alt& alt, std::string_view token, Args::Value& value) {
  switch (alt.kind) {
    case Kind::kLiteral:
      return token == alt.literal;
    case Kind::kPort:
    case Kind::kRange: {
      std::optional<uint64_t> n = ParseNumber(token);
      if (!n || *n < alt.lo || *n > alt.hi) return false;
      value.is_number = true;
      value.number = *n;
      return true;
    }
    case Kind::kIp:
    case Kind::kIp4:
    case Kind::kIp6: {
      std::optional<IpAddress> ip = IpAddress::Parse(token);
      if (!ip || (alt.kind == Kind::kIp4 && !ip->is_v4()) ||
          (alt.kind == Kind::kIp6 && !ip->is_v6())) {
        return false;
      }
      value.ip = *ip;
      return true;
    }
    case Kind::kPrefix: {
      std::optional<IpPrefix> prefix = IpPrefix::Parse(token);
      if (!prefix) return false;
      value.prefix = *prefix;
      value.ip = prefix->addr;
      return true;
    }
    case Kind::kMac: {
      std::optional<MacAddress> mac = MacAddress::Parse(token);
      if (!mac) return false;
      value.mac = *mac;
      return true;
    }
    case Kind::kName:
      return IsName(token);
    case Kind::kGeneve:
      return ParseGeneveOption(token).has_value();
    case Kind::kWord:
      return true;
  }
  return false;
}

std::string DescribeAlt(const Alt& alt) {
  if (alt.kind == Kind::kLiteral) return absl::StrCat("'", alt.literal, "'");
  const std::string_view what = KindInfoOf(alt.kind).description;
  if (alt.kind == Kind::kPort || alt.kind == Kind::kRange) {
    return absl::StrCat(AsAbsl(what), " ", alt.lo, "..", alt.hi);
  }
  return std::string(what);
}

// A keyword or an argument.
struct Element {
  bool is_arg = false;
  std::string word;       // the keyword, or the argument's name
  std::vector<Alt> alts;  // arguments only

  // How expectations name this element: "role" or "<role>".
  std::string Display() const { return is_arg ? absl::StrCat("<", word, ">") : word; }

  bool Accept(std::string_view token, Args::Value& value) const {
    for (const Alt& alt : alts) {
      Args::Value candidate;
      candidate.text = std::string(token);
      if (AcceptAlt(alt, token, candidate)) {
        value = std::move(candidate);
        return true;
      }
    }
    return false;
  }

  // "expected a number 1..255 or 'inherit'", "expected one of uplink, access".
  std::string Expectation() const {
    bool all_literal = std::all_of(alts.begin(), alts.end(),
                                   [](const Alt& a) { return a.kind == Kind::kLiteral; });
    if (all_literal && alts.size() > 1) {
      std::vector<std::string> words;
      for (const Alt& a : alts) words.push_back(a.literal);
      return absl::StrCat("expected one of ", absl::StrJoin(words, ", "));
    }
    std::string text = "expected ";
    for (size_t i = 0; i < alts.size(); ++i) {
      if (i > 0) text += i + 1 == alts.size() ? " or " : ", ";
      text += DescribeAlt(alts[i]);
    }
    return text;
  }
};

// A top-level item of a command: one required element, or an optional group.
struct Item {
  bool optional = false;
  bool repeatable = false;
  std::vector<Element> elements;  // exactly one when required
  std::string display;            // the item as written in the syntax, for help

  const Element& head() const { return elements.front(); }
};

}  // namespace

struct CommandEngine::Command {
  std::string syntax;  // normalized: items joined by single spaces
  std::string help;
  Handler handler;
  std::vector<Item> items;
};

// ---------------------------------------------------------------------------
// Syntax parsing

namespace {

absl::Status SyntaxError(std::string_view syntax, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrFormat("bad command syntax '%s': %s", syntax, what));
}

bool IsKeyword(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsNameChar);
}

absl::StatusOr<Alt> ParseAlt(std::string_view text) {
  Alt alt;
  for (const KindInfo& k : kKindInfo) {
    if (!k.name.empty() && k.name == text) {
      alt.kind = k.kind;
      if (alt.kind == Kind::kPort) alt.hi = 1023;
      return alt;
    }
  }
  if (size_t dots = text.find(".."); dots != std::string_view::npos) {
    std::optional<uint64_t> lo = ParseNumber(text.substr(0, dots));
    std::optional<uint64_t> hi = ParseNumber(text.substr(dots + 2));
    if (!lo || !hi || *lo > *hi) {
      return absl::InvalidArgumentError(absl::StrFormat("bad range '%s'", text));
    }
    alt.kind = Kind::kRange;
    alt.lo = *lo;
    alt.hi = *hi;
    return alt;
  }
  if (!IsKeyword(text)) {
    return absl::InvalidArgumentError(absl::StrFormat("bad alternative '%s'", text));
  }
  alt.literal = std::string(text);
  return alt;
}

absl::StatusOr<Element> ParseElement(std::string_view text) {
  Element element;
  if (text.front() != '<') {
    if (!IsKeyword(text))
      return absl::InvalidArgumentError(absl::StrFormat("bad keyword '%s'", text));
    element.word = std::string(text);
    return element;
  }
  size_t colon = text.find(':');
  if (text.back() != '>' || colon == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat("bad argument '%s': want <name:kind>", text));
  }
  element.is_arg = true;
  element.word = std::string(text.substr(1, colon - 1));
  if (!IsKeyword(element.word)) {
    return absl::InvalidArgumentError(absl::StrFormat("bad argument name in '%s'", text));
  }
  for (std::string_view alt_text :
       SplitViews(text.substr(colon + 1, text.size() - colon - 2), '|')) {
    absl::StatusOr<Alt> alt = ParseAlt(alt_text);
    if (!alt.ok()) return alt.status();
    element.alts.push_back(*std::move(alt));
  }
  // A lone literal is almost certainly a misspelt kind; a fixed word is a keyword.
  if (element.alts.size() == 1 && element.alts[0].kind == Kind::kLiteral) {
    return absl::InvalidArgumentError(absl::StrCat("unknown kind '", element.alts[0].literal, "'"));
  }
  return element;
}

// Rules that keep matching greedy and unambiguous without backtracking.
absl::Status CheckItems(const std::vector<Item>& items) {
  if (items.empty() || items[0].optional || items[0].head().is_arg) {
    return absl::InvalidArgumentError("a command must start with a keyword");
  }
  std::set<std::string, std::less<>> arg_names;
  for (const Item& item : items) {
    for (const Element& e : item.elements) {
      if (e.is_arg && !arg_names.insert(e.word).second) {
        return absl::InvalidArgumentError(absl::StrCat("argument <", e.word, "> given twice"));
      }
    }
  }
  for (size_t i = 0; i < items.size();) {
    if (!items[i].optional) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < items.size() && items[end].optional) ++end;
    const Item* next = end < items.size() ? &items[end] : nullptr;
    std::set<std::string, std::less<>> heads;
    for (size_t k = i; k < end; ++k) {
      const Element& head = items[k].head();
      if (head.is_arg && next != nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("optional group starting with <", head.word,
                                                       "> must not be followed by ",
                                                       next->head().Display()));
      }
      if (!head.is_arg && (!heads.insert(head.word).second ||
                           (next != nullptr && next->head().word == head.word))) {
        return absl::InvalidArgumentError(absl::StrCat("keyword '", head.word, "' is ambiguous"));
      }
    }
    i = end;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Item>> ParseSyntax(std::string_view syntax) {
  std::vector<Item> items;
  std::optional<Item> group;  // the open optional group, if any
  std::vector<std::string_view> group_tokens;
  for (std::string_view token : SplitViews(syntax, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    std::string_view core = token;
    if (core.starts_with('[')) {
      core.remove_prefix(1);
      if (group) return SyntaxError(syntax, "nested '['");
      group.emplace();
      group->optional = true;
      group_tokens.clear();
    }
    bool close = false;
    bool repeat = false;
    if (core.ends_with("]...")) {
      core.remove_suffix(4);
      close = repeat = true;
    } else if (core.ends_with(']')) {
      core.remove_suffix(1);
      close = true;
    }
    if (!core.empty()) {
      absl::StatusOr<Element> element = ParseElement(core);
      if (!element.ok()) return SyntaxError(syntax, std::string(element.status().message()));
      if (group) {
        group->elements.push_back(*std::move(element));
        group_tokens.push_back(core);
      } else {
        Item item;
        item.elements.push_back(*std::move(element));
        item.display = std::string(core);
        items.push_back(std::move(item));
      }
    }
    if (close) {
      if (!group) return SyntaxError(syntax, "unmatched ']'");
      if (group->elements.empty()) return SyntaxError(syntax, "empty '[]'");
      group->repeatable = repeat;
      group->display = absl::StrCat("[", absl::StrJoin(group_tokens, " ", ViewFormatter()),
                                    repeat ? "]..." : "]");
      items.push_back(*std::move(group));
      group.reset();
    }
  }
  if (group) return SyntaxError(syntax, "unclosed '['");
  if (absl::Status status = CheckItems(items); !status.ok()) {
    return SyntaxError(syntax, std::string(status.message()));
  }
  return items;
}

// ---------------------------------------------------------------------------
// Matching a line against one command

// Why a line did not match a command, at which token.
struct Failure {
  enum Type { kUnexpected, kMissing, kBadValue, kDuplicate };
  Type type = kUnexpected;
  size_t pos = 0;                        // index of the offending token (== size if missing)
  std::string message;                   // kBadValue and kDuplicate: the full message
  std::vector<const Element*> expected;  // what could have come at `pos`
  std::vector<const Element*> required;  // kMissing: the subset that must come
};

struct MatchResult {
  bool ok = false;
  Args args;
  Failure failure;
  // When the tokens ran out: the elements that could come next (for Complete).
  std::vector<const Element*> next;
};

// Token i as an error message may quote it. Key material never is: in an `sa` line
// (the only one that takes keys), the token after `key` or `salt`, or anything that
// looks like a key (16 or more hex digits), is shown as <hidden>.
std::string_view Quotable(const std::vector<std::string_view>& tokens, size_t i) {
  if (tokens.front() != "sa") return tokens[i];
  if (i > 0 && (tokens[i - 1] == "key" || tokens[i - 1] == "salt")) return "<hidden>";
  std::string_view t = tokens[i];
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t.remove_prefix(2);
  const bool hex = std::all_of(
      t.begin(), t.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
  return hex && t.size() >= 16 ? "<hidden>" : tokens[i];
}

// Walks the command's items over the tokens, greedily and without
// backtracking; CheckItems() guarantees that is unambiguous.
class Matcher {
 public:
  Matcher(const std::vector<Item>& items, const std::vector<std::string_view>& tokens)
      : items_(items), tokens_(tokens) {}

  MatchResult Run() {
    size_t i = 0;
    while (true) {
      // The run of optional groups [i, end) and the required item after it.
      size_t end = i;
      while (end < items_.size() && items_[end].optional) ++end;
      const Element* required = end < items_.size() ? &items_[end].head() : nullptr;
      std::vector<int> used(end - i, 0);
      auto available = [&](bool keywords_only) {
        std::vector<const Element*> heads;
        for (size_t k = i; k < end; ++k) {
          if ((used[k - i] == 0 || items_[k].repeatable) &&
              !(keywords_only && items_[k].head().is_arg)) {
            heads.push_back(&items_[k].head());
          }
        }
        return heads;
      };

      const Element* rejected_arg = nullptr;  // an argument-led group that refused the token
      while (true) {
        if (pos_ == tokens_.size()) {
          std::vector<const Element*> heads = available(false);
          if (required == nullptr) {
            result_.ok = true;
            result_.next = heads;
            return std::move(result_);
          }
          heads.push_back(required);
          return Fail(Failure::kMissing, heads, {required});
        }
        std::string_view token = tokens_[pos_];
        rejected_arg = nullptr;
        size_t hit = end;
        for (size_t k = i; k < end; ++k) {
          if (!items_[k].head().is_arg && items_[k].head().word == token) hit = k;
        }
        if (hit != end && used[hit - i] > 0 && !items_[hit].repeatable) {
          return FailWith(Failure::kDuplicate, absl::StrFormat("'%s' given twice", token));
        }
        if (hit == end) {  // keyword-led groups take precedence over argument-led ones
          Args::Value unused;
          for (size_t k = i; k < end && hit == end; ++k) {
            const Element& head = items_[k].head();
            if (!head.is_arg || (used[k - i] > 0 && !items_[k].repeatable)) continue;
            if (head.Accept(token, unused)) {
              hit = k;
            } else if (rejected_arg == nullptr) {
              rejected_arg = &head;
            }
          }
        }
        if (hit == end) break;
        if (!MatchSequence(items_[hit].elements)) return std::move(result_);
        ++used[hit - i];
      }

      std::string_view token = tokens_[pos_];
      if (required == nullptr) {  // the command is complete but tokens remain
        if (rejected_arg != nullptr) return BadValue(*rejected_arg);
        return Fail(Failure::kUnexpected, available(true), {});
      }
      if (!required->is_arg && required->word != token) {
        std::vector<const Element*> expected = available(true);
        expected.push_back(required);
        return Fail(Failure::kUnexpected, expected, {});
      }
      if (!MatchSequence(items_[end].elements)) return std::move(result_);
      i = end + 1;
    }
  }

 private:
  // Matches all elements of one item in order; false (with result_ set) on failure.
  bool MatchSequence(const std::vector<Element>& elements) {
    for (const Element& e : elements) {
      if (pos_ == tokens_.size()) {
        Fail(Failure::kMissing, {&e}, {&e});
        return false;
      }
      std::string_view token = tokens_[pos_];
      if (!e.is_arg) {
        if (token != e.word) {
          Fail(Failure::kUnexpected, {&e}, {});
          return false;
        }
        result_.args.AddKeyword(token);
      } else {
        Args::Value value;
        if (!e.Accept(token, value)) {
          BadValue(e);
          return false;
        }
        result_.args.AddValue(e.word, std::move(value));
      }
      ++pos_;
    }
    return true;
  }

  MatchResult Fail(Failure::Type type, std::vector<const Element*> expected,
                   std::vector<const Element*> required) {
    result_.ok = false;
    result_.failure.type = type;
    result_.failure.pos = pos_;
    result_.failure.expected = std::move(expected);
    result_.failure.required = std::move(required);
    if (type == Failure::kMissing) result_.next = result_.failure.expected;
    return result_;
  }

  MatchResult FailWith(Failure::Type type, std::string message) {
    Fail(type, {}, {});
    result_.failure.message = std::move(message);
    return result_;
  }

  MatchResult BadValue(const Element& e) {
    return FailWith(Failure::kBadValue,
                    absl::StrFormat("bad value '%s' for <%s>: %s", Quotable(tokens_, pos_), e.word,
                                    e.Expectation()));
  }

  const std::vector<Item>& items_;
  const std::vector<std::string_view>& tokens_;
  size_t pos_ = 0;
  MatchResult result_;
};

// Splits a line into tokens, dropping a comment (a token starting with '#').
std::vector<std::string_view> Tokenize(std::string_view line) {
  std::vector<std::string_view> tokens;
  for (std::string_view t : SplitViews(line, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
    if (t.front() == '#') break;
    tokens.push_back(t);
  }
  return tokens;
}

// "one of a, b" or "'a'" / "<a>" for a single element.
std::string DescribeChoices(const std::vector<const Element*>& elements) {
  std::vector<std::string> names;
  for (const Element* e : elements) {
    std::string name = e->Display();
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  if (names.size() == 1) {
    return elements.front()->is_arg ? names.front() : absl::StrCat("'", names.front(), "'");
  }
  return absl::StrCat("one of ", absl::StrJoin(names, ", "));
}

// Turns the failures of all commands into one message. The command that got
// furthest explains the error best; commands that failed at the same token
// (shared prefixes such as "port config <P>") pool what they expected.
std::string ExplainFailures(const std::vector<Failure>& failures,
                            const std::vector<std::string_view>& tokens) {
  size_t pos = 0;
  for (const Failure& f : failures) pos = std::max(pos, f.pos);
  std::vector<const Element*> expected;
  std::vector<const Element*> required;
  for (const Failure& f : failures) {
    if (f.pos != pos) continue;
    if (f.type == Failure::kBadValue || f.type == Failure::kDuplicate) return f.message;
    expected.insert(expected.end(), f.expected.begin(), f.expected.end());
    required.insert(required.end(), f.required.begin(), f.required.end());
  }
  std::vector<std::string_view> quoted;
  for (size_t i = 0; i < pos; ++i) quoted.push_back(Quotable(tokens, i));
  std::string before = absl::StrJoin(quoted, " ", ViewFormatter());
  if (pos == tokens.size()) {
    return absl::StrCat("missing ", DescribeChoices(required), " after '", before, "'");
  }
  std::string_view token = Quotable(tokens, pos);
  if (pos == 0) return absl::StrFormat("unknown command '%s' (try 'help')", token);
  if (expected.empty()) return absl::StrFormat("unexpected extra token '%s'", token);
  std::string choices = DescribeChoices(expected);
  if (expected.size() == 1 && !expected.front()->is_arg) choices = expected.front()->word;
  return absl::StrFormat("unexpected '%s' after '%s': expected %s", token, before, choices);
}

}  // namespace

// ---------------------------------------------------------------------------
// CommandEngine

CommandEngine::CommandEngine() = default;
CommandEngine::~CommandEngine() = default;

absl::Status CommandEngine::Add(std::string_view syntax, std::string_view help, Handler handler) {
  absl::StatusOr<std::vector<Item>> items = ParseSyntax(syntax);
  if (!items.ok()) return items.status();
  auto command = std::make_unique<Command>();
  std::vector<std::string_view> parts;
  for (const Item& item : *items) parts.push_back(item.display);
  command->syntax = absl::StrJoin(parts, " ", ViewFormatter());
  for (const auto& other : commands_) {
    if (other->syntax == command->syntax) {
      return SyntaxError(syntax, "command already registered");
    }
  }
  command->help = std::string(help);
  command->handler = std::move(handler);
  command->items = *std::move(items);
  commands_.push_back(std::move(command));
  return absl::OkStatus();
}

absl::Status CommandEngine::AddAll(std::vector<CommandSpec> commands) {
  for (CommandSpec& c : commands) {
    if (absl::Status s = Add(c.syntax, c.help, std::move(c.handler)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CommandEngine::Execute(std::string_view line, std::string& out) {
  std::vector<std::string_view> tokens = Tokenize(line);
  if (tokens.empty()) return absl::OkStatus();
  std::vector<Failure> failures;
  for (const auto& command : commands_) {
    MatchResult match = Matcher(command->items, tokens).Run();
    // The first command that matches wins; Add() rejects exact duplicates.
    if (match.ok) return command->handler(match.args, out);
    failures.push_back(std::move(match.failure));
  }
  if (failures.empty()) return absl::InvalidArgumentError("no commands registered");
  return absl::InvalidArgumentError(ExplainFailures(failures, tokens));
}

std::vector<std::string> CommandEngine::Complete(std::string_view line) const {
  std::vector<std::string_view> tokens = Tokenize(line);
  std::string_view partial;
  if (!line.empty() && !absl::ascii_isspace(line.back()) && !tokens.empty()) {
    partial = tokens.back();
    tokens.pop_back();
  }
  std::vector<std::string> candidates;
  auto add = [&](std::string text) {
    if (std::find(candidates.begin(), candidates.end(), text) == candidates.end()) {
      candidates.push_back(std::move(text));
    }
  };
  for (const auto& command : commands_) {
    MatchResult match = Matcher(command->items, tokens).Run();
    for (const Element* e : match.next) {
      if (!e->is_arg) {
        if (e->word.starts_with(partial)) add(e->word);
        continue;
      }
      bool has_kind = false;
      for (const Alt& alt : e->alts) {
        if (alt.kind != Kind::kLiteral) {
          has_kind = true;
        } else if (alt.literal.starts_with(partial)) {
          add(alt.literal);
        }
      }
      if (has_kind) add(e->Display());
    }
  }
  return candidates;
}

std::string CommandEngine::Help(std::string_view topic) const {
  std::vector<std::string_view> topic_words =
      SplitViews(topic, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  std::string text;
  if (topic_words.empty()) {
    for (const auto& command : commands_) absl::StrAppend(&text, command->syntax, "\n");
    return text;
  }
  // Long syntaxes wrap between items, continuation lines indented.
  constexpr size_t kWidth = 78;
  for (const auto& command : commands_) {
    const std::vector<Item>& items = command->items;
    bool matches = topic_words.size() <= items.size();
    for (size_t i = 0; matches && i < topic_words.size(); ++i) {
      matches =
          !items[i].optional && !items[i].head().is_arg && items[i].head().word == topic_words[i];
    }
    if (!matches) continue;
    std::string line;
    for (const Item& item : items) {
      if (!line.empty() && line.size() + 1 + item.display.size() > kWidth) {
        absl::StrAppend(&text, line, "\n");
        line = "       ";  // continuation lines sit deeper than the help text below
      }
      absl::StrAppend(&line, line.empty() ? "" : " ", item.display);
    }
    absl::StrAppend(&text, line, "\n");
    for (std::string_view help_line : SplitViews(command->help, '\n', absl::SkipEmpty())) {
      absl::StrAppendFormat(&text, "    %s\n", help_line);
    }
  }
  if (text.empty()) return absl::StrFormat("no command matches '%s' (try 'help')\n", topic);
  return text;
}

}  // namespace tundra::cli
