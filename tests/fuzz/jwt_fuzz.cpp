// Fuzz target for the parsers of identity tokens and keys (core/identity):
// everything a client or an issuer sends the Signet server before any
// signature has been checked.
//
// The input is tried as a compact JWT (DecodeJwtUnverified, and the
// validator's pre-signature checks: size, parts, header, alg allow-list,
// issuer lookup -- its key fetch fails at once, there is no HTTP client), as
// a JWKS document and as a single JWK (identity/jwk.h), and as base64url text
// (decode then encode must give the decoded bytes back). Aborts when a
// parsed key is not what the validator may use, or on a round-trip mismatch.
// Seed corpus: tests/fuzz/corpus/jwt/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "identity/jwk.h"
#include "identity/jwt.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckKey(const signet::identity::internal::Jwk& jwk) {
  using signet::identity::internal::JwsAlg;
  bool rs = jwk.Accepts(JwsAlg::kRs256);
  bool es = jwk.Accepts(JwsAlg::kEs256);
  Check(!(rs && es));
  if (rs) Check(jwk.key.type() == signet::KeyType::kRsa && jwk.key.bits() >= 2048);
  if (es) Check(jwk.key.type() == signet::KeyType::kEcP256);
}

signet::identity::JwtValidator& Validator() {
  static auto* v = [] {
    signet::identity::IssuerConfig c;
    c.issuer = "https://issuer.example";
    c.audiences = {"signet"};
    c.ci = "github";
    return new signet::identity::JwtValidator({c}, nullptr, [] { return std::time_t{1700000000}; });
  }();
  return *v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace internal = signet::identity::internal;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto jwt = signet::identity::DecodeJwtUnverified(text)) {
    Check(jwt->header.is_object() && jwt->payload.is_object());
  }
  auto id = Validator().Validate(text);
  Check(!id.has_value());  // nothing is ever verified without keys

  if (auto set = internal::ParseJwks(text)) {
    Check(set->keys.size() + set->skipped <= internal::kMaxJwksKeys);
    for (const auto& jwk : set->keys) CheckKey(jwk);
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    if (auto jwk = internal::ParseJwk(j)) CheckKey(*jwk);
  }

  if (auto bytes = signet::Base64UrlDecode(text)) {
    auto again = signet::Base64UrlDecode(signet::Base64UrlEncode(*bytes));
    Check(again.has_value() && *again == *bytes);
  }
  return 0;
}
