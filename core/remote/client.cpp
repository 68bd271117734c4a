#include "remote/client.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "remote/protocol.h"

namespace signet::remote {
namespace {

class RemoteSigner final : public PlanSigner {
 public:
  RemoteSigner(RemoteOptions options, std::unique_ptr<net::HttpClient> http)
      : options_(std::move(options)), http_(std::move(http)) {}

  Status Open() {
    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse info, Call("GET", "/v1/info", ""));
    SIGNET_RETURN_IF_ERROR(CheckStatus(info, "GET /v1/info"));
    auto info_json = nlohmann::json::parse(info.body, nullptr, false);
    if (!info_json.is_object()) {
      return Unavailable(Where() + ": /v1/info answered with something that is not JSON");
    }
    max_batch_ = std::clamp<std::size_t>(info_json.value("max_plans_per_request", 1), 1, 4096);
    identity::TokenSourceOptions token_options = options_.token;
    if (token_options.audience.empty()) {
      token_options.audience = info_json.value("default_audience", "signet");
    }
    token_options_ = std::move(token_options);
    SIGNET_RETURN_IF_ERROR(FetchToken());

    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse key, Call("GET", "/v1/keys/" + options_.key, ""));
    SIGNET_RETURN_IF_ERROR(CheckStatus(key, "GET key"));
    auto key_json = nlohmann::json::parse(key.body, nullptr, false);
    SIGNET_ASSIGN_OR_RETURN(KeyInfo info_key, KeyInfo::FromJson(key_json));
    auto pub = PublicKey::FromPem(ToBytes(info_key.public_key_pem));
    if (!pub) return Unavailable(Where() + ": the server sent a malformed public key");
    public_key_ = std::move(*pub);
    std::string chain_pem;
    for (const std::string& c : info_key.chain) chain_pem += c;
    if (!chain_pem.empty()) {
      auto chain = ParseCertificateChainPem(ToBytes(chain_pem));
      if (!chain) return Unavailable(Where() + ": the server sent a malformed certificate chain");
      chain_ = std::move(*chain);
    }
    timestamps_ = info_key.timestamps;
    return {};
  }

  std::string uri() const override {
    return "signet key " + options_.key + " at " + options_.base_url;
  }
  const PublicKey& public_key() const override { return *public_key_; }
  const CertificateChain& certificate_chain() const override { return chain_; }
  std::size_t max_batch() const override { return max_batch_; }
  bool adds_timestamps() const override { return timestamps_; }

  Result<std::vector<PlanSignature>> SignPlans(std::span<const SigningPlan> plans) override {
    // A server with replay protection takes each OIDC token once: where the
    // CI system mints tokens on request, use a fresh one per request.
    if (sign_requests_ > 0 &&
        (token_source_ == "github-actions" || token_source_ == "azure-pipelines")) {
      SIGNET_RETURN_IF_ERROR(FetchToken());
    }
    ++sign_requests_;
    SignBody body;
    body.key = options_.key;
    for (const SigningPlan& p : plans) {
      SigningPlan sent = p;
      // The server records the artifact's name, not the client's paths.
      sent.artifact = std::filesystem::path(p.artifact).filename().string();
      body.plans.push_back(std::move(sent));
    }
    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response,
                            Call("POST", "/v1/sign", body.ToJson().dump()));
    SIGNET_RETURN_IF_ERROR(CheckStatus(response, "sign"));
    auto reply_json = nlohmann::json::parse(response.body, nullptr, false);
    auto reply = SignReply::FromJson(reply_json);
    if (!reply || reply->signatures.size() != plans.size()) {
      return Unavailable(Where() + ": malformed answer to a sign request");
    }
    std::vector<PlanSignature> out;
    for (std::size_t i = 0; i < plans.size(); ++i) {
      out.push_back({std::move(reply->signatures[i]), std::move(reply->timestamp_tokens[i])});
    }
    return out;
  }

 private:
  Status FetchToken() {
    auto found = identity::FindToken(token_options_, *http_);
    if (!found) {
      return MakeError(found.error().code,
                       "signing with " + uri() + " needs a token: " + found.error().message);
    }
    token_source_ = found->source;
    authorization_ = Secret("Bearer " + std::string(found->token.Reveal()));
    return {};
  }

  std::string Where() const { return "signet server " + options_.base_url; }

  Result<net::HttpResponse> Call(const std::string& method, const std::string& path,
                                 std::string body) {
    net::HttpRequest request;
    request.method = method;
    request.url = options_.base_url + path;
    request.headers.emplace_back("Accept", "application/json");
    if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    if (authorization_)
      request.headers.emplace_back("Authorization", std::string(authorization_->Reveal()));
    request.body = std::move(body);
    auto response = http_->Send(request);
    if (!response) {
      return MakeError(response.error().code, Where() + ": " + response.error().message);
    }
    return response;
  }

  // Maps a non-2xx answer to an error carrying the server's own message.
  Status CheckStatus(const net::HttpResponse& response, const char* what) const {
    if (response.status >= 200 && response.status < 300) return {};
    std::string message;
    auto j = nlohmann::json::parse(response.body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      message = j["error"].value("message", "");
    }
    if (message.empty()) message = "HTTP " + std::to_string(response.status);
    std::string prefix = Where() + " (" + what + ", key " + options_.key + "): ";
    switch (response.status) {
      case 401:
        return PermissionDenied(prefix + "token refused (from " + token_source_ + "): " + message);
      case 403:
        return PermissionDenied(prefix + "denied: " + message);
      case 404:
        return NotFound(prefix + message);
      case 400:
      case 413:
        return InvalidArgument(prefix + message);
      default:
        return Unavailable(prefix + message);
    }
  }

  RemoteOptions options_;
  std::unique_ptr<net::HttpClient> http_;
  std::optional<Secret> authorization_;
  identity::TokenSourceOptions token_options_;
  std::string token_source_;
  int sign_requests_ = 0;
  std::optional<PublicKey> public_key_;
  CertificateChain chain_;
  std::size_t max_batch_ = 1;
  bool timestamps_ = false;
};

}  // namespace

Result<std::unique_ptr<PlanSigner>> OpenRemoteSigner(const RemoteOptions& options,
                                                     std::unique_ptr<net::HttpClient> http) {
  if (!http) http = net::MakeCurlHttpClient(options.http);
  auto signer = std::make_unique<RemoteSigner>(options, std::move(http));
  SIGNET_RETURN_IF_ERROR(signer->Open());
  return std::unique_ptr<PlanSigner>(std::move(signer));
}

}  // namespace signet::remote
