// signet version [--json]
#include <ostream>

#include "cli/build_info.h"
#include "cli/command.h"

namespace signet::cli {
namespace {

class VersionCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    return app.add_subcommand("version", "Print version, commit, formats and key backends");
  }

  int Run(Context& ctx) override {
    std::vector<std::string> formats = ctx.formats.names();
    std::vector<std::string> backends = ctx.keys.schemes();
    if (ctx.json) {
      PrintJson(ctx, {{"version", SIGNET_VERSION},
                      {"commit", SIGNET_COMMIT},
                      {"build_type", SIGNET_BUILD_TYPE},
                      {"formats", formats},
                      {"key_backends", backends}});
      return kExitOk;
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s;
    };
    *ctx.out << "signet " << SIGNET_VERSION << " (commit " << SIGNET_COMMIT << ", "
             << SIGNET_BUILD_TYPE << ")\n"
             << "formats: " << join(formats) << "\n"
             << "key backends: " << join(backends) << "\n";
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<Command> MakeVersionCommand() { return std::make_unique<VersionCommand>(); }

}  // namespace signet::cli
