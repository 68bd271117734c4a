// Internal to signet_identity: the per-issuer signing-key cache and the jti
// replay cache behind JwtValidator (identity/jwt.h).
//
// IssuerKeys holds one issuer's JWKS: fetched on first use (after the
// discovery document names its jwks_uri, unless the config gives one),
// refreshed when older than kJwksMaxAge (the old keys keep serving if the
// refresh fails), and refetched when a token names an unknown kid -- at most
// once per kUnknownKidRefetchInterval, so a flood of invented kids costs the
// issuer one request per interval. After a failed first fetch, requests fail
// fast (kUnavailable) for kFailedFetchBackoff before the next try.
//
// Thread-safety: both classes may be used from many threads. Fetches of one
// issuer are serialised (concurrent callers wait and share the result);
// fetches through the validator's shared HttpClient are serialised by its
// mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/bytes.h"
#include "base/error.h"
#include "identity/jwk.h"
#include "identity/jwt.h"
#include "net/http_client.h"

namespace signet::identity::internal {

class IssuerKeys {
 public:
  // `http`/`http_mu` are the validator's shared client and its lock, used
  // when config.ca_bundle is empty; otherwise the issuer gets a client of its
  // own trusting that bundle. Neither is owned.
  IssuerKeys(const IssuerConfig& config, net::HttpClient* http, std::mutex* http_mu);

  // Checks the JWS signature with the key named `kid` (any key fit for `alg`
  // when kid is empty). kPermissionDenied "unknown signing key", "algorithm
  // does not match the signing key" or "bad signature"; kUnavailable when the
  // keys cannot be fetched.
  Status Verify(std::string_view kid, JwsAlg alg, std::string_view signing_input,
                ByteView signature, std::int64_t now);

 private:
  using KeySet = std::shared_ptr<const JwkSet>;
  // The cached keys, fetching them when there are none or they are stale.
  Result<KeySet> Current(std::int64_t now);
  // Refetches after an unknown kid: the new set, or null when the rate limit
  // allows no fetch now or the fetch failed.
  KeySet RefreshForUnknownKid(const KeySet& seen, std::int64_t now);
  // Discovery (when needed) and the JWKS. Caller holds fetch_mu_.
  Result<JwkSet> Fetch();
  Result<net::HttpResponse> Get(const std::string& url);

  const IssuerConfig config_;
  std::unique_ptr<net::HttpClient> own_http_;
  net::HttpClient* http_;
  std::mutex own_http_mu_;
  std::mutex* http_mu_;

  std::mutex fetch_mu_;   // held for a whole fetch
  std::string jwks_uri_;  // resolved; guarded by fetch_mu_
  std::mutex mu_;         // guards the members below
  KeySet keys_;           // null before the first successful fetch
  std::int64_t fetched_at_ = 0;
  std::int64_t attempted_at_ = 0;
  bool attempted_ = false;
  Error last_error_;
};

// Each (issuer, jti) accepted once until the token expires. Bounded: when
// kReplayCacheCapacity unexpired entries are held, new tokens are refused
// (kUnavailable) rather than old entries forgotten -- failing closed.
class ReplayCache {
 public:
  // kPermissionDenied "token replayed" when seen before; records it until
  // `expires` (seconds since the epoch, skew included) otherwise.
  // With `record` false, only checks (a request that must not use the
  // token up, such as fetching a key's public certificate).
  Status Insert(std::string_view issuer, std::string_view jti, std::int64_t expires,
                std::int64_t now, bool record = true);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::int64_t> seen_;
  std::multimap<std::int64_t, std::string> by_expiry_;
};

}  // namespace signet::identity::internal
