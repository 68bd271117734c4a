// GlobMatch: the pattern language of policy rules (core/policy/glob.cpp).
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "policy/policy.h"

namespace signet::policy {
namespace {

TEST(GlobTest, LiteralsMatchExactly) {
  EXPECT_TRUE(GlobMatch("acme/app", "acme/app"));
  EXPECT_FALSE(GlobMatch("acme/app", "acme/app2"));
  EXPECT_FALSE(GlobMatch("acme/app", "acme/ap"));
  EXPECT_FALSE(GlobMatch("acme/app", "Acme/app"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_FALSE(GlobMatch("a", ""));
}

TEST(GlobTest, StarMatchesAnyRunIncludingSlash) {
  EXPECT_TRUE(GlobMatch("refs/tags/v*", "refs/tags/v1.2.3"));
  EXPECT_TRUE(GlobMatch("refs/tags/v*", "refs/tags/v"));
  EXPECT_TRUE(GlobMatch("refs/tags/v*", "refs/tags/v1/rc/2"));
  EXPECT_FALSE(GlobMatch("refs/tags/v*", "refs/heads/v1"));
  EXPECT_TRUE(GlobMatch("acme/*", "acme/app"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything/at/all"));
  EXPECT_TRUE(GlobMatch("**", "x"));
  EXPECT_TRUE(GlobMatch("*/app", "acme/app"));
  EXPECT_FALSE(GlobMatch("*/app", "acme/app/x"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXbYc"));
  EXPECT_TRUE(GlobMatch("a*b*c", "abc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "acb"));
  EXPECT_TRUE(GlobMatch("*abc", "ababc"));
  EXPECT_FALSE(GlobMatch("*abc", "ababd"));
}

TEST(GlobTest, QuestionMarkMatchesOneCharacter) {
  EXPECT_TRUE(GlobMatch("v?", "v1"));
  EXPECT_FALSE(GlobMatch("v?", "v"));
  EXPECT_FALSE(GlobMatch("v?", "v12"));
  EXPECT_TRUE(GlobMatch("v?.?", "v1.2"));
  EXPECT_TRUE(GlobMatch("?*", "x"));
  EXPECT_FALSE(GlobMatch("?*", ""));
  // A character, not a byte: "é" is two bytes in UTF-8.
  EXPECT_TRUE(GlobMatch("caf?", "caf\xC3\xA9"));
  EXPECT_FALSE(GlobMatch("caf??", "caf\xC3\xA9"));
  EXPECT_FALSE(GlobMatch("*??", "\xC3\xA9"));
}

TEST(GlobTest, OtherCharactersAreLiteral) {
  EXPECT_TRUE(GlobMatch("a.b", "a.b"));
  EXPECT_FALSE(GlobMatch("a.b", "axb"));
  EXPECT_TRUE(GlobMatch("a+b(c)", "a+b(c)"));
  EXPECT_TRUE(GlobMatch("^x$", "^x$"));
}

// "a*a*a*a*...b" against a long run of 'a' makes a backtracking matcher
// try exponentially many splits. This one must answer at once.
TEST(GlobTest, PathologicalPatternIsFast) {
  const std::string text(20000, 'a');
  std::string pattern;
  for (int i = 0; i < 30; ++i) pattern += "a*";
  pattern += "b";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(GlobMatch(pattern, text));
  EXPECT_TRUE(GlobMatch(pattern.substr(0, pattern.size() - 1), text));
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*b", text));
  EXPECT_TRUE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*", text));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // Quadratic at worst (well under a second even under ASan); exponential
  // would not finish.
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

}  // namespace
}  // namespace signet::policy
