#include "identity/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "crypto/openssl_util.h"

namespace signet::identity::internal {

namespace {

using BnPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM_free>>;

// Bounds on the encoded members, checked before any decoding or big-number work.
constexpr std::size_t kMaxRsaModulusBytes = 512;  // 4096 bits
constexpr std::size_t kMaxRsaExponentBytes = 8;
constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kMaxJwksBytes = std::size_t{256} * 1024;

// A base64url member of `jwk`, decoded; at most `max_bytes` once decoded.
Result<Bytes> Member(const nlohmann::json& jwk, const char* name, std::size_t max_bytes) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return InvalidArgument(std::string("JWK has no \"") + name + "\" member");
  }
  const auto& text = it->get_ref<const std::string&>();
  if (text.size() > (max_bytes * 4 + 2) / 3) {
    return InvalidArgument(std::string("JWK member \"") + name + "\" is too long");
  }
  auto bytes = Base64UrlDecode(text);
  if (!bytes) return InvalidArgument(std::string("JWK member \"") + name + "\" is not base64url");
  return bytes;
}

// Builds a public EVP_PKEY of `type` ("RSA", "EC") from `params` and checks
// it (odd modulus, point on the curve).
Result<EvpPkeyPtr> FromData(const char* type, const OSSL_PARAM* params) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
          1) {
    OpenSslErrors();
    return InvalidArgument(std::string("JWK is not a valid ") + type + " public key");
  }
  EvpPkeyPtr pkey(raw);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    OpenSslErrors();
    return InvalidArgument(std::string("JWK is not a valid ") + type + " public key");
  }
  return pkey;
}

Result<EvpPkeyPtr> RsaKey(const nlohmann::json& jwk) {
  SIGNET_ASSIGN_OR_RETURN(Bytes n_bytes, Member(jwk, "n", kMaxRsaModulusBytes + 1));
  SIGNET_ASSIGN_OR_RETURN(Bytes e_bytes, Member(jwk, "e", kMaxRsaExponentBytes));
  if (n_bytes.empty() || e_bytes.empty()) return InvalidArgument("JWK RSA member is empty");
  BnPtr n(BN_bin2bn(n_bytes.data(), static_cast<int>(n_bytes.size()), nullptr));
  BnPtr e(BN_bin2bn(e_bytes.data(), static_cast<int>(e_bytes.size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return Internal("cannot build RSA key parameters: " + OpenSslErrors());
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return Internal("cannot build RSA key parameters: " + OpenSslErrors());
  return FromData("RSA", params.get());
}

Result<EvpPkeyPtr> EcKey(const nlohmann::json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || *crv != "P-256") {
    return InvalidArgument("JWK EC curve is not P-256");
  }
  SIGNET_ASSIGN_OR_RETURN(Bytes x, Member(jwk, "x", kP256CoordinateBytes));
  SIGNET_ASSIGN_OR_RETURN(Bytes y, Member(jwk, "y", kP256CoordinateBytes));
  // RFC 7518 section 6.2.1.2: the full coordinate length, leading zeros kept.
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return InvalidArgument("JWK P-256 coordinates are not 32 bytes each");
  }
  Bytes point;
  point.reserve(1 + 2 * kP256CoordinateBytes);
  point.push_back(0x04);  // uncompressed (SEC 1 section 2.3.3)
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Internal("cannot build EC key parameters: " + OpenSslErrors());
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return Internal("cannot build EC key parameters: " + OpenSslErrors());
  return FromData("EC", params.get());
}

// An optional string member; kInvalidArgument when present but not a string.
Result<std::string> OptionalString(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) return std::string();
  if (!it->is_string()) {
    return InvalidArgument(std::string("JWK member \"") + name + "\" is not a string");
  }
  return it->get<std::string>();
}

}  // namespace

std::string_view JwsAlgName(JwsAlg alg) { return alg == JwsAlg::kRs256 ? "RS256" : "ES256"; }

bool Jwk::Accepts(JwsAlg jws_alg) const {
  if (!alg.empty() && alg != JwsAlgName(jws_alg)) return false;
  if (jws_alg == JwsAlg::kRs256) return key.type() == KeyType::kRsa && key.bits() >= 2048;
  return key.type() == KeyType::kEcP256;
}

Result<Jwk> ParseJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object()) return InvalidArgument("JWK is not a JSON object");
  SIGNET_ASSIGN_OR_RETURN(std::string kty, OptionalString(jwk, "kty"));
  SIGNET_ASSIGN_OR_RETURN(std::string use, OptionalString(jwk, "use"));
  SIGNET_ASSIGN_OR_RETURN(std::string kid, OptionalString(jwk, "kid"));
  SIGNET_ASSIGN_OR_RETURN(std::string alg, OptionalString(jwk, "alg"));
  if (!use.empty() && use != "sig") return InvalidArgument("JWK is not a signature key");
  if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    // RFC 7517 section 4.3: a public key limited to other operations is not ours.
    bool verify = false;
    if (ops->is_array()) {
      for (const auto& op : *ops) verify = verify || (op.is_string() && op == "verify");
    }
    if (!verify) return InvalidArgument("JWK key_ops does not allow \"verify\"");
  }
  Result<EvpPkeyPtr> pkey = InvalidArgument("JWK key type is not RSA or EC");
  if (kty == "RSA") {
    pkey = RsaKey(jwk);
  } else if (kty == "EC") {
    pkey = EcKey(jwk);
  }
  if (!pkey) return std::unexpected(pkey.error());
  auto key = PublicKey::FromEvp(pkey->get());
  if (!key) return InvalidArgument("JWK key is not supported: " + key.error().message);
  return Jwk{std::move(kid), std::move(alg), std::move(*key)};
}

Result<JwkSet> ParseJwks(std::string_view json_text) {
  if (json_text.size() > kMaxJwksBytes) return InvalidArgument("JWKS document is too large");
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("JWKS document is not a JSON object");
  }
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return InvalidArgument("JWKS document has no \"keys\" array");
  }
  if (keys->size() > kMaxJwksKeys) return InvalidArgument("JWKS document has too many keys");
  JwkSet set;
  for (const auto& entry : *keys) {
    auto jwk = ParseJwk(entry);
    if (jwk) {
      set.keys.push_back(std::move(*jwk));
    } else {
      ++set.skipped;
    }
  }
  return set;
}

Status VerifyJws(const Jwk& key, JwsAlg alg, std::string_view signing_input, ByteView signature) {
  if (!key.Accepts(alg)) return VerificationFailed("algorithm does not match the key");
  SignatureAlgorithm sig_alg{SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256};
  Bytes der;
  if (alg == JwsAlg::kEs256) {
    if (signature.size() != 2 * kP256CoordinateBytes) {
      return VerificationFailed("ES256 signature is not 64 bytes");
    }
    SIGNET_ASSIGN_OR_RETURN(der, EcdsaRawToDer(signature));
    signature = der;
    sig_alg.scheme = SignatureScheme::kEcdsa;
  }
  auto status = key.key.VerifyMessage(sig_alg, AsBytes(signing_input), signature);
  if (!status) return VerificationFailed("signature does not match");
  return {};
}

}  // namespace signet::identity::internal
