#include "keys/azurekv/azurekv_key.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "keys/azurekv/azure_credentials.h"
#include "keys/azurekv/azurekv_api.h"

namespace signet {
namespace {

using azurekv::KeyBundle;
using azurekv::KeyUri;

// What the backend and its signers share: one HTTP client, one token cache
// per OAuth resource, and the keys fetched so far (once per process).
struct Session {
  cloud::HttpClientFactory http_factory;
  std::unique_ptr<net::HttpClient> http;
  std::map<std::string, cloud::TokenCache> tokens;  // by resource
  std::map<std::string, KeyBundle> keys;            // by URI

  net::HttpClient& Http() {
    if (!http) http = http_factory(net::HttpOptionsFromEnv());
    return *http;
  }

  Result<Secret> Token(const std::string& resource) {
    auto it = tokens.find(resource);
    if (it == tokens.end()) {
      SIGNET_ASSIGN_OR_RETURN(auto source,
                              azurekv::CredentialFromEnvironment(resource, http_factory));
      it = tokens.emplace(resource, cloud::TokenCache(std::move(source))).first;
    }
    return it->second.Get(Http());
  }

  // Sends an authenticated Key Vault request; a non-2xx answer is an error.
  Result<net::HttpResponse> Call(const KeyUri& uri, std::string method, const std::string& path,
                                 std::string body) {
    SIGNET_ASSIGN_OR_RETURN(Secret token, Token(uri.resource));
    std::string base = cloud::EnvOrEmpty("SIGNET_AZUREKV_ENDPOINT");
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.empty()) base = "https://" + uri.host;
    net::HttpRequest request{
        .method = std::move(method),
        .url = base + path + "?api-version=" + std::string(azurekv::kApiVersion),
        .headers = {cloud::BearerHeader(token), {"Accept", "application/json"}},
        .body = std::move(body)};
    if (request.method == "POST") request.headers.emplace_back("Content-Type", "application/json");
    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response,
                            cloud::SendWiping(Http(), std::move(request)));
    if (response.status < 200 || response.status > 299) {
      return std::unexpected(azurekv::ServiceError(response));
    }
    return response;
  }
};

class AzureKvSigner final : public KeySigner {
 public:
  AzureKvSigner(std::shared_ptr<Session> session, KeyUri uri, KeyBundle key, CertificateChain chain)
      : session_(std::move(session)),
        uri_(std::move(uri)),
        key_(std::move(key)),
        chain_(std::move(chain)) {}

  [[nodiscard]] std::string uri() const override { return uri_.ToString(); }
  [[nodiscard]] const PublicKey& public_key() const override { return key_.public_key; }
  [[nodiscard]] const CertificateChain& certificate_chain() const override { return chain_; }

  Result<Bytes> Sign(const SignRequest& request) override {
    const SignatureAlgorithm& alg = request.algorithm;
    auto jwa = azurekv::JwaAlgorithm(alg, key_.public_key);
    if (!jwa) return std::unexpected(jwa.error().WithContext(uri()));
    if (request.digest.size() != DigestSize(alg.digest)) {
      return InvalidArgument("a " + std::string(DigestName(alg.digest)) + " digest has " +
                             std::to_string(DigestSize(alg.digest)) + " bytes, not " +
                             std::to_string(request.digest.size()));
    }
    auto response =
        session_->Call(uri_, "POST", "/keys/" + uri_.name + "/" + key_.version + "/sign",
                       azurekv::SignRequestBody(*jwa, request.digest));
    if (!response) return std::unexpected(response.error().WithContext("sign with " + uri()));
    auto parsed = azurekv::ParseSignResponse(response->body, key_);
    if (!parsed) return std::unexpected(parsed.error().WithContext("sign with " + uri()));
    Bytes signature = std::move(*parsed);
    if (!key_.public_key.VerifyDigest(alg, request.digest, signature)) {
      return Unavailable(std::string(azurekv::kService) + " returned a " + *jwa +
                         " signature that does not verify with the public key of " + key_.kid +
                         "; nothing was written");
    }
    return signature;
  }

 private:
  std::shared_ptr<Session> session_;
  KeyUri uri_;  // version pinned to key_.version
  KeyBundle key_;
  CertificateChain chain_;
};

class AzureKvBackend final : public KeyBackend {
 public:
  explicit AzureKvBackend(cloud::HttpClientFactory http_factory)
      : session_(std::make_shared<Session>()) {
    session_->http_factory = std::move(http_factory);
  }

  [[nodiscard]] std::string_view scheme() const override { return "azurekv"; }

  Result<std::unique_ptr<KeySigner>> Open(std::string_view uri_text,
                                          const KeyOptions& options) override {
    SIGNET_ASSIGN_OR_RETURN(KeyUri uri, azurekv::ParseKeyUri(uri_text));
    const std::string shown = uri.ToString();
    auto cached = session_->keys.find(shown);
    if (cached == session_->keys.end()) {
      auto response = session_->Call(
          uri, "GET", "/keys/" + uri.name + (uri.version.empty() ? "" : "/" + uri.version), {});
      if (!response) return std::unexpected(response.error().WithContext("get key " + shown));
      SIGNET_ASSIGN_OR_RETURN(KeyBundle bundle, azurekv::ParseKeyBundle(response->body, uri));
      cached = session_->keys.emplace(shown, std::move(bundle)).first;
    }
    const KeyBundle& key = cached->second;
    auto chain = ResolveCertificateChain({}, options, key.public_key);
    if (!chain) return std::unexpected(chain.error().WithContext("certificate of " + shown));
    KeyUri pinned = uri;
    pinned.version = key.version;
    return std::unique_ptr<KeySigner>(
        std::make_unique<AzureKvSigner>(session_, std::move(pinned), key, std::move(*chain)));
  }

 private:
  std::shared_ptr<Session> session_;
};

}  // namespace

std::unique_ptr<KeyBackend> MakeAzureKvKeyBackend() {
  return MakeAzureKvKeyBackend(cloud::CurlHttpClientFactory());
}

std::unique_ptr<KeyBackend> MakeAzureKvKeyBackend(cloud::HttpClientFactory http_factory) {
  return std::make_unique<AzureKvBackend>(std::move(http_factory));
}

}  // namespace signet
