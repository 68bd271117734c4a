// A Signet server configuration in a temp dir for the service and remote
// client tests: an EC P-256 file key "ec" with a certificate chain, a second
// key "other", API tokens, a deny-by-default policy and a SQLite audit log.
//
//   ServiceFixture f;                       // writes the files
//   auto service = f.Start();               // SigningService over them
//   SigningPlan plan = f.Plan("a.txt");     // a cms plan for a new file
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "formats/format.h"
#include "keys/key_signer.h"
#include "server/config.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/service.h"
#include "test_keys.h"

namespace signet::testing {

class ServiceFixture {
 public:
  // `edit` may change the configuration JSON before it is written.
  explicit ServiceFixture(const std::function<void(nlohmann::json&)>& edit = {});

  // The service over the configuration; `audit`: a store to use instead
  // of the configured SQLite file.
  std::unique_ptr<server::SigningService> Start(std::unique_ptr<audit::Store> audit = nullptr);

  // A cms plan for a new file `name` (content: the name repeated), signed
  // with ECDSA P-256 / SHA-256.
  SigningPlan Plan(const std::string& name);

  // A POST /v1/sign request with `token` (empty: no Authorization header).
  server::ServerRequest SignRequest(const std::string& token, const std::string& key,
                                    const std::vector<SigningPlan>& plans) const;
  server::ServerRequest Get(const std::string& path, const std::string& token = "") const;

  // Every audit record, in order.
  std::vector<audit::Record> AuditRecords() const;

  TempDir dir;
  std::string config_path;
  server::ServerConfig config;
  std::string bot_token;       // scope: ec; allowed by rule "bots"
  std::string stranger_token;  // scope: *; no rule
  EVP_PKEY* ec_key = nullptr;  // the "ec" key (not owned)
  KeyRegistry keys;
  FormatRegistry formats;
  std::ostringstream log_text;
  server::Logger log{log_text};
  server::MetricsRegistry metrics;
};

}  // namespace signet::testing
