// One class per subcommand: Setup() declares its options on a CLI11
// subcommand (in one place), Run() does the work and returns the exit code.
#pragma once

#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace signet::cli {

class Command {
 public:
  virtual ~Command() = default;
  // Adds the subcommand and its options to `app`; returns it.
  virtual CLI::App* Setup(CLI::App& app) = 0;
  virtual int Run(Context& ctx) = 0;
};

std::unique_ptr<Command> MakeSignCommand();
std::unique_ptr<Command> MakeVerifyCommand();
std::unique_ptr<Command> MakeHashCommand();
std::unique_ptr<Command> MakeKeyCommand();
std::unique_ptr<Command> MakeUnsignCommand();
std::unique_ptr<Command> MakeTimestampCommand();
std::unique_ptr<Command> MakeVersionCommand();
std::unique_ptr<Command> MakeServerCommand();
std::unique_ptr<Command> MakePolicyCommand();
std::unique_ptr<Command> MakeAuditCommand();

}  // namespace signet::cli
