// Scoped API tokens, for clients without an OIDC identity. A token is
// "sgt_" + 43 base64url characters (256 random bits); the server stores
// only its SHA-256 (a random 256-bit secret needs no slow hash), in a JSON
// file named by the server config ("api_tokens_file"):
//   {"tokens": [{"name": "release-bot", "sha256": "<hex>", "scopes": ["prod-ev"],
//                "created": "2026-11-28T01:00:00Z"}]}
// Thread-safety: ApiTokenStore::Authenticate may be called from many threads.
// Create is a read-modify-write of the file: one writer at a time (the
// `signet server token create` command); the server only reads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/secret.h"
#include "identity/identity.h"

namespace signet::identity {

inline constexpr std::string_view kApiTokenPrefix = "sgt_";

// True when `token` looks like a Signet API token (prefix), so the server
// can tell it from a JWT without parsing.
bool IsApiToken(std::string_view token);

struct ApiTokenEntry {
  std::string name;
  std::string sha256_hex;
  std::vector<std::string> scopes;
  std::string created;
};

class ApiTokenStore {
 public:
  // Loads the file; a missing file is an empty store.
  static Result<ApiTokenStore> Load(const std::string& path);
  // Creates a new token NAME with `scopes`, writes the file atomically
  // (mode 0600) and returns the token, which is never stored. kInvalidArgument
  // when NAME exists or is not [A-Za-z0-9._-]+.
  static Result<Secret> Create(const std::string& path, const std::string& name,
                               const std::vector<std::string>& scopes);
  // The identity of `token` (issuer kApiTokenIssuer, subject NAME, scopes),
  // compared in constant time; kPermissionDenied "unknown API token".
  [[nodiscard]] Result<Identity> Authenticate(std::string_view token) const;
  [[nodiscard]] const std::vector<ApiTokenEntry>& entries() const { return entries_; }

 private:
  std::vector<ApiTokenEntry> entries_;
};

}  // namespace signet::identity
