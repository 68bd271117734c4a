// Key-usage policy: which identity may sign with which key, in which
// formats, how often and how large. Deny by default: a request is allowed
// only when a rule for its key matches its identity, its format and its
// limits. Rules live in the server config's "policy" object:
//
//   {"rules": [
//     {"name": "app-releases",
//      "keys": ["prod-ev"],                         // key names (globs)
//      "issuer": "https://token.actions.githubusercontent.com",  // glob; optional
//      "claims": {"repository": "acme/app",          // normalised or raw claim -> glob
//                 "ref": "refs/tags/v*",             // a list of globs means any of them
//                 "environment": "production"},
//      "formats": ["pe", "cms"],                    // optional: any format
//      "max_artifact_size": 2147483648,             // bytes; optional
//      "max_signings_per_hour": 100}]}              // per identity (issuer+subject); optional
//
// Globs: `*` matches any run of characters (including '/'), `?` one
// character; everything else literally. A claim the identity lacks never
// matches.
//
// Evaluation (docs/policy.md): only the rules whose `keys` match the
// requested key are considered, in file order; the first whose issuer,
// claims, format and size all match allows. A denial's reason comes from
// the rule for that key closest to matching and never names another key's
// rules. Rate limits (Authorize) are a sliding one-hour window per rule and
// identity (issuer + subject), in memory in this process.
//
// Thread-safety: Evaluate and Authorize may be called from many threads at
// once (the rules are immutable; the counters are behind a mutex).
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"
#include "identity/identity.h"

namespace signet::policy {

// Whether `text` matches `pattern` (`*` any run incl. '/', `?` one UTF-8
// character, the rest literal). Never exponential: O(|pattern| * |text|) at
// worst.
bool GlobMatch(std::string_view pattern, std::string_view text);

struct Rule {
  std::string name;
  std::vector<std::string> keys;
  std::string issuer = "*";
  std::map<std::string, std::vector<std::string>> claims;
  std::vector<std::string> formats;  // empty: any
  std::optional<std::uint64_t> max_artifact_size;
  std::optional<int> max_signings_per_hour;
};

struct Request {
  const identity::Identity* identity = nullptr;
  std::string key;
  std::string format;
  std::uint64_t artifact_size = 0;
};

struct Decision {
  bool allowed = false;
  std::string rule;    // the rule that allowed (empty when denied)
  std::string reason;  // one line, names no other key's rules
  // The claims the deciding rule compared (name -> identity's value), for
  // the audit record.
  std::map<std::string, std::string> used_claims;
  // `signet policy test`: one line per rule for this key, why it matched or
  // not ("rule app-releases: ref refs/heads/main does not match refs/tags/v*").
  std::vector<std::string> explanation;
};

class Policy {
 public:
  static Result<Policy> FromJson(const nlohmann::json& j);  // the "policy" object
  Policy();
  ~Policy();
  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;

  // Decides without counting the signing against rate limits.
  [[nodiscard]] Decision Evaluate(const Request& request, std::time_t now) const;
  // Evaluate, and when allowed, counts `signings` against the deciding
  // rule's per-identity hourly limit; denies ("rate limit ...") when the
  // count would exceed it. Counters are in memory, per server process.
  Decision Authorize(const Request& request, std::time_t now, int signings = 1);

  [[nodiscard]] const std::vector<Rule>& rules() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace signet::policy
