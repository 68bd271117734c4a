// signet sign --key URI [--cert CHAIN.pem] [--format F] [--output PATH]
//             [--tsa URL]... [--description TEXT] [--url URL] [--append] FILE...
// signet sign --key signet://HOST[:PORT]/NAME [--token-file F] [--audience A] FILE...
// signet sign --server URL --key NAME ... FILE...
#include <memory>
#include <ostream>

#include "cli/command.h"
#include "cli/pipeline.h"
#include "remote/client.h"
#include "remote/protocol.h"
#include "timestamp/timestamper.h"

namespace signet::cli {
namespace {

class SignCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("sign", "Sign files with a key (file:, pkcs11:, ...)");
    sub->footer(std::string("Secrets never go on the command line: the key passphrase comes from "
                            "SIGNET_KEY_PASSPHRASE or --passphrase-file, a PKCS#11 PIN from "
                            "SIGNET_PKCS11_PIN, --pin-file or the URI's pin-source.\n") +
                kExitCodeHelp);
    sub->add_option("--key", key_uri_,
                    "Key URI: file:PATH, pkcs11:token=...;object=..., a cloud KMS URI, or "
                    "signet://HOST[:PORT]/NAME (a Signet server; NAME alone with --server)")
        ->required()
        ->envname("SIGNET_KEY");
    sub->add_option("--server", server_url_,
                    "Signet server URL (https://HOST[:PORT]; http:// to loopback only); --key "
                    "then names a key on it")
        ->envname("SIGNET_SERVER");
    sub->add_option("--token-file", token_options_.token_file,
                    "Signet server: file holding the OIDC or API token (default: SIGNET_TOKEN, "
                    "then the CI system's own token)");
    sub->add_option("--audience", token_options_.audience,
                    "Signet server: audience to request a CI OIDC token for (default: the "
                    "server's)");
    sub->add_option("--cert", cert_path_,
                    "Certificate chain (PEM, leaf first) when the key has none of its own");
    sub->add_option("--format", settings_.format,
                    "auto, pe, cms or raw (auto: by content -- PE files are pe -- else cms)")
        ->default_val("auto");
    sub->add_option("-o,--output", settings_.output_path,
                    "Where to write the signature or the signed file (one FILE only); default "
                    "FILE.p7s / FILE.sig, and FILE itself (in place) for pe");
    sub->add_option("--tsa", tsa_urls_,
                    "RFC 3161 timestamp authority URL (repeatable: tried in order); pe and cms")
        ->allow_extra_args(false)
        ->take_all();
    sub->add_option("--description", settings_.description,
                    "pe: the program's name or description (SpcSpOpusInfo)");
    sub->add_option("--url", settings_.url, "pe: a URL with more information (SpcSpOpusInfo)");
    sub->add_flag("--append", settings_.append,
                  "pe: add a nested signature to the existing one instead of replacing it");
    sub->add_flag("--pem", settings_.pem, "cms: write PEM instead of DER");
    sub->add_flag("--rsa-pss", settings_.rsa_pss, "RSA keys: sign with PSS instead of PKCS#1 v1.5");
    sub->add_option("--digest", digest_, "sha256 (default), sha384 or sha512");
    sub->add_option("--passphrase-file", passphrase_file_, "File holding the key passphrase");
    sub->add_option("--pin-file", pin_file_, "File holding the PKCS#11 PIN");
    sub->add_option("files", files_, "Files to sign")->required();
    return sub;
  }

  int Run(Context& ctx) override {
    if (!settings_.output_path.empty() && files_.size() != 1) {
      return ReportError(ctx, "",
                         Error{ErrorCode::kInvalidArgument, "--output needs exactly one FILE"});
    }
    if (!digest_.empty()) {
      auto digest = ParseDigestAlgorithm(digest_);
      if (!digest) return ReportError(ctx, "", digest.error());
      settings_.digest = *digest;
    }
    std::unique_ptr<KeySigner> key;  // a local key, when not remote
    std::unique_ptr<PlanSigner> signer;
    if (!server_url_.empty() || key_uri_.starts_with("signet:")) {
      auto remote = OpenRemote();
      if (!remote) return ReportError(ctx, "", remote.error());
      signer = std::move(*remote);
    } else {
      auto options = BuildKeyOptions(cert_path_, passphrase_file_, pin_file_);
      if (!options) return ReportError(ctx, "", options.error());
      auto opened = ctx.keys.Open(key_uri_, *options);
      if (!opened) return ReportError(ctx, "", opened.error());
      key = std::move(*opened);
      signer = std::make_unique<KeyPlanSigner>(*key);
    }
    if (settings_.rsa_pss && signer->public_key().type() != KeyType::kRsa) {
      return ReportError(
          ctx, "",
          Error{ErrorCode::kInvalidArgument, "--rsa-pss needs an RSA key; " + signer->uri() +
                                                 " is " + signer->public_key().Description()});
    }
    std::unique_ptr<timestamp::Timestamper> timestamper;
    if (!tsa_urls_.empty() && !signer->adds_timestamps()) {
      timestamp::TimestamperOptions ts_options;
      ts_options.urls = tsa_urls_;
      timestamper = std::make_unique<timestamp::Timestamper>(std::move(ts_options));
      settings_.timestamp = [&timestamper](DigestAlgorithm alg, ByteView data) {
        return timestamper->Timestamp(alg, data);
      };
    }

    int exit_code = kExitOk;
    SignFiles(ctx.formats, *signer, files_, settings_,
              [&](const std::string& file, const Result<SignOutcome>& outcome) {
                if (!outcome) {
                  exit_code = WorseExit(exit_code, ReportError(ctx, file, outcome.error()));
                  return;
                }
                Report(ctx, *signer, file, *outcome);
              });
    return exit_code;
  }

 private:
  Result<std::unique_ptr<PlanSigner>> OpenRemote() {
    remote::RemoteOptions options;
    if (!server_url_.empty()) {
      if (key_uri_.find(':') != std::string::npos) {
        return InvalidArgument(
            "with --server, --key names a key on the server (e.g. --key "
            "release), not a URI: " +
            key_uri_);
      }
      while (server_url_.ends_with('/')) server_url_.pop_back();
      options.base_url = server_url_;
      options.key = key_uri_;
    } else {
      SIGNET_ASSIGN_OR_RETURN(remote::RemoteKey parsed, remote::ParseRemoteKeyUri(key_uri_));
      options.base_url = parsed.base_url;
      options.key = parsed.key;
    }
    if (!cert_path_.empty() || !pin_file_.empty() || !passphrase_file_.empty()) {
      return InvalidArgument(
          "--cert, --pin-file and --passphrase-file are for local keys; the "
          "Signet server holds the key and its certificate");
    }
    options.token = token_options_;
    options.http = net::HttpOptionsFromEnv();
    return remote::OpenRemoteSigner(options);
  }

  static void Report(Context& ctx, const PlanSigner& signer, const std::string& file,
                     const SignOutcome& outcome) {
    const SigningPlan& plan = outcome.plan;
    if (ctx.json) {
      PrintJson(ctx, {{"file", file},
                      {"ok", true},
                      {"format", plan.format},
                      {"output", outcome.output_path},
                      {"key", signer.uri()},
                      {"signature_algorithm", SignatureAlgorithmName(plan.signature_algorithm)},
                      {"content_digest_algorithm",
                       std::string(DigestName(plan.content_digest_algorithm))},
                      {"content_digest", HexEncode(plan.content_digest)},
                      {"timestamped", outcome.timestamped}});
    } else if (!ctx.quiet) {
      *ctx.out << "signed " << file << " -> " << outcome.output_path << " (" << plan.format << ", "
               << SignatureAlgorithmName(plan.signature_algorithm) << ", "
               << signer.public_key().Description() << (outcome.timestamped ? ", timestamped" : "")
               << ")\n";
    }
  }

  std::string key_uri_;
  std::string server_url_;
  identity::TokenSourceOptions token_options_;
  std::string cert_path_;
  std::string digest_;
  std::string passphrase_file_;
  std::string pin_file_;
  std::vector<std::string> files_;
  std::vector<std::string> tsa_urls_;
  SignSettings settings_;
};

}  // namespace

std::unique_ptr<Command> MakeSignCommand() { return std::make_unique<SignCommand>(); }

}  // namespace signet::cli
