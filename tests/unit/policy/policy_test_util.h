// Identities shaped like the CI systems' tokens, for the policy tests.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "identity/identity.h"
#include "policy/policy.h"

namespace signet::policy::testing {

inline constexpr const char* kGitHubIssuer = "https://token.actions.githubusercontent.com";
inline constexpr const char* kGitLabIssuer = "https://gitlab.example.com";

// A GitHub Actions identity (claims as GitHub issues them), normalised.
// `ref` is a full ref ("refs/tags/v1.2").
inline identity::Identity GitHubIdentity(const std::string& repository, const std::string& ref,
                                         const std::string& environment = "production") {
  identity::Identity id;
  id.issuer = kGitHubIssuer;
  id.subject = "repo:" + repository + ":ref:" + ref;
  id.claims = {{"iss", kGitHubIssuer},
               {"sub", id.subject},
               {"repository", repository},
               {"repository_owner", repository.substr(0, repository.find('/'))},
               {"ref", ref},
               {"ref_type", ref.rfind("refs/tags/", 0) == 0 ? "tag" : "branch"},
               {"workflow", "release"},
               {"job_workflow_ref", repository + "/.github/workflows/release.yml@" + ref},
               {"runner_environment", "github-hosted"},
               {"run_id", "4242"},
               {"event_name", "push"}};
  if (!environment.empty()) id.claims["environment"] = environment;
  identity::NormalizeClaims("github", id);
  return id;
}

// A GitLab CI identity (claims as GitLab issues them: short ref + ref_type,
// project_path), normalised. `ref` is a full ref ("refs/tags/v1.2").
inline identity::Identity GitLabIdentity(const std::string& project, const std::string& ref,
                                         const std::string& environment = "production") {
  const bool tag = ref.rfind("refs/tags/", 0) == 0;
  const std::string short_ref = ref.substr(ref.find('/', 5) + 1);
  identity::Identity id;
  id.issuer = kGitLabIssuer;
  id.subject =
      "project_path:" + project + ":ref_type:" + (tag ? "tag" : "branch") + ":ref:" + short_ref;
  id.claims = {{"iss", kGitLabIssuer},
               {"sub", id.subject},
               {"project_path", project},
               {"namespace_path", project.substr(0, project.find('/'))},
               {"ref", short_ref},
               {"ref_type", tag ? "tag" : "branch"},
               {"ref_protected", "true"},
               {"pipeline_id", "777"},
               {"pipeline_source", "push"},
               {"job_id", "778"},
               {"runner_environment", "gitlab-hosted"}};
  if (!environment.empty()) id.claims["environment"] = environment;
  identity::NormalizeClaims("gitlab", id);
  return id;
}

// An identity proven by a Signet API token.
inline identity::Identity ApiTokenIdentity(const std::string& name) {
  identity::Identity id;
  id.issuer = std::string(identity::kApiTokenIssuer);
  id.subject = name;
  id.scopes = {"*"};
  id.normalized[std::string(identity::kCi)] = "api-token";
  return id;
}

inline Request MakeRequest(const identity::Identity& id, const std::string& key,
                           const std::string& format = "pe", std::uint64_t size = 1024) {
  Request r;
  r.identity = &id;
  r.key = key;
  r.format = format;
  r.artifact_size = size;
  return r;
}

inline Policy MustParse(const nlohmann::json& j) {
  auto p = Policy::FromJson(j);
  if (!p) throw std::runtime_error(p.error().message);
  return std::move(*p);
}

}  // namespace signet::policy::testing
