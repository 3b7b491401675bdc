// The command grammar (DESIGN.md section 5) as the lead registers it, driven
// through CommandEngine with handlers that only record what they were given.
#include "control/command_engine.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace tundra::cli {
namespace {

// The v1 command set, verbatim.
constexpr const char* kCommands[] = {
    "port config <port:port> role <role:uplink|access>",
    "port config <port:port> address <address:prefix>",
    "port config <port:port> mac <mac:mac>",
    "port config <port:port> mtu <mtu:68..9600>",
    "neigh add <ip:ip> <mac:mac> port <port:port>",
    "neigh del <ip:ip>",
    "tunnel add <name:name> type <type:vxlan|geneve|gre|gretap> local <local:ip> remote "
    "<remote:ip> [vni <vni:0..16777215>] [key <key:0..4294967295>] [dstport <dstport:1..65535>] "
    "[ttl <ttl:1..255|inherit>] [tos <tos:0..255|inherit>] [df <df:set|clear|inherit>] "
    "[udp-csum <udp-csum:on|off>] [seq <seq:on|off>] [csum <csum:on|off>] "
    "[option <option:geneve-option>]...",
    "tunnel del <name:name>",
    "xconnect add <port:port> [vlan <vlan:1..4094>] tunnel <tunnel:name>",
    "xconnect del <port:port> [vlan <vlan:1..4094>]",
    "start",
    "stop",
    "quit",
    "wait idle <ms:1..3600000>",
    "sleep <ms:0..3600000>",
    "show port stats <which:all|port> [json]",
    "show port info <which:all|port> [json]",
    "show fwd stats [json]",
    "show mempool [json]",
    "show tunnel [stats] [<name:name>] [json]",
    "clear stats",
    "help [<topic:word>]...",
};

// Registers every command with a handler that records which command ran and
// a copy of its Args.
struct Fixture {
  CommandEngine engine;
  std::optional<std::string> ran;  // syntax of the command whose handler ran
  Args args;
  int calls = 0;

  Fixture() {
    for (const char* syntax : kCommands) {
      std::string s = syntax;
      absl::Status status = engine.Add(syntax, "Help for " + s.substr(0, s.find(' ')) + ".",
                                       [this, s](const Args& a, std::string& out) {
                                         ran = s;
                                         args = a;
                                         ++calls;
                                         out += "ok\n";
                                         return absl::OkStatus();
                                       });
      REQUIRE(status.ok());
    }
  }

  // Runs a line that must parse; returns the Args it produced.
  const Args& Ok(std::string_view line) {
    std::string out;
    absl::Status status = engine.Execute(line, out);
    INFO("line: " << line << " -> " << status.message());
    REQUIRE(status.ok());
    REQUIRE(out == "ok\n");
    return args;
  }

  // Runs a line that must fail to parse; returns the message. The handler
  // must not run.
  std::string Err(std::string_view line) {
    int before = calls;
    std::string out;
    absl::Status status = engine.Execute(line, out);
    INFO("line: " << line);
    REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(calls == before);
    REQUIRE(out.empty());
    return std::string(status.message());
  }
};

constexpr const char* kTunnel = "tunnel add t1 type vxlan local 10.0.0.1 remote 10.0.0.2";

TEST_CASE("every v1 command parses", "[cli]") {
  Fixture f;

  SECTION("port config") {
    const Args& a = f.Ok("port config 0 role uplink");
    CHECK(*f.ran == kCommands[0]);
    CHECK(a.Number("port") == 0);
    CHECK(a.Word("role") == "uplink");
    CHECK(a.Has("role"));
    CHECK_FALSE(a.Has("address"));

    f.Ok("port config 1 address 192.0.2.1/24");
    CHECK(*f.ran == kCommands[1]);
    CHECK(f.args.Prefix("address").ToString() == "192.0.2.1/24");
    CHECK(f.args.Number("port") == 1);

    f.Ok("port config 1 address 2001:db8::1/64");
    CHECK(f.args.Prefix("address").addr.is_v6());
    CHECK(f.args.Prefix("address").len == 64);

    f.Ok("port config 0x3 mac 02:00:00:00:00:01");
    CHECK(*f.ran == kCommands[2]);
    CHECK(f.args.Number("port") == 3);
    CHECK(f.args.Mac("mac").ToString() == "02:00:00:00:00:01");

    f.Ok("port config 2 mtu 9000");
    CHECK(*f.ran == kCommands[3]);
    CHECK(f.args.Number("mtu") == 9000);
  }

  SECTION("neigh") {
    const Args& a = f.Ok("neigh add 10.0.0.2 02:00:00:00:00:02 port 1");
    CHECK(a.Ip("ip") == *IpAddress::Parse("10.0.0.2"));
    CHECK(a.Mac("mac") == *MacAddress::Parse("02:00:00:00:00:02"));
    CHECK(a.Number("port") == 1);
    f.Ok("neigh del fe80::1");
    CHECK(*f.ran == kCommands[5]);
    CHECK(f.args.Ip("ip").is_v6());
  }

  SECTION("tunnel add with every option") {
    const Args& a = f.Ok(std::string(kTunnel) +
                         " vni 5000 key 7 dstport 4790 ttl 64 tos inherit df set udp-csum on"
                         " seq off csum on option 0x0102:0x80:01020304");
    CHECK(a.Word("name") == "t1");
    CHECK(a.Word("type") == "vxlan");
    CHECK_FALSE(a.IsNumber("type"));
    CHECK(a.Ip("local").ToString() == "10.0.0.1");
    CHECK(a.Ip("remote").ToString() == "10.0.0.2");
    CHECK(a.Number("vni") == 5000);
    CHECK(a.Number("key") == 7);
    CHECK(a.Number("dstport") == 4790);
    CHECK(a.IsNumber("ttl"));
    CHECK(a.Number("ttl") == 64);
    CHECK_FALSE(a.IsNumber("tos"));
    CHECK(a.Word("tos") == "inherit");
    CHECK(a.Word("df") == "set");
    CHECK(a.Word("udp-csum") == "on");
    CHECK(a.Word("seq") == "off");
    CHECK(a.Word("csum") == "on");
    CHECK(a.Words("option") == std::vector<std::string_view>{"0x0102:0x80:01020304"});
  }

  SECTION("tunnel add minimal, v6 underlay") {
    const Args& a = f.Ok("tunnel add g6 type geneve local 2001:db8::1 remote 2001:db8::2");
    CHECK(a.Word("type") == "geneve");
    CHECK(a.Ip("remote").is_v6());
    CHECK_FALSE(a.Has("vni"));
    CHECK(a.Number("vni") == 0);
    CHECK(a.Word("vni").empty());
    CHECK(a.Words("option").empty());
  }

  SECTION("tunnel del, start, stop, quit, clear stats") {
    f.Ok("tunnel del t1");
    CHECK(f.args.Word("name") == "t1");
    f.Ok("start");
    CHECK(*f.ran == "start");
    f.Ok("stop");
    CHECK(*f.ran == "stop");
    f.Ok("quit");
    CHECK(*f.ran == "quit");
    f.Ok("clear stats");
    CHECK(*f.ran == "clear stats");
  }

  SECTION("wait, sleep") {
    f.Ok("wait idle 300");
    CHECK(f.args.Number("ms") == 300);
    f.Ok("sleep 0");
    CHECK(*f.ran == "sleep <ms:0..3600000>");
    CHECK(f.args.Number("ms") == 0);
  }

  SECTION("show") {
    f.Ok("show port stats all");
    CHECK(*f.ran == "show port stats <which:all|port> [json]");
    CHECK(f.args.Word("which") == "all");
    CHECK_FALSE(f.args.IsNumber("which"));
    CHECK_FALSE(f.args.Has("json"));

    f.Ok("show port stats 1 json");
    CHECK(f.args.IsNumber("which"));
    CHECK(f.args.Number("which") == 1);
    CHECK(f.args.Has("json"));

    f.Ok("show port info all");
    CHECK(*f.ran == "show port info <which:all|port> [json]");

    f.Ok("show fwd stats json");
    CHECK(*f.ran == "show fwd stats [json]");
    CHECK(f.args.Has("json"));

    f.Ok("show mempool");
    CHECK(*f.ran == "show mempool [json]");
    CHECK_FALSE(f.args.Has("json"));

    f.Ok("show tunnel");
    CHECK_FALSE(f.args.Has("name"));
    CHECK_FALSE(f.args.Has("stats"));

    f.Ok("show tunnel stats t1 json");
    CHECK(f.args.Has("stats"));
    CHECK(f.args.Word("name") == "t1");
    CHECK(f.args.Has("json"));
  }

  SECTION("help") {
    f.Ok("help");
    CHECK(f.args.Words("topic").empty());
    f.Ok("help tunnel add");
    CHECK(f.args.Words("topic") == std::vector<std::string_view>{"tunnel", "add"});
  }
}

TEST_CASE("numbers: decimal, hex, range bounds", "[cli]") {
  Fixture f;
  CHECK(f.Ok(std::string(kTunnel) + " vni 0x00FFfFFF").Number("vni") == 0xffffff);
  CHECK(f.Ok(std::string(kTunnel) + " vni 16777215").Number("vni") == 16777215);
  CHECK(f.Ok(std::string(kTunnel) + " vni 0").Number("vni") == 0);
  CHECK(f.Err(std::string(kTunnel) + " vni 16777216") ==
        "bad value '16777216' for <vni>: expected a number 0..16777215");
  CHECK(f.Err(std::string(kTunnel) + " vni 0x1000000") ==
        "bad value '0x1000000' for <vni>: expected a number 0..16777215");
  CHECK(f.Ok(std::string(kTunnel) + " key 4294967295").Number("key") == 4294967295u);
  CHECK(absl::StrContains(f.Err(std::string(kTunnel) + " key 4294967296"), "'4294967296'"));
  // Overflowing 64 bits is a bad value, not a wrap-around.
  CHECK(absl::StrContains(f.Err(std::string(kTunnel) + " key 99999999999999999999999"),
                          "'99999999999999999999999'"));

  CHECK(f.Ok("port config 1023 mtu 68").Number("port") == 1023);
  CHECK(f.Err("port config 1024 mtu 68") ==
        "bad value '1024' for <port>: expected a port number 0..1023");
  CHECK(f.Ok("port config 0x3ff mtu 9600").Number("mtu") == 9600);
  CHECK(absl::StrContains(f.Err("port config 0 mtu 67"), "'67'"));
  CHECK(absl::StrContains(f.Err("port config 0 mtu 9601"), "'9601'"));

  CHECK(f.Ok("wait idle 1").Number("ms") == 1);
  CHECK(f.Ok("wait idle 3600000").Number("ms") == 3600000);
  CHECK(absl::StrContains(f.Err("wait idle 0"), "'0'"));
  CHECK(absl::StrContains(f.Err("wait idle 3600001"), "'3600001'"));

  for (const char* junk : {"-1", "+1", "0x", "1e3", "0xg", "12a", " "}) {
    if (std::string_view(junk) == " ") continue;
    INFO(junk);
    CHECK(absl::StrContains(f.Err(std::string("sleep ") + junk), std::string("'") + junk + "'"));
  }
  CHECK(ParseNumber("18446744073709551615") == UINT64_MAX);
  CHECK(ParseNumber("0xffffffffffffffff") == UINT64_MAX);
  CHECK_FALSE(ParseNumber("18446744073709551616").has_value());
  CHECK_FALSE(ParseNumber("0x10000000000000000").has_value());
}

TEST_CASE("optional groups in any order, at most once", "[cli]") {
  Fixture f;
  const Args& a = f.Ok(std::string(kTunnel) + " csum on ttl inherit vni 9 df clear");
  CHECK(a.Number("vni") == 9);
  CHECK(a.Word("ttl") == "inherit");
  CHECK_FALSE(a.IsNumber("ttl"));
  CHECK(a.Word("df") == "clear");
  CHECK(a.Word("csum") == "on");
  CHECK_FALSE(a.Has("key"));

  CHECK(f.Err(std::string(kTunnel) + " vni 1 ttl 3 vni 2") == "'vni' given twice");
}

TEST_CASE("repeatable option collects values in order", "[cli]") {
  Fixture f;
  const Args& a = f.Ok(
      "tunnel add g type geneve local 10.0.0.1 remote 10.0.0.2 option 1:2: vni 3 "
      "option 0xffff:0xff:0011223344556677 option 258:0:aabbccdd");
  CHECK(a.Words("option") ==
        std::vector<std::string_view>{"1:2:", "0xffff:0xff:0011223344556677", "258:0:aabbccdd"});
  CHECK(a.Word("option") == "1:2:");
  CHECK(a.Number("vni") == 3);

  std::string prefix = "tunnel add g type geneve local 10.0.0.1 remote 10.0.0.2 option ";
  for (const char* bad :
       {"1:2", "1:2:3", "1:2:001122", "0x10000:0:", "1:256:", "1:2:zz00aabb", "1:2:3:4", "x:2:"}) {
    INFO(bad);
    CHECK(absl::StartsWith(f.Err(prefix + bad),
                           std::string("bad value '") + bad + "' for <option>: "));
  }
  // 124 bytes of data is the most a 5-bit length in 4-byte words allows.
  CHECK(f.Ok(prefix + "1:2:" + std::string(248, 'a')).Words("option").size() == 1);
  CHECK(absl::StrContains(f.Err(prefix + "1:2:" + std::string(256, 'a')), "bad value"));

  std::optional<GeneveOption> option = ParseGeneveOption("0x0102:0x80:01020304");
  REQUIRE(option);
  CHECK(option->option_class == 0x0102);
  CHECK(option->type == 0x80);
  CHECK(option->data == std::vector<uint8_t>{1, 2, 3, 4});
}

TEST_CASE("mixed kinds", "[cli]") {
  Fixture f;
  CHECK(f.Ok(std::string(kTunnel) + " ttl inherit").Word("ttl") == "inherit");
  CHECK_FALSE(f.args.IsNumber("ttl"));
  CHECK(f.Ok(std::string(kTunnel) + " ttl 64").IsNumber("ttl"));
  CHECK(f.args.Number("ttl") == 64);
  CHECK(f.Err(std::string(kTunnel) + " ttl 0") ==
        "bad value '0' for <ttl>: expected a number 1..255 or 'inherit'");
  CHECK(f.Err(std::string(kTunnel) + " df maybe") ==
        "bad value 'maybe' for <df>: expected one of set, clear, inherit");
  CHECK(f.Err("show port stats some") ==
        "bad value 'some' for <which>: expected 'all' or a port number 0..1023");
}

TEST_CASE("keyword-led optional groups win over argument-led ones", "[cli]") {
  Fixture f;
  f.Ok("show tunnel json");
  CHECK(f.args.Has("json"));
  CHECK_FALSE(f.args.Has("name"));
  f.Ok("show tunnel stats");
  CHECK(f.args.Has("stats"));
  CHECK_FALSE(f.args.Has("name"));
  f.Ok("show tunnel t1");
  CHECK(f.args.Word("name") == "t1");
  CHECK(f.Err("show tunnel t1 t2") ==
        "unexpected 't2' after 'show tunnel t1': expected one of "
        "stats, json");
  CHECK(absl::StartsWith(f.Err("show tunnel b@d"), "bad value 'b@d' for <name>: "));
}

TEST_CASE("optional group between required elements", "[cli]") {
  Fixture f;
  f.Ok("xconnect add 0 vlan 10 tunnel t1");
  CHECK(f.args.Number("port") == 0);
  CHECK(f.args.Number("vlan") == 10);
  CHECK(f.args.Word("tunnel") == "t1");
  f.Ok("xconnect add 0 tunnel t1");
  CHECK_FALSE(f.args.Has("vlan"));
  CHECK(f.args.Word("tunnel") == "t1");
  f.Ok("xconnect del 1 vlan 4094");
  CHECK(f.args.Number("vlan") == 4094);
  f.Ok("xconnect del 1");
  CHECK_FALSE(f.args.Has("vlan"));
  CHECK(f.Err("xconnect add 0 vlan 4095 tunnel t1") ==
        "bad value '4095' for <vlan>: expected a number 1..4094");
  CHECK(f.Err("xconnect add 0 bogus t1") ==
        "unexpected 'bogus' after 'xconnect add 0': expected one of vlan, tunnel");
  CHECK(f.Err("xconnect add 0 vlan 5 vlan 6 tunnel t1") == "'vlan' given twice");
  CHECK(f.Err("xconnect add 0") == "missing 'tunnel' after 'xconnect add 0'");
  CHECK(f.Err("xconnect add 0 vlan 10 tunnel") ==
        "missing <tunnel> after 'xconnect add 0 vlan 10 tunnel'");
}

TEST_CASE("comments and blank lines", "[cli]") {
  Fixture f;
  std::string out;
  for (const char* line : {"", "   ", "\t", "# a comment", "   # indented comment", "\n"}) {
    CHECK(f.engine.Execute(line, out).ok());
  }
  CHECK(f.calls == 0);
  CHECK(out.empty());
  f.Ok("start # go");
  CHECK(*f.ran == "start");
  f.Ok("show port stats all json   # trailing\r\n");
  CHECK(f.args.Has("json"));
}

TEST_CASE("error messages name the offending token", "[cli]") {
  Fixture f;
  CHECK(f.Err("tunel add") == "unknown command 'tunel' (try 'help')");
  CHECK(f.Err("port config 0 foo uplink") ==
        "unexpected 'foo' after 'port config 0': expected one of role, address, mac, mtu");
  CHECK(f.Err(std::string(kTunnel) + " vni abc") ==
        "bad value 'abc' for <vni>: expected a number 0..16777215");
  CHECK(f.Err("tunnel add t1 type vxlan local 10.0.0.1 remote") ==
        "missing <remote> after 'tunnel add t1 type vxlan local 10.0.0.1 remote'");
  CHECK(f.Err(std::string(kTunnel) + " vni") ==
        std::string("missing <vni> after '") + kTunnel + " vni'");
  CHECK(f.Err("start x") == "unexpected extra token 'x'");
  CHECK(f.Err("show port stats all json x") == "unexpected extra token 'x'");
  CHECK(f.Err("port config 0") == "missing one of role, address, mac, mtu after 'port config 0'");
  CHECK(f.Err("show port") == "missing one of stats, info after 'show port'");
  CHECK(f.Err("show bogus") ==
        "unexpected 'bogus' after 'show': expected one of port, fwd, mempool, tunnel");
  CHECK(f.Err("tunnel add t1 type vxlan remote 10.0.0.2") ==
        "unexpected 'remote' after 'tunnel add t1 type vxlan': expected local");
  CHECK(f.Err("tunnel add t1 type ipip") ==
        "bad value 'ipip' for <type>: expected one of vxlan, geneve, gre, gretap");
  CHECK(absl::StartsWith(f.Err("tunnel add 1t type vxlan"), "bad value '1t' for <name>: "));
  CHECK(absl::StartsWith(f.Err("tunnel add " + std::string(33, 'a')), "bad value 'aaaa"));
  CHECK(f.Ok("tunnel del " + std::string(32, 'a')).Word("name").size() == 32);
  CHECK(f.Err("neigh add 10.0.0.300 02:00:00:00:00:01 port 0") ==
        "bad value '10.0.0.300' for <ip>: expected an IP address");
  CHECK(absl::StartsWith(f.Err("neigh add 10.0.0.3 02:00:00:00:00 port 0"),
                         "bad value '02:00:00:00:00' for <mac>: "));
  CHECK(absl::StartsWith(f.Err("port config 0 address 10.0.0.1"),
                         "bad value '10.0.0.1' for <address>: "));
  CHECK(absl::StartsWith(f.Err("port config 0 address 10.0.0.1/33"),
                         "bad value '10.0.0.1/33' for <address>: "));
  CHECK(f.Err(std::string(kTunnel) + " bogus 1") ==
        std::string("unexpected 'bogus' after '") + kTunnel +
            "': expected one of vni, key, dstport, ttl, tos, df, udp-csum, seq, csum, option");
}

TEST_CASE("handler errors are returned as-is", "[cli]") {
  CommandEngine engine;
  REQUIRE(engine
              .Add("fail <what:word>", "",
                   [](const Args& a, std::string&) {
                     return absl::NotFoundError("no " + std::string(a.Word("what")));
                   })
              .ok());
  std::string out;
  absl::Status status = engine.Execute("fail thing", out);
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(status.message() == "no thing");
}

TEST_CASE("completion", "[cli]") {
  Fixture f;
  using V = std::vector<std::string>;
  CHECK(f.engine.Complete("") == V{"port", "neigh", "tunnel", "xconnect", "start", "stop", "quit",
                                   "wait", "sleep", "show", "clear", "help"});
  CHECK(f.engine.Complete("tun") == V{"tunnel"});
  CHECK(f.engine.Complete("st") == V{"start", "stop"});
  CHECK(f.engine.Complete("tunnel") == V{"tunnel"});
  CHECK(f.engine.Complete("tunnel ") == V{"add", "del"});
  CHECK(f.engine.Complete("tunnel add ") == V{"<name>"});
  CHECK(f.engine.Complete("tunnel add t1 type ") == V{"vxlan", "geneve", "gre", "gretap"});
  CHECK(f.engine.Complete("tunnel add t1 type gre") == V{"gre", "gretap"});
  CHECK(f.engine.Complete("show port ") == V{"stats", "info"});
  CHECK(f.engine.Complete("show port stats ") == V{"all", "<which>"});
  CHECK(f.engine.Complete("show port stats all ") == V{"json"});
  CHECK(f.engine.Complete("show tunnel ") == V{"stats", "<name>", "json"});
  CHECK(f.engine.Complete("show tunnel json ") == V{"stats", "<name>"});
  CHECK(f.engine.Complete("port config 0 ") == V{"role", "address", "mac", "mtu"});
  CHECK(f.engine.Complete("port config 0 role ") == V{"uplink", "access"});
  CHECK(f.engine.Complete("xconnect add 0 ") == V{"vlan", "tunnel"});
  CHECK(f.engine.Complete(std::string(kTunnel) + " vni 1 ttl 2 d") == V{"dstport", "df"});
  CHECK(f.engine.Complete(std::string(kTunnel) + " option 1:1: op") == V{"option"});
  CHECK(f.engine.Complete("start ").empty());
  CHECK(f.engine.Complete("bogus ").empty());
  CHECK(f.engine.Complete("port config x ").empty());
}

TEST_CASE("help", "[cli]") {
  Fixture f;
  std::string all = f.engine.Help("");
  CHECK(static_cast<size_t>(std::count(all.begin(), all.end(), '\n')) == std::size(kCommands));
  CHECK(absl::StartsWith(all, "port config <port:port> role <role:uplink|access>\n"));
  CHECK(absl::StrContains(all, "\nshow tunnel [stats] [<name:name>] [json]\n"));

  std::string add = f.engine.Help("tunnel add");
  CHECK(absl::StartsWith(add, "tunnel add <name:name> type <type:vxlan|geneve|gre|gretap>"));
  CHECK(absl::StrContains(add, "[option <option:geneve-option>]..."));
  CHECK(absl::StrContains(add, "    Help for tunnel."));
  CHECK_FALSE(absl::StrContains(add, "tunnel del"));
  for (absl::string_view line : absl::StrSplit(add, '\n')) CHECK(line.size() <= 80);

  std::string tunnel = f.engine.Help("tunnel");
  CHECK(absl::StrContains(tunnel, "tunnel add"));
  CHECK(absl::StrContains(tunnel, "tunnel del <name:name>\n"));
  CHECK(absl::StrContains(f.engine.Help("show port"), "show port info"));
  CHECK(absl::StrContains(f.engine.Help("bogus"), "'bogus'"));
}

TEST_CASE("bad syntax strings are rejected", "[cli]") {
  CommandEngine engine;
  auto noop = [](const Args&, std::string&) { return absl::OkStatus(); };
  for (const char* bad : {
           "",
           "<x:port>",                 // must start with a keyword
           "[opt] cmd",                // must start with a keyword
           "cmd <x:bogus>",            // unknown kind
           "cmd <x:5..4>",             // empty range
           "cmd <x:1..>",              // bad range
           "cmd <x:port",              // unclosed argument
           "cmd <x>",                  // no kind
           "cmd <:port>",              // no name
           "cmd <x:port|>",            // empty alternative
           "cmd [a <x:port>",          // unclosed group
           "cmd a]",                   // unmatched ]
           "cmd [a [b]]",              // nested group
           "cmd []",                   // empty group
           "cmd <x:port> <x:ip>",      // argument name twice
           "cmd [a] [a <x:port>]",     // same leading keyword twice in a run
           "cmd [a <x:port>] a",       // group keyword clashes with the next keyword
           "cmd [<x:name>] <y:port>",  // argument-led group before a required element
           "cmd b@d",                  // bad keyword
       }) {
    INFO(bad);
    absl::Status status = engine.Add(bad, "", noop);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(engine.Help("").empty());  // nothing registered
  REQUIRE(engine.Add("cmd [a <x:port>]", "", noop).ok());
  CHECK(engine.Add("cmd   [a  <x:port>]", "", noop).code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tundra::cli
