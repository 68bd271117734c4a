// The Signet signing service: the HTTP API of remote/protocol.h over the
// server's keys, with authentication (identity/), key-usage policy
// (policy/) and the audit log (audit/).
//
// A sign request goes: authenticate (OIDC JWT or API token; 401) -> parse
// and validate every plan (its to-be-signed bytes must commit to its content
// digest: Format::ValidatePlan; 400/403) -> policy (403) -> sign each plan
// with a pooled signer of the key -> [server-side RFC 3161 timestamp] ->
// append one audit record per plan, durably -> reply. Fail closed: when the
// audit append fails the signatures are dropped and the reply is 503.
// Denials and authentication failures are audited too.
//
// Thread-safety: Handle() is called from many threads at once.
#pragma once

#include <memory>
#include <string>

#include "audit/audit.h"
#include "base/error.h"
#include "formats/format.h"
#include "keys/key_signer.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/log.h"
#include "server/metrics.h"

namespace signet::server {

struct ServiceEnvironment {
  const KeyRegistry* keys = nullptr;
  const FormatRegistry* formats = nullptr;
  Logger* log = nullptr;
  MetricsRegistry* metrics = nullptr;
  // The audit store; null: opened from config.audit_db.
  std::unique_ptr<audit::Store> audit;
  // For the issuers' discovery/JWKS fetches; null: libcurl with
  // HttpOptionsFromEnv().
  std::unique_ptr<net::HttpClient> http;
};

class SigningService {
 public:
  // Opens every key (failing fast on a wrong PIN or a missing certificate),
  // the audit store, the API tokens and the policy.
  static Result<std::unique_ptr<SigningService>> Create(const ServerConfig& config,
                                                        ServiceEnvironment env);
  virtual ~SigningService() = default;
  virtual ServerResponse Handle(const ServerRequest& request) = 0;
};

}  // namespace signet::server
