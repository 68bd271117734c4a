// signet: parses the command line and dispatches to one subcommand.
// Everything else lives in cmd_*.cpp; exit codes are mapped in base/error.h.
#include <iostream>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace {

int Main(int argc, char** argv) {
  using namespace signet::cli;
  Context ctx;
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  signet::RegisterBuiltinKeyBackends(ctx.keys);
  signet::RegisterBuiltinFormats(ctx.formats);

  CLI::App app{
      "signet: sign and verify artifacts with keys in files, HSMs, KMS or a Signet server"};
  app.name("signet");
  app.footer(kExitCodeHelp);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_flag("--json", ctx.json, "Machine-readable output: one JSON object per file");
  app.add_flag("-q,--quiet", ctx.quiet, "Print only errors");

  std::vector<std::pair<CLI::App*, std::unique_ptr<Command>>> commands;
  for (auto make : {MakeSignCommand, MakeVerifyCommand, MakeTimestampCommand, MakeUnsignCommand,
                    MakeHashCommand, MakeKeyCommand, MakeServerCommand, MakePolicyCommand,
                    MakeAuditCommand, MakeVersionCommand}) {
    std::unique_ptr<Command> cmd = make();
    CLI::App* sub = cmd->Setup(app);
    commands.emplace_back(sub, std::move(cmd));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "signet: error: " << e.what() << " (see signet --help)\n";
    return signet::kExitBadInput;
  }
  for (auto& [sub, cmd] : commands) {
    if (sub->parsed()) return cmd->Run(ctx);
  }
  return signet::kExitBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    // Nothing is expected to throw past the commands (errors are values);
    // if something does, say so plainly instead of aborting.
    std::cerr << "signet: error: internal: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "signet: error: internal error\n";
  }
  return signet::kExitInternal;
}
