// Internal to signet_identity (and its tests and fuzz target): base64url and
// JSON Web Keys (RFC 7517) turned into OpenSSL public keys.
//
// Only the key types the validator can use are built: RSA (kty "RSA", n/e,
// RFC 7518 section 6.3.1) of 2048 to 4096 bits and EC P-256 (kty "EC", crv
// "P-256", x/y of 32 bytes each, RFC 7518 section 6.2.1), both through
// OSSL_PARAM and EVP_PKEY_fromdata. A JWKS (RFC 7517 section 5) may hold
// other keys (encryption keys, Ed25519, P-384): ParseJwks skips those and
// counts them, so one exotic key does not disable the issuer.
//
// Pure functions; thread-safe. Errors never quote the input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/bytes.h"
#include "base/error.h"
#include "crypto/public_key.h"

namespace signet::identity::internal {

// The JWS algorithms a key may verify. Nothing else is ever accepted.
enum class JwsAlg { kRs256, kEs256 };
std::string_view JwsAlgName(JwsAlg alg);

struct Jwk {
  std::string kid;  // "" when the JWK has none
  std::string alg;  // the JWK's "alg" member, "" when absent
  PublicKey key;
  // True when `alg` may be verified with this key: RS256 needs RSA (>= 2048
  // bits), ES256 needs EC P-256, and a JWK "alg" member must name `alg`.
  [[nodiscard]] bool Accepts(JwsAlg jws_alg) const;
};

// One JWK object. kInvalidArgument for a malformed or unsupported key and
// for a key whose "use" is not "sig".
Result<Jwk> ParseJwk(const nlohmann::json& jwk);

struct JwkSet {
  std::vector<Jwk> keys;
  std::size_t skipped = 0;  // entries that were not usable signature keys
};

inline constexpr std::size_t kMaxJwksKeys = 64;

// A JWKS document {"keys": [...]}: kInvalidArgument when it is not JSON, has
// no "keys" array, or has more than kMaxJwksKeys entries.
Result<JwkSet> ParseJwks(std::string_view json_text);

// Checks a JWS signature over `signing_input` (RFC 7515 section 5.2): RS256 is
// RSASSA-PKCS1-v1_5 with SHA-256; ES256 is ECDSA P-256 SHA-256 with the
// signature as raw r||s (64 bytes, RFC 7518 section 3.4), converted to DER
// for OpenSSL. kVerificationFailed when it does not hold.
Status VerifyJws(const Jwk& key, JwsAlg alg, std::string_view signing_input, ByteView signature);

}  // namespace signet::identity::internal
