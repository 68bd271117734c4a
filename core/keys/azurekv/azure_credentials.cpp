#include "keys/azurekv/azure_credentials.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "keys/cloud/jose.h"

namespace signet::azurekv {
namespace {

using cloud::Json;

constexpr std::string_view kAssertionType =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

bool IdChars(std::string_view s) {
  return !s.empty() && s.size() <= 256 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
  });
}

// The access token of a successful token answer.
Result<cloud::AccessToken> ParseTokenAnswer(const net::HttpResponse& response,
                                            const std::string& service) {
  if (response.status < 200 || response.status > 299) {
    return std::unexpected(cloud::OAuthError(service, response));
  }
  SIGNET_ASSIGN_OR_RETURN(Json j, cloud::ParseJsonObject(response.body, service));
  auto token = cloud::TakeSecretMember(j, "access_token");
  if (!token) return Unavailable(service + ": the answer has no access_token");
  return cloud::AccessToken{std::move(*token),
                            cloud::TokenExpiry(j, std::chrono::system_clock::now())};
}

// Client credentials grant (RFC 6749 section 4.4) at the tenant's v2.0 token
// endpoint, authenticated by a secret or a client assertion.
class ClientCredential final : public cloud::TokenSource {
 public:
  enum class Kind { kSecret, kCertificate, kFederated };

  ClientCredential(Kind kind, std::string endpoint, std::string client_id, std::string scope)
      : kind_(kind),
        endpoint_(std::move(endpoint)),
        client_id_(std::move(client_id)),
        scope_(std::move(scope)) {}

  void SetSecret(Secret secret) { secret_ = std::move(secret); }
  void SetCertificate(Certificate certificate, EvpPkeyPtr key) {
    certificate_ = std::move(certificate);
    key_ = std::move(key);
  }
  void SetTokenFile(std::string path) { token_file_ = std::move(path); }

  [[nodiscard]] std::string Describe() const override {
    switch (kind_) {
      case Kind::kSecret:
        return "Azure client secret credential (AZURE_CLIENT_SECRET)";
      case Kind::kCertificate:
        return "Azure client certificate credential (AZURE_CLIENT_CERTIFICATE_PATH)";
      case Kind::kFederated:
        return "Azure workload identity credential (AZURE_FEDERATED_TOKEN_FILE)";
    }
    return "Azure credential";
  }

  Result<cloud::AccessToken> Fetch(net::HttpClient& http) override {
    std::vector<std::pair<std::string_view, std::string_view>> fields = {
        {"grant_type", "client_credentials"}, {"client_id", client_id_}, {"scope", scope_}};
    Secret assertion;
    switch (kind_) {
      case Kind::kSecret:
        fields.emplace_back("client_secret", secret_.Reveal());
        break;
      case Kind::kCertificate: {
        SIGNET_ASSIGN_OR_RETURN(std::string jti, cloud::RandomUuid());
        SIGNET_ASSIGN_OR_RETURN(
            assertion, CertificateAssertion(*certificate_, key_.get(), client_id_, endpoint_,
                                            std::time(nullptr), jti));
        fields.emplace_back("client_assertion_type", kAssertionType);
        fields.emplace_back("client_assertion", assertion.Reveal());
        break;
      }
      case Kind::kFederated: {
        // Read at every fetch: the platform rotates the file.
        SIGNET_ASSIGN_OR_RETURN(
            assertion, cloud::ReadCredentialFile(token_file_, "AZURE_FEDERATED_TOKEN_FILE"));
        fields.emplace_back("client_assertion_type", kAssertionType);
        fields.emplace_back("client_assertion", assertion.Reveal());
        break;
      }
    }
    Secret body = cloud::FormEncode(fields);
    net::HttpRequest request{.method = "POST",
                             .url = endpoint_,
                             .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                                         {"Accept", "application/json"}},
                             .body = std::string(body.Reveal())};
    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response,
                            cloud::SendWiping(http, std::move(request)));
    auto token = ParseTokenAnswer(response, "Azure AD token endpoint (" + Describe() + ")");
    cloud::WipeString(response.body);
    return token;
  }

 private:
  Kind kind_;
  std::string endpoint_;
  std::string client_id_;
  std::string scope_;
  Secret secret_;
  std::optional<Certificate> certificate_;
  EvpPkeyPtr key_;
  std::string token_file_;
};

// Managed identity: the App Service style endpoint (IDENTITY_ENDPOINT with
// the X-IDENTITY-HEADER secret, api-version 2019-08-01) or IMDS (Metadata:
// true, api-version 2018-02-01).
class ManagedIdentityCredential final : public cloud::TokenSource {
 public:
  ManagedIdentityCredential(std::string url, std::optional<Secret> identity_header,
                            std::unique_ptr<net::HttpClient> own_http)
      : url_(std::move(url)),
        identity_header_(std::move(identity_header)),
        own_http_(std::move(own_http)) {}

  [[nodiscard]] std::string Describe() const override {
    return identity_header_ ? "Azure managed identity (IDENTITY_ENDPOINT)"
                            : "Azure managed identity (instance metadata service)";
  }

  Result<cloud::AccessToken> Fetch(net::HttpClient& http) override {
    net::HttpRequest request{.method = "GET", .url = url_, .headers = {}, .body = {}};
    if (identity_header_) {
      request.headers.emplace_back("X-IDENTITY-HEADER", std::string(identity_header_->Reveal()));
    } else {
      request.headers.emplace_back("Metadata", "true");
    }
    net::HttpClient& client = own_http_ ? *own_http_ : http;
    auto response = cloud::SendWiping(client, std::move(request));
    if (!response) {
      return std::unexpected(response.error().WithContext(
          Describe() +
          " (no other Azure credential is configured: set AZURE_TENANT_ID, "
          "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH "
          "or AZURE_FEDERATED_TOKEN_FILE)"));
    }
    auto token = ParseTokenAnswer(*response, Describe());
    cloud::WipeString(response->body);
    return token;
  }

 private:
  std::string url_;
  std::optional<Secret> identity_header_;
  std::unique_ptr<net::HttpClient> own_http_;
};

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Result<std::string> TokenEndpoint(std::string_view authority_host, std::string_view tenant) {
  if (!IdChars(tenant)) {
    return FailedPrecondition("AZURE_TENANT_ID must be a tenant id (GUID) or domain name");
  }
  std::string authority = TrimSlash(std::string(authority_host));
  if (!authority.starts_with("https://") && !authority.starts_with("http://")) {
    return FailedPrecondition("AZURE_AUTHORITY_HOST must be an https:// URL");
  }
  return authority + "/" + std::string(tenant) + "/oauth2/v2.0/token";
}

Result<Secret> CertificateAssertion(const Certificate& certificate, EVP_PKEY* key,
                                    std::string_view client_id, std::string_view token_endpoint,
                                    std::time_t now, std::string_view jti) {
  unsigned char sha1[EVP_MAX_MD_SIZE];
  unsigned int sha1_len = 0;
  if (X509_digest(certificate.x509(), EVP_sha1(), sha1, &sha1_len) != 1) {
    return Internal("cannot compute the certificate thumbprint: " + OpenSslErrors());
  }
  Json header = {
      {"alg", "RS256"}, {"typ", "JWT"}, {"x5t", Base64UrlEncode(ByteView(sha1, sha1_len))}};
  const auto t = static_cast<std::int64_t>(now);
  Json claims = {{"aud", std::string(token_endpoint)},
                 {"iss", std::string(client_id)},
                 {"sub", std::string(client_id)},
                 {"jti", std::string(jti)},
                 {"nbf", t},
                 {"iat", t},
                 {"exp", t + 600}};
  return cloud::SignJwtRs256(header.dump(), claims.dump(), key);
}

Result<std::unique_ptr<cloud::TokenSource>> CredentialFromEnvironment(
    const std::string& resource, const cloud::HttpClientFactory& http_factory) {
  const std::string scope = resource + "/.default";
  const std::string tenant = cloud::EnvOrEmpty("AZURE_TENANT_ID");
  const std::string client_id = cloud::EnvOrEmpty("AZURE_CLIENT_ID");
  const std::string certificate_path = cloud::EnvOrEmpty("AZURE_CLIENT_CERTIFICATE_PATH");
  const std::string token_file = cloud::EnvOrEmpty("AZURE_FEDERATED_TOKEN_FILE");
  Secret client_secret = SecretFromEnv("AZURE_CLIENT_SECRET");
  std::string authority = cloud::EnvOrEmpty("AZURE_AUTHORITY_HOST");
  if (authority.empty()) authority = kDefaultAuthorityHost;

  using Kind = ClientCredential::Kind;
  std::optional<Kind> kind;
  if (!client_secret.empty()) {
    kind = Kind::kSecret;
  } else if (!certificate_path.empty()) {
    kind = Kind::kCertificate;
  } else if (!token_file.empty()) {
    kind = Kind::kFederated;
  }
  if (kind) {
    const char* what = *kind == Kind::kSecret        ? "AZURE_CLIENT_SECRET"
                       : *kind == Kind::kCertificate ? "AZURE_CLIENT_CERTIFICATE_PATH"
                                                     : "AZURE_FEDERATED_TOKEN_FILE";
    if (tenant.empty() || client_id.empty()) {
      return FailedPrecondition(std::string(what) +
                                " is set: AZURE_TENANT_ID and AZURE_CLIENT_ID are needed too");
    }
    if (!IdChars(client_id)) return FailedPrecondition("AZURE_CLIENT_ID must be an application id");
    SIGNET_ASSIGN_OR_RETURN(std::string endpoint, TokenEndpoint(authority, tenant));
    auto credential = std::make_unique<ClientCredential>(*kind, endpoint, client_id, scope);
    if (*kind == Kind::kSecret) {
      credential->SetSecret(std::move(client_secret));
    } else if (*kind == Kind::kCertificate) {
      if (!SecretFromEnv("AZURE_CLIENT_CERTIFICATE_PASSWORD").empty()) {
        return FailedPrecondition(
            "AZURE_CLIENT_CERTIFICATE_PASSWORD is set, but signet reads only unencrypted PEM "
            "certificate files (AZURE_CLIENT_CERTIFICATE_PATH)");
      }
      SIGNET_ASSIGN_OR_RETURN(
          Secret pem, cloud::ReadCredentialFile(certificate_path, "AZURE_CLIENT_CERTIFICATE_PATH"));
      const std::string what_file = "AZURE_CLIENT_CERTIFICATE_PATH " + certificate_path;
      if (pem.Reveal().find("-----BEGIN") == std::string_view::npos) {
        return FailedPrecondition(what_file +
                                  " is not PEM (a PKCS#12/PFX file must be converted: openssl "
                                  "pkcs12 -in FILE.pfx -nodes -out FILE.pem)");
      }
      SIGNET_ASSIGN_OR_RETURN(EvpPkeyPtr key, cloud::PrivateKeyFromPem(pem, what_file));
      auto chain = ParseCertificateChainPem(AsBytes(pem.Reveal()));
      if (!chain) return FailedPrecondition(what_file + " holds no certificate");
      auto public_key = PublicKey::FromEvp(key.get());
      if (!public_key) return FailedPrecondition(what_file + ": " + public_key.error().message);
      auto ordered = OrderChainForKey(std::move(*chain), *public_key);
      if (!ordered) {
        return FailedPrecondition(what_file + " holds no certificate for its private key");
      }
      if (public_key->type() != KeyType::kRsa) {
        return FailedPrecondition(what_file + ": Azure AD certificate credentials need an RSA key");
      }
      credential->SetCertificate(ordered->front(), std::move(key));
    } else {
      credential->SetTokenFile(token_file);
    }
    return std::unique_ptr<cloud::TokenSource>(std::move(credential));
  }

  // Managed identity.
  const std::string client_query =
      client_id.empty() ? "" : "&client_id=" + net::UrlEncode(client_id);
  const std::string identity_endpoint = cloud::EnvOrEmpty("IDENTITY_ENDPOINT");
  if (!identity_endpoint.empty()) {
    Secret identity_header = SecretFromEnv("IDENTITY_HEADER");
    if (identity_header.empty()) {
      return FailedPrecondition(
          "IDENTITY_ENDPOINT is set without IDENTITY_HEADER (Azure Arc managed identity is not "
          "supported; use a service principal)");
    }
    std::string url = identity_endpoint +
                      (identity_endpoint.find('?') == std::string::npos ? "?" : "&") +
                      "api-version=2019-08-01&resource=" + net::UrlEncode(resource) + client_query;
    return std::unique_ptr<cloud::TokenSource>(std::make_unique<ManagedIdentityCredential>(
        std::move(url), std::move(identity_header), nullptr));
  }
  std::string imds = cloud::EnvOrEmpty("AZURE_POD_IDENTITY_AUTHORITY_HOST");
  if (imds.empty()) imds = kDefaultImdsHost;
  std::string url = TrimSlash(imds) +
                    "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" +
                    net::UrlEncode(resource) + client_query;
  // IMDS is probed when nothing else is configured: off Azure, a short connect
  // timeout and few attempts make that a quick failure.
  net::HttpOptions options;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.retry.max_attempts = 2;
  options.plain_http_hosts = {std::string(kImdsAddress)};
  options = net::HttpOptionsFromEnv(options);
  return std::unique_ptr<cloud::TokenSource>(std::make_unique<ManagedIdentityCredential>(
      std::move(url), std::nullopt, http_factory(options)));
}

}  // namespace signet::azurekv
