#include "keys/vault/vault_key.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "base/file.h"
#include "keys/vault/vault_api.h"

namespace signet {
namespace {

using vault::KeyInfo;
using vault::KeyUri;

// What the backend and its signers share: the server, one HTTP client, the
// token, and the keys read so far (once per process).
struct Session {
  cloud::HttpClientFactory http_factory;
  std::unique_ptr<net::HttpClient> http;
  std::string addr;
  std::optional<Secret> token;
  std::map<std::string, KeyInfo> keys;  // by URI

  Status Configure() {
    if (http) return {};
    addr = cloud::EnvOrEmpty("VAULT_ADDR");
    while (!addr.empty() && addr.back() == '/') addr.pop_back();
    if (addr.empty()) {
      return FailedPrecondition("VAULT_ADDR is not set (e.g. https://vault.example.com:8200)");
    }
    if (!addr.starts_with("https://") && !addr.starts_with("http://")) {
      return FailedPrecondition("VAULT_ADDR must be an https:// URL");
    }
    net::HttpOptions options = net::HttpOptionsFromEnv();
    if (std::string ca = cloud::EnvOrEmpty("VAULT_CACERT"); !ca.empty()) options.ca_bundle = ca;
    http = http_factory(options);
    return {};
  }

  void AddCommonHeaders(net::HttpRequest& request) const {
    request.headers.emplace_back("X-Vault-Request", "true");
    if (std::string ns = cloud::EnvOrEmpty("VAULT_NAMESPACE"); !ns.empty()) {
      request.headers.emplace_back("X-Vault-Namespace", ns);
    }
  }

  // VAULT_TOKEN, else a JWT auth login, else ~/.vault-token.
  Result<Secret> Token() {
    if (token) return *token;
    Secret env = SecretFromEnv("VAULT_TOKEN");
    if (!env.empty()) {
      token = std::move(env);
      return *token;
    }
    const std::string role = cloud::EnvOrEmpty("VAULT_ROLE");
    const std::string jwt_file = cloud::EnvOrEmpty("SIGNET_VAULT_JWT_FILE");
    if (!role.empty() || !jwt_file.empty()) {
      if (role.empty() || jwt_file.empty()) {
        return FailedPrecondition("Vault JWT auth needs both VAULT_ROLE and SIGNET_VAULT_JWT_FILE");
      }
      SIGNET_ASSIGN_OR_RETURN(Secret login, Login(role, jwt_file));
      token = std::move(login);
      return *token;
    }
    if (std::string home = cloud::EnvOrEmpty("HOME"); !home.empty()) {
      const std::string path = home + "/.vault-token";
      if (auto file = ReadSecretFile(path); file && !file->empty()) {
        token = std::move(*file);
        return *token;
      }
    }
    return FailedPrecondition(
        "no Vault token: set VAULT_TOKEN, or VAULT_ROLE and SIGNET_VAULT_JWT_FILE for JWT auth, "
        "or log in with the vault CLI (~/.vault-token)");
  }

  Result<Secret> Login(const std::string& role, const std::string& jwt_file) {
    std::string mount = cloud::EnvOrEmpty("SIGNET_VAULT_AUTH_MOUNT");
    if (mount.empty()) mount = "jwt";
    SIGNET_ASSIGN_OR_RETURN(Secret jwt,
                            cloud::ReadCredentialFile(jwt_file, "SIGNET_VAULT_JWT_FILE"));
    const std::string service =
        std::string(vault::kService) + " JWT login (auth/" + mount + ", role " + role + ")";
    Secret body = vault::JwtLoginBody(role, jwt);
    net::HttpRequest request{.method = "POST",
                             .url = addr + "/v1/auth/" + net::UrlEncode(mount, true) + "/login",
                             .headers = {{"Content-Type", "application/json"}},
                             .body = std::string(body.Reveal())};
    AddCommonHeaders(request);
    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response,
                            cloud::SendWiping(*http, std::move(request)));
    if (response.status < 200 || response.status > 299) {
      return std::unexpected(vault::ServiceError(service, response));
    }
    return vault::ParseLoginResponse(std::move(response.body));
  }

  // Sends an authenticated request; a non-2xx answer is an error.
  Result<net::HttpResponse> Call(std::string method, const std::string& path, std::string body) {
    SIGNET_RETURN_IF_ERROR(Configure());
    SIGNET_ASSIGN_OR_RETURN(Secret bearer, Token());
    net::HttpRequest request{.method = std::move(method),
                             .url = addr + "/v1/" + path,
                             .headers = {{"X-Vault-Token", std::string(bearer.Reveal())}},
                             .body = std::move(body)};
    if (request.method == "POST") request.headers.emplace_back("Content-Type", "application/json");
    AddCommonHeaders(request);
    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response,
                            cloud::SendWiping(*http, std::move(request)));
    if (response.status < 200 || response.status > 299) {
      return std::unexpected(vault::ServiceError(vault::kService, response));
    }
    return response;
  }
};

class VaultSigner final : public KeySigner {
 public:
  VaultSigner(std::shared_ptr<Session> session, KeyUri uri, KeyInfo key, CertificateChain chain)
      : session_(std::move(session)),
        uri_(std::move(uri)),
        key_(std::move(key)),
        chain_(std::move(chain)) {}

  [[nodiscard]] std::string uri() const override { return uri_.ToString(); }
  [[nodiscard]] const PublicKey& public_key() const override { return key_.public_key; }
  [[nodiscard]] const CertificateChain& certificate_chain() const override { return chain_; }

  Result<Bytes> Sign(const SignRequest& request) override {
    const SignatureAlgorithm& alg = request.algorithm;
    auto body = vault::SignRequestBody(key_, alg, request.digest);
    if (!body) return std::unexpected(body.error().WithContext(uri()));
    if (request.digest.size() != DigestSize(alg.digest)) {
      return InvalidArgument("a " + std::string(DigestName(alg.digest)) + " digest has " +
                             std::to_string(DigestSize(alg.digest)) + " bytes, not " +
                             std::to_string(request.digest.size()));
    }
    auto response = session_->Call("POST", uri_.mount + "/sign/" + uri_.name, std::move(*body));
    if (!response) return std::unexpected(response.error().WithContext("sign with " + uri()));
    auto parsed = vault::ParseSignResponse(response->body, key_);
    if (!parsed) return std::unexpected(parsed.error().WithContext("sign with " + uri()));
    Bytes signature = std::move(*parsed);
    if (!key_.public_key.VerifyDigest(alg, request.digest, signature)) {
      return Unavailable(std::string(vault::kService) + " returned a " +
                         SignatureAlgorithmName(alg) +
                         " signature that does not verify with the public key of " + uri() +
                         "; nothing was written");
    }
    return signature;
  }

 private:
  std::shared_ptr<Session> session_;
  KeyUri uri_;  // version pinned to key_.version
  KeyInfo key_;
  CertificateChain chain_;
};

class VaultBackend final : public KeyBackend {
 public:
  explicit VaultBackend(cloud::HttpClientFactory http_factory)
      : session_(std::make_shared<Session>()) {
    session_->http_factory = std::move(http_factory);
  }

  [[nodiscard]] std::string_view scheme() const override { return "hashivault"; }

  Result<std::unique_ptr<KeySigner>> Open(std::string_view uri_text,
                                          const KeyOptions& options) override {
    SIGNET_ASSIGN_OR_RETURN(KeyUri uri, vault::ParseKeyUri(uri_text));
    const std::string shown = uri.ToString();
    auto cached = session_->keys.find(shown);
    if (cached == session_->keys.end()) {
      auto response = session_->Call("GET", uri.mount + "/keys/" + uri.name, {});
      if (!response) return std::unexpected(response.error().WithContext("read key " + shown));
      SIGNET_ASSIGN_OR_RETURN(KeyInfo key, vault::ParseKeyResponse(response->body, uri));
      cached = session_->keys.emplace(shown, std::move(key)).first;
    }
    const KeyInfo& key = cached->second;
    auto chain = ResolveCertificateChain({}, options, key.public_key);
    if (!chain) return std::unexpected(chain.error().WithContext("certificate of " + shown));
    KeyUri pinned = uri;
    pinned.version = key.version;
    return std::unique_ptr<KeySigner>(
        std::make_unique<VaultSigner>(session_, std::move(pinned), key, std::move(*chain)));
  }

 private:
  std::shared_ptr<Session> session_;
};

}  // namespace

std::unique_ptr<KeyBackend> MakeVaultKeyBackend() {
  return MakeVaultKeyBackend(cloud::CurlHttpClientFactory());
}

std::unique_ptr<KeyBackend> MakeVaultKeyBackend(cloud::HttpClientFactory http_factory) {
  return std::make_unique<VaultBackend>(std::move(http_factory));
}

}  // namespace signet
