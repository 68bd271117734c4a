// JWK parsing (identity/jwk.h), DecodeJwtUnverified and IssuerConfig::FromJson.
#include <openssl/bn.h>
#include <openssl/core_names.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "identity/jwk.h"
#include "identity/jwt.h"
#include "test_keys.h"

namespace signet::identity {
namespace {

using internal::JwsAlg;
using signet::testing::KeyKind;
using signet::testing::SharedKey;

std::string BnParam(EVP_PKEY* key, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1) << name;
  int size = pad_to > 0 ? pad_to : BN_num_bytes(bn);
  Bytes out(static_cast<std::size_t>(size));
  BN_bn2binpad(bn, out.data(), size);
  BN_free(bn);
  return Base64UrlEncode(out);
}

nlohmann::json RsaJwk(EVP_PKEY* key) {
  return {{"kty", "RSA"},
          {"kid", "r"},
          {"n", BnParam(key, OSSL_PKEY_PARAM_RSA_N)},
          {"e", BnParam(key, OSSL_PKEY_PARAM_RSA_E)}};
}

nlohmann::json EcJwk(EVP_PKEY* key, const char* crv = "P-256", int size = 32) {
  return {{"kty", "EC"},
          {"kid", "e"},
          {"crv", crv},
          {"x", BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, size)},
          {"y", BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, size)}};
}

TEST(Base64UrlTest, RoundTripAndStrictAlphabet) {
  Bytes data = {0xfb, 0xff, 0x00, 0x3e};
  EXPECT_EQ(Base64UrlEncode(data), "-_8APg");
  EXPECT_EQ(*Base64UrlDecode("-_8APg"), data);
  EXPECT_FALSE(Base64UrlDecode("+/8APg"));
  EXPECT_FALSE(Base64UrlDecode("-_8APg=="));
  EXPECT_FALSE(Base64UrlDecode("a"));
  EXPECT_FALSE(Base64UrlDecode("ab c"));
}

TEST(JwkTest, RsaKeyAcceptsRs256Only) {
  auto jwk = internal::ParseJwk(RsaJwk(SharedKey(KeyKind::kRsa2048)));
  ASSERT_TRUE(jwk) << jwk.error().message;
  EXPECT_EQ(jwk->kid, "r");
  EXPECT_EQ(jwk->key.bits(), 2048);
  EXPECT_TRUE(jwk->Accepts(JwsAlg::kRs256));
  EXPECT_FALSE(jwk->Accepts(JwsAlg::kEs256));
  EXPECT_TRUE(EVP_PKEY_eq(jwk->key.evp(), SharedKey(KeyKind::kRsa2048)) == 1);
}

TEST(JwkTest, EcP256KeyAcceptsEs256Only) {
  auto jwk = internal::ParseJwk(EcJwk(SharedKey(KeyKind::kEcP256)));
  ASSERT_TRUE(jwk) << jwk.error().message;
  EXPECT_TRUE(jwk->Accepts(JwsAlg::kEs256));
  EXPECT_FALSE(jwk->Accepts(JwsAlg::kRs256));
  EXPECT_TRUE(EVP_PKEY_eq(jwk->key.evp(), SharedKey(KeyKind::kEcP256)) == 1);
}

TEST(JwkTest, RefusesWeakOrForeignKeys) {
  EXPECT_FALSE(internal::ParseJwk(RsaJwk(SharedKey(KeyKind::kRsa1024))));
  EXPECT_FALSE(internal::ParseJwk(EcJwk(SharedKey(KeyKind::kEcP384), "P-384", 48)));
  auto p384_as_p256 = EcJwk(SharedKey(KeyKind::kEcP384), "P-256", 48);
  EXPECT_FALSE(internal::ParseJwk(p384_as_p256));
  EXPECT_FALSE(internal::ParseJwk({{"kty", "oct"}, {"k", "c2VjcmV0"}}));
  EXPECT_FALSE(internal::ParseJwk({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}));
  EXPECT_FALSE(internal::ParseJwk(nlohmann::json::array()));
}

TEST(JwkTest, RefusesPointOffTheCurve) {
  auto jwk = EcJwk(SharedKey(KeyKind::kEcP256));
  Bytes y = *Base64UrlDecode(jwk["y"].get<std::string>());
  y[31] ^= 1;
  jwk["y"] = Base64UrlEncode(y);
  EXPECT_FALSE(internal::ParseJwk(jwk));
}

TEST(JwkTest, RefusesShortCoordinatesAndEncryptionKeys) {
  auto jwk = EcJwk(SharedKey(KeyKind::kEcP256));
  Bytes x = *Base64UrlDecode(jwk["x"].get<std::string>());
  x.erase(x.begin());
  auto short_x = jwk;
  short_x["x"] = Base64UrlEncode(x);
  EXPECT_FALSE(internal::ParseJwk(short_x));
  auto enc = jwk;
  enc["use"] = "enc";
  EXPECT_FALSE(internal::ParseJwk(enc));
  auto ops = jwk;
  ops["key_ops"] = {"encrypt"};
  EXPECT_FALSE(internal::ParseJwk(ops));
  ops["key_ops"] = {"verify"};
  EXPECT_TRUE(internal::ParseJwk(ops));
}

TEST(JwkTest, JwkAlgMustAgreeWithTokenAlg) {
  auto json = RsaJwk(SharedKey(KeyKind::kRsa2048));
  json["alg"] = "RS384";
  auto jwk = internal::ParseJwk(json);
  ASSERT_TRUE(jwk);
  EXPECT_FALSE(jwk->Accepts(JwsAlg::kRs256));
  json["alg"] = "RS256";
  EXPECT_TRUE(internal::ParseJwk(json)->Accepts(JwsAlg::kRs256));
}

TEST(JwkTest, JwksSkipsUnusableKeysAndBoundsSize) {
  nlohmann::json doc = {{"keys",
                         {RsaJwk(SharedKey(KeyKind::kRsa2048)),
                          EcJwk(SharedKey(KeyKind::kEcP256)),
                          {{"kty", "oct"}, {"k", "AAAA"}},
                          "not an object"}}};
  auto set = internal::ParseJwks(doc.dump());
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->keys.size(), 2u);
  EXPECT_EQ(set->skipped, 2u);
  EXPECT_FALSE(internal::ParseJwks("{"));
  EXPECT_FALSE(internal::ParseJwks(R"({"keys": {}})"));
  nlohmann::json many = {{"keys", nlohmann::json::array()}};
  for (std::size_t i = 0; i <= internal::kMaxJwksKeys; ++i) many["keys"].push_back(nullptr);
  EXPECT_FALSE(internal::ParseJwks(many.dump()));
}

TEST(JwkTest, Es256SignatureMustBeRaw64Bytes) {
  auto jwk = internal::ParseJwk(EcJwk(SharedKey(KeyKind::kEcP256)));
  ASSERT_TRUE(jwk);
  Bytes der_like(70, 0x30);
  auto status = internal::VerifyJws(*jwk, JwsAlg::kEs256, "a.b", der_like);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kVerificationFailed);
  EXPECT_FALSE(internal::VerifyJws(*jwk, JwsAlg::kEs256, "a.b", Bytes(64, 1)));
  EXPECT_FALSE(internal::VerifyJws(*jwk, JwsAlg::kRs256, "a.b", Bytes(256, 1)));
}

TEST(DecodeJwtUnverifiedTest, DecodesAndRefusesMalformed) {
  std::string h = Base64UrlEncode(AsBytes(R"({"alg":"RS256"})"));
  std::string p = Base64UrlEncode(AsBytes(R"({"iss":"x","n":1})"));
  auto d = DecodeJwtUnverified(h + "." + p + ".c2ln");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->header["alg"], "RS256");
  EXPECT_EQ(d->payload["n"], 1);
  EXPECT_FALSE(DecodeJwtUnverified(h + "." + p));
  EXPECT_FALSE(DecodeJwtUnverified(h + "." + p + ".a.b"));
  EXPECT_FALSE(DecodeJwtUnverified(h + ".bm90IGpzb24.c2ln"));
  EXPECT_FALSE(DecodeJwtUnverified(h + "." + Base64UrlEncode(AsBytes("[1]")) + ".x"));
  auto big = DecodeJwtUnverified(h + "." + std::string(kMaxTokenSize, 'A') + ".x");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
}

TEST(IssuerConfigTest, FromJson) {
  auto c = IssuerConfig::FromJson({{"issuer", "https://token.actions.githubusercontent.com"},
                                   {"audience", {"signet", "other"}},
                                   {"ci", "github"},
                                   {"clock_skew_seconds", 30},
                                   {"replay_protection", true}});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->audiences, (std::vector<std::string>{"signet", "other"}));
  EXPECT_EQ(c->ci, "github");
  EXPECT_EQ(c->clock_skew.count(), 30);
  EXPECT_TRUE(c->require_jti);
  auto single = IssuerConfig::FromJson({{"issuer", "https://gitlab.com"}, {"audience", "signet"}});
  ASSERT_TRUE(single);
  EXPECT_EQ(single->ci, "oidc");
  EXPECT_FALSE(single->require_jti);

  auto missing_aud = IssuerConfig::FromJson({{"issuer", "https://gitlab.com"}});
  ASSERT_FALSE(missing_aud);
  EXPECT_NE(missing_aud.error().message.find("audience"), std::string::npos);
  auto typo = IssuerConfig::FromJson(
      {{"issuer", "https://gitlab.com"}, {"audience", "s"}, {"replay_protecton", true}});
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("replay_protecton"), std::string::npos);
  EXPECT_FALSE(
      IssuerConfig::FromJson({{"issuer", "https://gitlab.com"}, {"audience", "s"}, {"ci", "x"}}));
  EXPECT_FALSE(IssuerConfig::FromJson({{"issuer", "gitlab.com"}, {"audience", "s"}}));
  EXPECT_FALSE(IssuerConfig::FromJson(
      {{"issuer", "https://gitlab.com"}, {"audience", "s"}, {"clock_skew_seconds", 100000}}));
}

}  // namespace
}  // namespace signet::identity
