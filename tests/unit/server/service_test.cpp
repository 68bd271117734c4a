// The signing service without HTTP: requests go straight to Handle().
// Real file keys, real SQLite audit log; a failing store double stands in
// for an audit database that is down (fail closed).
#include "server/service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/public_key.h"
#include "remote/protocol.h"
#include "service_fixture.h"

namespace signet::server {
namespace {

using signet::testing::ServiceFixture;
using ::testing::HasSubstr;
using ::testing::Not;

nlohmann::json Body(const ServerResponse& r) { return nlohmann::json::parse(r.body); }

// An audit store that is down: every call fails.
class DownStore final : public audit::Store {
 public:
  Result<std::vector<audit::Record>> Append(std::vector<audit::Record>) override {
    ++appends;
    return Unavailable("audit database unreachable");
  }
  Result<std::vector<audit::Record>> List(const audit::ListFilter&) override {
    return Unavailable("down");
  }
  Result<audit::VerifyResult> Verify() override { return Unavailable("down"); }
  Status ForEach(const std::function<Status(const audit::Record&)>&) override {
    return Unavailable("down");
  }
  Status Ping() override { return Unavailable("down"); }
  int appends = 0;
};

TEST(SigningService, SignsAPlanAndCommitsItsRecord) {
  ServiceFixture f;
  auto service = f.Start();
  ASSERT_NE(service, nullptr);
  SigningPlan plan = f.Plan("a.txt");
  ServerResponse r = service->Handle(f.SignRequest(f.bot_token, "ec", {plan}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto reply = remote::SignReply::FromJson(Body(r));
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->signatures.size(), 1u);
  auto pub = PublicKey::FromPem(ToBytes(signet::testing::PublicKeyPem(f.ec_key)));
  ASSERT_TRUE(pub.has_value());
  EXPECT_TRUE(
      pub->VerifyDigest(plan.signature_algorithm, plan.to_be_signed_digest, reply->signatures[0])
          .has_value());

  auto records = f.AuditRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].decision, "allow");
  EXPECT_EQ(records[0].subject, "bot");
  EXPECT_EQ(records[0].key, "ec");
  EXPECT_EQ(records[0].format, "cms");
  EXPECT_EQ(records[0].request_id, reply->request_id);
  EXPECT_EQ(records[0].content_digest, "sha256:" + HexEncode(plan.content_digest));
  EXPECT_EQ(records[0].tbs_digest, "sha256:" + HexEncode(plan.to_be_signed_digest));
  EXPECT_EQ(records[0].certificate_sha256.size(), 64u);
  EXPECT_EQ(records[0].reason, "allowed by rule bots");
}

TEST(SigningService, BatchSignsEveryPlanWithOneRecordEach) {
  ServiceFixture f;
  auto service = f.Start();
  std::vector<SigningPlan> plans;
  for (int i = 0; i < 5; ++i) plans.push_back(f.Plan("f" + std::to_string(i)));
  ServerResponse r = service->Handle(f.SignRequest(f.bot_token, "ec", plans));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["results"].size(), 5u);
  auto records = f.AuditRecords();
  ASSERT_EQ(records.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(records[i].artifact, plans[i].artifact);
}

TEST(SigningService, RefusesABatchOverTheLimit) {
  ServiceFixture f;
  auto service = f.Start();
  std::vector<SigningPlan> plans(9, f.Plan("x"));
  ServerResponse r = service->Handle(f.SignRequest(f.bot_token, "ec", plans));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("at most 8"));
}

TEST(SigningService, NoTokenIs401AndAudited) {
  ServiceFixture f;
  auto service = f.Start();
  ServerResponse r = service->Handle(f.SignRequest("", "ec", {f.Plan("a")}));
  EXPECT_EQ(r.status, 401);
  auto records = f.AuditRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].decision, "deny");
  EXPECT_THAT(records[0].reason, HasSubstr("authentication failed"));
  EXPECT_EQ(records[0].client, "127.0.0.1:40000");
}

TEST(SigningService, UnknownApiTokenIs401AndNeverRecorded) {
  ServiceFixture f;
  auto service = f.Start();
  std::string forged = "sgt_" + std::string(43, 'A');
  ServerResponse r = service->Handle(f.SignRequest(forged, "ec", {f.Plan("a")}));
  EXPECT_EQ(r.status, 401);
  auto records = f.AuditRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_THAT(records[0].ToJson().dump(), Not(HasSubstr(forged)));
  EXPECT_THAT(f.log_text.str(), Not(HasSubstr(forged)));
}

TEST(SigningService, PlanThatDoesNotCommitToItsDigestIs403AndAudited) {
  ServiceFixture f;
  auto service = f.Start();
  SigningPlan plan = f.Plan("a.txt");
  plan.content_digest[0] ^= 1;  // claims another artifact than the attributes sign
  ServerResponse r = service->Handle(f.SignRequest(f.bot_token, "ec", {plan}));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_THAT(r.body, HasSubstr("commit"));
  auto records = f.AuditRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].decision, "deny");
  EXPECT_EQ(records[0].content_digest, "sha256:" + HexEncode(plan.content_digest));
}

TEST(SigningService, PolicyDenialNamesNoOtherKeysRule) {
  ServiceFixture f;
  auto service = f.Start();
  ServerResponse r = service->Handle(f.SignRequest(f.stranger_token, "ec", {f.Plan("a")}));
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, Not(HasSubstr("secret-rule-of-other")));
  ASSERT_EQ(f.AuditRecords().size(), 1u);
  EXPECT_EQ(f.AuditRecords()[0].decision, "deny");
}

TEST(SigningService, FormatOutsideTheRuleIs403) {
  ServiceFixture f([](nlohmann::json& j) {
    j["policy"]["rules"][0]["formats"] = nlohmann::json::array({"raw"});
  });
  auto service = f.Start();
  ServerResponse r = service->Handle(f.SignRequest(f.bot_token, "ec", {f.Plan("a")}));
  EXPECT_EQ(r.status, 403);
}

TEST(SigningService, KeyOutsideTheTokensScopeIsNotFound) {
  ServiceFixture f;
  auto service = f.Start();
  ServerResponse r = service->Handle(f.SignRequest(f.bot_token, "other", {f.Plan("a")}));
  EXPECT_EQ(r.status, 404);
  ServerResponse k = service->Handle(f.Get("/v1/keys/other", f.bot_token));
  EXPECT_EQ(k.status, 404);
}

TEST(SigningService, AlgorithmThatDoesNotFitTheKeyIs400) {
  ServiceFixture f;
  auto service = f.Start();
  SigningPlan plan = f.Plan("a");
  plan.signature_algorithm.scheme = SignatureScheme::kRsaPkcs1v15;
  ServerResponse r = service->Handle(f.SignRequest(f.bot_token, "ec", {plan}));
  EXPECT_EQ(r.status, 400);
}

TEST(SigningService, OversizedPlanIs400) {
  ServiceFixture f;
  auto service = f.Start();
  SigningPlan plan = f.Plan("a");
  plan.format_data["padding"] = std::string(remote::kMaxPlanBytes, 'x');
  ServerResponse r = service->Handle(f.SignRequest(f.bot_token, "ec", {plan}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("larger than"));
}

TEST(SigningService, FailsClosedWhenTheAuditLogIsDown) {
  ServiceFixture f;
  auto store = std::make_unique<DownStore>();
  DownStore* down = store.get();
  auto service = f.Start(std::move(store));
  ServerResponse r = service->Handle(f.SignRequest(f.bot_token, "ec", {f.Plan("a")}));
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(Body(r).contains("results"));
  EXPECT_EQ(down->appends, 1);
  EXPECT_EQ(service->Handle(f.Get("/healthz")).status, 503);
}

TEST(SigningService, KeyInfoInfoHealthAndMetrics) {
  ServiceFixture f;
  auto service = f.Start();
  ServerResponse key = service->Handle(f.Get("/v1/keys/ec", f.bot_token));
  ASSERT_EQ(key.status, 200);
  auto info = remote::KeyInfo::FromJson(Body(key));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->key_type, "EC P-256");
  EXPECT_EQ(info->chain.size(), 2u);
  EXPECT_EQ(service->Handle(f.Get("/v1/keys/ec")).status, 401);

  EXPECT_EQ(Body(service->Handle(f.Get("/v1/info")))["max_plans_per_request"], 8);
  EXPECT_EQ(service->Handle(f.Get("/healthz")).status, 200);
  EXPECT_EQ(service->Handle(f.Get("/nope")).status, 404);

  service->Handle(f.SignRequest(f.bot_token, "ec", {f.Plan("a")}));
  std::string metrics = service->Handle(f.Get("/metrics")).body;
  EXPECT_THAT(metrics, HasSubstr("signet_requests_total{route=\"/v1/sign\",outcome=\"ok\"} 1"));
  EXPECT_THAT(metrics,
              HasSubstr("signet_denials_total{route=\"/v1/keys/{name}\",status=\"401\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("signet_signatures_total 1"));
}

TEST(SigningService, LogsOneJsonLinePerRequestWithoutTheToken) {
  ServiceFixture f;
  auto service = f.Start();
  service->Handle(f.SignRequest(f.bot_token, "ec", {f.Plan("a")}));
  service->Handle(f.SignRequest(f.stranger_token, "ec", {f.Plan("b")}));
  std::istringstream lines(f.log_text.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["msg"], "request");
    EXPECT_FALSE(j["request_id"].get<std::string>().empty());
    ++n;
  }
  EXPECT_EQ(n, 2);
  EXPECT_THAT(f.log_text.str(), Not(HasSubstr(f.bot_token)));
  EXPECT_THAT(f.log_text.str(), Not(HasSubstr(f.stranger_token)));
}

}  // namespace
}  // namespace signet::server
