// Validation of CI OIDC identity tokens (JWTs, RFC 7519) against configured
// issuers: discovery document and JWKS fetched over HTTPS (core/net), cached,
// refetched on an unknown kid (at most once per minimum interval); signature
// checked with an algorithm allow-list (RS256, ES256 only: `none`, HS*, and
// an alg that does not match the key's type are refused); iss, aud, exp,
// nbf, iat checked with a small clock skew; optional jti replay cache.
//
// Errors are kPermissionDenied with a short reason safe to return to the
// caller and to audit ("token expired", "unknown issuer ...", "bad
// signature"); they never contain the token.
//
// Thread-safety: Validate may be called from many threads at once.
#pragma once

#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"
#include "identity/identity.h"
#include "net/http_client.h"

namespace signet::identity {

struct IssuerConfig {
  std::string issuer;                  // exact iss, e.g. https://token.actions.githubusercontent.com
  std::vector<std::string> audiences;  // aud must contain one of these (required, non-empty)
  std::string ci = "oidc";             // claim vocabulary: github, gitlab, azure, jenkins, oidc
  std::string jwks_uri;                // empty: from {issuer}/.well-known/openid-configuration
  std::string ca_bundle;               // PEM CA file for the issuer's TLS; empty: system store
  std::chrono::seconds clock_skew{60};
  std::chrono::seconds max_lifetime{24 * 3600};  // exp - iat (or now) may not exceed this
  bool require_jti = false;                      // replay cache: each jti accepted once

  // Parses one entry of the server config's "issuers" array:
  // {"issuer": "...", "audience": "..." | ["..."], "ci": "github", "jwks_uri": "...",
  //  "ca_bundle": "...", "clock_skew_seconds": 60, "replay_protection": true}
  static Result<IssuerConfig> FromJson(const nlohmann::json& j);
};

// The decoded parts of a JWT, unverified (for `signet policy test` and
// diagnostics). kInvalidArgument when it is not three base64url JSON parts.
struct DecodedJwt {
  nlohmann::json header;
  nlohmann::json payload;
};
Result<DecodedJwt> DecodeJwtUnverified(std::string_view token);

class JwtValidator {
 public:
  using Clock = std::function<std::time_t()>;
  // `http` fetches discovery documents and JWKS (HTTPS; loopback http only
  // in tests). `clock` defaults to time(nullptr).
  JwtValidator(std::vector<IssuerConfig> issuers, std::unique_ptr<net::HttpClient> http,
               Clock clock = {});
  ~JwtValidator();
  JwtValidator(const JwtValidator&) = delete;
  JwtValidator& operator=(const JwtValidator&) = delete;

  // Verifies the token and returns its identity (claims normalised per the
  // issuer's `ci`). kPermissionDenied with a reason on any failure;
  // kUnavailable when the issuer's keys cannot be fetched.
  Result<Identity> Validate(std::string_view token);

  [[nodiscard]] const std::vector<IssuerConfig>& issuers() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace signet::identity
