// signet unsign [--format F] [--output PATH] FILE...
// Removes every signature embedded in each file (pe: the whole certificate
// table), atomically, in place or to --output.
#include <ostream>

#include "cli/command.h"

namespace signet::cli {
namespace {

class UnsignCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("unsign", "Remove all embedded signatures from files (pe)");
    sub->footer(kExitCodeHelp);
    sub->add_option("--format", format_, "auto or pe (auto: by content)")->default_val("auto");
    sub->add_option("-o,--output", output_,
                    "Write the unsigned file here (one FILE only); default: in place");
    sub->add_option("files", files_, "Files to unsign")->required();
    return sub;
  }

  int Run(Context& ctx) override {
    if (!output_.empty() && files_.size() != 1) {
      return ReportError(ctx, "",
                         Error{ErrorCode::kInvalidArgument, "--output needs exactly one FILE"});
    }
    int exit_code = kExitOk;
    for (const std::string& file : files_) {
      auto written = UnsignOne(ctx, file);
      if (!written) {
        exit_code = WorseExit(exit_code, ReportError(ctx, file, written.error()));
        continue;
      }
      if (ctx.json) {
        PrintJson(ctx, {{"file", file}, {"ok", true}, {"output", *written}});
      } else if (!ctx.quiet) {
        *ctx.out << "unsigned " << file << " -> " << *written << "\n";
      }
    }
    return exit_code;
  }

 private:
  Result<std::string> UnsignOne(Context& ctx, const std::string& file) {
    SIGNET_ASSIGN_OR_RETURN(InputFile artifact, InputFile::Open(file));
    SIGNET_ASSIGN_OR_RETURN(const Format* format, ctx.formats.ForSigning(artifact, format_));
    return format->Unsign(artifact, output_);
  }

  std::string format_;
  std::string output_;
  std::vector<std::string> files_;
};

}  // namespace

std::unique_ptr<Command> MakeUnsignCommand() { return std::make_unique<UnsignCommand>(); }

}  // namespace signet::cli
