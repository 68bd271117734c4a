// signet timestamp --tsa URL [--tsa URL]... [--format F] [--output PATH] FILE...
// Adds an RFC 3161 timestamp to every signature of an already signed file
// that has none (pe: the primary and each nested signature), atomically.
// Signatures that already carry one are left as they are.
#include <memory>
#include <ostream>

#include "cli/command.h"
#include "timestamp/timestamper.h"

namespace signet::cli {
namespace {

class TimestampCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub =
        app.add_subcommand("timestamp", "Add RFC 3161 timestamps to already signed files (pe)");
    sub->footer(kExitCodeHelp);
    sub->add_option("--tsa", urls_, "Timestamp authority URL (repeatable: tried in order)")
        ->required()
        ->allow_extra_args(false)
        ->take_all();
    sub->add_option("--format", format_, "auto or pe (auto: by content)")->default_val("auto");
    sub->add_option("-o,--output", output_,
                    "Write the timestamped file here (one FILE only); default: in place");
    sub->add_option("files", files_, "Signed files to timestamp")->required();
    return sub;
  }

  int Run(Context& ctx) override {
    if (!output_.empty() && files_.size() != 1) {
      return ReportError(ctx, "",
                         Error{ErrorCode::kInvalidArgument, "--output needs exactly one FILE"});
    }
    timestamp::TimestamperOptions options;
    options.urls = urls_;
    timestamp::Timestamper timestamper(std::move(options));
    TimestampFn stamp = [&timestamper](DigestAlgorithm alg, ByteView data) {
      return timestamper.Timestamp(alg, data);
    };
    int exit_code = kExitOk;
    for (const std::string& file : files_) {
      auto outcome = StampOne(ctx, file, stamp);
      if (!outcome) {
        exit_code = WorseExit(exit_code, ReportError(ctx, file, outcome.error()));
        continue;
      }
      if (ctx.json) {
        nlohmann::json j = {{"file", file},
                            {"ok", true},
                            {"added", outcome->added},
                            {"already_timestamped", outcome->already}};
        if (!outcome->output_path.empty()) j["output"] = outcome->output_path;
        PrintJson(ctx, j);
      } else if (!ctx.quiet) {
        if (outcome->added == 0) {
          *ctx.out << file << ": every signature already has a timestamp; nothing written\n";
        } else {
          *ctx.out << "timestamped " << file << " -> " << outcome->output_path << " ("
                   << outcome->added << " signature" << (outcome->added == 1 ? "" : "s") << ")\n";
        }
      }
    }
    return exit_code;
  }

 private:
  Result<TimestampOutcome> StampOne(Context& ctx, const std::string& file,
                                    const TimestampFn& stamp) {
    SIGNET_ASSIGN_OR_RETURN(InputFile artifact, InputFile::Open(file));
    SIGNET_ASSIGN_OR_RETURN(const Format* format, ctx.formats.ForSigning(artifact, format_));
    return format->AddTimestamp(artifact, stamp, output_);
  }

  std::vector<std::string> urls_;
  std::string format_;
  std::string output_;
  std::vector<std::string> files_;
};

}  // namespace

std::unique_ptr<Command> MakeTimestampCommand() { return std::make_unique<TimestampCommand>(); }

}  // namespace signet::cli
