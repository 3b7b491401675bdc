// The data-driven command engine shared by the config file, the interactive
// prompt and any other command source (DESIGN.md section 5: one grammar).
//
// Each command is registered once as a syntax string plus a handler:
//
//   engine.Add("tunnel del <name:name>", "Delete a tunnel.", [](const Args& a, std::string& out) {
//     return tunnels.Delete(a.Word("name"));
//   });
//
// The engine validates every token against the syntax before calling the
// handler, so a handler only ever sees well-formed values and a bad line
// changes nothing.
//
// Syntax language (tokens are whitespace separated):
//   keyword                a literal word, matched exactly
//   <name:kind>            an argument; kind is one of
//                            port             number 0..1023
//                            LO..HI           unsigned number in range (decimal or 0x-hex)
//                            ip ip4 ip6       an address (ip = either family)
//                            prefix           ip/plen
//                            mac              aa:bb:cc:dd:ee:ff
//                            name             [A-Za-z_][A-Za-z0-9_.-]{0,31}
//                            geneve-option    class:type:hexdata (RFC 8926 TLV)
//                            word             any token
//                          or alternatives a|b|c, each a literal word or a kind
//   [ ... ]                an optional group
//   [ ... ]...             an optional group that may repeat (values collect in order)
// Consecutive optional groups that start with a keyword may be given in any
// order; a group that starts with a keyword wins over one that starts with an
// argument. Numbers are decimal or 0x-hex everywhere.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/proto/address.h"
#include "dataplane/tunnel_spec.h"

namespace tundra::cli {

// The values of one parsed command, by argument name. Every literal keyword
// the line matched is also recorded, so Has("json") tells whether an optional
// `[json]` was given. Accessors for an absent name return an empty/zero value.
class Args {
 public:
  // One parsed argument value; the typed fields are set for the matching kind.
  struct Value {
    std::string text;        // the raw token
    bool is_number = false;  // a numeric kind (port, LO..HI) matched
    uint64_t number = 0;
    IpAddress ip;
    IpPrefix prefix;
    MacAddress mac;
  };

  bool Has(std::string_view name) const;
  // Raw token text of the (first) value of `name`, whatever its kind.
  std::string_view Word(std::string_view name) const;
  uint64_t Number(std::string_view name) const;
  const IpAddress& Ip(std::string_view name) const;
  const IpPrefix& Prefix(std::string_view name) const;
  const MacAddress& Mac(std::string_view name) const;
  // All values of a repeatable argument, in input order.
  std::vector<std::string_view> Words(std::string_view name) const;
  // For mixed kinds such as 1..255|inherit: true when the token was the number.
  bool IsNumber(std::string_view name) const;

  // Used by the engine while matching (and by tests that build Args by hand).
  void AddValue(std::string_view name, Value value);
  void AddKeyword(std::string_view word);

 private:
  const Value* First(std::string_view name) const;

  std::map<std::string, std::vector<Value>, std::less<>> values_;
  std::set<std::string, std::less<>> keywords_;
};

using Handler = std::function<absl::Status(const Args&, std::string& out)>;

// One command as CommandEngine::AddAll takes it: what Add() takes.
struct CommandSpec {
  std::string syntax;
  std::string help;
  Handler handler;
};

class CommandEngine {
 public:
  CommandEngine();
  ~CommandEngine();
  CommandEngine(const CommandEngine&) = delete;
  CommandEngine& operator=(const CommandEngine&) = delete;

  // Registers one command. The syntax string is validated; a bad syntax string
  // (unknown kind, unbalanced brackets, ambiguous optional groups, ...) is an
  // InvalidArgument error and registers nothing.
  absl::Status Add(std::string_view syntax, std::string_view help, Handler handler);
  // Add() for each command in order (the order `help` lists them in); stops at the
  // first error.
  absl::Status AddAll(std::vector<CommandSpec> commands);

  // Runs one line. Blank lines and lines whose first token starts with '#'
  // are no-ops; a trailing "# comment" (a token starting with '#') is
  // stripped. A parse error returns InvalidArgument naming the offending token
  // (the caller prints "error: " + message) and the handler is not called.
  // Handler errors are returned as-is.
  absl::Status Execute(std::string_view line, std::string& out);

  // Candidates for the token being typed at the end of `line` (a line ending
  // in whitespace starts a new token). Keywords, and the literal alternatives
  // of an argument, are returned as-is and filtered by the partial token;
  // argument slots are returned as "<name>" (a hint, not text to insert).
  std::vector<std::string> Complete(std::string_view line) const;

  // topic "": one line per command (its syntax). Otherwise the commands whose
  // leading keywords start with the topic words ("tunnel", "tunnel add"), each
  // with its full syntax and help text.
  std::string Help(std::string_view topic) const;

  struct Command;  // defined in command_engine.cc

 private:
  std::vector<std::unique_ptr<Command>> commands_;
};

// Decimal or 0x-hex unsigned 64-bit number; nullopt on junk or overflow.
std::optional<uint64_t> ParseNumber(std::string_view text);

// A GENEVE option TLV as written on the command line: "<class>:<type>:<hexdata>", the
// data a multiple of 4 bytes, at most 124 (RFC 8926: a 5-bit length in 4-byte words).
std::optional<GeneveOption> ParseGeneveOption(std::string_view text);

}  // namespace tundra::cli
