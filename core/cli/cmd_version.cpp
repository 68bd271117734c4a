// signet version [--json]
#include <ostream>

#include "audit/audit.h"
#include "cli/build_info.h"
#include "cli/command.h"

namespace signet::cli {
namespace {

class VersionCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    return app.add_subcommand("version",
                              "Print version, commit, formats, key backends and audit stores");
  }

  int Run(Context& ctx) override {
    std::vector<std::string> formats = ctx.formats.names();
    std::vector<std::string> backends = ctx.keys.schemes();
    std::vector<std::string> stores = audit::StoreKinds();
    const bool is_static = SIGNET_STATIC != 0;
    if (ctx.json) {
      PrintJson(ctx, {{"version", SIGNET_VERSION},
                      {"commit", SIGNET_COMMIT},
                      {"build_type", SIGNET_BUILD_TYPE},
                      {"static", is_static},
                      {"formats", formats},
                      {"key_backends", backends},
                      {"audit_stores", stores}});
      return kExitOk;
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s;
    };
    *ctx.out << "signet " << SIGNET_VERSION << " (commit " << SIGNET_COMMIT << ", "
             << SIGNET_BUILD_TYPE << (is_static ? ", static" : "") << ")\n"
             << "formats: " << join(formats) << "\n"
             << "key backends: " << join(backends) << "\n"
             << "audit stores: " << join(stores) << "\n";
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<Command> MakeVersionCommand() { return std::make_unique<VersionCommand>(); }

}  // namespace signet::cli
