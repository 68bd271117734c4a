// RFC 3161 messages: the request signet sends, every check on the answer
// (status, imprint, nonce, signature) and the verification of embedded
// tokens, against an in-process TSA (test_tsa.h).
#include "timestamp/rfc3161.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ts.h>

#include <ctime>

#include "crypto/digest.h"
#include "test_keys.h"
#include "timestamp/test_tsa.h"

namespace signet::timestamp {
namespace {

using signet::testing::TestTsa;
using ::testing::HasSubstr;

const Bytes kSignature = ToBytes("the signature value being timestamped");

TEST(Rfc3161Request, IsATimeStampReqWithImprintNonceAndCertReq) {
  Bytes der = BuildRequest(DigestAlgorithm::kSha384, kSignature,
                           0x1234567890abcdefULL & 0x7fffffffffffffffULL);
  const unsigned char* p = der.data();
  TS_REQ* req = d2i_TS_REQ(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(p, der.data() + der.size());
  EXPECT_EQ(TS_REQ_get_version(req), 1);
  EXPECT_EQ(TS_REQ_get_cert_req(req), 1);
  std::uint64_t nonce = 0;
  ASSERT_EQ(ASN1_INTEGER_get_uint64(&nonce, TS_REQ_get_nonce(req)), 1);
  EXPECT_EQ(nonce, 0x1234567890abcdefULL & 0x7fffffffffffffffULL);
  TS_MSG_IMPRINT* imprint = TS_REQ_get_msg_imprint(req);
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, TS_MSG_IMPRINT_get_algo(imprint));
  EXPECT_EQ(OBJ_obj2nid(oid), NID_sha384);
  ASN1_OCTET_STRING* msg = TS_MSG_IMPRINT_get_msg(imprint);
  Bytes want = Digest(DigestAlgorithm::kSha384, kSignature);
  EXPECT_EQ(Bytes(ASN1_STRING_get0_data(msg), ASN1_STRING_get0_data(msg) + ASN1_STRING_length(msg)),
            want);
  TS_REQ_free(req);
}

TEST(Rfc3161Request, NoncesAreFreshAndPositive) {
  std::uint64_t a = NewNonce();
  std::uint64_t b = NewNonce();
  EXPECT_NE(a, b);
  EXPECT_NE(a, 0u);
  EXPECT_EQ(a >> 63, 0u);
}

class Rfc3161ResponseTest : public ::testing::Test {
 protected:
  Bytes Request() const { return BuildRequest(DigestAlgorithm::kSha256, kSignature, kNonce); }
  static constexpr std::uint64_t kNonce = 0x0123456789abcdefULL;
  TestTsa tsa_;
};

TEST_F(Rfc3161ResponseTest, AcceptsAValidAnswerAndReturnsTheToken) {
  auto token = CheckResponse(tsa_.Respond(Request()), DigestAlgorithm::kSha256, kSignature, kNonce);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  auto info = VerifyToken(*token, kSignature, tsa_.Anchors());
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_LE(std::abs(info->gen_time - std::time(nullptr)), 120);
  EXPECT_THAT(info->tsa_subject, HasSubstr("Signet Unit Test TSA"));
  EXPECT_EQ(info->digest_algorithm, "SHA256");
}

TEST_F(Rfc3161ResponseTest, RefusesATokenForAnotherDigest) {
  auto token = CheckResponse(tsa_.Respond(Request(), TestTsa::Fault::kWrongImprint),
                             DigestAlgorithm::kSha256, kSignature, kNonce);
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kVerificationFailed);
  EXPECT_THAT(token.error().message, HasSubstr("another digest"));
}

TEST_F(Rfc3161ResponseTest, RefusesATokenWithAnotherNonce) {
  auto token = CheckResponse(tsa_.Respond(Request(), TestTsa::Fault::kWrongNonce),
                             DigestAlgorithm::kSha256, kSignature, kNonce);
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kVerificationFailed);
  EXPECT_THAT(token.error().message, HasSubstr("nonce"));
}

TEST_F(Rfc3161ResponseTest, RefusesAnAnswerToAnotherRequest) {
  // A valid answer, but for other data: the imprint check catches it.
  auto token = CheckResponse(tsa_.Respond(Request()), DigestAlgorithm::kSha256,
                             ToBytes("other signature"), kNonce);
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kVerificationFailed);
}

TEST_F(Rfc3161ResponseTest, RefusesARejection) {
  auto token = CheckResponse(tsa_.Respond(Request(), TestTsa::Fault::kRejection),
                             DigestAlgorithm::kSha256, kSignature, kNonce);
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kVerificationFailed);
  EXPECT_THAT(token.error().message, HasSubstr("refused"));
  EXPECT_THAT(token.error().message, HasSubstr("PKIStatus 2"));
}

TEST_F(Rfc3161ResponseTest, RefusesGarbageAndTruncatedAnswers) {
  Bytes good = tsa_.Respond(Request());
  for (Bytes bad : {Bytes{}, ToBytes("<html>busy</html>"), Bytes(good.begin(), good.end() - 1),
                    Bytes(good.begin(), good.begin() + good.size() / 2)}) {
    auto token = CheckResponse(bad, DigestAlgorithm::kSha256, kSignature, kNonce);
    ASSERT_FALSE(token.has_value());
    EXPECT_EQ(token.error().code, ErrorCode::kVerificationFailed);
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(CheckResponse(trailing, DigestAlgorithm::kSha256, kSignature, kNonce).has_value());
}

TEST_F(Rfc3161ResponseTest, RefusesATokenWhoseSignatureWasAltered) {
  Bytes resp = tsa_.Respond(Request());
  // The ECDSA signature sits at the end of the response: flip a byte in it.
  resp[resp.size() - 5] ^= 0x01;
  auto token = CheckResponse(resp, DigestAlgorithm::kSha256, kSignature, kNonce);
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kVerificationFailed);
}

TEST_F(Rfc3161ResponseTest, VerifyTokenChecksTheAnchorsAndTheData) {
  Bytes token =
      CheckResponse(tsa_.Respond(Request()), DigestAlgorithm::kSha256, kSignature, kNonce).value();
  TestTsa other;
  auto wrong_ca = VerifyToken(token, kSignature, other.Anchors());
  ASSERT_FALSE(wrong_ca.has_value());
  EXPECT_EQ(wrong_ca.error().code, ErrorCode::kVerificationFailed);
  auto wrong_data = VerifyToken(token, ToBytes("not the signature"), tsa_.Anchors());
  ASSERT_FALSE(wrong_data.has_value());
  EXPECT_EQ(wrong_data.error().code, ErrorCode::kVerificationFailed);
  auto garbage = VerifyToken(ToBytes("garbage"), kSignature, tsa_.Anchors());
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, ErrorCode::kVerificationFailed);
}

TEST_F(Rfc3161ResponseTest, GenTimeComesFromTheToken) {
  const std::time_t past = 1700000000;  // 2023-11-14
  Bytes token = CheckResponse(tsa_.Respond(Request(), TestTsa::Fault::kNone, past),
                              DigestAlgorithm::kSha256, kSignature, kNonce)
                    .value();
  auto info = VerifyToken(token, kSignature, tsa_.Anchors());
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->gen_time, past);
}

}  // namespace
}  // namespace signet::timestamp
