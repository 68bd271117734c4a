// SigningPlan: the JSON that crosses the network, and CheckPlan's guards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "crypto/digest.h"
#include "formats/format.h"

namespace signet {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

SigningPlan CmsLikePlan() {
  SigningPlan plan;
  plan.format = "cms";
  plan.artifact = "dist/app.tar.gz";
  plan.artifact_size = 5'000'000'000ULL;  // larger than 32 bits
  plan.content_digest_algorithm = DigestAlgorithm::kSha384;
  plan.content_digest = Digest(DigestAlgorithm::kSha384, AsBytes("content"));
  plan.signature_algorithm = {SignatureScheme::kRsaPss, DigestAlgorithm::kSha384};
  plan.to_be_signed = Bytes{0x31, 0x03, 0x02, 0x01, 0xff};
  plan.to_be_signed_digest = Digest(DigestAlgorithm::kSha384, plan.to_be_signed);
  return plan;
}

SigningPlan PlanWithFormatData() {
  SigningPlan plan = CmsLikePlan();
  plan.format = "pe";
  plan.format_data = {{"checksum_sum", "1234567"}, {"note", ""}};
  return plan;
}

SigningPlan RawPlan() {
  SigningPlan plan;
  plan.format = "raw";
  plan.artifact = "a.bin";
  plan.artifact_size = 0;
  plan.content_digest = Digest(DigestAlgorithm::kSha256, AsBytes(""));
  plan.signature_algorithm = {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256};
  plan.to_be_signed_digest = plan.content_digest;
  return plan;
}

void ExpectSamePlan(const SigningPlan& a, const SigningPlan& b) {
  EXPECT_EQ(a.format, b.format);
  EXPECT_EQ(a.artifact, b.artifact);
  EXPECT_EQ(a.artifact_size, b.artifact_size);
  EXPECT_EQ(a.content_digest_algorithm, b.content_digest_algorithm);
  EXPECT_EQ(a.content_digest, b.content_digest);
  EXPECT_EQ(a.signature_algorithm, b.signature_algorithm);
  EXPECT_EQ(a.to_be_signed, b.to_be_signed);
  EXPECT_EQ(a.to_be_signed_digest, b.to_be_signed_digest);
  EXPECT_EQ(a.format_data, b.format_data);
}

TEST(SigningPlanJson, RoundTrips) {
  for (const SigningPlan& plan : {CmsLikePlan(), RawPlan(), PlanWithFormatData()}) {
    auto back = SigningPlan::FromJson(plan.ToJson());
    ASSERT_TRUE(back.has_value()) << back.error().message;
    ExpectSamePlan(*back, plan);
    // And through text, as it travels.
    auto reparsed = SigningPlan::FromJson(json::parse(plan.ToJson().dump()));
    ASSERT_TRUE(reparsed.has_value());
    ExpectSamePlan(*reparsed, plan);
  }
}

TEST(SigningPlanJson, WireFormat) {
  json j = CmsLikePlan().ToJson();
  EXPECT_EQ(j["format"], "cms");
  EXPECT_EQ(j["artifact"], "dist/app.tar.gz");
  EXPECT_EQ(j["artifact_size"].get<std::uint64_t>(), 5'000'000'000ULL);
  EXPECT_EQ(j["content_digest_algorithm"], "sha384");
  EXPECT_EQ(j["content_digest"], HexEncode(Digest(DigestAlgorithm::kSha384, AsBytes("content"))));
  EXPECT_EQ(j["signature_algorithm"], "rsa-pss-sha384");
  EXPECT_EQ(j["to_be_signed"], "MQMCAf8=");
  EXPECT_EQ(j.size(), 8u);
  EXPECT_EQ(RawPlan().ToJson()["to_be_signed"], "");
  json with_data = PlanWithFormatData().ToJson();
  EXPECT_EQ(with_data["format_data"]["checksum_sum"], "1234567");
  EXPECT_EQ(with_data.size(), 9u);
}

TEST(SigningPlanJson, AcceptsUpperCaseHex) {
  json j = RawPlan().ToJson();
  std::string hex = j["content_digest"];
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  j["content_digest"] = hex;
  auto plan = SigningPlan::FromJson(j);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->content_digest, RawPlan().content_digest);
}

TEST(SigningPlanJson, RejectsNonObjects) {
  for (const json& j : {json(nullptr), json::array(), json("plan"), json(3)}) {
    auto plan = SigningPlan::FromJson(j);
    ASSERT_FALSE(plan.has_value()) << j.dump();
    EXPECT_EQ(plan.error().code, ErrorCode::kInvalidArgument);
  }
}

class MissingField : public ::testing::TestWithParam<std::string> {};

TEST_P(MissingField, IsRejectedNamingTheField) {
  json j = CmsLikePlan().ToJson();
  ASSERT_EQ(j.erase(GetParam()), 1u);
  auto plan = SigningPlan::FromJson(j);
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(plan.error().message, HasSubstr("'" + GetParam() + "'"));
}

INSTANTIATE_TEST_SUITE_P(SigningPlanJson, MissingField,
                         ::testing::Values("format", "artifact", "artifact_size",
                                           "content_digest_algorithm", "content_digest",
                                           "signature_algorithm", "to_be_signed",
                                           "to_be_signed_digest"));

struct WrongValue {
  std::string name;
  std::string field;
  json value;

  friend void PrintTo(const WrongValue& c, std::ostream* os) { *os << c.name; }
};

class WrongType : public ::testing::TestWithParam<WrongValue> {};

TEST_P(WrongType, IsRejected) {
  json j = CmsLikePlan().ToJson();
  j[GetParam().field] = GetParam().value;
  auto plan = SigningPlan::FromJson(j);
  ASSERT_FALSE(plan.has_value()) << j.dump();
  EXPECT_EQ(plan.error().code, ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(
    SigningPlanJson, WrongType,
    ::testing::Values(WrongValue{"FormatNumber", "format", 1},
                      WrongValue{"ArtifactNull", "artifact", nullptr},
                      WrongValue{"SizeString", "artifact_size", "12"},
                      WrongValue{"SizeNegative", "artifact_size", -1},
                      WrongValue{"SizeFloat", "artifact_size", 1.5},
                      WrongValue{"SizeBool", "artifact_size", true},
                      WrongValue{"DigestAlgUnknown", "content_digest_algorithm", "md5"},
                      WrongValue{"DigestArray", "content_digest", json::array({1, 2})},
                      WrongValue{"DigestOddHex", "content_digest", "abc"},
                      WrongValue{"DigestNotHex", "content_digest", "zz"},
                      WrongValue{"SigAlgUnknown", "signature_algorithm", "dsa-sha256"},
                      WrongValue{"SigAlgObject", "signature_algorithm", json::object()},
                      WrongValue{"TbsNotBase64", "to_be_signed", "not base64!"},
                      WrongValue{"TbsUnpadded", "to_be_signed", "MQMCAf8"},
                      WrongValue{"TbsDigestNotHex", "to_be_signed_digest", "xyz0"},
                      WrongValue{"FormatDataArray", "format_data", json::array({"a"})},
                      WrongValue{"FormatDataNumberValue", "format_data", json{{"k", 1}}}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(CheckPlan, AcceptsConsistentPlans) {
  EXPECT_TRUE(CheckPlan(CmsLikePlan(), "cms").has_value());
  EXPECT_TRUE(CheckPlan(RawPlan(), "raw").has_value());
}

TEST(CheckPlan, RejectsAPlanForAnotherFormat) {
  auto st = CheckPlan(RawPlan(), "cms");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(st.error().message, HasSubstr("'raw', not 'cms'"));
}

TEST(CheckPlan, RejectsAContentDigestOfTheWrongLength) {
  SigningPlan plan = CmsLikePlan();
  plan.content_digest.pop_back();
  auto st = CheckPlan(plan, "cms");
  ASSERT_FALSE(st.has_value());
  EXPECT_THAT(st.error().message, HasSubstr("content digest has the wrong length"));
  plan = CmsLikePlan();
  plan.content_digest_algorithm = DigestAlgorithm::kSha256;  // 48 bytes claimed as sha256
  EXPECT_FALSE(CheckPlan(plan, "cms").has_value());
}

TEST(CheckPlan, RejectsAToBeSignedDigestOfTheWrongLength) {
  SigningPlan plan = RawPlan();
  plan.to_be_signed_digest.push_back(0);
  auto st = CheckPlan(plan, "raw");
  ASSERT_FALSE(st.has_value());
  EXPECT_THAT(st.error().message, HasSubstr("to-be-signed digest has the wrong length"));
}

TEST(CheckPlan, RejectsAToBeSignedDigestThatDoesNotMatchTheBytes) {
  SigningPlan plan = CmsLikePlan();
  plan.to_be_signed.back() ^= 0x01;
  auto st = CheckPlan(plan, "cms");
  ASSERT_FALSE(st.has_value());
  EXPECT_THAT(st.error().message, HasSubstr("does not match its bytes"));
}

TEST(VerifyReportJson, OmitsEmptyOptionalFields) {
  VerifyReport report;
  report.format = "raw";
  report.artifact = "a";
  report.signature_algorithm = "ecdsa-sha256";
  report.digest_algorithm = "sha256";
  report.key = "EC P-256";
  json j = report.ToJson();
  EXPECT_FALSE(j.contains("signer"));
  EXPECT_FALSE(j.contains("signing_time"));
  EXPECT_FALSE(j.contains("signature"));
  report.signer_subject = "CN=x";
  report.signing_time = 1767323045;
  report.signature_path = "a.sig";
  j = report.ToJson();
  EXPECT_EQ(j["signer"], "CN=x");
  EXPECT_EQ(j["signing_time"], "2026-01-02T03:04:05Z");
  EXPECT_EQ(j["signature"], "a.sig");
}

}  // namespace
}  // namespace signet
