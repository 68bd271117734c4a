// Validation of CI OIDC identity tokens (JWTs, RFC 7519) against configured
// issuers: discovery document and JWKS fetched over HTTPS (core/net), cached,
// refetched on an unknown kid (at most once per minimum interval); signature
// checked with an algorithm allow-list (RS256, ES256 only: `none`, HS*, and
// an alg that does not match the key's type are refused); iss, aud, exp,
// nbf, iat checked with a small clock skew; optional jti replay cache.
//
// Errors are kPermissionDenied with a short reason safe to return to the
// caller and to audit; they never contain the token (only an alg name or an
// issuer URL, and those only when short and printable). The reasons:
//   "no token", "malformed token", "algorithm not allowed: ALG",
//   "unknown issuer: ISS", "unknown signing key", "algorithm does not match
//   the signing key", "bad signature", "token has no expiry", "token
//   expired", "token not yet valid", "token lifetime too long", "audience
//   not accepted", "token has no jti", "token replayed".
// The signature is checked before any claim but iss is looked at. Key
// fetches that fail are kUnavailable (retry), as is a full replay cache.
// Specs: RFC 7519 section 7.2, RFC 7515 section 5.2, RFC 7518 sections 3.3,
// 3.4 and 6, OpenID Connect Discovery 1.0 section 4.
//
// Thread-safety: Validate may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
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

// A longer token is refused as malformed before it is decoded.
inline constexpr std::size_t kMaxTokenSize = std::size_t{16} * 1024;
// Longer jti values are refused (they would bloat the replay cache).
inline constexpr std::size_t kMaxJtiSize = 256;
// At most this many unexpired jti are remembered; past it, tokens of issuers
// with replay protection are refused (kUnavailable) until entries expire.
inline constexpr std::size_t kReplayCacheCapacity = 100000;
// Cached JWKS are refetched when older than this (kept if the refetch fails).
inline constexpr std::chrono::seconds kJwksMaxAge{3600};
// A token naming an unknown kid triggers at most one refetch per issuer per
// interval (key rotation is picked up; a flood of bogus kids is not relayed).
inline constexpr std::chrono::seconds kUnknownKidRefetchInterval{30};
// After a failed first fetch, validations fail fast for this long.
inline constexpr std::chrono::seconds kFailedFetchBackoff{5};

struct IssuerConfig {
  std::string issuer;  // exact iss, e.g. https://token.actions.githubusercontent.com
  std::vector<std::string> audiences;  // aud must contain one of these (required, non-empty)
  std::string ci = "oidc";             // claim vocabulary: github, gitlab, azure, jenkins, oidc
  std::string jwks_uri;                // empty: from {issuer}/.well-known/openid-configuration
  // PEM CA file for the issuer's TLS; the validator then fetches this
  // issuer's keys with a client of its own. Empty: the validator's client.
  std::string ca_bundle;
  std::chrono::seconds clock_skew{60};
  std::chrono::seconds max_lifetime{24 * 3600};  // exp - iat (or now) may not exceed this
  bool require_jti = false;                      // replay cache: each jti accepted once

  // Parses one entry of the server config's "issuers" array:
  // {"issuer": "...", "audience": "..." | ["..."], "ci": "github", "jwks_uri": "...",
  //  "ca_bundle": "...", "clock_skew_seconds": 60, "max_lifetime_seconds": 86400,
  //  "replay_protection": true}
  // ("audiences" is accepted as a synonym of "audience"). Unknown fields are
  // refused, so that a misspelt one is not silently ignored.
  static Result<IssuerConfig> FromJson(const nlohmann::json& j);
};

// The decoded parts of a JWT, unverified (for `signet policy test` and
// diagnostics). kInvalidArgument when it is not three base64url JSON parts.
// nlohmann::json's move constructor is noexcept in practice; clang-tidy sees
// the assertion helper it calls.
struct DecodedJwt {  // NOLINT(bugprone-exception-escape)
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
  //
  // With replay protection (IssuerConfig::require_jti), a token's jti is
  // used up by the first Validate with `use_jti` true (a signing request);
  // Validate with `use_jti` false only checks that it is not used up yet (a
  // key lookup before signing), so that a client can look the key up and
  // then sign with one token.
  Result<Identity> Validate(std::string_view token, bool use_jti = true);

  [[nodiscard]] const std::vector<IssuerConfig>& issuers() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace signet::identity
