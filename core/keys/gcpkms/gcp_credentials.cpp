#include "keys/gcpkms/gcp_credentials.h"

#include <charconv>
#include <chrono>
#include <utility>
#include <vector>

#include "keys/cloud/jose.h"
#include "keys/gcpkms/gcpkms_api.h"

namespace signet::gcpkms {
namespace {

using cloud::Json;
using std::chrono::system_clock;

constexpr std::string_view kJwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr std::string_view kTokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr std::string_view kAccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

// The access token of a token endpoint's answer.
Result<cloud::AccessToken> ParseTokenAnswer(const net::HttpResponse& response,
                                            const std::string& service) {
  if (response.status < 200 || response.status > 299) {
    return std::unexpected(cloud::OAuthError(service, response));
  }
  SIGNET_ASSIGN_OR_RETURN(Json j, cloud::ParseJsonObject(response.body, service));
  auto token = cloud::TakeSecretMember(j, "access_token");
  if (!token) return Unavailable(service + ": the answer has no access_token");
  return cloud::AccessToken{std::move(*token), cloud::TokenExpiry(j, system_clock::now())};
}

Result<cloud::AccessToken> PostForm(
    net::HttpClient& http, const std::string& url, const std::string& service,
    const std::vector<std::pair<std::string_view, std::string_view>>& fields) {
  Secret body = cloud::FormEncode(fields);
  net::HttpRequest request{.method = "POST",
                           .url = url,
                           .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                                       {"Accept", "application/json"}},
                           .body = std::string(body.Reveal())};
  SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response, cloud::SendWiping(http, std::move(request)));
  auto token = ParseTokenAnswer(response, service);
  cloud::WipeString(response.body);
  return token;
}

class ServiceAccountCredential final : public cloud::TokenSource {
 public:
  explicit ServiceAccountCredential(ServiceAccountKey key) : key_(std::move(key)) {}

  [[nodiscard]] std::string Describe() const override {
    return "Google service account " + key_.client_email + " (GOOGLE_APPLICATION_CREDENTIALS)";
  }

  Result<cloud::AccessToken> Fetch(net::HttpClient& http) override {
    SIGNET_ASSIGN_OR_RETURN(Secret assertion,
                            ServiceAccountAssertion(key_, kKmsScope, std::time(nullptr)));
    return PostForm(http, key_.token_uri, "Google OAuth token endpoint (" + Describe() + ")",
                    {{"grant_type", kJwtBearerGrant}, {"assertion", assertion.Reveal()}});
  }

 private:
  ServiceAccountKey key_;
};

// Workload identity federation ("external_account" credential file).
class ExternalAccountCredential final : public cloud::TokenSource {
 public:
  struct Config {
    std::string path;  // the credential file, for messages
    std::string audience;
    std::string subject_token_type;
    std::string token_url;
    std::string impersonation_url;  // may be empty
    std::string source_file;        // credential_source.file, or
    std::string source_url;         // credential_source.url (+ headers)
    std::vector<std::pair<std::string, Secret>> source_headers;
    std::string field_name;  // format json: the subject token's member; empty: text
  };

  explicit ExternalAccountCredential(Config config) : config_(std::move(config)) {}

  [[nodiscard]] std::string Describe() const override {
    return "Google workload identity federation (external_account credential " + config_.path + ")";
  }

  Result<cloud::AccessToken> Fetch(net::HttpClient& http) override {
    SIGNET_ASSIGN_OR_RETURN(Secret subject, SubjectToken(http));
    SIGNET_ASSIGN_OR_RETURN(
        cloud::AccessToken federated,
        PostForm(http, config_.token_url, "Google STS token exchange (" + Describe() + ")",
                 {{"grant_type", kTokenExchangeGrant},
                  {"audience", config_.audience},
                  {"scope", kCloudPlatformScope},
                  {"requested_token_type", kAccessTokenType},
                  {"subject_token", subject.Reveal()},
                  {"subject_token_type", config_.subject_token_type}}));
    if (config_.impersonation_url.empty()) return federated;
    return Impersonate(http, federated.value);
  }

 private:
  Result<Secret> SubjectToken(net::HttpClient& http) {
    Secret raw;
    if (!config_.source_file.empty()) {
      SIGNET_ASSIGN_OR_RETURN(
          raw, cloud::ReadCredentialFile(config_.source_file, "credential_source.file"));
    } else {
      net::HttpRequest request{
          .method = "GET", .url = config_.source_url, .headers = {}, .body = {}};
      for (const auto& [name, value] : config_.source_headers) {
        request.headers.emplace_back(name, std::string(value.Reveal()));
      }
      const std::string service = "credential_source.url of " + config_.path;
      SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response,
                              cloud::SendWiping(http, std::move(request)));
      if (response.status < 200 || response.status > 299) {
        cloud::WipeString(response.body);
        return std::unexpected(net::HttpStatusError(service, response.status, "", ""));
      }
      raw = Secret(std::move(response.body));
    }
    if (config_.field_name.empty()) return raw;
    Json j = Json::parse(raw.Reveal(), nullptr, /*allow_exceptions=*/false);
    auto token = cloud::TakeSecretMember(j, config_.field_name);
    if (!token) {
      return FailedPrecondition(config_.path + ": the subject token source is not JSON with a '" +
                                config_.field_name + "' string (credential_source.format)");
    }
    return std::move(*token);
  }

  // IAM Credentials generateAccessToken with the federated token.
  Result<cloud::AccessToken> Impersonate(net::HttpClient& http, const Secret& federated) {
    const std::string service = "Google IAM Credentials generateAccessToken (" + Describe() + ")";
    Json body = {{"scope", Json::array({std::string(kCloudPlatformScope)})}, {"lifetime", "3600s"}};
    net::HttpRequest request{.method = "POST",
                             .url = config_.impersonation_url,
                             .headers = {cloud::BearerHeader(federated),
                                         {"Content-Type", "application/json"},
                                         {"Accept", "application/json"}},
                             .body = body.dump()};
    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response,
                            cloud::SendWiping(http, std::move(request)));
    if (response.status < 200 || response.status > 299) {
      return std::unexpected(ServiceError(service, response));
    }
    auto j = cloud::ParseJsonObject(response.body, service);
    cloud::WipeString(response.body);
    if (!j) return std::unexpected(j.error());
    auto token = cloud::TakeSecretMember(*j, "accessToken");
    if (!token) return Unavailable(service + ": the answer has no accessToken");
    auto expires = ParseRfc3339(cloud::StringMember(*j, "expireTime").value_or(""));
    return cloud::AccessToken{std::move(*token),
                              expires ? system_clock::from_time_t(*expires)
                                      : system_clock::now() + std::chrono::minutes(5)};
  }

  Config config_;
};

class MetadataCredential final : public cloud::TokenSource {
 public:
  MetadataCredential(std::string host, std::unique_ptr<net::HttpClient> own_http)
      : host_(std::move(host)), own_http_(std::move(own_http)) {}

  [[nodiscard]] std::string Describe() const override { return "GCE metadata server " + host_; }

  Result<cloud::AccessToken> Fetch(net::HttpClient& http) override {
    net::HttpRequest request{
        .method = "GET",
        .url = "http://" + host_ + "/computeMetadata/v1/instance/service-accounts/default/token",
        .headers = {{"Metadata-Flavor", "Google"}},
        .body = {}};
    net::HttpClient& client = own_http_ ? *own_http_ : http;
    auto response = cloud::SendWiping(client, std::move(request));
    if (!response) {
      return std::unexpected(response.error().WithContext(
          Describe() +
          " (no credential file: set GOOGLE_APPLICATION_CREDENTIALS to a service "
          "account or external_account JSON file)"));
    }
    if (response->status >= 200 && response->status <= 299 &&
        response->Header("metadata-flavor") != "Google") {
      return Unavailable(Describe() +
                         ": the answer lacks 'Metadata-Flavor: Google' (not a "
                         "metadata server)");
    }
    auto token = ParseTokenAnswer(*response, Describe());
    cloud::WipeString(response->body);
    return token;
  }

 private:
  std::string host_;
  std::unique_ptr<net::HttpClient> own_http_;
};

Result<std::unique_ptr<cloud::TokenSource>> ExternalAccount(const Json& j,
                                                            const std::string& path) {
  ExternalAccountCredential::Config config;
  config.path = path;
  config.audience = cloud::StringMember(j, "audience").value_or("");
  config.subject_token_type = cloud::StringMember(j, "subject_token_type").value_or("");
  config.token_url = cloud::StringMember(j, "token_url").value_or("");
  config.impersonation_url =
      cloud::StringMember(j, "service_account_impersonation_url").value_or("");
  if (config.audience.empty() || config.subject_token_type.empty() || config.token_url.empty()) {
    return FailedPrecondition(path +
                              ": an external_account credential needs audience, "
                              "subject_token_type and token_url");
  }
  const Json* source = cloud::Member(j, "credential_source");
  if (source == nullptr || !source->is_object()) {
    return FailedPrecondition(path + ": the external_account credential has no credential_source");
  }
  config.source_file = cloud::StringMember(*source, "file").value_or("");
  config.source_url = cloud::StringMember(*source, "url").value_or("");
  if (config.source_file.empty() == config.source_url.empty()) {
    return FailedPrecondition(path +
                              ": credential_source must have either 'file' or 'url' (AWS "
                              "and executable sources are not supported)");
  }
  if (const Json* headers = cloud::Member(*source, "headers"); headers && headers->is_object()) {
    for (const auto& [name, value] : headers->items()) {
      if (!value.is_string()) {
        return FailedPrecondition(path + ": credential_source.headers must be strings");
      }
      config.source_headers.emplace_back(name, Secret(value.get<std::string>()));
    }
  }
  if (const Json* format = cloud::Member(*source, "format")) {
    std::string type = cloud::StringMember(*format, "type").value_or("text");
    if (type == "json") {
      config.field_name = cloud::StringMember(*format, "subject_token_field_name").value_or("");
      if (config.field_name.empty()) {
        return FailedPrecondition(path +
                                  ": credential_source.format json needs "
                                  "subject_token_field_name");
      }
    } else if (type != "text") {
      return FailedPrecondition(path + ": credential_source.format.type must be text or json");
    }
  }
  return std::unique_ptr<cloud::TokenSource>(
      std::make_unique<ExternalAccountCredential>(std::move(config)));
}

}  // namespace

Result<ServiceAccountKey> ParseServiceAccountKey(Json& json, std::string_view path) {
  ServiceAccountKey key;
  key.client_email = cloud::StringMember(json, "client_email").value_or("");
  key.private_key_id = cloud::StringMember(json, "private_key_id").value_or("");
  key.token_uri = cloud::StringMember(json, "token_uri").value_or(std::string(kDefaultTokenUri));
  auto pem = cloud::TakeSecretMember(json, "private_key");
  if (key.client_email.empty() || !pem) {
    return FailedPrecondition(std::string(path) +
                              ": a service_account credential needs client_email and private_key");
  }
  key.private_key_pem = std::move(*pem);
  return key;
}

Result<Secret> ServiceAccountAssertion(const ServiceAccountKey& key, std::string_view scope,
                                       std::time_t now) {
  SIGNET_ASSIGN_OR_RETURN(EvpPkeyPtr pkey,
                          cloud::PrivateKeyFromPem(key.private_key_pem, "the service account key"));
  Json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key.private_key_id.empty()) header["kid"] = key.private_key_id;
  const auto t = static_cast<std::int64_t>(now);
  Json claims = {{"iss", key.client_email},
                 {"scope", std::string(scope)},
                 {"aud", key.token_uri},
                 {"iat", t},
                 {"exp", t + 3600}};
  return cloud::SignJwtRs256(header.dump(), claims.dump(), pkey.get());
}

std::optional<std::time_t> ParseRfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  auto number = [&](std::size_t at, std::size_t digits) -> std::optional<int> {
    int v = 0;
    if (at + digits > text.size()) return std::nullopt;
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + digits, v);
    if (ec != std::errc() || end != text.data() + at + digits) return std::nullopt;
    return v;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  auto year = number(0, 4);
  auto month = number(5, 2);
  auto day = number(8, 2);
  auto hour = number(11, 2);
  auto minute = number(14, 2);
  auto second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(19);
  if (rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  if (rest != "Z") return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return timegm(&tm);
}

Result<std::unique_ptr<cloud::TokenSource>> CredentialFromEnvironment(
    const cloud::HttpClientFactory& http_factory) {
  const std::string path = cloud::EnvOrEmpty("GOOGLE_APPLICATION_CREDENTIALS");
  if (!path.empty()) {
    SIGNET_ASSIGN_OR_RETURN(Secret content,
                            cloud::ReadCredentialFile(path, "GOOGLE_APPLICATION_CREDENTIALS"));
    Json j = Json::parse(content.Reveal(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return FailedPrecondition("GOOGLE_APPLICATION_CREDENTIALS " + path + " is not a JSON object");
    }
    const std::string type = cloud::StringMember(j, "type").value_or("");
    if (type == "service_account") {
      SIGNET_ASSIGN_OR_RETURN(ServiceAccountKey key, ParseServiceAccountKey(j, path));
      auto pkey = cloud::PrivateKeyFromPem(key.private_key_pem, path);
      if (!pkey) return FailedPrecondition(pkey.error().message);
      if (EVP_PKEY_get_base_id(pkey->get()) != EVP_PKEY_RSA) {
        return FailedPrecondition(path + ": the service account key is not an RSA key");
      }
      return std::unique_ptr<cloud::TokenSource>(
          std::make_unique<ServiceAccountCredential>(std::move(key)));
    }
    if (type == "external_account") return ExternalAccount(j, path);
    return FailedPrecondition("GOOGLE_APPLICATION_CREDENTIALS " + path + " has type '" +
                              type.substr(0, 40) +
                              "'; signet supports service_account and external_account");
  }
  std::string host = cloud::EnvOrEmpty("GCE_METADATA_HOST");
  if (host.empty()) host = kDefaultMetadataHost;
  // Probed when nothing else is configured: off Google Cloud, a short connect
  // timeout and few attempts make that a quick failure.
  net::HttpOptions options;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.retry.max_attempts = 2;
  // The metadata server speaks plain http on a link-local address.
  options.plain_http_hosts = {std::string(kDefaultMetadataHost), "169.254.169.254"};
  options = net::HttpOptionsFromEnv(options);
  return std::unique_ptr<cloud::TokenSource>(
      std::make_unique<MetadataCredential>(std::move(host), http_factory(options)));
}

}  // namespace signet::gcpkms
