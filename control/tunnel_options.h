// The options of `tunnel add`, which `segment add` takes too (tunnel_commands.cc).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "control/command_engine.h"
#include "dataplane/tunnel_spec.h"

namespace tundra {

// The grammar of the options after `local`/`remote`, as CommandEngine syntax.
extern const char kTunnelOptionsSyntax[];

// "vxlan|geneve|gre|gretap": the `type` alternatives, from the one name table.
std::string TunnelTypeAlternatives();

// The spec the parsed options describe; refuses options that do not apply to the type,
// saying so of `noun` ("tunnels", "segments").
absl::StatusOr<TunnelSpec> TunnelSpecFromArgs(const cli::Args& a, std::string_view noun);

}  // namespace tundra
