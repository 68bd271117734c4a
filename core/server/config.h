// The server's configuration file: JSON, with // and /* */ comments allowed.
// A commented example is in docs/server.md. Relative paths in it are
// resolved against the directory of the file.
//
//   {
//     "listen": "127.0.0.1:8443",                       // host:port
//     "tls": {"certificate": "server.pem", "key": "server.key"},
//     "plain_http": false,                              // true only for loopback tests
//     "default_audience": "signet",                     // told to clients (/v1/info)
//     "issuers": [ {IssuerConfig, see identity/jwt.h} ],
//     "api_tokens_file": "tokens.json",                 // see identity/api_token.h
//     "keys": {
//       "prod-ev": {"uri": "pkcs11:token=ci;object=ev?module-path=...",
//                   "certificate": "ev-chain.pem",      // optional when the backend has one
//                   "pin_file": "ev.pin",               // optional; PKCS#11 PIN / key passphrase
//                   "tsa": "http://tsa.example/"}       // optional: server adds an RFC 3161
//                   timestamp
//     },
//     "policy": {"rules": [ ... see policy/policy.h ... ]},
//     "audit": {"db": "sqlite:audit.db"},               // or "postgresql://..." (see
//     audit/audit.h) "limits": {"max_body_bytes": 4194304, "max_plans_per_request": 256,
//                "read_timeout_ms": 30000, "threads": 0}
//   }
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "identity/jwt.h"

namespace signet::server {

struct KeyConfig {
  std::string name;
  std::string uri;
  std::string certificate_path;  // "" : the backend's own chain
  std::string pin_file;          // "" : none (the backend's own sources)
  std::string tsa_url;           // "" : no server-side timestamp
};

struct ServerConfig {
  std::string path;  // the file it was read from
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8443;
  bool plain_http = false;
  std::string tls_certificate_path;
  std::string tls_key_path;
  std::string default_audience = "signet";
  std::vector<identity::IssuerConfig> issuers;
  std::string api_tokens_file;  // "" : no API tokens
  std::map<std::string, KeyConfig> keys;
  nlohmann::json policy = nlohmann::json::object();  // parsed by policy::Policy::FromJson
  std::string audit_db;                              // "" : sqlite:audit.db beside the config
  std::size_t max_body_bytes = 4 << 20;
  std::size_t max_plans_per_request = 256;
  int read_timeout_ms = 30000;
  int threads = 0;
};

// Reads and checks the file: kInvalidArgument naming the file and the
// offending field ("signet.json: keys.prod-ev.uri: missing").
Result<ServerConfig> LoadServerConfig(const std::string& path);

}  // namespace signet::server
