// Internal to core/policy: strict parsing of the "policy" object of the
// server config into rules (the format is in policy.h and docs/policy.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"
#include "policy/policy.h"

namespace signet::policy::internal {

// kInvalidArgument naming the offending field ("policy.rules[2].claims.ref:
// ..."): unknown fields, wrong types, missing name or keys, an empty list,
// duplicate rule names, a glob with syntax this matcher does not support.
Result<std::vector<Rule>> ParseRules(const nlohmann::json& policy);

// Why `glob` is not a pattern GlobMatch supports (empty, too long, control
// characters, '[', ']' or '\\', which other glob dialects treat specially),
// or an empty string when it is fine.
std::string CheckGlob(std::string_view glob);

}  // namespace signet::policy::internal
