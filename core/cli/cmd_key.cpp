// signet key list URI | key show URI | key public URI [--output FILE]
#include <ostream>

#include "cli/command.h"

namespace signet::cli {
namespace {

class KeyCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("key", "Inspect keys: list, show, public");
    sub->footer(kExitCodeHelp);
    sub->require_subcommand(1);
    list_ = sub->add_subcommand("list", "List the keys a URI matches (e.g. all keys on a token)");
    show_ = sub->add_subcommand("show", "Show a key's type, fingerprint and certificate");
    public_ = sub->add_subcommand("public", "Print a key's public key (PEM)");
    for (CLI::App* c : {list_, show_, public_}) {
      c->add_option("uri", uri_, "Key URI")->required();
      c->add_option("--cert", cert_path_, "Certificate chain (PEM) for keys that have none");
      c->add_option("--passphrase-file", passphrase_file_, "File holding the key passphrase");
      c->add_option("--pin-file", pin_file_, "File holding the PKCS#11 PIN");
    }
    public_->add_option("-o,--output", output_, "Write the PEM to this file");
    return sub;
  }

  int Run(Context& ctx) override {
    auto options = BuildKeyOptions(cert_path_, passphrase_file_, pin_file_);
    if (!options) return ReportError(ctx, "", options.error());
    if (list_->parsed()) return List(ctx, *options);
    auto signer = ctx.keys.Open(uri_, *options);
    if (!signer) return ReportError(ctx, "", signer.error());
    if (show_->parsed()) return Show(ctx, **signer);
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

  CLI::App* list_ = nullptr;
  CLI::App* show_ = nullptr;
  CLI::App* public_ = nullptr;
  std::string uri_;
  std::string cert_path_;
  std::string passphrase_file_;
  std::string pin_file_;
  std::string output_;
};

}  // namespace

std::unique_ptr<Command> MakeKeyCommand() { return std::make_unique<KeyCommand>(); }

}  // namespace signet::cli
