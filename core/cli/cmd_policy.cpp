// signet policy test --config FILE (--token FILE|- | --api-token-name NAME)
//                    --key NAME --format FMT [--size BYTES]
//
// Explains what the server's policy (docs/policy.md) decides for a token:
// which rule allowed, or why each rule for the key did not. The token is
// decoded WITHOUT checking its signature (the command needs no network and
// no issuer keys), so the output says "signature not checked".
//
// The token comes from a file, stdin ("-") or SIGNET_TOKEN, never from argv:
// an argument that looks like a JWT is refused
// (docs/decisions/0017-policy-test-token-from-file.md).
//
// Exit codes: 0 allowed, 1 denied, 2 bad input (config, token, options).
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <ostream>

#include "base/file.h"
#include "base/secret.h"
#include "cli/command.h"
#include "identity/identity.h"
#include "identity/jwt.h"
#include "policy/policy.h"

namespace signet::cli {
namespace {

constexpr std::size_t kMaxConfigBytes = 4 << 20;
constexpr std::size_t kMaxTokenBytes = std::size_t{64} * 1024;

bool IsBase64UrlPart(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Three base64url parts separated by dots (the third may be empty: an
// unsigned token), long enough not to be a plain file name like "a.b.c".
bool LooksLikeJwt(std::string_view s) {
  if (s.size() < 16) return false;
  const auto d1 = s.find('.');
  if (d1 == std::string_view::npos) return false;
  const auto d2 = s.find('.', d1 + 1);
  if (d2 == std::string_view::npos || s.find('.', d2 + 1) != std::string_view::npos) return false;
  const std::string_view a = s.substr(0, d1), b = s.substr(d1 + 1, d2 - d1 - 1),
                         c = s.substr(d2 + 1);
  return !a.empty() && !b.empty() && IsBase64UrlPart(a) && IsBase64UrlPart(b) && IsBase64UrlPart(c);
}

// The token: first line of stdin, trimmed.
Result<Secret> ReadTokenFromStdin() {
  std::string value;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
    value.append(buf, n);
    if (value.size() > kMaxTokenBytes) {
      return InvalidArgument("--token -: stdin holds more than 64 KiB; expected one token");
    }
  }
  if (auto nl = value.find_first_of("\r\n"); nl != std::string::npos) value.resize(nl);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  return Secret(std::move(value));
}

Result<Secret> FindToken(const std::string& arg) {
  if (arg == "-") return ReadTokenFromStdin();
  if (!arg.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(arg, ec) && LooksLikeJwt(arg)) {
      // Do not echo the argument: it is a token.
      return InvalidArgument(
          "--token takes a FILE holding the token, or \"-\" to read it from stdin, not the "
          "token itself (a token in argv is visible in ps and shell history)");
    }
    return ReadSecretFile(arg);
  }
  Secret env = SecretFromEnv("SIGNET_TOKEN");
  if (env.empty()) {
    return InvalidArgument(
        "no token: pass --token FILE, --token - (stdin), --api-token-name NAME, or set "
        "SIGNET_TOKEN");
  }
  return env;
}

struct Inputs {
  nlohmann::json config;
  policy::Policy policy;
};

Result<Inputs> LoadConfig(const std::string& path) {
  SIGNET_ASSIGN_OR_RETURN(Bytes bytes, ReadSmallFile(path, kMaxConfigBytes));
  Inputs in;
  in.config = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr,
                                    /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (in.config.is_discarded()) {
    return InvalidArgument(path + ": not valid JSON (comments are allowed)");
  }
  if (!in.config.is_object()) return InvalidArgument(path + ": must hold a JSON object");
  nlohmann::json policy_json = nlohmann::json::object();
  if (auto it = in.config.find("policy"); it != in.config.end()) policy_json = *it;
  auto policy = policy::Policy::FromJson(policy_json);
  if (!policy) return std::unexpected(policy.error().WithContext(path));
  in.policy = std::move(*policy);
  return in;
}

// The "ci" of the config's issuers entry for `iss`, or nullopt.
std::optional<std::string> CiForIssuer(const nlohmann::json& config, const std::string& iss) {
  auto issuers = config.find("issuers");
  if (issuers == config.end() || !issuers->is_array()) return std::nullopt;
  for (const auto& entry : *issuers) {
    if (!entry.is_object()) continue;
    auto name = entry.find("issuer");
    if (name == entry.end() || !name->is_string() || name->get<std::string>() != iss) continue;
    auto ci = entry.find("ci");
    return ci != entry.end() && ci->is_string() ? ci->get<std::string>() : "oidc";
  }
  return std::nullopt;
}

// A token's value made safe for one line of terminal output.
std::string Clean(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return out;
}

class PolicyCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("policy", "Inspect the server's key-usage policy");
    sub->footer(kExitCodeHelp);
    sub->require_subcommand(1);
    test_ = sub->add_subcommand(
        "test",
        "Explain which rule allows or denies a token's identity for a key (the token's "
        "signature is not checked). Exit 0 allowed, 1 denied, 2 bad input");
    test_->add_option("--config", config_, "Server config file (JSON, comments allowed)")
        ->required();
    auto* token = test_->add_option(
        "--token", token_,
        "File holding the JWT, or - for stdin (default: SIGNET_TOKEN); never the token itself");
    test_
        ->add_option("--api-token-name", api_token_name_,
                     "Test an API token's identity (issuer signet:api-token) by its name")
        ->excludes(token);
    test_->add_option("--key", key_, "Key name, as in the config's \"keys\"")->required();
    test_->add_option("--format", format_, "Signature format: pe, cms, raw, ...")->required();
    test_->add_option("--size", size_, "Artifact size in bytes (default 0)");
    return sub;
  }

  int Run(Context& ctx) override {
    auto inputs = LoadConfig(config_);
    if (!inputs) return ReportError(ctx, "", inputs.error());
    auto id = LoadIdentity(inputs->config);
    if (!id) return ReportError(ctx, "", id.error());

    policy::Request request;
    request.identity = &*id;
    request.key = key_;
    request.format = format_;
    request.artifact_size = size_;
    const std::time_t now = std::time(nullptr);
    policy::Decision d = inputs->policy.Evaluate(request, now);

    std::vector<std::string> notes;
    if (api_token_name_.empty()) {
      notes.push_back("signature not checked: the token was decoded, not verified");
      if (!configured_issuer_) {
        notes.push_back("issuer " + id->issuer +
                        " is not in the config's \"issuers\": the server would refuse this token");
      }
      if (id->expires != 0 && id->expires < now) notes.push_back("the token has expired");
    }
    if (auto keys = inputs->config.find("keys");
        keys != inputs->config.end() && keys->is_object() && !keys->contains(key_)) {
      notes.push_back("key " + key_ + " is not in the config's \"keys\"");
    }
    const bool allowed = d.allowed && (configured_issuer_ || !api_token_name_.empty());
    Print(ctx, *id, d, notes, allowed);
    return allowed ? kExitOk : ExitCodeFor(ErrorCode::kPermissionDenied);
  }

 private:
  Result<identity::Identity> LoadIdentity(const nlohmann::json& config) {
    identity::Identity id;
    if (!api_token_name_.empty()) {
      id.issuer = std::string(identity::kApiTokenIssuer);
      id.subject = api_token_name_;
      identity::NormalizeClaims("api-token", id);
      return id;
    }
    SIGNET_ASSIGN_OR_RETURN(Secret token, FindToken(token_));
    auto decoded = identity::DecodeJwtUnverified(token.Reveal());
    if (!decoded) return std::unexpected(decoded.error().WithContext("token"));
    const nlohmann::json& payload = decoded->payload;
    if (!payload.is_object() || !payload.contains("iss") || !payload["iss"].is_string()) {
      return InvalidArgument("token: the payload has no \"iss\" (issuer) string");
    }
    id.issuer = payload["iss"].get<std::string>();
    if (auto sub = payload.find("sub"); sub != payload.end() && sub->is_string()) {
      id.subject = sub->get<std::string>();
    }
    if (auto exp = payload.find("exp"); exp != payload.end() && exp->is_number()) {
      id.expires = static_cast<std::time_t>(exp->get<double>());
    }
    id.claims = payload;
    std::optional<std::string> ci = CiForIssuer(config, id.issuer);
    configured_issuer_ = ci.has_value();
    identity::NormalizeClaims(ci.value_or("oidc"), id);
    return id;
  }

  void Print(Context& ctx, const identity::Identity& id, const policy::Decision& d,
             const std::vector<std::string>& notes, bool allowed) {
    std::string reason = d.reason;
    if (d.allowed && !allowed) {
      reason = "issuer " + Clean(id.issuer) + " is not configured (policy alone: " + d.reason + ")";
    }
    if (ctx.json) {
      PrintJson(ctx, {{"ok", true},
                      {"allowed", allowed},
                      {"signature_checked", false},
                      {"key", key_},
                      {"format", format_},
                      {"size", size_},
                      {"identity",
                       {{"issuer", id.issuer}, {"subject", id.subject}, {"claims", id.normalized}}},
                      {"rule", d.rule},
                      {"reason", reason},
                      {"used_claims", d.used_claims},
                      {"explanation", d.explanation},
                      {"notes", notes}});
      return;
    }
    std::ostream& out = *ctx.out;
    for (const std::string& n : notes) out << "note: " << Clean(n) << "\n";
    out << "identity: " << Clean(id.subject) << " (issuer " << Clean(id.issuer) << ")\n";
    for (const auto& [name, value] : id.normalized) {
      out << "  " << name << ": " << Clean(value) << "\n";
    }
    out << "request: key " << Clean(key_) << ", format " << Clean(format_) << ", " << size_
        << " bytes\n";
    out << "decision: " << (allowed ? "allowed" : "denied") << "\n";
    if (allowed) out << "rule: " << d.rule << "\n";
    out << "reason: " << reason << "\n";
    if (!d.explanation.empty()) {
      out << "explanation:\n";
      for (const std::string& line : d.explanation) out << "  " << line << "\n";
    }
  }

  CLI::App* test_ = nullptr;
  std::string config_;
  std::string token_;
  std::string api_token_name_;
  std::string key_;
  std::string format_;
  std::uint64_t size_ = 0;
  bool configured_issuer_ = false;
};

}  // namespace

std::unique_ptr<Command> MakePolicyCommand() { return std::make_unique<PolicyCommand>(); }

}  // namespace signet::cli
