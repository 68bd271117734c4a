// Policy::Evaluate: which identities, formats and sizes each rule allows,
// and what denials say (and never say).
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "policy_test_util.h"

namespace signet::policy {
namespace {

using nlohmann::json;
using testing::ApiTokenIdentity;
using testing::GitHubIdentity;
using testing::GitLabIdentity;
using testing::MakeRequest;
using testing::MustParse;

constexpr std::time_t kNow = 1'700'000'000;

// The policy of docs/policy.md, more or less.
json ExamplePolicy() {
  return json::parse(R"({"rules": [
    {"name": "app-releases", "keys": ["prod-ev"],
     "issuer": "https://token.actions.githubusercontent.com",
     "claims": {"repository": "acme/app", "ref": "refs/tags/v*", "environment": "production"},
     "formats": ["pe", "cms"], "max_artifact_size": 1000000},
    {"name": "tools-releases", "keys": ["prod-ev"],
     "claims": {"repository": "acme/tools", "ref": ["refs/tags/v*", "refs/heads/release/*"]}},
    {"name": "nightly", "keys": ["dev-*"], "claims": {"repository": "acme/*"}},
    {"name": "release-bot", "keys": ["prod-ev", "dev-*"], "issuer": "signet:api-token",
     "claims": {"subject": "release-bot"}, "formats": ["raw"]}
  ]})");
}

TEST(PolicyEvalTest, AllowsTheMatchingIdentity) {
  Policy p = MustParse(ExamplePolicy());
  const auto id = GitHubIdentity("acme/app", "refs/tags/v1.2");
  Decision d = p.Evaluate(MakeRequest(id, "prod-ev", "pe"), kNow);
  EXPECT_TRUE(d.allowed) << d.reason;
  EXPECT_EQ(d.rule, "app-releases");
  EXPECT_EQ(d.reason, "allowed by rule app-releases");
  EXPECT_EQ(d.used_claims, (std::map<std::string, std::string>{{"environment", "production"},
                                                               {"ref", "refs/tags/v1.2"},
                                                               {"repository", "acme/app"}}));
  // One line per rule for prod-ev (three of them), none for dev-*'s rule.
  ASSERT_EQ(d.explanation.size(), 3U);
  EXPECT_EQ(d.explanation[0], "rule app-releases: matches");
  EXPECT_EQ(d.explanation[1], "rule tools-releases: repository acme/app does not match acme/tools");
  EXPECT_EQ(d.explanation[2],
            "rule release-bot: issuer https://token.actions.githubusercontent.com does not match "
            "signet:api-token");
}

TEST(PolicyEvalTest, DeniesAnotherRefWithTheRulesReason) {
  Policy p = MustParse(ExamplePolicy());
  const auto id = GitHubIdentity("acme/app", "refs/heads/main");
  Decision d = p.Evaluate(MakeRequest(id, "prod-ev"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.rule.empty());
  EXPECT_EQ(d.reason,
            "no rule for key prod-ev allows identity repo:acme/app:ref:refs/heads/main: rule "
            "app-releases: ref refs/heads/main does not match refs/tags/v*");
  EXPECT_EQ(d.used_claims.at("ref"), "refs/heads/main");
}

TEST(PolicyEvalTest, DeniesOtherRepositoriesEnvironmentsAndIssuers) {
  Policy p = MustParse(ExamplePolicy());
  const auto other = GitHubIdentity("evil/app", "refs/tags/v1.2");
  Decision d = p.Evaluate(MakeRequest(other, "prod-ev"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("repository evil/app does not match"), std::string::npos) << d.reason;

  const auto staging = GitHubIdentity("acme/app", "refs/tags/v1.2", "staging");
  d = p.Evaluate(MakeRequest(staging, "prod-ev"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("rule app-releases: environment staging does not match production"),
            std::string::npos)
      << d.reason;

  // A claim the identity lacks never matches.
  const auto no_env = GitHubIdentity("acme/app", "refs/tags/v1.2", "");
  d = p.Evaluate(MakeRequest(no_env, "prod-ev"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("rule app-releases: identity has no claim environment"),
            std::string::npos)
      << d.reason;

  // Same claims from another issuer: app-releases pins GitHub's.
  auto forged = GitHubIdentity("acme/app", "refs/tags/v1.2");
  forged.issuer = "https://evil.example.com";
  d = p.Evaluate(MakeRequest(forged, "prod-ev"), kNow);
  EXPECT_FALSE(d.allowed);
}

TEST(PolicyEvalTest, ListOfGlobsMatchesAnyOfThem) {
  Policy p = MustParse(ExamplePolicy());
  for (const char* ref : {"refs/tags/v2", "refs/heads/release/2.x"}) {
    const auto id = GitHubIdentity("acme/tools", ref);
    Decision d = p.Evaluate(MakeRequest(id, "prod-ev"), kNow);
    EXPECT_TRUE(d.allowed) << ref << ": " << d.reason;
    EXPECT_EQ(d.rule, "tools-releases");
  }
  const auto id = GitHubIdentity("acme/tools", "refs/heads/main");
  Decision d = p.Evaluate(MakeRequest(id, "prod-ev"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("ref refs/heads/main does not match any of refs/tags/v*, "
                          "refs/heads/release/*"),
            std::string::npos)
      << d.reason;
}

// Rules read the same whatever CI ran the job: GitLab's project_path and
// short ref + ref_type normalise to repository and a full ref.
TEST(PolicyEvalTest, GitHubAndGitLabIdentitiesMatchTheSameRule) {
  Policy p = MustParse({{"rules",
                         {{{"name", "any-ci"},
                           {"keys", {"prod-ev"}},
                           {"claims",
                            {{"repository", "acme/app"},
                             {"ref", "refs/tags/v*"},
                             {"environment", "production"}}}}}}});
  const auto gh = GitHubIdentity("acme/app", "refs/tags/v1.2");
  const auto gl = GitLabIdentity("acme/app", "refs/tags/v1.2");
  for (const auto* id : {&gh, &gl}) {
    Decision d = p.Evaluate(MakeRequest(*id, "prod-ev"), kNow);
    EXPECT_TRUE(d.allowed) << id->issuer << ": " << d.reason;
    EXPECT_EQ(d.used_claims.at("repository"), "acme/app");
    EXPECT_EQ(d.used_claims.at("ref"), "refs/tags/v1.2");
  }
  const auto gh_main = GitHubIdentity("acme/app", "refs/heads/main");
  const auto gl_main = GitLabIdentity("acme/app", "refs/heads/main");
  for (const auto* id : {&gh_main, &gl_main}) {
    Decision d = p.Evaluate(MakeRequest(*id, "prod-ev"), kNow);
    EXPECT_FALSE(d.allowed) << id->issuer;
    EXPECT_NE(d.reason.find("ref refs/heads/main does not match refs/tags/v*"), std::string::npos)
        << d.reason;
  }
}

TEST(PolicyEvalTest, RawClaimsCanBeMatchedToo) {
  Policy p = MustParse(
      {{"rules",
        {{{"name", "wf"},
          {"keys", {"k"}},
          {"claims", {{"job_workflow_ref", "acme/app/.github/workflows/release.yml@*"}}}}}}});
  const auto id = GitHubIdentity("acme/app", "refs/tags/v1");
  EXPECT_TRUE(p.Evaluate(MakeRequest(id, "k"), kNow).allowed);
  const auto other = GitHubIdentity("acme/lib", "refs/tags/v1");
  EXPECT_FALSE(p.Evaluate(MakeRequest(other, "k"), kNow).allowed);
}

TEST(PolicyEvalTest, FormatsAreLimited) {
  Policy p = MustParse(ExamplePolicy());
  const auto id = GitHubIdentity("acme/app", "refs/tags/v1.2");
  EXPECT_TRUE(p.Evaluate(MakeRequest(id, "prod-ev", "cms"), kNow).allowed);
  Decision d = p.Evaluate(MakeRequest(id, "prod-ev", "raw"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "no rule for key prod-ev allows format raw for identity "
            "repo:acme/app:ref:refs/tags/v1.2: rule app-releases: format raw is not allowed "
            "(formats: pe, cms)");
}

TEST(PolicyEvalTest, SizesAreLimited) {
  Policy p = MustParse(ExamplePolicy());
  const auto id = GitHubIdentity("acme/app", "refs/tags/v1.2");
  EXPECT_TRUE(p.Evaluate(MakeRequest(id, "prod-ev", "pe", 1000000), kNow).allowed);
  Decision d = p.Evaluate(MakeRequest(id, "prod-ev", "pe", 1000001), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("rule app-releases: artifact size 1000001 bytes exceeds "
                          "max_artifact_size 1000000"),
            std::string::npos)
      << d.reason;
  // tools-releases has no size limit.
  const auto tools = GitHubIdentity("acme/tools", "refs/tags/v1");
  EXPECT_TRUE(p.Evaluate(MakeRequest(tools, "prod-ev", "raw", 1ULL << 40), kNow).allowed);
}

TEST(PolicyEvalTest, KeyGlobsAndKeysWithoutRules) {
  Policy p = MustParse(ExamplePolicy());
  const auto id = GitHubIdentity("acme/lib", "refs/heads/main");
  Decision d = p.Evaluate(MakeRequest(id, "dev-linux"), kNow);
  EXPECT_TRUE(d.allowed) << d.reason;
  EXPECT_EQ(d.rule, "nightly");

  d = p.Evaluate(MakeRequest(id, "staging"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no rule allows key staging");
  EXPECT_TRUE(d.explanation.empty());

  // Deny by default: no rules at all.
  Policy empty = MustParse(json::object());
  d = empty.Evaluate(MakeRequest(id, "dev-linux"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no rule allows key dev-linux");
}

TEST(PolicyEvalTest, ApiTokenIdentitiesAreMatchedLikeAnyOther) {
  Policy p = MustParse(ExamplePolicy());
  const auto bot = ApiTokenIdentity("release-bot");
  Decision d = p.Evaluate(MakeRequest(bot, "prod-ev", "raw"), kNow);
  EXPECT_TRUE(d.allowed) << d.reason;
  EXPECT_EQ(d.rule, "release-bot");
  EXPECT_EQ(d.used_claims.at("subject"), "release-bot");

  const auto other = ApiTokenIdentity("intern-bot");
  d = p.Evaluate(MakeRequest(other, "prod-ev", "raw"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("rule release-bot: subject intern-bot does not match release-bot"),
            std::string::npos)
      << d.reason;
  // A CI identity whose repository happens to be called release-bot is not it.
  const auto ci = GitHubIdentity("release-bot", "refs/tags/v1");
  EXPECT_FALSE(p.Evaluate(MakeRequest(ci, "prod-ev", "raw"), kNow).allowed);
}

TEST(PolicyEvalTest, FirstMatchingRuleWins) {
  Policy p =
      MustParse({{"rules",
                  {{{"name", "first"}, {"keys", {"k"}}, {"claims", {{"repository", "acme/*"}}}},
                   {{"name", "second"}, {"keys", {"k"}}}}}});
  const auto id = GitHubIdentity("acme/app", "refs/tags/v1");
  Decision d = p.Evaluate(MakeRequest(id, "k"), kNow);
  EXPECT_EQ(d.rule, "first");
  ASSERT_EQ(d.explanation.size(), 2U);
  EXPECT_EQ(d.explanation[1], "rule second: matches (not used: rule first comes first)");
  const auto other = GitHubIdentity("else/app", "refs/tags/v1");
  EXPECT_EQ(p.Evaluate(MakeRequest(other, "k"), kNow).rule, "second");
}

// The reason comes from the rule that got furthest, not the first one.
TEST(PolicyEvalTest, DenialPicksTheMostUsefulRule) {
  Policy p = MustParse(ExamplePolicy());
  const auto id = GitHubIdentity("acme/tools", "refs/heads/main");
  Decision d = p.Evaluate(MakeRequest(id, "prod-ev"), kNow);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("rule tools-releases: ref refs/heads/main"), std::string::npos)
      << d.reason;
}

TEST(PolicyEvalTest, DenialsNeverNameAnotherKeysRules) {
  Policy p = MustParse(
      {{"rules",
        {{{"name", "secret-rule-for-a"}, {"keys", {"key-a"}}, {"claims", {{"repository", "x/y"}}}},
         {{"name", "rule-b"},
          {"keys", {"key-b"}},
          {"claims", {{"repository", "acme/*"}}},
          {"formats", {"cms"}}}}}});
  const auto id = GitHubIdentity("x/y", "refs/tags/v1");  // would match key-a's rule
  for (const auto& [key, format] : std::vector<std::pair<std::string, std::string>>{
           {"key-b", "pe"}, {"key-b", "cms"}, {"key-c", "pe"}}) {
    Decision d = p.Evaluate(MakeRequest(id, key, format), kNow);
    EXPECT_FALSE(d.allowed) << key;
    EXPECT_EQ(d.reason.find("secret-rule-for-a"), std::string::npos) << d.reason;
    for (const std::string& line : d.explanation) {
      EXPECT_EQ(line.find("secret-rule-for-a"), std::string::npos) << line;
    }
  }
}

TEST(PolicyEvalTest, ReasonsAreOneLine) {
  Policy p = MustParse(ExamplePolicy());
  auto id = GitHubIdentity("acme/app", "refs/heads/x\nINJECTED");
  id.subject = "repo:acme/app\r\nforged: yes";
  for (const char* key : {"prod-ev", "prod-ev\nx"}) {
    Decision d = p.Evaluate(MakeRequest(id, key), kNow);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason.find_first_of("\r\n"), std::string::npos) << d.reason;
    for (const std::string& line : d.explanation) {
      EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos) << line;
    }
  }
}

TEST(PolicyEvalTest, NoIdentityIsDenied) {
  Policy p = MustParse(ExamplePolicy());
  Request r;
  r.key = "prod-ev";
  r.format = "pe";
  EXPECT_FALSE(p.Evaluate(r, kNow).allowed);
}

}  // namespace
}  // namespace signet::policy
