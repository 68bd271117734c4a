// gcpkms: backend — key URIs, key version algorithms, the getPublicKey and
// asymmetricSign contracts with their CRC32C checks, service account
// assertions, and the whole backend against an in-process fake of Cloud KMS
// and Google's token endpoint that checks each request.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "cloud_fakes.h"
#include "crypto/digest.h"
#include "keys/cloud/crc32c.h"
#include "keys/gcpkms/gcp_credentials.h"
#include "keys/gcpkms/gcpkms_api.h"
#include "keys/gcpkms/gcpkms_key.h"
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

constexpr std::string_view kName =
    "projects/p-1/locations/europe-west1/keyRings/ring_1/cryptoKeys/key-1/cryptoKeyVersions/3";

std::string Crc(std::string_view data) { return std::to_string(cloud::Crc32c(AsBytes(data))); }

json PublicKeyAnswer(EVP_PKEY* key, std::string_view algorithm, std::string_view name = kName) {
  std::string pem = testing::PublicKeyPem(key);
  return {{"pem", pem},
          {"algorithm", algorithm},
          {"pemCrc32c", Crc(pem)},
          {"name", name},
          {"protectionLevel", "HSM"}};
}

// ---- URIs and algorithms ----

TEST(GcpKmsUriTest, ParsesKeyVersionNames) {
  auto name = gcpkms::ParseKeyUri("gcpkms://" + std::string(kName));
  ASSERT_TRUE(name.has_value()) << name.error().message;
  EXPECT_EQ(*name, kName);
  EXPECT_TRUE(gcpkms::ParseKeyUri("gcpkms://projects/example.com:proj/locations/global/keyRings/r/"
                                  "cryptoKeys/k/cryptoKeyVersions/1")
                  .has_value());
}

TEST(GcpKmsUriTest, RefusesOtherNames) {
  for (std::string_view bad : {
           "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k",  // no version
           "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/",
           "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/one",
           "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1/x",
           "gcpkms://projects/p/locations/l/keyrings/r/cryptoKeys/k/cryptoKeyVersions/1",
           "gcpkms://projects/p/locations/l/keyRings/r?x/cryptoKeys/k/cryptoKeyVersions/1",
           "gcpkms://projects//locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
           "gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
       }) {
    auto name = gcpkms::ParseKeyUri(bad);
    ASSERT_FALSE(name.has_value()) << bad;
    EXPECT_EQ(name.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(GcpKmsAlgorithmTest, MapsSigningAlgorithms) {
  using S = SignatureScheme;
  using D = DigestAlgorithm;
  struct Case {
    std::string_view name;
    SignatureAlgorithm alg;
    KeyType type;
    int bits;
  };
  for (const Case& c :
       {Case{"RSA_SIGN_PKCS1_2048_SHA256", {S::kRsaPkcs1v15, D::kSha256}, KeyType::kRsa, 2048},
        Case{"RSA_SIGN_PKCS1_4096_SHA512", {S::kRsaPkcs1v15, D::kSha512}, KeyType::kRsa, 4096},
        Case{"RSA_SIGN_PSS_3072_SHA256", {S::kRsaPss, D::kSha256}, KeyType::kRsa, 3072},
        Case{"EC_SIGN_P256_SHA256", {S::kEcdsa, D::kSha256}, KeyType::kEcP256, 0},
        Case{"EC_SIGN_P384_SHA384", {S::kEcdsa, D::kSha384}, KeyType::kEcP384, 0}}) {
    auto a = gcpkms::ParseAlgorithm(c.name);
    ASSERT_TRUE(a.has_value()) << c.name;
    EXPECT_EQ(a->signature, c.alg) << c.name;
    EXPECT_EQ(a->key_type, c.type) << c.name;
    EXPECT_EQ(a->rsa_bits, c.bits) << c.name;
  }
  for (std::string_view name : {"RSA_SIGN_RAW_PKCS1_2048", "EC_SIGN_SECP256K1_SHA256",
                                "EC_SIGN_ED25519", "GOOGLE_SYMMETRIC_ENCRYPTION",
                                "RSA_DECRYPT_OAEP_2048_SHA256", "RSA_SIGN_PSS_2048_SHA1", ""}) {
    EXPECT_FALSE(gcpkms::ParseAlgorithm(name).has_value()) << name;
  }
}

// ---- getPublicKey ----

TEST(GcpKmsPublicKeyTest, ChecksNameCrcAndType) {
  EVP_PKEY* key = SharedKey(KeyKind::kEcP256);
  auto ok =
      gcpkms::ParsePublicKeyResponse(PublicKeyAnswer(key, "EC_SIGN_P256_SHA256").dump(), kName);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(EVP_PKEY_eq(ok->public_key.evp(), key), 1);
  EXPECT_EQ(ok->algorithm, "EC_SIGN_P256_SHA256");

  json bad_crc = PublicKeyAnswer(key, "EC_SIGN_P256_SHA256");
  bad_crc["pemCrc32c"] = std::to_string(std::stoll(bad_crc["pemCrc32c"].get<std::string>()) ^ 1);
  auto e = gcpkms::ParsePublicKeyResponse(bad_crc.dump(), kName);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(e.error().message, HasSubstr("pemCrc32c"));

  json no_crc = PublicKeyAnswer(key, "EC_SIGN_P256_SHA256");
  no_crc.erase("pemCrc32c");
  EXPECT_FALSE(gcpkms::ParsePublicKeyResponse(no_crc.dump(), kName).has_value());
  json number_crc = PublicKeyAnswer(key, "EC_SIGN_P256_SHA256");
  number_crc["pemCrc32c"] = std::stoll(number_crc["pemCrc32c"].get<std::string>());
  EXPECT_TRUE(gcpkms::ParsePublicKeyResponse(number_crc.dump(), kName).has_value());

  EXPECT_FALSE(gcpkms::ParsePublicKeyResponse(
                   PublicKeyAnswer(key, "EC_SIGN_P256_SHA256", "projects/other").dump(), kName)
                   .has_value());
  // The key must be what the algorithm says.
  EXPECT_FALSE(
      gcpkms::ParsePublicKeyResponse(PublicKeyAnswer(key, "EC_SIGN_P384_SHA384").dump(), kName)
          .has_value());
  EXPECT_FALSE(
      gcpkms::ParsePublicKeyResponse(
          PublicKeyAnswer(SharedKey(KeyKind::kRsa2048), "RSA_SIGN_PKCS1_3072_SHA256").dump(), kName)
          .has_value());
}

TEST(GcpKmsPublicKeyTest, CheckAlgorithmNamesTheOptionsToUse) {
  gcpkms::KeyVersion pss{*PublicKey::FromEvp(SharedKey(KeyKind::kRsa2048)),
                         "RSA_SIGN_PSS_2048_SHA256"};
  EXPECT_TRUE(gcpkms::CheckAlgorithm(pss, {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}));
  auto e = gcpkms::CheckAlgorithm(pss, {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256});
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(e.error().message, HasSubstr("--digest sha256 --rsa-pss"));
  gcpkms::KeyVersion raw{pss.public_key, "RSA_SIGN_RAW_PKCS1_2048"};
  EXPECT_EQ(gcpkms::CheckAlgorithm(raw, {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256})
                .error()
                .code,
            ErrorCode::kFailedPrecondition);
}

// ---- asymmetricSign ----

TEST(GcpKmsSignTest, RequestCarriesTheDigestAndItsCrc32cAsAString) {
  Bytes digest = Digest(DigestAlgorithm::kSha384, AsBytes("x"));
  json body = json::parse(gcpkms::SignRequestBody(DigestAlgorithm::kSha384, digest));
  EXPECT_EQ(body, (json{{"digest", {{"sha384", Base64Encode(digest)}}},
                        {"digestCrc32c", std::to_string(cloud::Crc32c(digest))}}));
}

TEST(GcpKmsSignTest, AnswerChecks) {
  Bytes signature(256, 0x42);
  json good = {{"signature", Base64Encode(signature)},
               {"signatureCrc32c", std::to_string(cloud::Crc32c(signature))},
               {"verifiedDigestCrc32c", true},
               {"name", kName}};
  EXPECT_EQ(gcpkms::ParseSignResponse(good.dump(), kName).value(), signature);

  json bad_crc = good;
  bad_crc["signatureCrc32c"] = "1";
  EXPECT_EQ(gcpkms::ParseSignResponse(bad_crc.dump(), kName).error().code, ErrorCode::kUnavailable);
  json unverified = good;
  unverified["verifiedDigestCrc32c"] = false;
  EXPECT_EQ(gcpkms::ParseSignResponse(unverified.dump(), kName).error().code,
            ErrorCode::kUnavailable);
  json absent = good;
  absent.erase("verifiedDigestCrc32c");
  EXPECT_EQ(gcpkms::ParseSignResponse(absent.dump(), kName).error().code, ErrorCode::kUnavailable);
  json other = good;
  other["name"] = "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/4";
  EXPECT_EQ(gcpkms::ParseSignResponse(other.dump(), kName).error().code, ErrorCode::kUnavailable);
}

TEST(GcpKmsErrorTest, KeepsTheStatusAndMessage) {
  Error e = gcpkms::ServiceError(
      gcpkms::kService,
      {403,
       {},
       R"({"error":{"code":403,"message":"Permission 'cloudkms.cryptoKeyVersions.useToSign' denied","status":"PERMISSION_DENIED"}})"});
  EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(e.message, HasSubstr("PERMISSION_DENIED: Permission "
                                   "'cloudkms.cryptoKeyVersions.useToSign' denied (HTTP 403)"));
}

// ---- credentials ----

TEST(GcpCredentialTest, ServiceAccountAssertion) {
  EVP_PKEY* key = SharedKey(KeyKind::kRsa2048);
  gcpkms::ServiceAccountKey sa{"sa@p.iam.gserviceaccount.com", "kid-1",
                               "https://oauth2.googleapis.com/token",
                               Secret(testing::PrivateKeyPkcs8Pem(key))};
  auto jwt = gcpkms::ServiceAccountAssertion(sa, gcpkms::kKmsScope, 1'700'000'000);
  ASSERT_TRUE(jwt.has_value()) << jwt.error().message;
  EXPECT_TRUE(testing::JwtVerifies(jwt->Reveal(), key));
  auto [header, claims] = testing::JwtParts(jwt->Reveal());
  EXPECT_EQ(header, (json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}}));
  EXPECT_EQ(claims, (json{{"iss", "sa@p.iam.gserviceaccount.com"},
                          {"scope", "https://www.googleapis.com/auth/cloudkms"},
                          {"aud", "https://oauth2.googleapis.com/token"},
                          {"iat", 1'700'000'000},
                          {"exp", 1'700'003'600}}));
}

TEST(GcpCredentialTest, Rfc3339) {
  EXPECT_EQ(gcpkms::ParseRfc3339("2023-11-14T22:13:20Z"), 1'700'000'000);
  EXPECT_EQ(gcpkms::ParseRfc3339("2023-11-14T22:13:20.123456Z"), 1'700'000'000);
  EXPECT_FALSE(gcpkms::ParseRfc3339("2023-11-14T22:13:20+01:00"));
  EXPECT_FALSE(gcpkms::ParseRfc3339("2023-13-14T22:13:20Z"));
  EXPECT_FALSE(gcpkms::ParseRfc3339(""));
}

TEST(GcpCredentialTest, UnsupportedCredentialTypesArePreconditionErrors) {
  testing::TempDir dir;
  ScopedEnv file("GOOGLE_APPLICATION_CREDENTIALS",
                 dir.Write("c.json", std::string_view(R"({"type": "authorized_user"})")));
  auto source = gcpkms::CredentialFromEnvironment(nullptr);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(source.error().message, HasSubstr("authorized_user"));
  ScopedEnv aws(
      "GOOGLE_APPLICATION_CREDENTIALS",
      dir.Write("aws.json", std::string_view(R"({"type": "external_account", "audience": "a",
                  "subject_token_type": "t", "token_url": "https://sts.googleapis.com/v1/token",
                  "credential_source": {"environment_id": "aws1"}})")));
  EXPECT_EQ(gcpkms::CredentialFromEnvironment(nullptr).error().code,
            ErrorCode::kFailedPrecondition);
}

TEST(GcpCredentialTest, MetadataServerWhenNoFileIsGiven) {
  ScopedEnv file("GOOGLE_APPLICATION_CREDENTIALS", std::nullopt);
  ScopedEnv host("GCE_METADATA_HOST", std::nullopt);
  testing::FakeService metadata([](const net::HttpRequest& r) {
    EXPECT_EQ(r.url,
              "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/"
              "default/token");
    EXPECT_EQ(testing::HeaderOf(r, "Metadata-Flavor"), "Google");
    net::HttpResponse answer = JsonAnswer(200, {{"access_token", "ya29.md"}, {"expires_in", 3599}});
    answer.headers.emplace_back("metadata-flavor", "Google");
    return answer;
  });
  auto source = gcpkms::CredentialFromEnvironment(metadata.Factory());
  ASSERT_TRUE(source.has_value()) << source.error().message;
  ASSERT_EQ(metadata.options().size(), 1U);
  EXPECT_EQ(metadata.options()[0].plain_http_hosts,
            (std::vector<std::string>{"metadata.google.internal", "169.254.169.254"}));
  auto http = metadata.Factory()({});
  auto token = (*source)->Fetch(*http);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_EQ(token->value.Reveal(), "ya29.md");
}

TEST(GcpCredentialTest, AnswerWithoutMetadataFlavorIsRefused) {
  ScopedEnv file("GOOGLE_APPLICATION_CREDENTIALS", std::nullopt);
  ScopedEnv host("GCE_METADATA_HOST", "127.0.0.1:8080");
  testing::FakeService impostor([](const net::HttpRequest&) {
    return JsonAnswer(200, {{"access_token", "ya29.md"}, {"expires_in", 3599}});
  });
  auto source = gcpkms::CredentialFromEnvironment(impostor.Factory());
  ASSERT_TRUE(source.has_value());
  auto http = impostor.Factory()({});
  auto token = (*source)->Fetch(*http);
  ASSERT_FALSE(token.has_value());
  EXPECT_THAT(token.error().message, HasSubstr("Metadata-Flavor"));
}

// ---- the backend against a fake Cloud KMS + token endpoint ----

class GcpKmsBackendTest : public ::testing::Test {
 protected:
  GcpKmsBackendTest()
      : service_([this](const net::HttpRequest& r) { return Handle(r); }),
        backend_(MakeGcpKmsKeyBackend(service_.Factory())) {
    std::string pem = testing::PrivateKeyPkcs8Pem(sa_key_);
    json sa = {{"type", "service_account"},
               {"client_email", "sa@p.iam.gserviceaccount.com"},
               {"private_key_id", "kid-1"},
               {"private_key", pem},
               {"token_uri", "https://oauth2.example.test/token"}};
    credentials_.emplace("GOOGLE_APPLICATION_CREDENTIALS", dir_.Write("sa.json", sa.dump()));
  }

  net::HttpResponse Handle(const net::HttpRequest& r) {
    if (r.url == "https://oauth2.example.test/token") {
      auto form = testing::ParseForm(r.body);
      EXPECT_EQ(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
      EXPECT_TRUE(testing::JwtVerifies(form["assertion"], sa_key_));
      return JsonAnswer(
          200, {{"access_token", "ya29.test"}, {"expires_in", 3599}, {"token_type", "Bearer"}});
    }
    EXPECT_EQ(testing::HeaderOf(r, "Authorization"), "Bearer ya29.test");
    const std::string base = "https://cloudkms.googleapis.com/v1/" + std::string(kName);
    if (r.method == "GET") {
      EXPECT_EQ(r.url, base + "/publicKey");
      return JsonAnswer(200, PublicKeyAnswer(key_, algorithm_));
    }
    EXPECT_EQ(r.url, base + ":asymmetricSign");
    EXPECT_EQ(testing::HeaderOf(r, "Content-Type"), "application/json");
    json body = json::parse(r.body);
    const std::string digest_name = body["digest"].begin().key();
    Bytes digest = *Base64Decode(body["digest"][digest_name].get<std::string>());
    EXPECT_EQ(body["digestCrc32c"], std::to_string(cloud::Crc32c(digest)));
    Bytes signature =
        testing::SignDigest(key_, digest_name, digest, algorithm_.find("PSS") != std::string::npos);
    return JsonAnswer(200, {{"signature", Base64Encode(signature)},
                            {"signatureCrc32c", std::to_string(cloud::Crc32c(signature))},
                            {"verifiedDigestCrc32c", true},
                            {"name", kName}});
  }

  testing::TempDir dir_;
  EVP_PKEY* sa_key_ = SharedKey(KeyKind::kRsa2048);
  std::optional<ScopedEnv> credentials_;
  ScopedEnv endpoint_{"SIGNET_GCPKMS_ENDPOINT", std::nullopt};
  FakeService service_;
  std::unique_ptr<KeyBackend> backend_;
  EVP_PKEY* key_ = SharedKey(KeyKind::kEcP384);
  std::string algorithm_ = "EC_SIGN_P384_SHA384";
};

TEST_F(GcpKmsBackendTest, SignsWithTheKeyVersionsAlgorithm) {
  auto signer = backend_->Open("gcpkms://" + std::string(kName), {});
  ASSERT_TRUE(signer.has_value()) << signer.error().message;
  SignatureAlgorithm alg{SignatureScheme::kEcdsa, DigestAlgorithm::kSha384};
  Bytes digest = Digest(alg.digest, AsBytes("data"));
  for (int i = 0; i < 2; ++i) {
    auto signature = (*signer)->Sign({alg, digest, {}});
    ASSERT_TRUE(signature.has_value()) << signature.error().message;
    EXPECT_TRUE((*signer)->public_key().VerifyDigest(alg, digest, *signature));
  }
  auto again = backend_->Open("gcpkms://" + std::string(kName), {});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(service_.Count("/token"), 1);
  EXPECT_EQ(service_.Count("/publicKey"), 1);  // once per process
  EXPECT_EQ(service_.Count(":asymmetricSign"), 2);
}

TEST_F(GcpKmsBackendTest, OtherAlgorithmsAreRefusedWithoutARequest) {
  auto signer = backend_->Open("gcpkms://" + std::string(kName), {});
  ASSERT_TRUE(signer.has_value());
  auto signature =
      (*signer)->Sign({{SignatureScheme::kEcdsa, DigestAlgorithm::kSha256}, Bytes(32, 1), {}});
  ASSERT_FALSE(signature.has_value());
  EXPECT_EQ(signature.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(service_.Count(":asymmetricSign"), 0);
}

TEST_F(GcpKmsBackendTest, SignsRsaPss) {
  key_ = SharedKey(KeyKind::kRsa2048);
  algorithm_ = "RSA_SIGN_PSS_2048_SHA256";
  auto signer = backend_->Open("gcpkms://" + std::string(kName), {});
  ASSERT_TRUE(signer.has_value()) << signer.error().message;
  SignatureAlgorithm alg{SignatureScheme::kRsaPss, DigestAlgorithm::kSha256};
  Bytes digest = Digest(alg.digest, AsBytes("data"));
  auto signature = (*signer)->Sign({alg, digest, {}});
  ASSERT_TRUE(signature.has_value()) << signature.error().message;
}

}  // namespace
}  // namespace signet
