// signet key list URI | key show URI | key public URI [--output FILE]
//            | key csr URI --subject DN [--output FILE] [--digest D] [--rsa-pss]
#include <ostream>

#include "cli/command.h"
#include "crypto/csr.h"

namespace signet::cli {
namespace {

class KeyCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("key", "Inspect keys: list, show, public, csr");
    sub->footer(kExitCodeHelp);
    sub->require_subcommand(1);
    list_ = sub->add_subcommand("list", "List the keys a URI matches (e.g. all keys on a token)");
    show_ = sub->add_subcommand("show", "Show a key's type, fingerprint and certificate");
    public_ = sub->add_subcommand("public", "Print a key's public key (PEM)");
    csr_ = sub->add_subcommand(
        "csr", "Write a PKCS#10 certificate signing request (PEM) signed by the key");
    for (CLI::App* c : {list_, show_, public_, csr_}) {
      c->add_option("uri", uri_, "Key URI")->required();
      c->add_option("--cert", cert_path_, "Certificate chain (PEM) for keys that have none");
      c->add_option("--passphrase-file", passphrase_file_, "File holding the key passphrase");
      c->add_option("--pin-file", pin_file_, "File holding the PKCS#11 PIN");
    }
    public_->add_option("-o,--output", output_, "Write the PEM to this file");
    csr_->add_option("--subject", subject_,
                     "Subject distinguished name, e.g. \"CN=Example Release,O=Example Ltd,C=DE\"")
        ->required();
    csr_->add_option("-o,--output", output_, "Write the PEM to this file (default: stdout)");
    csr_->add_option("--digest", digest_,
                     "sha256 (default; sha384 for EC P-384 keys) or sha384, sha512");
    csr_->add_flag("--rsa-pss", rsa_pss_, "RSA keys: sign the request with PSS");
    return sub;
  }

  int Run(Context& ctx) override {
    auto options = BuildKeyOptions(cert_path_, passphrase_file_, pin_file_);
    if (!options) return ReportError(ctx, "", options.error());
    if (list_->parsed()) return List(ctx, *options);
    auto signer = ctx.keys.Open(uri_, *options);
    if (!signer) return ReportError(ctx, "", signer.error());
    if (show_->parsed()) return Show(ctx, **signer);
    if (csr_->parsed()) return Csr(ctx, **signer);
    return Public(ctx, **signer);
  }

 private:
  int List(Context& ctx, const KeyOptions& options) {
    auto keys = ctx.keys.List(uri_, options);
    if (!keys) return ReportError(ctx, "", keys.error());
    for (const KeyListing& k : *keys) {
      if (ctx.json) {
        PrintJson(ctx, {{"uri", k.uri},
                        {"label", k.label},
                        {"type", k.type},
                        {"certificate", k.has_certificate}});
      } else {
        *ctx.out << k.uri << "\t" << k.type << (k.has_certificate ? "\tcertificate" : "") << "\n";
      }
    }
    return kExitOk;
  }

  int Show(Context& ctx, const KeySigner& signer) {
    const PublicKey& pub = signer.public_key();
    nlohmann::json j = {{"uri", signer.uri()},
                        {"type", pub.Description()},
                        {"fingerprint_sha256", pub.Fingerprint()}};
    nlohmann::json chain = nlohmann::json::array();
    for (const Certificate& c : signer.certificate_chain()) {
      chain.push_back({{"subject", c.Subject()},
                       {"issuer", c.Issuer()},
                       {"serial", c.SerialHex()},
                       {"not_before", FormatTime(c.NotBefore())},
                       {"not_after", FormatTime(c.NotAfter())}});
    }
    j["certificates"] = chain;
    if (ctx.json) {
      PrintJson(ctx, j);
      return kExitOk;
    }
    *ctx.out << "uri:         " << signer.uri() << "\n"
             << "type:        " << pub.Description() << "\n"
             << "fingerprint: SHA256:" << pub.Fingerprint() << "\n";
    for (const auto& c : chain) {
      *ctx.out << "certificate: " << c["subject"].get<std::string>() << "\n"
               << "  issuer:    " << c["issuer"].get<std::string>() << "\n"
               << "  valid:     " << c["not_before"].get<std::string>() << " to "
               << c["not_after"].get<std::string>() << "\n";
    }
    return kExitOk;
  }

  int Public(Context& ctx, const KeySigner& signer) {
    std::string pem = signer.public_key().Pem();
    if (!output_.empty()) {
      if (auto st = WriteFileAtomically(output_, AsBytes(pem)); !st) {
        return ReportError(ctx, output_, st.error());
      }
      if (ctx.json) PrintJson(ctx, {{"uri", signer.uri()}, {"ok", true}, {"output", output_}});
      return kExitOk;
    }
    if (ctx.json) {
      PrintJson(ctx, {{"uri", signer.uri()}, {"ok", true}, {"public_key_pem", pem}});
    } else {
      *ctx.out << pem;
    }
    return kExitOk;
  }

  // The request goes through KeySigner::Sign like any signature: file keys,
  // PKCS#11 tokens and KMS keys alike.
  int Csr(Context& ctx, KeySigner& signer) {
    const PublicKey& pub = signer.public_key();
    if (rsa_pss_ && pub.type() != KeyType::kRsa) {
      return ReportError(
          ctx, "",
          Error{ErrorCode::kInvalidArgument,
                "--rsa-pss needs an RSA key; " + signer.uri() + " is " + pub.Description()});
    }
    SignatureAlgorithm alg;
    alg.scheme = DefaultScheme(pub.type(), rsa_pss_);
    alg.digest = pub.type() == KeyType::kEcP384    ? DigestAlgorithm::kSha384
                 : pub.type() == KeyType::kEd25519 ? DigestAlgorithm::kSha512
                                                   : DigestAlgorithm::kSha256;
    if (!digest_.empty()) {
      auto digest = ParseDigestAlgorithm(digest_);
      if (!digest) return ReportError(ctx, "", digest.error());
      alg.digest = *digest;
    }
    auto name = ParseDistinguishedName(subject_);
    if (!name) return ReportError(ctx, "", name.error());
    auto csr = BuildCsr(pub, *name, alg, [&](ByteView digest, ByteView to_be_signed) {
      SignRequest request;
      request.algorithm = alg;
      request.digest = digest;
      request.message = to_be_signed;
      return signer.Sign(request);
    });
    if (!csr) return ReportError(ctx, "", csr.error());
    std::string pem = CsrPem(*csr);
    if (!output_.empty()) {
      if (auto st = WriteFileAtomically(output_, AsBytes(pem)); !st) {
        return ReportError(ctx, output_, st.error());
      }
      if (ctx.json) {
        PrintJson(ctx, {{"uri", signer.uri()},
                        {"ok", true},
                        {"output", output_},
                        {"algorithm", SignatureAlgorithmName(alg)}});
      }
      return kExitOk;
    }
    if (ctx.json) {
      PrintJson(ctx, {{"uri", signer.uri()},
                      {"ok", true},
                      {"algorithm", SignatureAlgorithmName(alg)},
                      {"csr_pem", pem}});
    } else {
      *ctx.out << pem;
    }
    return kExitOk;
  }

  CLI::App* list_ = nullptr;
  CLI::App* show_ = nullptr;
  CLI::App* public_ = nullptr;
  CLI::App* csr_ = nullptr;
  std::string uri_;
  std::string cert_path_;
  std::string passphrase_file_;
  std::string pin_file_;
  std::string output_;
  std::string subject_;
  std::string digest_;
  bool rsa_pss_ = false;
};

}  // namespace

std::unique_ptr<Command> MakeKeyCommand() { return std::make_unique<KeyCommand>(); }

}  // namespace signet::cli
