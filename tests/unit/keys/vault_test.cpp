// hashivault: backend — key URIs, the read-key answer, sign requests and
// "vault:vN:" signatures, JWT login, Vault errors, and the whole backend
// against an in-process fake of Vault that checks each request.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "cloud_fakes.h"
#include "crypto/digest.h"
#include "keys/vault/vault_api.h"
#include "keys/vault/vault_key.h"
#include "test_keys.h"

namespace signet {
namespace {

using nlohmann::json;
using signet::testing::FakeService;
using signet::testing::JsonAnswer;
using signet::testing::KeyKind;
using signet::testing::ScopedEnv;
using signet::testing::SharedKey;
using ::testing::HasSubstr;
using ::testing::Not;

json ReadKeyAnswer(std::string_view type, const std::map<int, EVP_PKEY*>& versions,
                   bool supports_signing = true) {
  json keys = json::object();
  int latest = 0;
  for (const auto& [version, key] : versions) {
    keys[std::to_string(version)] = {{"public_key", testing::PublicKeyPem(key)}, {"name", type}};
    latest = std::max(latest, version);
  }
  return {{"data",
           {{"type", type},
            {"keys", keys},
            {"latest_version", latest},
            {"supports_signing", supports_signing}}}};
}

// ---- URIs ----

TEST(VaultUriTest, ParsesNameMountAndVersion) {
  auto plain = vault::ParseKeyUri("hashivault://code-sign");
  ASSERT_TRUE(plain.has_value()) << plain.error().message;
  EXPECT_EQ(plain->name, "code-sign");
  EXPECT_EQ(plain->mount, "transit");
  EXPECT_FALSE(plain->version.has_value());
  EXPECT_EQ(plain->ToString(), "hashivault://code-sign");

  auto full = vault::ParseKeyUri("hashivault://k_1.a?mount=ci%2Ftransit&version=3");
  ASSERT_TRUE(full.has_value()) << full.error().message;
  EXPECT_EQ(full->mount, "ci/transit");
  EXPECT_EQ(full->version, 3);
  EXPECT_EQ(full->ToString(), "hashivault://k_1.a?mount=ci/transit&version=3");
}

TEST(VaultUriTest, RefusesBadNamesMountsAndParameters) {
  for (std::string_view bad :
       {"hashivault://", "hashivault://a/b", "hashivault://..", "hashivault://k?mount=../sys",
        "hashivault://k?mount=a//b", "hashivault://k?mount=", "hashivault://k?version=0",
        "hashivault://k?version=x", "hashivault://k?namespace=x", "hashivault://k?mount=%zz",
        "vault://k"}) {
    auto uri = vault::ParseKeyUri(bad);
    ASSERT_FALSE(uri.has_value()) << bad;
    EXPECT_EQ(uri.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

// ---- read key ----

TEST(VaultKeyTest, PinsTheLatestOrTheAskedVersion) {
  EVP_PKEY* v1 = SharedKey(KeyKind::kRsa2048);
  EVP_PKEY* v2 = testing::GenerateKey(KeyKind::kRsa2048).release();
  EvpPkeyPtr owner(v2);
  std::string answer = ReadKeyAnswer("rsa-2048", {{1, v1}, {2, v2}}).dump();
  auto latest = vault::ParseKeyResponse(answer, *vault::ParseKeyUri("hashivault://k"));
  ASSERT_TRUE(latest.has_value()) << latest.error().message;
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(EVP_PKEY_eq(latest->public_key.evp(), v2), 1);
  auto first = vault::ParseKeyResponse(answer, *vault::ParseKeyUri("hashivault://k?version=1"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(EVP_PKEY_eq(first->public_key.evp(), v1), 1);
  auto missing = vault::ParseKeyResponse(answer, *vault::ParseKeyUri("hashivault://k?version=5"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(VaultKeyTest, RefusesKeysThatCannotSign) {
  auto uri = *vault::ParseKeyUri("hashivault://k");
  json aes = {{"data",
               {{"type", "aes256-gcm96"},
                {"keys", {{"1", 1700000000}}},
                {"latest_version", 1},
                {"supports_signing", false}}}};
  EXPECT_EQ(vault::ParseKeyResponse(aes.dump(), uri).error().code, ErrorCode::kFailedPrecondition);
  json p521 = ReadKeyAnswer("ecdsa-p521", {{1, SharedKey(KeyKind::kEcP256)}});
  EXPECT_EQ(vault::ParseKeyResponse(p521.dump(), uri).error().code, ErrorCode::kFailedPrecondition);
  // A public key that is not the stated type: the answer is wrong.
  json mismatch = ReadKeyAnswer("rsa-4096", {{1, SharedKey(KeyKind::kRsa2048)}});
  EXPECT_EQ(vault::ParseKeyResponse(mismatch.dump(), uri).error().code, ErrorCode::kUnavailable);
}

// ---- sign ----

TEST(VaultSignTest, RequestFields) {
  vault::KeyInfo rsa{"rsa-2048", 2, *PublicKey::FromEvp(SharedKey(KeyKind::kRsa2048))};
  Bytes digest = Digest(DigestAlgorithm::kSha384, AsBytes("x"));
  auto pss =
      vault::SignRequestBody(rsa, {SignatureScheme::kRsaPss, DigestAlgorithm::kSha384}, digest);
  ASSERT_TRUE(pss.has_value());
  EXPECT_EQ(json::parse(*pss), (json{{"input", Base64Encode(digest)},
                                     {"prehashed", true},
                                     {"hash_algorithm", "sha2-384"},
                                     {"signature_algorithm", "pss"},
                                     {"salt_length", "hash"},
                                     {"marshaling_algorithm", "asn1"},
                                     {"key_version", 2}}));
  auto pkcs1 = json::parse(*vault::SignRequestBody(
      rsa, {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha384}, digest));
  EXPECT_EQ(pkcs1["signature_algorithm"], "pkcs1v15");
  EXPECT_FALSE(pkcs1.contains("salt_length"));

  vault::KeyInfo ec{"ecdsa-p256", 1, *PublicKey::FromEvp(SharedKey(KeyKind::kEcP256))};
  auto ecdsa = json::parse(*vault::SignRequestBody(
      ec, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha512}, Bytes(64, 1)));
  EXPECT_EQ(ecdsa["hash_algorithm"], "sha2-512");
  EXPECT_FALSE(ecdsa.contains("signature_algorithm"));
  EXPECT_EQ(
      vault::SignRequestBody(ec, {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}, Bytes(32, 1))
          .error()
          .code,
      ErrorCode::kFailedPrecondition);

  vault::KeyInfo ed{"ed25519", 1, *PublicKey::FromEvp(SharedKey(KeyKind::kEd25519))};
  auto refused = vault::SignRequestBody(ed, {SignatureScheme::kEd25519, DigestAlgorithm::kSha512},
                                        Bytes(64, 1));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
}

TEST(VaultSignTest, SignatureMustNameThePinnedVersion) {
  vault::KeyInfo key{"rsa-2048", 3, *PublicKey::FromEvp(SharedKey(KeyKind::kRsa2048))};
  Bytes signature(256, 7);
  json good = {
      {"data", {{"signature", "vault:v3:" + Base64Encode(signature)}, {"key_version", 3}}}};
  EXPECT_EQ(vault::ParseSignResponse(good.dump(), key).value(), signature);
  json other = {{"data", {{"signature", "vault:v2:" + Base64Encode(signature)}}}};
  EXPECT_EQ(vault::ParseSignResponse(other.dump(), key).error().code, ErrorCode::kUnavailable);
  json prefix_trick = {{"data", {{"signature", "vault:v33:" + Base64Encode(signature)}}}};
  EXPECT_EQ(vault::ParseSignResponse(prefix_trick.dump(), key).error().code,
            ErrorCode::kUnavailable);
  json version_field = {
      {"data", {{"signature", "vault:v3:" + Base64Encode(signature)}, {"key_version", 4}}}};
  EXPECT_EQ(vault::ParseSignResponse(version_field.dump(), key).error().code,
            ErrorCode::kUnavailable);
  json not_base64 = {{"data", {{"signature", "vault:v3:***"}}}};
  EXPECT_EQ(vault::ParseSignResponse(not_base64.dump(), key).error().code, ErrorCode::kUnavailable);
}

TEST(VaultLoginTest, BodyAndAnswer) {
  Secret body = vault::JwtLoginBody("ci", Secret(std::string("eyJ.jwt.sig")));
  EXPECT_EQ(json::parse(body.Reveal()), (json{{"role", "ci"}, {"jwt", "eyJ.jwt.sig"}}));
  auto token =
      vault::ParseLoginResponse(R"({"auth": {"client_token": "hvs.abc", "lease_duration": 60}})");
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->Reveal(), "hvs.abc");
  EXPECT_FALSE(vault::ParseLoginResponse(R"({"auth": null})").has_value());
  EXPECT_FALSE(vault::ParseLoginResponse("[]").has_value());
}

TEST(VaultErrorTest, JoinsVaultsErrors) {
  Error e = vault::ServiceError(
      vault::kService, {403, {}, R"({"errors":["1 error occurred:\n\t* permission denied\n\n"]})"});
  EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(e.message, HasSubstr("permission denied"));
  EXPECT_THAT(e.message, Not(HasSubstr("\n")));
  EXPECT_EQ(
      vault::ServiceError(vault::kService, {503, {}, R"({"errors":["Vault is sealed"]})"}).code,
      ErrorCode::kUnavailable);
}

// ---- the backend against a fake Vault ----

class VaultBackendTest : public ::testing::Test {
 protected:
  VaultBackendTest()
      : service_([this](const net::HttpRequest& r) { return Handle(r); }),
        backend_(MakeVaultKeyBackend(service_.Factory())) {}

  net::HttpResponse Handle(const net::HttpRequest& r) {
    EXPECT_EQ(testing::HeaderOf(r, "X-Vault-Namespace"), "team/ci");
    if (r.url == "https://vault.test:8200/v1/auth/jwt/login") {
      json body = json::parse(r.body);
      if (body["jwt"] != "eyJ.ci.token" || body["role"] != "signer") {
        return JsonAnswer(400, {{"errors", {"error validating token"}}});
      }
      return JsonAnswer(200, {{"auth", {{"client_token", "hvs.login"}, {"lease_duration", 3600}}}});
    }
    auto token = testing::HeaderOf(r, "X-Vault-Token");
    if (token != "hvs.static" && token != "hvs.login") {
      return JsonAnswer(403, {{"errors", {"permission denied"}}});
    }
    if (r.method == "GET") {
      EXPECT_EQ(r.url, "https://vault.test:8200/v1/ci/transit/keys/ec");
      return JsonAnswer(200, ReadKeyAnswer("ecdsa-p256", {{1, key_}}));
    }
    EXPECT_EQ(r.url, "https://vault.test:8200/v1/ci/transit/sign/ec");
    json body = json::parse(r.body);
    EXPECT_EQ(body["prehashed"], true);
    EXPECT_EQ(body["key_version"], 1);
    Bytes digest = *Base64Decode(body["input"].get<std::string>());
    Bytes signature = testing::SignDigest(key_, "sha256", digest);
    return JsonAnswer(
        200,
        {{"data", {{"signature", "vault:v1:" + Base64Encode(signature)}, {"key_version", 1}}}});
  }

  Status SignOnce() {
    SIGNET_ASSIGN_OR_RETURN(auto signer, backend_->Open("hashivault://ec?mount=ci/transit", {}));
    SignatureAlgorithm alg{SignatureScheme::kEcdsa, DigestAlgorithm::kSha256};
    Bytes digest = Digest(alg.digest, AsBytes("data"));
    SIGNET_ASSIGN_OR_RETURN(Bytes signature, signer->Sign({alg, digest, {}}));
    return signer->public_key().VerifyDigest(alg, digest, signature);
  }

  testing::TempDir dir_;
  ScopedEnv addr_{"VAULT_ADDR", "https://vault.test:8200/"};
  ScopedEnv namespace_{"VAULT_NAMESPACE", "team/ci"};
  ScopedEnv cacert_{"VAULT_CACERT", "/etc/vault-ca.pem"};
  ScopedEnv token_{"VAULT_TOKEN", std::nullopt};
  ScopedEnv role_{"VAULT_ROLE", std::nullopt};
  ScopedEnv jwt_{"SIGNET_VAULT_JWT_FILE", std::nullopt};
  ScopedEnv home_{"HOME", dir_.path()};
  FakeService service_;
  std::unique_ptr<KeyBackend> backend_;
  EVP_PKEY* key_ = SharedKey(KeyKind::kEcP256);
};

TEST_F(VaultBackendTest, StaticTokenAndCaBundle) {
  ScopedEnv token("VAULT_TOKEN", "hvs.static");
  ASSERT_TRUE(SignOnce());
  ASSERT_EQ(service_.options().size(), 1U);
  EXPECT_EQ(service_.options()[0].ca_bundle, "/etc/vault-ca.pem");
}

TEST_F(VaultBackendTest, JwtLogin) {
  ScopedEnv role("VAULT_ROLE", "signer");
  ScopedEnv jwt("SIGNET_VAULT_JWT_FILE", dir_.Write("jwt", std::string_view("eyJ.ci.token\n")));
  ASSERT_TRUE(SignOnce());
  EXPECT_EQ(service_.Count("/auth/jwt/login"), 1);
}

TEST_F(VaultBackendTest, VaultTokenFile) {
  dir_.Write(".vault-token", std::string_view("hvs.static\n"));
  ASSERT_TRUE(SignOnce());
}

TEST_F(VaultBackendTest, NoTokenIsAPreconditionError) {
  auto signer = backend_->Open("hashivault://ec?mount=ci/transit", {});
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(service_.requests().empty());
}

TEST_F(VaultBackendTest, NoAddressIsAPreconditionError) {
  ScopedEnv token("VAULT_TOKEN", "hvs.static");
  ScopedEnv addr("VAULT_ADDR", std::nullopt);
  auto signer = backend_->Open("hashivault://ec", {});
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(signer.error().message, HasSubstr("VAULT_ADDR"));
}

TEST_F(VaultBackendTest, WrongTokenIsPermissionDeniedAndNotQuoted) {
  ScopedEnv token("VAULT_TOKEN", "hvs.wrong-token-value");
  auto signer = backend_->Open("hashivault://ec?mount=ci/transit", {});
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(signer.error().message, Not(HasSubstr("wrong-token-value")));
}

}  // namespace
}  // namespace signet
