// The Signet server's HTTP API (JSON over HTTPS, under /v1), shared by the
// server and the remote client so that both read one definition:
//
//   GET  /v1/info             {"server":"signet","api":1,"default_audience":"signet",
//                              "max_plans_per_request":256,"max_plan_bytes":16384}
//   GET  /v1/keys/NAME        KeyInfo                 (authenticated)
//   POST /v1/sign             SignBody -> SignReply  (authenticated; 1..N plans)
//   GET  /healthz, GET /metrics
//
// Authentication: "Authorization: Bearer TOKEN" (a CI OIDC JWT or a Signet
// API token). Errors: {"error":{"code":"permission_denied","message":...},
// "request_id":...} with 400/401/403/404/413/429/503/500.
//
// A plan is at most kMaxPlanBytes of JSON whatever the artifact's size: the
// server refuses larger ones. A batch is signed all or nothing: one
// authorisation decision, one audit commit holding a record per plan.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/error.h"
#include "formats/format.h"

namespace signet::remote {

inline constexpr std::size_t kMaxPlanBytes = std::size_t{16} * 1024;
inline constexpr int kApiVersion = 1;

struct KeyInfo {
  std::string name;
  std::string key_type;            // "EC P-256", "RSA-3072"
  std::string public_key_pem;      // SPKI
  std::vector<std::string> chain;  // PEM certificates, leaf first
  bool timestamps = false;         // the server adds an RFC 3161 timestamp

  [[nodiscard]] nlohmann::json ToJson() const;
  static Result<KeyInfo> FromJson(const nlohmann::json& j);
};

struct SignBody {
  std::string key;
  std::vector<SigningPlan> plans;

  [[nodiscard]] nlohmann::json ToJson() const;
  // kInvalidArgument for a malformed body, a plan over kMaxPlanBytes, or
  // more than `max_plans` plans.
  static Result<SignBody> FromJson(const nlohmann::json& j, std::size_t max_plans);
};

struct SignReply {
  std::string request_id;
  std::vector<Bytes> signatures;
  std::vector<std::optional<Bytes>> timestamp_tokens;  // one per signature

  [[nodiscard]] nlohmann::json ToJson() const;
  static Result<SignReply> FromJson(const nlohmann::json& j);
};

// {"error":{"code":..., "message":...}} for `error`.
nlohmann::json ErrorJson(const Error& error);

// The HTTP status for an error code (kPermissionDenied -> 403, ...).
int HttpStatusFor(ErrorCode code);

// A parsed remote key: signet://HOST[:PORT]/KEYNAME -> https://HOST[:PORT]
// and KEYNAME (port 443 when absent).
struct RemoteKey {
  std::string base_url;
  std::string key;
};
Result<RemoteKey> ParseRemoteKeyUri(std::string_view uri);

// True for a key name the server accepts: [A-Za-z0-9._-]{1,128}.
bool IsValidKeyName(std::string_view name);

}  // namespace signet::remote
