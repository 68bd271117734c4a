#include "identity/jwt_cache.h"

#include <nlohmann/json.hpp>

namespace signet::identity::internal {

namespace {

std::string DiscoveryUrl(std::string issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  return issuer + "/.well-known/openid-configuration";  // OpenID Connect Discovery 1.0 section 4
}

}  // namespace

IssuerKeys::IssuerKeys(const IssuerConfig& config, net::HttpClient* http, std::mutex* http_mu)
    : config_(config), http_(http), http_mu_(http_mu), jwks_uri_(config.jwks_uri) {
  if (!config_.ca_bundle.empty()) {
    net::HttpOptions options;
    // The issuer's own CA wins over SIGNET_CA_BUNDLE, which names the CA of
    // other services.
    options = net::HttpOptionsFromEnv(options);
    options.ca_bundle = config_.ca_bundle;
    own_http_ = net::MakeCurlHttpClient(options);
    http_ = own_http_.get();
    http_mu_ = &own_http_mu_;
  }
}

Result<net::HttpResponse> IssuerKeys::Get(const std::string& url) {
  if (http_ == nullptr) return Internal("no HTTP client to fetch the keys of " + config_.issuer);
  net::HttpRequest request;
  request.url = url;
  request.headers.emplace_back("Accept", "application/json");
  std::lock_guard lock(*http_mu_);
  auto response = http_->Send(request);
  if (!response) return std::unexpected(response.error());
  if (response->status != 200) {
    return Unavailable(url + " answered HTTP " + std::to_string(response->status));
  }
  return response;
}

Result<JwkSet> IssuerKeys::Fetch() {
  if (jwks_uri_.empty()) {
    std::string url = DiscoveryUrl(config_.issuer);
    SIGNET_ASSIGN_OR_RETURN(net::HttpResponse response, Get(url));
    auto doc = nlohmann::json::parse(response.body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Unavailable(url + " is not a JSON discovery document");
    }
    auto issuer = doc.find("issuer");
    // Discovery section 4.3: the document must name the issuer we asked.
    if (issuer == doc.end() || !issuer->is_string() || *issuer != config_.issuer) {
      return Unavailable(url + " names another issuer; check the configured issuer URL");
    }
    auto jwks = doc.find("jwks_uri");
    if (jwks == doc.end() || !jwks->is_string() || jwks->get_ref<const std::string&>().empty()) {
      return Unavailable(url + " has no jwks_uri");
    }
    jwks_uri_ = jwks->get<std::string>();
  }
  auto response = Get(jwks_uri_);
  if (!response) {
    if (config_.jwks_uri.empty()) jwks_uri_.clear();  // discover again next time
    return std::unexpected(response.error());
  }
  auto set = ParseJwks(response->body);
  if (!set) return Unavailable(jwks_uri_ + ": " + set.error().message);
  return set;
}

Result<IssuerKeys::KeySet> IssuerKeys::Current(std::int64_t now) {
  auto usable = [&]() -> Result<KeySet> {
    if (keys_ && now - fetched_at_ < kJwksMaxAge.count()) return keys_;
    // Stale, but a refresh was tried lately (and failed): keep serving.
    if (keys_ && now - attempted_at_ < kUnknownKidRefetchInterval.count()) return keys_;
    if (!keys_ && attempted_ && now - attempted_at_ < kFailedFetchBackoff.count() &&
        now >= attempted_at_) {
      return std::unexpected(last_error_);
    }
    return KeySet();
  };
  {
    std::lock_guard lock(mu_);
    auto k = usable();
    if (!k || *k) return k;
  }
  std::lock_guard fetch_lock(fetch_mu_);
  {
    std::lock_guard lock(mu_);  // another caller may have fetched while we waited
    auto k = usable();
    if (!k || *k) return k;
  }
  auto fetched = Fetch();
  std::lock_guard lock(mu_);
  attempted_ = true;
  attempted_at_ = now;
  if (fetched) {
    keys_ = std::make_shared<const JwkSet>(std::move(*fetched));
    fetched_at_ = now;
    return keys_;
  }
  if (keys_) return keys_;  // stale keys beat no keys while the issuer is down
  last_error_ = Error{ErrorCode::kUnavailable, "cannot fetch the signing keys of issuer " +
                                                   config_.issuer + ": " + fetched.error().message};
  return std::unexpected(last_error_);
}

IssuerKeys::KeySet IssuerKeys::RefreshForUnknownKid(const KeySet& seen, std::int64_t now) {
  std::lock_guard fetch_lock(fetch_mu_);
  {
    std::lock_guard lock(mu_);
    if (keys_ != seen) return keys_;  // refreshed while we waited
    if (attempted_ && now - attempted_at_ < kUnknownKidRefetchInterval.count()) return nullptr;
  }
  auto fetched = Fetch();
  std::lock_guard lock(mu_);
  attempted_ = true;
  attempted_at_ = now;
  if (!fetched) return nullptr;
  keys_ = std::make_shared<const JwkSet>(std::move(*fetched));
  fetched_at_ = now;
  return keys_;
}

Status IssuerKeys::Verify(std::string_view kid, JwsAlg alg, std::string_view signing_input,
                          ByteView signature, std::int64_t now) {
  SIGNET_ASSIGN_OR_RETURN(KeySet keys, Current(now));
  enum class Outcome { kOk, kNoKey, kMismatch, kBadSignature };
  auto check = [&](const JwkSet& set) {
    Outcome outcome = Outcome::kNoKey;
    for (const auto& jwk : set.keys) {
      if (!kid.empty() && jwk.kid != kid) continue;
      if (!jwk.Accepts(alg)) {
        if (outcome == Outcome::kNoKey && !kid.empty()) outcome = Outcome::kMismatch;
        continue;
      }
      if (VerifyJws(jwk, alg, signing_input, signature)) return Outcome::kOk;
      outcome = Outcome::kBadSignature;
    }
    return outcome;
  };
  Outcome outcome = check(*keys);
  if (outcome == Outcome::kNoKey && !kid.empty()) {
    if (KeySet fresh = RefreshForUnknownKid(keys, now)) outcome = check(*fresh);
  }
  switch (outcome) {
    case Outcome::kOk:
      return {};
    case Outcome::kNoKey:
      return PermissionDenied("unknown signing key");
    case Outcome::kMismatch:
      return PermissionDenied("algorithm does not match the signing key");
    case Outcome::kBadSignature:
      break;
  }
  return PermissionDenied("bad signature");
}

Status ReplayCache::Insert(std::string_view issuer, std::string_view jti, std::int64_t expires,
                           std::int64_t now, bool record) {
  if (jti.size() > kMaxJtiSize) return PermissionDenied("malformed token");
  std::string key(issuer);
  key += '\n';
  key += jti;
  std::lock_guard lock(mu_);
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    seen_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  if (seen_.contains(key)) return PermissionDenied("token replayed");
  if (!record) return {};
  if (seen_.size() >= kReplayCacheCapacity) {
    return Unavailable("replay cache full (too many unexpired tokens); retry later");
  }
  seen_.emplace(key, expires);
  by_expiry_.emplace(expires, std::move(key));
  return {};
}

}  // namespace signet::identity::internal
