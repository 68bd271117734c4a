// Who is calling: the verified identity behind a request, whatever proved it
// (a CI OIDC token or a Signet API token), with the CI systems' claims
// normalised to one vocabulary so that policy rules read the same whatever
// CI ran the job.
#pragma once

#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace signet::identity {

// Names of the normalised claims (values of Identity::normalized).
inline constexpr std::string_view kCi = "ci";  // github, gitlab, azure, jenkins, oidc, api-token
inline constexpr std::string_view kRepository = "repository";  // acme/app
inline constexpr std::string_view kRef = "ref";                // refs/heads/main, refs/tags/v1.2
inline constexpr std::string_view kWorkflow = "workflow";      // workflow / pipeline / job name
inline constexpr std::string_view kEnvironment = "environment";
inline constexpr std::string_view kRunnerType = "runner_type";  // github-hosted, self-hosted, ...
inline constexpr std::string_view kRunId = "run_id";

// The issuer of identities proven by a Signet API token.
inline constexpr std::string_view kApiTokenIssuer = "signet:api-token";

struct Identity {
  std::string issuer;   // iss (or kApiTokenIssuer)
  std::string subject;  // sub (or the API token's name)
  // Every claim of the token as it came (strings, numbers, ...); empty for
  // API tokens. Never contains the token itself.
  nlohmann::json claims = nlohmann::json::object();
  // The normalised vocabulary (kRepository, kRef, ...): only the keys the
  // token supports are present.
  std::map<std::string, std::string> normalized;
  std::optional<std::string> jti;
  std::time_t expires = 0;  // exp; 0 for API tokens
  // API tokens only: the key names the token may use ("*" for all).
  std::vector<std::string> scopes;

  // The value a policy matcher named `name` compares against: a normalised
  // claim when `name` is one, else the raw claim as a string (numbers and
  // booleans printed as JSON; arrays and objects are not compared), else
  // nullopt. "issuer"/"iss" and "subject"/"sub" name the issuer and subject.
  [[nodiscard]] std::optional<std::string> Claim(std::string_view name) const;
};

// Fills `id.normalized` from `id.claims` for the CI system `ci` ("github",
// "gitlab", "azure", "jenkins", or "oidc" for a generic issuer, which maps
// nothing but sets kCi). Unknown claims are left alone.
void NormalizeClaims(std::string_view ci, Identity& id);

}  // namespace signet::identity
