// JWT validation (RFC 7519 section 7.2, RFC 7515 section 5.2) against the
// configured issuers; the key cache and the replay cache are in
// jwt_cache.{h,cpp}.
#include "identity/jwt.h"

#include <cmath>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "identity/jwk.h"
#include "identity/jwt_cache.h"

namespace signet::identity {

namespace {

using internal::JwsAlg;

// `s` when it is short printable ASCII without spaces (an alg name, an issuer
// URL), so that a reason may name it without echoing arbitrary token bytes.
std::string Printable(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return "(unprintable)";
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return "(unprintable)";
  }
  return std::string(s);
}

std::unexpected<Error> Denied(std::string reason) { return PermissionDenied(std::move(reason)); }

Result<nlohmann::json> DecodeJsonPart(std::string_view part) {
  auto bytes = Base64UrlDecode(part);
  if (!bytes) return InvalidArgument("JWT part is not base64url");
  nlohmann::json j = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("JWT part is not a JSON object");
  return j;
}

// A NumericDate claim (RFC 7519 section 2): nullopt when absent;
// kInvalidArgument when present but not a finite number in time_t range.
Result<std::optional<std::int64_t>> NumericDate(const nlohmann::json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::optional<std::int64_t>();
  if (!it->is_number()) return InvalidArgument("not a number");
  double v = it->get<double>();
  constexpr double kLimit = 253402300799.0;  // 9999-12-31T23:59:59Z
  if (!std::isfinite(v) || v < -kLimit || v > kLimit) return InvalidArgument("out of range");
  return std::optional<std::int64_t>(static_cast<std::int64_t>(std::floor(v)));
}

bool AudienceAccepted(const nlohmann::json& payload, const std::vector<std::string>& accepted) {
  auto it = payload.find("aud");
  if (it == payload.end()) return false;
  auto ok = [&](const nlohmann::json& v) {
    if (!v.is_string()) return false;
    for (const auto& a : accepted) {
      if (v.get_ref<const std::string&>() == a) return true;
    }
    return false;
  };
  if (it->is_string()) return ok(*it);
  if (!it->is_array()) return false;
  for (const auto& v : *it) {
    if (ok(v)) return true;
  }
  return false;
}

Result<std::string> RequiredString(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return InvalidArgument(std::string(name) + ": missing (a non-empty string)");
  }
  return it->get<std::string>();
}

}  // namespace

Result<IssuerConfig> IssuerConfig::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("issuer entry is not a JSON object");
  static const std::set<std::string> kKnown = {
      "issuer",           "audience",  "audiences",          "ci",
      "jwks_uri",         "ca_bundle", "clock_skew_seconds", "max_lifetime_seconds",
      "replay_protection"};
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.contains(key)) return InvalidArgument(key + ": unknown field");
  }
  IssuerConfig c;
  SIGNET_ASSIGN_OR_RETURN(c.issuer, RequiredString(j, "issuer"));
  if (!c.issuer.starts_with("https://") && !c.issuer.starts_with("http://")) {
    return InvalidArgument("issuer: " + c.issuer + " is not an https:// URL");
  }
  for (const char* name : {"audience", "audiences"}) {
    auto it = j.find(name);
    if (it == j.end()) continue;
    if (it->is_string()) {
      c.audiences.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& a : *it) {
        if (!a.is_string()) return InvalidArgument(std::string(name) + ": not a list of strings");
        c.audiences.push_back(a.get<std::string>());
      }
    } else {
      return InvalidArgument(std::string(name) + ": not a string or a list of strings");
    }
  }
  for (const auto& a : c.audiences) {
    if (a.empty()) return InvalidArgument("audience: empty string");
  }
  if (c.audiences.empty()) {
    return InvalidArgument("audience: missing (the aud value tokens must carry, e.g. \"signet\")");
  }
  if (auto it = j.find("ci"); it != j.end()) {
    if (!it->is_string()) return InvalidArgument("ci: not a string");
    c.ci = it->get<std::string>();
    static const std::set<std::string> kCis = {"github", "gitlab", "azure", "jenkins", "oidc"};
    if (!kCis.contains(c.ci)) {
      return InvalidArgument("ci: \"" + c.ci + "\" is not github, gitlab, azure, jenkins or oidc");
    }
  }
  for (auto [name, field] : {std::pair{"jwks_uri", &c.jwks_uri}, {"ca_bundle", &c.ca_bundle}}) {
    if (auto it = j.find(name); it != j.end()) {
      if (!it->is_string()) return InvalidArgument(std::string(name) + ": not a string");
      *field = it->get<std::string>();
    }
  }
  auto seconds = [&](const char* name, std::int64_t lo, std::int64_t hi,
                     std::chrono::seconds& out) -> Status {
    auto it = j.find(name);
    if (it == j.end()) return {};
    if (!it->is_number_integer() || it->get<std::int64_t>() < lo || it->get<std::int64_t>() > hi) {
      return InvalidArgument(std::string(name) + ": not an integer from " + std::to_string(lo) +
                             " to " + std::to_string(hi));
    }
    out = std::chrono::seconds(it->get<std::int64_t>());
    return {};
  };
  SIGNET_RETURN_IF_ERROR(seconds("clock_skew_seconds", 0, 600, c.clock_skew));
  SIGNET_RETURN_IF_ERROR(seconds("max_lifetime_seconds", 60, 7 * 24 * 3600, c.max_lifetime));
  if (auto it = j.find("replay_protection"); it != j.end()) {
    if (!it->is_boolean()) return InvalidArgument("replay_protection: not true or false");
    c.require_jti = it->get<bool>();
  }
  return c;
}

Result<DecodedJwt> DecodeJwtUnverified(std::string_view token) {
  if (token.size() > kMaxTokenSize) return InvalidArgument("JWT is larger than 16 KiB");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return InvalidArgument("not a JWT (three base64url parts separated by '.')");
  }
  DecodedJwt out;
  SIGNET_ASSIGN_OR_RETURN(out.header, DecodeJsonPart(token.substr(0, dot1)));
  SIGNET_ASSIGN_OR_RETURN(out.payload, DecodeJsonPart(token.substr(dot1 + 1, dot2 - dot1 - 1)));
  return out;
}

struct JwtValidator::State {
  std::vector<IssuerConfig> configs;
  Clock clock;
  std::unique_ptr<net::HttpClient> http;
  std::mutex http_mu;  // an HttpClient serves one thread at a time
  std::vector<std::unique_ptr<internal::IssuerKeys>> keys;  // parallel to configs
  internal::ReplayCache replay;
};

JwtValidator::JwtValidator(std::vector<IssuerConfig> issuers, std::unique_ptr<net::HttpClient> http,
                           Clock clock)
    : state_(std::make_unique<State>()) {
  state_->configs = std::move(issuers);
  state_->clock = clock ? std::move(clock) : Clock([] { return std::time(nullptr); });
  state_->http = std::move(http);
  for (const auto& config : state_->configs) {
    state_->keys.push_back(
        std::make_unique<internal::IssuerKeys>(config, state_->http.get(), &state_->http_mu));
  }
}

JwtValidator::~JwtValidator() = default;

const std::vector<IssuerConfig>& JwtValidator::issuers() const { return state_->configs; }

Result<Identity> JwtValidator::Validate(std::string_view token, bool use_jti) {
  if (token.empty()) return Denied("no token");
  if (token.size() > kMaxTokenSize) return Denied("malformed token");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Denied("malformed token");
  }
  auto header = DecodeJsonPart(token.substr(0, dot1));
  if (!header) return Denied("malformed token");
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) return Denied("malformed token");
  const auto& alg_name = alg_it->get_ref<const std::string&>();
  JwsAlg alg;
  if (alg_name == "RS256") {
    alg = JwsAlg::kRs256;
  } else if (alg_name == "ES256") {
    alg = JwsAlg::kEs256;
  } else {
    return Denied("algorithm not allowed: " + Printable(alg_name, 16));
  }
  // RFC 7515 section 4.1.11: extensions we do not implement must be refused.
  if (header->contains("crit")) return Denied("malformed token");
  std::string kid;
  if (auto it = header->find("kid"); it != header->end()) {
    if (!it->is_string()) return Denied("malformed token");
    kid = it->get<std::string>();
  }
  auto payload = DecodeJsonPart(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return Denied("malformed token");
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!signature || signature->empty()) return Denied("malformed token");

  auto iss_it = payload->find("iss");
  if (iss_it == payload->end() || !iss_it->is_string()) return Denied("malformed token");
  const auto& iss = iss_it->get_ref<const std::string&>();
  std::size_t index = 0;
  while (index < state_->configs.size() && state_->configs[index].issuer != iss) ++index;
  if (index == state_->configs.size()) return Denied("unknown issuer: " + Printable(iss, 256));
  const IssuerConfig& config = state_->configs[index];
  const std::int64_t now = state_->clock();

  // The signature first: nothing in the payload is trusted before it holds.
  const std::string_view signing_input = token.substr(0, dot2);
  SIGNET_RETURN_IF_ERROR(state_->keys[index]->Verify(kid, alg, signing_input, *signature, now));

  const std::int64_t skew = config.clock_skew.count();
  auto exp = NumericDate(*payload, "exp");
  auto nbf = NumericDate(*payload, "nbf");
  auto iat = NumericDate(*payload, "iat");
  if (!exp || !nbf || !iat) return Denied("malformed token");
  if (!*exp) return Denied("token has no expiry");
  if (now >= **exp + skew) return Denied("token expired");
  if (*nbf && **nbf > now + skew) return Denied("token not yet valid");
  if (*iat && **iat > now + skew) return Denied("token not yet valid");
  if (**exp - (*iat ? **iat : now) > config.max_lifetime.count()) {
    return Denied("token lifetime too long");
  }
  if (!AudienceAccepted(*payload, config.audiences)) return Denied("audience not accepted");

  Identity id;
  id.issuer = iss;
  if (auto it = payload->find("sub"); it != payload->end()) {
    if (!it->is_string()) return Denied("malformed token");
    id.subject = it->get<std::string>();
  }
  if (auto it = payload->find("jti"); it != payload->end()) {
    if (!it->is_string()) return Denied("malformed token");
    id.jti = it->get<std::string>();
  }
  id.expires = static_cast<std::time_t>(**exp);
  if (config.require_jti) {
    if (!id.jti || id.jti->empty()) return Denied("token has no jti");
    SIGNET_RETURN_IF_ERROR(state_->replay.Insert(iss, *id.jti, **exp + skew, now, use_jti));
  }
  id.claims = std::move(*payload);
  NormalizeClaims(config.ci, id);
  return id;
}

}  // namespace signet::identity
