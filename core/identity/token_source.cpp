#include "identity/token_source.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "identity/jwt.h"

namespace signet::identity {

namespace {

using Getenv = std::function<std::optional<std::string>(const std::string&)>;

std::optional<std::string> SystemGetenv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// A variable's value with surrounding whitespace removed, as a Secret;
// empty when unset or blank.
Secret EnvSecret(const Getenv& getenv, const std::string& name) {
  auto v = getenv(name);
  if (!v) return Secret();
  std::string value = std::move(*v);
  std::size_t begin = value.find_first_not_of(" \t\r\n");
  std::size_t end = value.find_last_not_of(" \t\r\n");
  Secret out(begin == std::string::npos ? std::string() : value.substr(begin, end - begin + 1));
  Secret wipe(std::move(value));  // wipes the copy we read
  return out;
}

bool IsSet(const Getenv& getenv, const std::string& name) {
  auto v = getenv(name);
  bool set = v && !v->empty();
  if (v) Secret wipe(std::move(*v));  // the value may be a credential
  return set;
}

Result<FoundToken> Found(Secret token, std::string source) {
  if (token.Reveal().size() > kMaxTokenSize) {
    return InvalidArgument("the token from " + source + " is larger than 16 KiB");
  }
  return FoundToken{std::move(token), std::move(source)};
}

// The string member `name` of a JSON answer from a CI token endpoint.
Result<Secret> TokenFromAnswer(net::HttpResponse& response, const char* name,
                               std::string_view service) {
  Secret body(std::move(response.body));  // the body holds the token: wiped with this
  auto doc = nlohmann::json::parse(body.Reveal(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains(name) ||
      !(*doc.find(name)).is_string()) {
    return Unavailable(std::string(service) + " answered without a \"" + name + "\" token");
  }
  auto& value = doc[name].get_ref<std::string&>();
  Secret token(std::move(value));
  if (token.empty()) return Unavailable(std::string(service) + " answered with an empty token");
  return token;
}

std::string WithQuery(std::string url, std::string_view query) {
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += query;
  return url;
}

Result<FoundToken> FromGithub(const Getenv& getenv, const TokenSourceOptions& options,
                              net::HttpClient& http) {
  constexpr std::string_view kService = "GitHub Actions OIDC token endpoint";
  std::string url = getenv("ACTIONS_ID_TOKEN_REQUEST_URL").value_or("");
  Secret request_token = EnvSecret(getenv, "ACTIONS_ID_TOKEN_REQUEST_TOKEN");
  if (!options.audience.empty()) {
    url = WithQuery(url, "audience=" + net::UrlEncode(options.audience));
  }
  net::HttpRequest request;
  request.url = url;
  request.headers.emplace_back("Authorization", "bearer " + std::string(request_token.Reveal()));
  request.headers.emplace_back("Accept", "application/json");
  auto response = http.Send(request);
  Secret header(std::move(request.headers[0].second));  // wipes the copy of the request token
  if (!response) return std::unexpected(response.error().WithContext(std::string(kService)));
  if (response->status != 200) {
    Secret body(std::move(response->body));
    return std::unexpected(net::HttpStatusError(kService, response->status, "", ""));
  }
  SIGNET_ASSIGN_OR_RETURN(Secret token, TokenFromAnswer(*response, "value", kService));
  return Found(std::move(token), "github-actions");
}

Result<FoundToken> FromAzure(const Getenv& getenv, net::HttpClient& http) {
  constexpr std::string_view kService = "Azure Pipelines OIDC token endpoint";
  std::string uri = getenv("SYSTEM_OIDCREQUESTURI").value_or("");
  Secret access_token = EnvSecret(getenv, "SYSTEM_ACCESSTOKEN");
  net::HttpRequest request;
  request.method = "POST";
  request.url = WithQuery(uri, "api-version=7.1-preview.1");
  request.headers.emplace_back("Authorization", "Bearer " + std::string(access_token.Reveal()));
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("Accept", "application/json");
  // Ask for a status code rather than a redirect to a sign-in page.
  request.headers.emplace_back("X-TFS-FedAuthRedirect", "Suppress");
  auto response = http.Send(request);
  Secret header(std::move(request.headers[0].second));
  if (!response) return std::unexpected(response.error().WithContext(std::string(kService)));
  if (response->status != 200) {
    Secret body(std::move(response->body));
    return std::unexpected(net::HttpStatusError(kService, response->status, "", ""));
  }
  SIGNET_ASSIGN_OR_RETURN(Secret token, TokenFromAnswer(*response, "oidcToken", kService));
  return Found(std::move(token), "azure-pipelines");
}

}  // namespace

Result<FoundToken> FindToken(const TokenSourceOptions& options, net::HttpClient& http) {
  const Getenv getenv = options.getenv ? options.getenv : Getenv(SystemGetenv);

  // 1. --token-file: explicit, so a problem with it is an error, not a fall-through.
  if (!options.token_file.empty()) {
    auto secret = ReadSecretFile(options.token_file);
    if (!secret) return std::unexpected(secret.error().WithContext("--token-file"));
    if (secret->empty()) {
      return InvalidArgument("--token-file " + options.token_file + " is empty");
    }
    return Found(std::move(*secret), "--token-file");
  }
  // 2. SIGNET_TOKEN
  if (Secret token = EnvSecret(getenv, "SIGNET_TOKEN"); !token.empty()) {
    return Found(std::move(token), "SIGNET_TOKEN");
  }
  // 3. GitHub Actions (the job needs "permissions: id-token: write").
  bool github_url = IsSet(getenv, "ACTIONS_ID_TOKEN_REQUEST_URL");
  bool github_token = IsSet(getenv, "ACTIONS_ID_TOKEN_REQUEST_TOKEN");
  if (github_url && github_token) return FromGithub(getenv, options, http);
  // 4. GitLab CI id_tokens
  const std::string& gitlab_var =
      options.gitlab_variable.empty() ? std::string("SIGNET_ID_TOKEN") : options.gitlab_variable;
  if (Secret token = EnvSecret(getenv, gitlab_var); !token.empty()) {
    return Found(std::move(token), "gitlab");
  }
  // 5. Azure Pipelines (SYSTEM_ACCESSTOKEN must be mapped into the step's env).
  bool azure_uri = IsSet(getenv, "SYSTEM_OIDCREQUESTURI");
  bool azure_token = IsSet(getenv, "SYSTEM_ACCESSTOKEN");
  if (azure_uri && azure_token) return FromAzure(getenv, http);

  std::string looked =
      "no identity token found; looked at --token-file (not given), SIGNET_TOKEN (unset), "
      "ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN (";
  looked += github_url ? "token unset: give the job 'permissions: id-token: write'"
                       : (github_token ? "URL unset" : "unset");
  looked += "), " + gitlab_var + " (unset: declare it under id_tokens), ";
  looked += "SYSTEM_OIDCREQUESTURI + SYSTEM_ACCESSTOKEN (";
  looked += azure_uri ? "SYSTEM_ACCESSTOKEN unset: map it into the step's env"
                      : (azure_token ? "SYSTEM_OIDCREQUESTURI unset" : "unset");
  looked += ")";
  return FailedPrecondition(std::move(looked));
}

}  // namespace signet::identity
