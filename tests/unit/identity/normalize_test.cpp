// NormalizeClaims per CI system (docs/claims.md) and Identity::Claim.
#include <gtest/gtest.h>

#include "identity/identity.h"

namespace signet::identity {
namespace {

Identity Make(std::string_view ci, nlohmann::json claims) {
  Identity id;
  id.issuer = claims.value("iss", "");
  id.subject = claims.value("sub", "");
  id.claims = std::move(claims);
  NormalizeClaims(ci, id);
  return id;
}

TEST(NormalizeClaimsTest, Github) {
  Identity id = Make("github", {{"iss", "https://token.actions.githubusercontent.com"},
                                {"sub", "repo:acme/app:ref:refs/tags/v1.2"},
                                {"repository", "acme/app"},
                                {"ref", "refs/tags/v1.2"},
                                {"workflow", "release"},
                                {"environment", "production"},
                                {"runner_environment", "github-hosted"},
                                {"run_id", "8123"}});
  EXPECT_EQ(id.normalized.at("ci"), "github");
  EXPECT_EQ(id.normalized.at("repository"), "acme/app");
  EXPECT_EQ(id.normalized.at("ref"), "refs/tags/v1.2");
  EXPECT_EQ(id.normalized.at("workflow"), "release");
  EXPECT_EQ(id.normalized.at("environment"), "production");
  EXPECT_EQ(id.normalized.at("runner_type"), "github-hosted");
  EXPECT_EQ(id.normalized.at("run_id"), "8123");
}

TEST(NormalizeClaimsTest, GithubWithoutEnvironmentHasNoEnvironmentKey) {
  Identity id = Make("github", {{"repository", "acme/app"}, {"ref", "refs/heads/main"}});
  EXPECT_FALSE(id.normalized.contains("environment"));
  EXPECT_FALSE(id.Claim("environment").has_value());
  EXPECT_EQ(id.normalized.size(), 3u);  // ci, repository, ref
}

TEST(NormalizeClaimsTest, GitlabTagReadsLikeGithub) {
  Identity gl =
      Make("gitlab",
           {{"project_path", "acme/app"},
            {"ref", "v1.2"},
            {"ref_type", "tag"},
            {"pipeline_id", "1001"},
            {"environment", "production"},
            {"runner_environment", "self-hosted"},
            {"ci_config_ref_uri", "gitlab.example.com/acme/app//.gitlab-ci.yml@refs/tags/v1.2"}});
  Identity gh = Make("github", {{"repository", "acme/app"}, {"ref", "refs/tags/v1.2"}});
  EXPECT_EQ(gl.normalized.at("ref"), gh.normalized.at("ref"));
  EXPECT_EQ(gl.normalized.at("repository"), gh.normalized.at("repository"));
  EXPECT_EQ(gl.normalized.at("run_id"), "1001");
  EXPECT_EQ(gl.normalized.at("runner_type"), "self-hosted");
  EXPECT_EQ(gl.normalized.at("environment"), "production");
  EXPECT_EQ(gl.normalized.at("workflow"),
            "gitlab.example.com/acme/app//.gitlab-ci.yml@refs/tags/v1.2");
}

TEST(NormalizeClaimsTest, GitlabBranchAndRefPathFallback) {
  EXPECT_EQ(Make("gitlab", {{"ref", "main"}, {"ref_type", "branch"}}).normalized.at("ref"),
            "refs/heads/main");
  // No usable ref_type: the ref_path claim of newer GitLab versions.
  EXPECT_EQ(Make("gitlab", {{"ref", "main"}, {"ref_path", "refs/heads/main"}}).normalized.at("ref"),
            "refs/heads/main");
  EXPECT_FALSE(Make("gitlab", {{"ref", "main"}}).normalized.contains("ref"));
}

TEST(NormalizeClaimsTest, Azure) {
  Identity id = Make("azure", {{"sub", "p://acme/app/release"},
                               {"rpo_uri", "https://dev.azure.com/acme/app/_git/app"},
                               {"rpo_ref", "refs/heads/main"},
                               {"run_id", "2024"}});
  EXPECT_EQ(id.normalized.at("repository"), "acme/app/app");
  EXPECT_EQ(id.normalized.at("ref"), "refs/heads/main");
  EXPECT_EQ(id.normalized.at("workflow"), "release");
  EXPECT_EQ(id.normalized.at("run_id"), "2024");
  // A GitHub repository built by Azure Pipelines reads as owner/name.
  EXPECT_EQ(Make("azure", {{"rpo_uri", "https://github.com/acme/app"}}).normalized.at("repository"),
            "acme/app");
}

TEST(NormalizeClaimsTest, JenkinsDefaultsAndTemplates) {
  Identity id = Make("jenkins", {{"sub", "https://jenkins.example.com/job/acme/job/app/"},
                                 {"build_number", 42},
                                 {"git_url", "git@github.com:acme/app.git"}});
  EXPECT_EQ(id.normalized.at("workflow"), "acme/app");
  EXPECT_EQ(id.normalized.at("run_id"), "42");  // an integer claim, printed
  EXPECT_EQ(id.normalized.at("repository"), "acme/app");
  // Claim templates named like the vocabulary win over git_url.
  Identity t = Make("jenkins", {{"sub", "https://j/job/x/"},
                                {"repository", "acme/other"},
                                {"git_url", "https://github.com/acme/app.git"},
                                {"ref", "refs/heads/main"},
                                {"environment", "staging"}});
  EXPECT_EQ(t.normalized.at("repository"), "acme/other");
  EXPECT_EQ(t.normalized.at("ref"), "refs/heads/main");
  EXPECT_EQ(t.normalized.at("environment"), "staging");
}

TEST(NormalizeClaimsTest, GenericOidcMapsNothing) {
  Identity id = Make("oidc", {{"repository", "acme/app"}, {"ref", "refs/heads/main"}});
  EXPECT_EQ(id.normalized.size(), 1u);
  EXPECT_EQ(id.normalized.at("ci"), "oidc");
  // The raw claims still answer.
  EXPECT_EQ(id.Claim("repository"), "acme/app");
}

TEST(IdentityClaimTest, NamesIssuerSubjectNormalisedAndRaw) {
  Identity id = Make("gitlab", {{"iss", "https://gitlab.example.com"},
                                {"sub", "project_path:acme/app:ref_type:branch:ref:main"},
                                {"ref", "main"},
                                {"ref_type", "branch"},
                                {"runner_id", 17},
                                {"ref_protected", true},
                                {"groups", {"a", "b"}}});
  EXPECT_EQ(id.Claim("iss"), "https://gitlab.example.com");
  EXPECT_EQ(id.Claim("issuer"), "https://gitlab.example.com");
  EXPECT_EQ(id.Claim("sub"), "project_path:acme/app:ref_type:branch:ref:main");
  EXPECT_EQ(id.Claim("subject"), id.Claim("sub"));
  EXPECT_EQ(id.Claim("ref"), "refs/heads/main");  // normalised beats raw
  EXPECT_EQ(id.Claim("ref_type"), "branch");
  EXPECT_EQ(id.Claim("runner_id"), "17");
  EXPECT_EQ(id.Claim("ref_protected"), "true");
  EXPECT_FALSE(id.Claim("groups").has_value());  // arrays are not compared
  EXPECT_FALSE(id.Claim("nonexistent").has_value());
}

}  // namespace
}  // namespace signet::identity
