// awskms: backend against a loopback fake of the AWS endpoints (KMS
// TrentService, STS, the ECS credentials endpoint, IMDSv2) that checks the
// requests the way the services document them and signs with a local key.
// The SigV4 arithmetic itself is checked in sigv4_test.cpp (AWS's vectors)
// and against botocore in tests/interop/kms (moto).
#include "keys/awskms/awskms_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "crypto/digest.h"
#include "net/test_http_server.h"
#include "test_keys.h"

namespace signet {
namespace {

using nlohmann::json;
using signet::testing::KeyKind;
using signet::testing::SharedKey;
using signet::testing::TempDir;
using signet::testing::TestHttpServer;
using signet::testing::TestRequest;
using signet::testing::TestResponse;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kAccessKey = "AKIDUNITTEST";
constexpr const char* kSecretKey = "unit/secret+key/NEVER-PRINTED";
constexpr const char* kSessionToken = "session-token-NEVER-PRINTED";

TestResponse Json(int status, const json& body) {
  TestResponse r;
  r.status = status;
  r.body = body.dump();
  r.headers = {{"Content-Type", "application/x-amz-json-1.1"}};
  return r;
}

TestResponse Raw(int status, std::string body) {
  TestResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string DigestAlgorithmOf(const std::string& kms_alg) {
  if (kms_alg.ends_with("384")) return "sha384";
  if (kms_alg.ends_with("512")) return "sha512";
  return "sha256";
}

// A fake KMS holding one key. Handlers may be overridden per test.
class FakeKms {
 public:
  explicit FakeKms(EVP_PKEY* key, std::vector<std::string> algorithms)
      : key_(key), algorithms_(std::move(algorithms)) {}

  TestResponse Handle(const TestRequest& r) {
    std::lock_guard lock(mu_);
    std::string target = r.Header("x-amz-target");
    ++calls_[target];
    if (override_) {
      if (auto answer = override_(r, target)) return *answer;
    }
    // The JSON 1.1 protocol as AWS documents it.
    if (r.method != "POST" || r.target != "/" ||
        r.Header("content-type") != "application/x-amz-json-1.1") {
      return Json(400, {{"__type", "SerializationException"}, {"message", "bad request shape"}});
    }
    std::string auth = r.Header("authorization");
    if (!auth.starts_with("AWS4-HMAC-SHA256 Credential=") ||
        auth.find("/kms/aws4_request, SignedHeaders=") == std::string::npos ||
        auth.find("x-amz-target") == std::string::npos || r.Header("x-amz-date").empty()) {
      return Json(400, {{"__type", "MissingAuthenticationTokenException"}, {"message", "no"}});
    }
    last_authorization_ = auth;
    last_token_ = r.Header("x-amz-security-token");
    json body = json::parse(r.body, nullptr, false);
    if (!body.is_object() || !body.contains("KeyId")) {
      return Json(400, {{"__type", "ValidationException"}, {"message", "no KeyId"}});
    }
    last_key_id_ = body["KeyId"];
    if (target == "TrentService.GetPublicKey") {
      std::string pem = signet::testing::PublicKeyPem(key_);
      auto pub = PublicKey::FromPem(AsBytes(pem));
      return Json(200, {{"KeyId", "arn:aws:kms:us-east-1:111122223333:key/k1"},
                        {"KeySpec", key_spec_},
                        {"KeyUsage", key_usage_},
                        {"PublicKey", Base64Encode(pub->SpkiDer())},
                        {"SigningAlgorithms", algorithms_}});
    }
    if (target == "TrentService.Sign") {
      last_sign_ = body;
      if (body.value("MessageType", "") != "DIGEST") {
        return Json(400, {{"__type", "ValidationException"}, {"message", "want DIGEST"}});
      }
      std::string alg = body.value("SigningAlgorithm", "");
      auto digest = Base64Decode(body.value("Message", ""));
      if (!digest) return Json(400, {{"__type", "ValidationException"}, {"message", "b64"}});
      Bytes sig = signet::testing::SignDigest(key_, DigestAlgorithmOf(alg), *digest,
                                              alg.starts_with("RSASSA_PSS"));
      if (corrupt_signature_) sig[sig.size() / 2] ^= 0x01;
      return Json(200, {{"KeyId", "arn:aws:kms:us-east-1:111122223333:key/k1"},
                        {"Signature", Base64Encode(sig)},
                        {"SigningAlgorithm", alg}});
    }
    return Json(400, {{"__type", "UnknownOperationException"}, {"message", target}});
  }

  int calls(const std::string& target) {
    std::lock_guard lock(mu_);
    return calls_[target];
  }

  std::mutex mu_;
  EVP_PKEY* key_;
  std::vector<std::string> algorithms_;
  std::string key_spec_ = "RSA_2048";
  std::string key_usage_ = "SIGN_VERIFY";
  bool corrupt_signature_ = false;
  std::function<std::optional<TestResponse>(const TestRequest&, const std::string&)> override_;
  std::map<std::string, int> calls_;
  std::string last_authorization_;
  std::string last_token_;
  std::string last_key_id_;
  json last_sign_;
};

const std::vector<std::string> kRsaAlgorithms = {
    "RSASSA_PSS_SHA_256",        "RSASSA_PSS_SHA_384",        "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"};

class AwsKmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Fast retries for every test (read by net::HttpOptionsFromEnv).
    ::setenv("SIGNET_HTTP_BACKOFF_MS", "1", 1);
    ::setenv("SIGNET_HTTP_MAX_ATTEMPTS", "3", 1);
    ::setenv("SIGNET_HTTP_TIMEOUT_MS", "3000", 1);
    env_ = {{"HOME", home_.path()},
            {"AWS_ACCESS_KEY_ID", kAccessKey},
            {"AWS_SECRET_ACCESS_KEY", kSecretKey},
            {"AWS_REGION", "us-east-1"},
            {"AWS_EC2_METADATA_DISABLED", "true"}};
  }
  void TearDown() override {
    ::unsetenv("SIGNET_HTTP_BACKOFF_MS");
    ::unsetenv("SIGNET_HTTP_MAX_ATTEMPTS");
    ::unsetenv("SIGNET_HTTP_TIMEOUT_MS");
  }

  void UseKey(KeyKind kind, std::vector<std::string> algorithms, std::string spec) {
    kms_ = std::make_unique<FakeKms>(SharedKey(kind), std::move(algorithms));
    kms_->key_spec_ = std::move(spec);
    server_ = std::make_unique<TestHttpServer>([this](const TestRequest& r) {
      if (!r.Header("x-amz-target").empty()) return kms_->Handle(r);
      std::lock_guard lock(other_mu_);
      other_requests_.push_back(r);
      return other_ ? other_(r) : Raw(404, "");
    });
  }

  std::string Uri(const std::string& key = "alias/signing") {
    return "awskms://127.0.0.1:" + std::to_string(server_->port()) + "/" + key;
  }
  std::string Base() { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  Result<std::unique_ptr<KeySigner>> Open(const std::string& uri, const KeyOptions& o = {}) {
    if (!backend_) {
      auto env = env_;
      backend_ = MakeAwsKmsKeyBackend([env](const char* name) {
        auto it = env.find(name);
        return it == env.end() ? std::string() : it->second;
      });
    }
    return backend_->Open(uri, o);
  }

  static Result<Bytes> SignDigest(KeySigner& signer, SignatureScheme scheme,
                                  DigestAlgorithm digest_alg) {
    SignRequest req;
    req.algorithm = {scheme, digest_alg};
    Bytes digest = Digest(digest_alg, AsBytes("artifact"));
    req.digest = digest;
    return signer.Sign(req);
  }

  static void ExpectNoSecret(const std::string& text) {
    EXPECT_THAT(text, Not(HasSubstr(kSecretKey)));
    EXPECT_THAT(text, Not(HasSubstr(kSessionToken)));
  }

  TempDir home_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<FakeKms> kms_;
  std::unique_ptr<TestHttpServer> server_;
  std::unique_ptr<KeyBackend> backend_;
  std::mutex other_mu_;
  std::vector<TestRequest> other_requests_;
  std::function<TestResponse(const TestRequest&)> other_;
};

TEST(AwsKmsUriTest, ParsesTheDocumentedForms) {
  auto a = aws::ParseKmsKeyUri("awskms:///alias/release");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->host, "");
  EXPECT_EQ(a->key_id, "alias/release");
  auto b = aws::ParseKmsKeyUri(
      "awskms:///arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->key_id,
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
  auto c = aws::ParseKmsKeyUri("awskms://localhost:4566/1234abcd-12ab-34cd-56ef-1234567890ab");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->host, "localhost:4566");
  EXPECT_EQ(c->key_id, "1234abcd-12ab-34cd-56ef-1234567890ab");
}

TEST(AwsKmsUriTest, RejectsMalformedUris) {
  for (const char* uri : {"awskms://", "awskms:///", "awskms:alias/x", "awskms://host",
                          "awskms:///alias/", "awskms:///key id", "awskms:///k?x=1",
                          "awskms:///arn:aws:kms:bad", "awskms://ho st/k", "file:///k"}) {
    auto r = aws::ParseKmsKeyUri(uri);
    ASSERT_FALSE(r) << uri;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << uri;
  }
}

TEST(AwsKmsUriTest, RegionFromArn) {
  EXPECT_EQ(aws::RegionFromArn("arn:aws:kms:eu-west-1:111122223333:key/abc"), "eu-west-1");
  EXPECT_EQ(aws::RegionFromArn("arn:aws-cn:kms:cn-north-1:111122223333:alias/x"), "cn-north-1");
  EXPECT_EQ(aws::RegionFromArn("alias/x"), "");
  EXPECT_EQ(aws::RegionFromArn("arn:aws:s3:eu-west-1:1:key/x"), "");
}

TEST(AwsKmsUriTest, AlgorithmNames) {
  using enum SignatureScheme;
  EXPECT_EQ(aws::KmsSigningAlgorithm({kRsaPkcs1v15, DigestAlgorithm::kSha256}),
            "RSASSA_PKCS1_V1_5_SHA_256");
  EXPECT_EQ(aws::KmsSigningAlgorithm({kRsaPkcs1v15, DigestAlgorithm::kSha512}),
            "RSASSA_PKCS1_V1_5_SHA_512");
  EXPECT_EQ(aws::KmsSigningAlgorithm({kRsaPss, DigestAlgorithm::kSha384}), "RSASSA_PSS_SHA_384");
  EXPECT_EQ(aws::KmsSigningAlgorithm({kEcdsa, DigestAlgorithm::kSha256}), "ECDSA_SHA_256");
  EXPECT_EQ(aws::KmsSigningAlgorithm({kEcdsa, DigestAlgorithm::kSha384}), "ECDSA_SHA_384");
  EXPECT_EQ(aws::KmsSigningAlgorithm({kEcdsa, DigestAlgorithm::kSha512}), "");
  EXPECT_EQ(aws::KmsSigningAlgorithm({kEd25519, DigestAlgorithm::kSha512}), "");
}

TEST_F(AwsKmsTest, SignsRsaDigestsThatVerify) {
  UseKey(KeyKind::kRsa2048, kRsaAlgorithms, "RSA_2048");
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_EQ((*signer)->public_key().type(), KeyType::kRsa);
  for (auto scheme : {SignatureScheme::kRsaPkcs1v15, SignatureScheme::kRsaPss}) {
    for (auto d : {DigestAlgorithm::kSha256, DigestAlgorithm::kSha384, DigestAlgorithm::kSha512}) {
      auto sig = SignDigest(**signer, scheme, d);
      ASSERT_TRUE(sig) << sig.error().message;
      Bytes digest = Digest(d, AsBytes("artifact"));
      EXPECT_TRUE((*signer)->public_key().VerifyDigest({scheme, d}, digest, *sig));
      EXPECT_EQ(kms_->last_sign_["MessageType"], "DIGEST");
      EXPECT_EQ(kms_->last_sign_["Message"], Base64Encode(digest));
      EXPECT_EQ(kms_->last_sign_["SigningAlgorithm"],
                aws::KmsSigningAlgorithm(SignatureAlgorithm{scheme, d}));
    }
  }
  EXPECT_EQ(kms_->last_key_id_, "alias/signing");
  EXPECT_THAT(kms_->last_authorization_, StartsWith("AWS4-HMAC-SHA256 Credential=AKIDUNITTEST/"));
  EXPECT_THAT(kms_->last_authorization_, HasSubstr("/us-east-1/kms/aws4_request, "));
  EXPECT_THAT(kms_->last_authorization_,
              HasSubstr("SignedHeaders=content-type;host;x-amz-date;x-amz-target, "));
  EXPECT_EQ(kms_->last_token_, "");
}

TEST_F(AwsKmsTest, SignsEcdsaDigestsThatVerify) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  auto sig = SignDigest(**signer, SignatureScheme::kEcdsa, DigestAlgorithm::kSha256);
  ASSERT_TRUE(sig) << sig.error().message;
  EXPECT_EQ(kms_->last_sign_["SigningAlgorithm"], "ECDSA_SHA_256");
}

TEST_F(AwsKmsTest, PublicKeyIsFetchedOncePerProcess) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  for (int i = 0; i < 3; ++i) {
    auto signer = Open(Uri());
    ASSERT_TRUE(signer) << signer.error().message;
    ASSERT_TRUE(SignDigest(**signer, SignatureScheme::kEcdsa, DigestAlgorithm::kSha256));
  }
  EXPECT_EQ(kms_->calls("TrentService.GetPublicKey"), 1);
  EXPECT_EQ(kms_->calls("TrentService.Sign"), 3);
}

TEST_F(AwsKmsTest, SignatureThatDoesNotVerifyIsRefused) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  kms_->corrupt_signature_ = true;
  auto sig = SignDigest(**signer, SignatureScheme::kEcdsa, DigestAlgorithm::kSha256);
  ASSERT_FALSE(sig);
  EXPECT_EQ(sig.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(sig.error().message, HasSubstr("does not verify"));
}

TEST_F(AwsKmsTest, AlgorithmTheKeyDoesNotOfferIsAFailedPrecondition) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  auto sha384 = SignDigest(**signer, SignatureScheme::kEcdsa, DigestAlgorithm::kSha384);
  ASSERT_FALSE(sha384);
  EXPECT_EQ(sha384.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(sha384.error().message, HasSubstr("supports ECDSA_SHA_256"));
  auto pss = SignDigest(**signer, SignatureScheme::kRsaPss, DigestAlgorithm::kSha256);
  ASSERT_FALSE(pss);
  EXPECT_EQ(pss.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(kms_->calls("TrentService.Sign"), 0);
}

TEST_F(AwsKmsTest, EncryptionKeyIsRefused) {
  UseKey(KeyKind::kRsa2048, {}, "RSA_2048");
  kms_->key_usage_ = "ENCRYPT_DECRYPT";
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(signer.error().message, HasSubstr("SIGN_VERIFY"));
}

TEST_F(AwsKmsTest, AccessDeniedCarriesTheServiceMessageAndIsNotRetried) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  kms_->override_ = [](const TestRequest&, const std::string&) -> std::optional<TestResponse> {
    return Json(400, {{"__type", "AccessDeniedException"},
                      {"message",
                       "User: arn:aws:iam::1:user/ci is not authorized to perform: "
                       "kms:GetPublicKey"}});
  };
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(signer.error().message,
            "AWS KMS GetPublicKey: AccessDeniedException: User: arn:aws:iam::1:user/ci is not "
            "authorized to perform: kms:GetPublicKey (HTTP 400)");
  EXPECT_EQ(kms_->calls("TrentService.GetPublicKey"), 1);
  ExpectNoSecret(signer.error().message);
}

TEST_F(AwsKmsTest, ForbiddenWithAQualifiedTypeIsPermissionDenied) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  kms_->override_ = [](const TestRequest&, const std::string&) -> std::optional<TestResponse> {
    return Json(403, {{"__type", "com.amazon.coral.service#UnrecognizedClientException"},
                      {"Message", "The security token included in the request is invalid."}});
  };
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(signer.error().message,
              HasSubstr("UnrecognizedClientException: The security token included"));
}

TEST_F(AwsKmsTest, ThrottlingIsRetriedThenSucceeds) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  int throttled = 0;
  kms_->override_ = [&](const TestRequest&, const std::string&) -> std::optional<TestResponse> {
    if (throttled++ < 2) {
      return Json(400, {{"__type", "ThrottlingException"}, {"message", "Rate exceeded"}});
    }
    return std::nullopt;
  };
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_EQ(kms_->calls("TrentService.GetPublicKey"), 3);
}

TEST_F(AwsKmsTest, ServerErrorsForeverAreUnavailable) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  kms_->override_ = [](const TestRequest&, const std::string&) -> std::optional<TestResponse> {
    return Json(500, {{"__type", "KMSInternalException"}, {"message", "internal"}});
  };
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(signer.error().message, HasSubstr("KMSInternalException: internal (HTTP 500)"));
  EXPECT_EQ(kms_->calls("TrentService.GetPublicKey"), 3);  // SIGNET_HTTP_MAX_ATTEMPTS
}

TEST_F(AwsKmsTest, MalformedAnswersAreUnavailable) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  std::string answer;
  kms_->override_ = [&](const TestRequest&,
                        const std::string& target) -> std::optional<TestResponse> {
    if (target == "TrentService.Sign") return Raw(200, answer);
    return std::nullopt;
  };
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  for (std::string body :
       {"<html>proxy</html>", "[1,2]", "{}", R"({"Signature": 5})", R"({"Signature": "!!"})"}) {
    answer = body;
    auto sig = SignDigest(**signer, SignatureScheme::kEcdsa, DigestAlgorithm::kSha256);
    ASSERT_FALSE(sig) << body;
    EXPECT_EQ(sig.error().code, ErrorCode::kUnavailable) << body;
    EXPECT_THAT(sig.error().message, HasSubstr("malformed")) << body;
  }
}

TEST_F(AwsKmsTest, NotFoundAndDisabledKeys) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  std::string type = "NotFoundException";
  kms_->override_ = [&](const TestRequest&, const std::string&) -> std::optional<TestResponse> {
    return Json(400, {{"__type", type}, {"message", "Key 'alias/signing' does not exist"}});
  };
  auto missing = Open(Uri());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  type = "DisabledException";
  auto disabled = Open(Uri());
  ASSERT_FALSE(disabled);
  EXPECT_EQ(disabled.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(AwsKmsTest, NoRegionIsAFailedPrecondition) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_REGION");
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(signer.error().message, HasSubstr("AWS_REGION"));
}

TEST_F(AwsKmsTest, TheArnRegionSignsTheRequest) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  auto signer = Open(Uri("arn:aws:kms:eu-central-1:111122223333:key/k1"));
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_THAT(kms_->last_authorization_, HasSubstr("/eu-central-1/kms/aws4_request"));
  EXPECT_EQ(kms_->last_key_id_, "arn:aws:kms:eu-central-1:111122223333:key/k1");
}

TEST_F(AwsKmsTest, EndpointFromTheEnvironment) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_["AWS_ENDPOINT_URL_KMS"] = Base();
  auto signer = Open("awskms:///alias/signing");
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_EQ(kms_->calls("TrentService.GetPublicKey"), 1);
}

TEST_F(AwsKmsTest, PlainHttpEndpointMustBeLoopback) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_["AWS_ENDPOINT_URL"] = "http://kms.example.com:8080";
  auto signer = Open("awskms:///alias/signing");
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(signer.error().message, HasSubstr("loopback"));
}

TEST_F(AwsKmsTest, PartialEnvironmentCredentialsAreAnError) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_ACCESS_KEY_ID");
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  ExpectNoSecret(signer.error().message);
}

TEST_F(AwsKmsTest, NoCredentialsAnywhere) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(signer.error().message, HasSubstr("AWS credentials: none found"));
  EXPECT_EQ(kms_->calls("TrentService.GetPublicKey"), 0);
}

TEST_F(AwsKmsTest, SessionTokenFromTheEnvironmentIsSent) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_["AWS_SESSION_TOKEN"] = kSessionToken;
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_EQ(kms_->last_token_, kSessionToken);
  EXPECT_THAT(kms_->last_authorization_, HasSubstr("x-amz-security-token"));
}

TEST_F(AwsKmsTest, ProfileFromTheSharedFiles) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  env_.erase("AWS_REGION");
  env_["AWS_PROFILE"] = "signing";
  env_["AWS_SHARED_CREDENTIALS_FILE"] =
      home_.Write("creds",
                  "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = x\n"
                  "[signing]\n# comment\naws_access_key_id = AKIDPROFILE\n"
                  "aws_secret_access_key = " +
                      std::string(kSecretKey) + "\n");
  env_["AWS_CONFIG_FILE"] =
      home_.Write("config",
                  "[default]\nregion = us-west-2\n[profile signing]\nregion = ap-south-1\n"
                  "s3 =\n  max_concurrent_requests = 20\n");
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_THAT(kms_->last_authorization_, HasSubstr("Credential=AKIDPROFILE/"));
  EXPECT_THAT(kms_->last_authorization_, HasSubstr("/ap-south-1/kms/aws4_request"));
}

TEST_F(AwsKmsTest, NamedProfileThatDoesNotExist) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_["AWS_PROFILE"] = "nope";
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(signer.error().message, HasSubstr("'nope'"));
}

TEST_F(AwsKmsTest, WebIdentityThroughSts) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  const std::string jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOngifQ.c2lnbmF0dXJl";
  env_["AWS_WEB_IDENTITY_TOKEN_FILE"] = home_.Write("token", jwt + "\n");
  env_["AWS_ROLE_ARN"] = "arn:aws:iam::111122223333:role/ci-signing";
  env_["AWS_ROLE_SESSION_NAME"] = "build-42";
  env_["AWS_ENDPOINT_URL_STS"] = Base();
  other_ = [&](const TestRequest& r) {
    // AssumeRoleWithWebIdentity is unsigned and form-encoded.
    if (r.method != "POST" || !r.Header("authorization").empty() ||
        r.body.find("Action=AssumeRoleWithWebIdentity") == std::string::npos ||
        r.body.find("Version=2011-06-15") == std::string::npos ||
        r.body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fci-signing") ==
            std::string::npos ||
        r.body.find("RoleSessionName=build-42") == std::string::npos ||
        r.body.find("WebIdentityToken=" + jwt) == std::string::npos) {
      return Raw(400,
                 "<ErrorResponse><Error><Code>InvalidParameter</Code></Error></ErrorResponse>");
    }
    return Raw(200,
               "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
               "<AccessKeyId>ASIAWEBIDENTITY</AccessKeyId><SecretAccessKey>" +
                   std::string(kSecretKey) + "</SecretAccessKey><SessionToken>" + kSessionToken +
                   "</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
                   "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>");
  };
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_THAT(kms_->last_authorization_, HasSubstr("Credential=ASIAWEBIDENTITY/"));
  EXPECT_EQ(kms_->last_token_, kSessionToken);
  ASSERT_TRUE(SignDigest(**signer, SignatureScheme::kEcdsa, DigestAlgorithm::kSha256));
  EXPECT_EQ(other_requests_.size(), 1u);  // not expiring: fetched once
}

TEST_F(AwsKmsTest, WebIdentityRefusedByStsIsPermissionDenied) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  env_["AWS_WEB_IDENTITY_TOKEN_FILE"] = home_.Write("token", "header.payload.sig");
  env_["AWS_ROLE_ARN"] = "arn:aws:iam::111122223333:role/ci";
  env_["AWS_ENDPOINT_URL_STS"] = Base();
  other_ = [](const TestRequest&) {
    return Raw(400,
               "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
               "<Message>Couldn't retrieve verification key from your identity provider"
               "</Message></Error></ErrorResponse>");
  };
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(signer.error().message,
              HasSubstr("AssumeRoleWithWebIdentity: InvalidIdentityToken: Couldn't retrieve"));
  EXPECT_THAT(signer.error().message, Not(HasSubstr("header.payload.sig")));
}

TEST_F(AwsKmsTest, ContainerCredentialsAreRefreshedBeforeTheyExpire) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = Base() + "/v2/credentials/abc";
  env_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "container-auth-token";
  other_ = [](const TestRequest& r) {
    if (r.target != "/v2/credentials/abc" || r.Header("authorization") != "container-auth-token") {
      return Raw(403, R"({"code":"AccessDenied","message":"bad token"})");
    }
    // Expires in a minute: inside the five-minute refresh window.
    std::time_t soon = std::time(nullptr) + 60;
    char when[32];
    std::tm tm{};
    gmtime_r(&soon, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return Raw(200, json{{"AccessKeyId", "ASIACONTAINER"},
                         {"SecretAccessKey", kSecretKey},
                         {"Token", kSessionToken},
                         {"Expiration", when}}
                        .dump());
  };
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_THAT(kms_->last_authorization_, HasSubstr("Credential=ASIACONTAINER/"));
  ASSERT_TRUE(SignDigest(**signer, SignatureScheme::kEcdsa, DigestAlgorithm::kSha256));
  EXPECT_EQ(other_requests_.size(), 2u);  // once per KMS call
}

TEST_F(AwsKmsTest, ContainerEndpointRefusal) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = Base() + "/creds";
  other_ = [](const TestRequest&) {
    return Raw(401, R"({"code":"AccessDenied","message":"token rejected"})");
  };
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(signer.error().message, HasSubstr("AccessDenied: token rejected"));
}

TEST_F(AwsKmsTest, InstanceMetadataV2) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  env_.erase("AWS_EC2_METADATA_DISABLED");
  env_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = Base();
  const std::string imds_token = "imds-session-token";
  other_ = [&](const TestRequest& r) {
    if (r.method == "PUT" && r.target == "/latest/api/token") {
      if (r.Header("x-aws-ec2-metadata-token-ttl-seconds").empty()) return Raw(400, "");
      return Raw(200, imds_token);
    }
    if (r.Header("x-aws-ec2-metadata-token") != imds_token) return Raw(401, "");
    if (r.target == "/latest/meta-data/iam/security-credentials/") return Raw(200, "ec2-role\n");
    if (r.target == "/latest/meta-data/iam/security-credentials/ec2-role") {
      return Raw(200, json{{"Code", "Success"},
                           {"AccessKeyId", "ASIAINSTANCE"},
                           {"SecretAccessKey", kSecretKey},
                           {"Token", kSessionToken},
                           {"Expiration", "2099-01-01T00:00:00Z"}}
                          .dump());
    }
    return Raw(404, "");
  };
  auto signer = Open(Uri());
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_THAT(kms_->last_authorization_, HasSubstr("Credential=ASIAINSTANCE/"));
  EXPECT_EQ(other_requests_.size(), 3u);
}

TEST_F(AwsKmsTest, InstanceMetadataThatDoesNotAnswerMeansNoCredentials) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  env_.erase("AWS_EC2_METADATA_DISABLED");
  int closed_port = 0;
  {
    TestHttpServer gone([](const TestRequest&) { return Raw(200, ""); });
    closed_port = gone.port();
  }
  env_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:" + std::to_string(closed_port);
  auto signer = Open(Uri());
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(signer.error().message, HasSubstr("AWS credentials: none found"));
}

TEST_F(AwsKmsTest, CertificateGivenWithCertMustMatchTheKmsKey) {
  UseKey(KeyKind::kEcP256, {"ECDSA_SHA_256"}, "ECC_NIST_P256");
  auto pki = signet::testing::MakePki(SharedKey(KeyKind::kEcP256));
  KeyOptions options;
  options.cert_path = home_.Write("chain.pem", pki.ChainPem());
  auto signer = Open(Uri(), options);
  ASSERT_TRUE(signer) << signer.error().message;
  ASSERT_EQ((*signer)->certificate_chain().size(), 2u);
  auto other = signet::testing::MakePki(SharedKey(KeyKind::kEcP384));
  options.cert_path = home_.Write("other.pem", other.ChainPem());
  auto wrong = Open(Uri(), options);
  ASSERT_FALSE(wrong);
}

}  // namespace
}  // namespace signet
