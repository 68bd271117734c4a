// signet hash [--format F] [--algorithm sha256] FILE...
// Prints the digest each file's signature commits to, as the format defines it.
#include <ostream>

#include "cli/command.h"

namespace signet::cli {
namespace {

class HashCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("hash", "Print each file's to-be-signed digest");
    sub->footer(kExitCodeHelp);
    sub->add_option("--format", format_, "auto, pe, cms or raw")->default_val("auto");
    sub->add_option("-a,--algorithm", algorithm_, "sha256, sha384 or sha512")
        ->default_val("sha256");
    sub->add_option("files", files_, "Files to hash")->required();
    return sub;
  }

  int Run(Context& ctx) override {
    auto alg = ParseDigestAlgorithm(algorithm_);
    if (!alg) return ReportError(ctx, "", alg.error());
    int exit_code = kExitOk;
    for (const std::string& file : files_) {
      auto result = HashOne(ctx, file, *alg);
      if (!result) {
        exit_code = WorseExit(exit_code, ReportError(ctx, file, result.error()));
        continue;
      }
      auto& [format, digest] = *result;
      if (ctx.json) {
        PrintJson(ctx, {{"file", file},
                        {"ok", true},
                        {"format", format},
                        {"algorithm", std::string(DigestName(*alg))},
                        {"digest", HexEncode(digest)}});
      } else {
        *ctx.out << HexEncode(digest) << "  " << file << "\n";
      }
    }
    return exit_code;
  }

 private:
  Result<std::pair<std::string, Bytes>> HashOne(Context& ctx, const std::string& file,
                                                DigestAlgorithm alg) {
    SIGNET_ASSIGN_OR_RETURN(InputFile artifact, InputFile::Open(file));
    SIGNET_ASSIGN_OR_RETURN(const Format* format, ctx.formats.ForSigning(artifact, format_));
    SIGNET_ASSIGN_OR_RETURN(Bytes digest, format->ContentDigest(artifact, alg));
    return std::make_pair(std::string(format->name()), std::move(digest));
  }

  std::string format_;
  std::string algorithm_;
  std::vector<std::string> files_;
};

}  // namespace

std::unique_ptr<Command> MakeHashCommand() { return std::make_unique<HashCommand>(); }

}  // namespace signet::cli
