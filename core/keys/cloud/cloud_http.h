// Plumbing shared by the cloud key backends (azurekv:, gcpkms:, hashivault:):
// the HTTP client factory that unit tests replace, JSON access that never
// throws, OAuth form bodies and error answers, access-token caching, and
// wiping of the buffers that carried credentials.
//
// Credentials (client secrets, assertions, bearer tokens) travel as Secret;
// they enter a request body or header only inside SendWiping(), which wipes
// the request after it is sent, and leave a response only through
// TakeSecretMember(), which wipes the JSON's copy.
//
// Thread-safety: free functions are thread-safe; a TokenCache and the
// TokenSource it owns are used from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/secret.h"
#include "net/http_client.h"

namespace signet::cloud {

using Json = nlohmann::json;

// Makes the HTTP client a backend sends its requests with.
using HttpClientFactory =
    std::function<std::unique_ptr<net::HttpClient>(const net::HttpOptions& options)>;
// net::MakeCurlHttpClient.
HttpClientFactory CurlHttpClientFactory();

// The value of environment variable `name`, "" when unset. Not for secrets
// (use SecretFromEnv).
std::string EnvOrEmpty(const char* name);

// Zeroes the buffer of `s` (all of its capacity) and empties it.
void WipeString(std::string& s);

// Sends `request` with `http`, then wipes its body and header values (they
// may hold a client secret, an assertion or a bearer token).
Result<net::HttpResponse> SendWiping(net::HttpClient& http, net::HttpRequest request);

// The whole content of a credential file (a private key PEM, a federated
// token), trailing whitespace removed. Errors name the file (and `what`),
// never the content.
Result<Secret> ReadCredentialFile(const std::string& path, std::string_view what);

// "Authorization: Bearer TOKEN".
std::pair<std::string, std::string> BearerHeader(const Secret& token);

// ---- JSON ----

// Parses `body` as a JSON object. Anything else is the service misbehaving
// (a proxy's HTML page, a truncated answer): kUnavailable naming `what`.
Result<Json> ParseJsonObject(std::string_view body, std::string_view what);
// Member access that never throws: nullptr/nullopt when `obj` is not an
// object, or the member is absent or of another type.
const Json* Member(const Json& obj, std::string_view key);
std::optional<std::string> StringMember(const Json& obj, std::string_view key);
// An integer written as a JSON number or as a decimal string (the proto3 JSON
// mapping writes int64 as a string).
std::optional<std::int64_t> IntegerMember(const Json& obj, std::string_view key);
std::optional<bool> BoolMember(const Json& obj, std::string_view key);
// Moves the string member `key` into a Secret and wipes the JSON's copy;
// nullopt when absent, not a string or empty.
std::optional<Secret> TakeSecretMember(Json& obj, std::string_view key);

// ---- OAuth 2.0 ----

// An application/x-www-form-urlencoded body (RFC 6749 appendix B). Values may
// be credentials, so the body is a Secret.
Secret FormEncode(const std::vector<std::pair<std::string_view, std::string_view>>& fields);

// The error for a token endpoint's non-2xx answer: the OAuth "error" and
// "error_description" (RFC 6749 section 5.2) when the body has them.
Error OAuthError(std::string_view service, const net::HttpResponse& response);

// An access token and when it stops working.
struct AccessToken {
  Secret value;
  std::chrono::system_clock::time_point expires_at;
};

// The expiry a token response states: "expires_in" (seconds; number or
// string), else "expires_on" (Unix time; number or string), else `now` plus
// five minutes.
std::chrono::system_clock::time_point TokenExpiry(const Json& response,
                                                  std::chrono::system_clock::time_point now);

// A credential flow that yields bearer tokens.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // What the flow is, for error messages ("Azure client secret credential
  // (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET)"). No secret.
  [[nodiscard]] virtual std::string Describe() const = 0;
  virtual Result<AccessToken> Fetch(net::HttpClient& http) = 0;
};

// Hands out the token of a source, fetching a new one when none is cached or
// the cached one expires within a minute.
class TokenCache {
 public:
  explicit TokenCache(std::unique_ptr<TokenSource> source) : source_(std::move(source)) {}
  Result<Secret> Get(net::HttpClient& http);
  [[nodiscard]] std::string Describe() const { return source_->Describe(); }

 private:
  std::unique_ptr<TokenSource> source_;
  std::optional<AccessToken> token_;
};

}  // namespace signet::cloud
