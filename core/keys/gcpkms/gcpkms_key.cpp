#include "keys/gcpkms/gcpkms_key.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "keys/gcpkms/gcp_credentials.h"
#include "keys/gcpkms/gcpkms_api.h"

namespace signet {
namespace {

using gcpkms::KeyVersion;

constexpr std::string_view kDefaultEndpoint = "https://cloudkms.googleapis.com";

// What the backend and its signers share: one HTTP client, one token cache,
// and the key versions fetched so far (once per process).
struct Session {
  cloud::HttpClientFactory http_factory;
  std::unique_ptr<net::HttpClient> http;
  std::optional<cloud::TokenCache> token;
  std::map<std::string, KeyVersion> keys;  // by resource name

  net::HttpClient& Http() {
    if (!http) http = http_factory(net::HttpOptionsFromEnv());
    return *http;
  }

  // Sends an authenticated Cloud KMS request; a non-2xx answer is an error.
  Result<net::HttpResponse> Call(std::string method, const std::string& path, std::string body) {
    if (!token) {
      SIGNET_ASSIGN_OR_RETURN(auto source, gcpkms::CredentialFromEnvironment(http_factory));
      token.emplace(std::move(source));
    }
    SIGNET_ASSIGN_OR_RETURN(Secret bearer, token->Get(Http()));
    std::string base = cloud::EnvOrEmpty("SIGNET_GCPKMS_ENDPOINT");
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.empty()) base = kDefaultEndpoint;
    net::HttpRequest request{
        .method = std::move(method),
        .url = base + "/v1/" + path,
        .headers = {cloud::BearerHeader(bearer), {"Accept", "application/json"}},
        .body = std::move(body)};
    if (request.method == "POST") request.headers.emplace_back("Content-Type", "application/json");
    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response,
                            cloud::SendWiping(Http(), std::move(request)));
    if (response.status < 200 || response.status > 299) {
      return std::unexpected(gcpkms::ServiceError(gcpkms::kService, response));
    }
    return response;
  }
};

class GcpKmsSigner final : public KeySigner {
 public:
  GcpKmsSigner(std::shared_ptr<Session> session, std::string resource, KeyVersion key,
               CertificateChain chain)
      : session_(std::move(session)),
        resource_(std::move(resource)),
        key_(std::move(key)),
        chain_(std::move(chain)) {}

  [[nodiscard]] std::string uri() const override { return "gcpkms://" + resource_; }
  [[nodiscard]] const PublicKey& public_key() const override { return key_.public_key; }
  [[nodiscard]] const CertificateChain& certificate_chain() const override { return chain_; }

  Result<Bytes> Sign(const SignRequest& request) override {
    const SignatureAlgorithm& alg = request.algorithm;
    if (auto fits = gcpkms::CheckAlgorithm(key_, alg); !fits) {
      return std::unexpected(fits.error().WithContext(uri()));
    }
    if (request.digest.size() != DigestSize(alg.digest)) {
      return InvalidArgument("a " + std::string(DigestName(alg.digest)) + " digest has " +
                             std::to_string(DigestSize(alg.digest)) + " bytes, not " +
                             std::to_string(request.digest.size()));
    }
    auto response = session_->Call("POST", resource_ + ":asymmetricSign",
                                   gcpkms::SignRequestBody(alg.digest, request.digest));
    if (!response) return std::unexpected(response.error().WithContext("sign with " + uri()));
    auto parsed = gcpkms::ParseSignResponse(response->body, resource_);
    if (!parsed) return std::unexpected(parsed.error().WithContext("sign with " + uri()));
    Bytes signature = std::move(*parsed);
    if (!key_.public_key.VerifyDigest(alg, request.digest, signature)) {
      return Unavailable(std::string(gcpkms::kService) + " returned a " + key_.algorithm +
                         " signature that does not verify with the public key of " + uri() +
                         "; nothing was written");
    }
    return signature;
  }

 private:
  std::shared_ptr<Session> session_;
  std::string resource_;
  KeyVersion key_;
  CertificateChain chain_;
};

class GcpKmsBackend final : public KeyBackend {
 public:
  explicit GcpKmsBackend(cloud::HttpClientFactory http_factory)
      : session_(std::make_shared<Session>()) {
    session_->http_factory = std::move(http_factory);
  }

  [[nodiscard]] std::string_view scheme() const override { return "gcpkms"; }

  Result<std::unique_ptr<KeySigner>> Open(std::string_view uri_text,
                                          const KeyOptions& options) override {
    SIGNET_ASSIGN_OR_RETURN(std::string resource, gcpkms::ParseKeyUri(uri_text));
    const std::string shown = "gcpkms://" + resource;
    auto cached = session_->keys.find(resource);
    if (cached == session_->keys.end()) {
      auto response = session_->Call("GET", resource + "/publicKey", {});
      if (!response) {
        return std::unexpected(response.error().WithContext("get public key of " + shown));
      }
      SIGNET_ASSIGN_OR_RETURN(KeyVersion key,
                              gcpkms::ParsePublicKeyResponse(response->body, resource));
      cached = session_->keys.emplace(resource, std::move(key)).first;
    }
    auto chain = ResolveCertificateChain({}, options, cached->second.public_key);
    if (!chain) return std::unexpected(chain.error().WithContext("certificate of " + shown));
    return std::unique_ptr<KeySigner>(
        std::make_unique<GcpKmsSigner>(session_, resource, cached->second, std::move(*chain)));
  }

 private:
  std::shared_ptr<Session> session_;
};

}  // namespace

std::unique_ptr<KeyBackend> MakeGcpKmsKeyBackend() {
  return MakeGcpKmsKeyBackend(cloud::CurlHttpClientFactory());
}

std::unique_ptr<KeyBackend> MakeGcpKmsKeyBackend(cloud::HttpClientFactory http_factory) {
  return std::make_unique<GcpKmsBackend>(std::move(http_factory));
}

}  // namespace signet
