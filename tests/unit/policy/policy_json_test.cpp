// Policy::FromJson: strict validation of the "policy" object; every error
// is kInvalidArgument and names the offending field.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/policy.h"

namespace signet::policy {
namespace {

using nlohmann::json;

json GoodRule(const std::string& name) {
  return json{
      {"name", name},
      {"keys", {"prod-ev"}},
      {"issuer", "https://token.actions.githubusercontent.com"},
      {"claims", {{"repository", "acme/app"}, {"ref", {"refs/tags/v*", "refs/heads/rel/*"}}}},
      {"formats", {"pe", "cms"}},
      {"max_artifact_size", 2147483648ULL},
      {"max_signings_per_hour", 100}};
}

// The message of FromJson's error for a policy whose rule #2 (third) is
// `bad`, after two good ones; the test fails if FromJson accepts it.
std::string ErrorForThirdRule(const json& bad) {
  json policy = {{"rules", {GoodRule("a"), GoodRule("b"), bad}}};
  auto p = Policy::FromJson(policy);
  if (p) return "(accepted)";
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument) << p.error().message;
  return p.error().message;
}

TEST(PolicyJsonTest, ParsesEveryField) {
  auto p = Policy::FromJson({{"rules", {GoodRule("app-releases")}}});
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->rules().size(), 1U);
  const Rule& r = p->rules()[0];
  EXPECT_EQ(r.name, "app-releases");
  EXPECT_EQ(r.keys, std::vector<std::string>{"prod-ev"});
  EXPECT_EQ(r.issuer, "https://token.actions.githubusercontent.com");
  ASSERT_EQ(r.claims.size(), 2U);
  EXPECT_EQ(r.claims.at("repository"), std::vector<std::string>{"acme/app"});
  EXPECT_EQ(r.claims.at("ref"), (std::vector<std::string>{"refs/tags/v*", "refs/heads/rel/*"}));
  EXPECT_EQ(r.formats, (std::vector<std::string>{"pe", "cms"}));
  EXPECT_EQ(r.max_artifact_size, 2147483648ULL);
  EXPECT_EQ(r.max_signings_per_hour, 100);
}

TEST(PolicyJsonTest, OptionalFieldsDefault) {
  auto p = Policy::FromJson({{"rules", {{{"name", "any"}, {"keys", {"*"}}}}}});
  ASSERT_TRUE(p) << p.error().message;
  const Rule& r = p->rules()[0];
  EXPECT_EQ(r.issuer, "*");
  EXPECT_TRUE(r.claims.empty());
  EXPECT_TRUE(r.formats.empty());
  EXPECT_FALSE(r.max_artifact_size);
  EXPECT_FALSE(r.max_signings_per_hour);
}

TEST(PolicyJsonTest, EmptyPolicyHasNoRules) {
  auto p = Policy::FromJson(json::object());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->rules().empty());
  auto q = Policy::FromJson({{"rules", json::array()}});
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_TRUE(q->rules().empty());
}

TEST(PolicyJsonTest, BadGlobNamesTheClaim) {
  json bad = GoodRule("c");
  bad["claims"]["ref"] = "refs/tags/[0-9]*";
  const std::string m = ErrorForThirdRule(bad);
  EXPECT_NE(m.find("policy.rules[2].claims.ref"), std::string::npos) << m;
  EXPECT_NE(m.find("'['"), std::string::npos) << m;

  bad["claims"]["ref"] = {"refs/tags/v*", ""};
  EXPECT_NE(ErrorForThirdRule(bad).find("policy.rules[2].claims.ref[1]"), std::string::npos);
  bad["claims"]["ref"] = "refs\\tags";
  EXPECT_NE(ErrorForThirdRule(bad).find("policy.rules[2].claims.ref"), std::string::npos);
  bad["claims"]["ref"] = std::string("a\nb");
  EXPECT_NE(ErrorForThirdRule(bad).find("control character"), std::string::npos);
  bad["claims"]["ref"] = std::string(2000, 'a');
  EXPECT_NE(ErrorForThirdRule(bad).find("longer than"), std::string::npos);
}

TEST(PolicyJsonTest, UnknownFieldsAreRefused) {
  json bad = GoodRule("c");
  bad["max_signings_per_day"] = 5;
  const std::string m = ErrorForThirdRule(bad);
  EXPECT_NE(m.find("policy.rules[2].max_signings_per_day: unknown field"), std::string::npos) << m;

  auto p = Policy::FromJson({{"rules", json::array()}, {"default", "allow"}});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("policy.default: unknown field"), std::string::npos);
}

TEST(PolicyJsonTest, WrongTypesAreRefused) {
  struct Case {
    const char* field;
    json value;
    const char* path;
  };
  const Case cases[] = {
      {"name", 7, "policy.rules[2].name"},
      {"name", "", "policy.rules[2].name"},
      {"keys", "prod-ev", "policy.rules[2].keys"},
      {"keys", json::array(), "policy.rules[2].keys"},
      {"keys", {1}, "policy.rules[2].keys[0]"},
      {"issuer", json::array({"x"}), "policy.rules[2].issuer"},
      {"claims", json::array(), "policy.rules[2].claims"},
      {"claims", {{"ref", 5}}, "policy.rules[2].claims.ref"},
      {"claims", {{"ref", json::array()}}, "policy.rules[2].claims.ref"},
      {"claims", {{"ref", {"v*", 3}}}, "policy.rules[2].claims.ref[1]"},
      {"formats", "pe", "policy.rules[2].formats"},
      {"formats", json::array(), "policy.rules[2].formats"},
      {"formats", {"pe", "P E"}, "policy.rules[2].formats[1]"},
      {"max_artifact_size", "2GB", "policy.rules[2].max_artifact_size"},
      {"max_artifact_size", -1, "policy.rules[2].max_artifact_size"},
      {"max_artifact_size", 1.5, "policy.rules[2].max_artifact_size"},
      {"max_artifact_size", 0, "policy.rules[2].max_artifact_size"},
      {"max_signings_per_hour", true, "policy.rules[2].max_signings_per_hour"},
      {"max_signings_per_hour", 0, "policy.rules[2].max_signings_per_hour"},
      {"max_signings_per_hour", 5000000000LL, "policy.rules[2].max_signings_per_hour"},
  };
  for (const Case& c : cases) {
    json bad = GoodRule("c");
    bad[c.field] = c.value;
    const std::string m = ErrorForThirdRule(bad);
    EXPECT_EQ(m.rfind(std::string(c.path) + ":", 0), 0U)
        << c.field << " = " << c.value.dump() << " -> " << m;
  }
}

TEST(PolicyJsonTest, MissingNameOrKeysAndDuplicatesAreRefused) {
  json bad = GoodRule("c");
  bad.erase("keys");
  EXPECT_NE(ErrorForThirdRule(bad).find("policy.rules[2].keys: missing"), std::string::npos);
  bad = GoodRule("c");
  bad.erase("name");
  EXPECT_NE(ErrorForThirdRule(bad).find("policy.rules[2].name: missing"), std::string::npos);
  EXPECT_NE(ErrorForThirdRule(GoodRule("a")).find("duplicate rule name \"a\""), std::string::npos);
  EXPECT_NE(ErrorForThirdRule("rule").find("policy.rules[2]: must be an object"),
            std::string::npos);
}

TEST(PolicyJsonTest, NonObjectPolicyIsRefused) {
  for (const json& j : {json::array(), json("rules"), json(nullptr)}) {
    auto p = Policy::FromJson(j);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(p.error().message.rfind("policy:", 0), 0U) << p.error().message;
  }
  auto p = Policy::FromJson({{"rules", {{"name", "x"}}}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message.rfind("policy.rules", 0), 0U) << p.error().message;
}

}  // namespace
}  // namespace signet::policy
