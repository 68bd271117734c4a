// Identity::Claim and the claim normalisation table. Which raw claim of each
// CI system feeds which normalised name, and the sources, are in
// docs/claims.md; keep the two in step.
#include "identity/identity.h"

#include <string>

namespace signet::identity {

namespace {

// The claim `name` as text: strings as they are, integers printed without a
// fraction, booleans as true/false; nullopt for anything else.
std::optional<std::string> ClaimText(const nlohmann::json& claims, std::string_view name) {
  if (!claims.is_object()) return std::nullopt;
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return std::nullopt;
}

void Set(Identity& id, std::string_view key, std::optional<std::string> value) {
  if (value && !value->empty()) id.normalized[std::string(key)] = std::move(*value);
}

// "refs/heads/X" / "refs/tags/X" from a short ref name and its type (GitLab's
// ref + ref_type); nullopt for other types.
std::optional<std::string> FullRef(const std::string& ref, const std::string& ref_type) {
  if (ref.empty()) return std::nullopt;
  if (ref.starts_with("refs/")) return ref;
  if (ref_type == "branch") return "refs/heads/" + ref;
  if (ref_type == "tag") return "refs/tags/" + ref;
  return std::nullopt;
}

// "owner/name" from a repository URL: https://host/owner/name(.git),
// git@host:owner/name(.git), ssh://git@host/owner/name; Azure Repos'
// https://dev.azure.com/org/project/_git/repo gives org/project/repo. A
// value that is not a URL is returned as it is.
std::string RepositoryFromUrl(std::string url) {
  std::string path;
  if (auto scheme = url.find("://"); scheme != std::string::npos) {
    auto slash = url.find('/', scheme + 3);
    path = slash == std::string::npos ? "" : url.substr(slash + 1);
  } else if (auto colon = url.find(':'); colon != std::string::npos && url.find('@') < colon) {
    path = url.substr(colon + 1);  // scp-like git@host:owner/name
  } else {
    return url;
  }
  if (auto q = path.find_first_of("?#"); q != std::string::npos) path.resize(q);
  if (auto git = path.find("/_git/"); git != std::string::npos) path.erase(git, 5);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.ends_with(".git")) path.resize(path.size() - 4);
  return path.empty() ? url : path;
}

// Jenkins job URL (https://jenkins/job/folder/job/app/) -> "folder/app";
// anything else unchanged.
std::string JenkinsJobName(const std::string& url) {
  std::string name;
  std::size_t pos = 0;
  while ((pos = url.find("/job/", pos)) != std::string::npos) {
    pos += 5;
    auto end = url.find('/', pos);
    std::string part = url.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (!part.empty()) name += (name.empty() ? "" : "/") + part;
    if (end == std::string::npos) break;
    pos = end;
  }
  return name.empty() ? url : name;
}

void NormalizeGithub(Identity& id) {
  const auto& c = id.claims;
  Set(id, kRepository, ClaimText(c, "repository"));
  Set(id, kRef, ClaimText(c, "ref"));
  Set(id, kWorkflow, ClaimText(c, "workflow"));
  Set(id, kEnvironment, ClaimText(c, "environment"));
  Set(id, kRunnerType, ClaimText(c, "runner_environment"));
  Set(id, kRunId, ClaimText(c, "run_id"));
}

void NormalizeGitlab(Identity& id) {
  const auto& c = id.claims;
  Set(id, kRepository, ClaimText(c, "project_path"));
  auto ref = FullRef(ClaimText(c, "ref").value_or(""), ClaimText(c, "ref_type").value_or(""));
  Set(id, kRef, ref ? ref : ClaimText(c, "ref_path"));
  Set(id, kWorkflow, ClaimText(c, "ci_config_ref_uri"));
  Set(id, kEnvironment, ClaimText(c, "environment"));
  Set(id, kRunnerType, ClaimText(c, "runner_environment"));
  Set(id, kRunId, ClaimText(c, "pipeline_id"));
}

void NormalizeAzure(Identity& id) {
  const auto& c = id.claims;
  if (auto uri = ClaimText(c, "rpo_uri")) Set(id, kRepository, RepositoryFromUrl(*uri));
  Set(id, kRef, ClaimText(c, "rpo_ref"));
  // sub is p://ORG/PROJECT/PIPELINE for pipeline tokens: the pipeline name.
  if (id.subject.starts_with("p://")) {
    std::string rest = id.subject.substr(4);
    auto org = rest.find('/');
    auto project = org == std::string::npos ? org : rest.find('/', org + 1);
    if (project != std::string::npos) Set(id, kWorkflow, rest.substr(project + 1));
  }
  Set(id, kRunId, ClaimText(c, "run_id"));
}

void NormalizeJenkins(Identity& id) {
  const auto& c = id.claims;
  // Claims the administrator added with claim templates, named as ours.
  if (auto repo = ClaimText(c, "repository")) {
    Set(id, kRepository, repo);
  } else if (auto url = ClaimText(c, "git_url")) {
    Set(id, kRepository, RepositoryFromUrl(*url));
  }
  Set(id, kRef, ClaimText(c, "ref"));
  Set(id, kEnvironment, ClaimText(c, "environment"));
  Set(id, kRunnerType, ClaimText(c, "runner_type"));
  // Default build claims: sub = the job URL, build_number.
  if (!id.subject.empty()) Set(id, kWorkflow, JenkinsJobName(id.subject));
  Set(id, kRunId, ClaimText(c, "build_number"));
}

}  // namespace

std::optional<std::string> Identity::Claim(std::string_view name) const {
  if (name == "issuer" || name == "iss") return issuer;
  if (name == "subject" || name == "sub") return subject;
  if (auto it = normalized.find(std::string(name)); it != normalized.end()) return it->second;
  return ClaimText(claims, name);
}

void NormalizeClaims(std::string_view ci, Identity& id) {
  id.normalized[std::string(kCi)] = std::string(ci);
  if (ci == "github") {
    NormalizeGithub(id);
  } else if (ci == "gitlab") {
    NormalizeGitlab(id);
  } else if (ci == "azure") {
    NormalizeAzure(id);
  } else if (ci == "jenkins") {
    NormalizeJenkins(id);
  }
}

}  // namespace signet::identity
