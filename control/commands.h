// Registration of every CLI command, one function per noun (one file each). Each
// handler turns the parsed Args into one validated call on App / TableWriter.
#pragma once

#include "absl/status/status.h"
#include "control/app.h"
#include "control/command_engine.h"

namespace tundra {

absl::Status RegisterPortCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterNeighborCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterTunnelCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterXconnectCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterRouteCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterSegmentCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterRunCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterShowCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterLogCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterCaptureCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterTraceCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterSaCommands(cli::CommandEngine& engine, App& app);
absl::Status RegisterXfrmCommands(cli::CommandEngine& engine, App& app);

// All of the above, plus `help`.
absl::Status RegisterAllCommands(cli::CommandEngine& engine, App& app);

}  // namespace tundra
