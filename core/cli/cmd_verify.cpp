// signet verify [--trust CA.pem | --public-key PUB.pem] [--tsa-trust TSACA.pem] [--format F]
//               [--signature PATH] FILE...
#include <ostream>

#include "cli/command.h"

namespace signet::cli {
namespace {

std::string Describe(const VerifyReport& r) {
  std::string s = r.format + ", ";
  if (!r.signer_subject.empty()) s += "signer: " + r.signer_subject + ", ";
  s += r.key + ", " + r.signature_algorithm + ", " + r.digest_algorithm;
  if (r.signing_time) s += ", signed " + FormatTime(*r.signing_time);
  if (r.timestamp_time) {
    s += ", timestamp " + FormatTime(*r.timestamp_time);
    if (!r.timestamp_authority.empty()) s += " by " + r.timestamp_authority;
  } else if (r.format == "pe") {
    s += ", no timestamp";
  }
  return s;
}

class VerifyCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("verify", "Verify signed files");
    sub->footer(kExitCodeHelp);
    sub->add_option("--trust", options_.trust_path, "Trusted CA certificates (PEM)");
    sub->add_option("--public-key", options_.public_key_path,
                    "Expected signer public key (PEM), instead of a CA (pe: besides --trust)");
    sub->add_option("--tsa-trust", options_.tsa_trust_path,
                    "CA certificates (PEM) for timestamp authorities; default: --trust");
    sub->add_option("--format", format_,
                    "auto, pe, cms or raw (auto: by content or signature file)")
        ->default_val("auto");
    sub->add_option("--signature", options_.signature_path,
                    "Detached signature (one FILE only); default FILE.p7s or FILE.sig");
    sub->add_option("--digest", digest_, "raw: digest the signature is over (default sha256)");
    sub->add_option("files", files_, "Files to verify")->required();
    return sub;
  }

  int Run(Context& ctx) override {
    if (!options_.signature_path.empty() && files_.size() != 1) {
      return ReportError(ctx, "",
                         Error{ErrorCode::kInvalidArgument, "--signature needs exactly one FILE"});
    }
    if (!digest_.empty()) {
      auto digest = ParseDigestAlgorithm(digest_);
      if (!digest) return ReportError(ctx, "", digest.error());
      options_.digest = *digest;
    }
    int exit_code = kExitOk;
    for (const std::string& file : files_) {
      auto report = VerifyOne(ctx, file);
      if (!report) {
        exit_code = WorseExit(exit_code, ReportError(ctx, file, report.error()));
        continue;
      }
      if (ctx.json) {
        nlohmann::json j = report->ToJson();
        j["file"] = file;
        j["ok"] = true;
        PrintJson(ctx, j);
      } else if (!ctx.quiet) {
        *ctx.out << "OK " << file << " (" << Describe(*report) << ")\n";
        for (std::size_t i = 0; i < report->nested.size(); ++i) {
          *ctx.out << "   nested signature " << i + 1 << " OK (" << Describe(report->nested[i])
                   << ")\n";
        }
      }
    }
    return exit_code;
  }

 private:
  Result<VerifyReport> VerifyOne(Context& ctx, const std::string& file) {
    SIGNET_ASSIGN_OR_RETURN(InputFile artifact, InputFile::Open(file));
    SIGNET_ASSIGN_OR_RETURN(const Format* format,
                            ctx.formats.ForVerify(artifact, format_, options_.signature_path));
    return format->Verify(artifact, options_);
  }

  std::string format_;
  std::string digest_;
  VerifyOptions options_;
  std::vector<std::string> files_;
};

}  // namespace

std::unique_ptr<Command> MakeVerifyCommand() { return std::make_unique<VerifyCommand>(); }

}  // namespace signet::cli
