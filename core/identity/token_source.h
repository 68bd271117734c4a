// Client side: finds the token `signet sign --key signet://...` presents to
// the server, by itself, in this order:
//   1. --token-file FILE (explicit)
//   2. SIGNET_TOKEN (an API token or a JWT)
//   3. GitHub Actions: ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN
//      (GET URL&audience=AUD with "Authorization: bearer TOKEN" -> {"value": JWT})
//   4. GitLab CI: the id_tokens variable SIGNET_ID_TOKEN (name configurable)
//   5. Azure Pipelines: SYSTEM_OIDCREQUESTURI + SYSTEM_ACCESSTOKEN
//      (POST URI?api-version=7.1-preview.1 with "Authorization: Bearer TOKEN"
//       -> {"oidcToken": JWT})
// kFailedPrecondition naming every place looked at when none has a token.
// A source that is present but fails (an unreadable --token-file, a CI token
// endpoint answering 403) is an error naming that source, not a fall-through.
// The token travels only in the Secret; errors never contain it.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/secret.h"
#include "net/http_client.h"

namespace signet::identity {

struct TokenSourceOptions {
  std::string token_file;  // --token-file
  std::string audience;    // for CI systems that mint per audience
  std::string gitlab_variable = "SIGNET_ID_TOKEN";
  // Environment lookup (tests replace it); default: getenv.
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

struct FoundToken {
  Secret token;
  // "--token-file", "SIGNET_TOKEN", "github-actions", "gitlab", "azure-pipelines"
  std::string source;
};

Result<FoundToken> FindToken(const TokenSourceOptions& options, net::HttpClient& http);

}  // namespace signet::identity
