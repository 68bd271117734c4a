// Strict parsing of the "policy" object (see rules_json.h). Every error
// names the JSON path of the offending value, e.g.
// "policy.rules[2].claims.ref: glob \"refs/[a-z]*\": '[' is not supported".
#include "policy/rules_json.h"

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace signet::policy::internal {
namespace {

using nlohmann::json;

// Longest glob accepted: the matcher's worst case is len(pattern) * len(text).
constexpr std::size_t kMaxGlobLength = 1024;

std::unexpected<Error> FieldError(const std::string& path, const std::string& what) {
  return InvalidArgument(path + ": " + what);
}

const char* TypeName(const json& j) { return j.type_name(); }

Status CheckFields(const json& object, const std::string& path,
                   std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : object.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || name == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      std::string field = path;
      field += '.';
      field += name;
      return FieldError(field, "unknown field (known: " + list + ")");
    }
  }
  return {};
}

Result<std::string> GlobAt(const json& j, const std::string& path) {
  if (!j.is_string()) return FieldError(path, std::string("must be a string, not ") + TypeName(j));
  const auto& s = j.get_ref<const std::string&>();
  if (std::string why = CheckGlob(s); !why.empty()) {
    return FieldError(path, "glob \"" + s.substr(0, 80) + "\": " + why);
  }
  return s;
}

// A glob or a non-empty list of globs.
Result<std::vector<std::string>> GlobListAt(const json& j, const std::string& path,
                                            bool allow_single) {
  std::vector<std::string> out;
  if (allow_single && j.is_string()) {
    SIGNET_ASSIGN_OR_RETURN(std::string g, GlobAt(j, path));
    out.push_back(std::move(g));
    return out;
  }
  if (!j.is_array()) {
    return FieldError(path, std::string(allow_single ? "must be a string or a list of strings"
                                                     : "must be a list of strings") +
                                ", not " + TypeName(j));
  }
  if (j.empty()) return FieldError(path, "must not be an empty list");
  for (std::size_t i = 0; i < j.size(); ++i) {
    SIGNET_ASSIGN_OR_RETURN(std::string g, GlobAt(j[i], path + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(g));
  }
  return out;
}

Result<std::uint64_t> PositiveIntAt(const json& j, const std::string& path, std::uint64_t max) {
  const bool non_negative =
      j.is_number_unsigned() || (j.is_number_integer() && j.get<std::int64_t>() >= 0);
  if (!non_negative) {
    return FieldError(path, std::string("must be a positive integer, not ") +
                                (j.is_number() ? j.dump() : TypeName(j)));
  }
  const auto v = j.get<std::uint64_t>();
  if (v == 0) return FieldError(path, "must be at least 1 (remove the rule to allow nothing)");
  if (v > max) return FieldError(path, "must be at most " + std::to_string(max));
  return v;
}

Result<Rule> ParseRule(const json& j, const std::string& path, std::set<std::string>& names) {
  if (!j.is_object()) return FieldError(path, std::string("must be an object, not ") + TypeName(j));
  SIGNET_RETURN_IF_ERROR(CheckFields(j, path,
                                     {"name", "keys", "issuer", "claims", "formats",
                                      "max_artifact_size", "max_signings_per_hour"}));
  Rule rule;

  auto name = j.find("name");
  if (name == j.end()) return FieldError(path + ".name", "missing (every rule needs a name)");
  if (!name->is_string() || name->get_ref<const std::string&>().empty()) {
    return FieldError(path + ".name", "must be a non-empty string");
  }
  rule.name = name->get<std::string>();
  for (unsigned char c : rule.name) {
    if (c < 0x20 || c == 0x7F) return FieldError(path + ".name", "contains a control character");
  }
  if (!names.insert(rule.name).second) {
    return FieldError(path + ".name", "duplicate rule name \"" + rule.name + "\"");
  }

  auto keys = j.find("keys");
  if (keys == j.end())
    return FieldError(path + ".keys", "missing (list the key names the rule covers)");
  SIGNET_ASSIGN_OR_RETURN(rule.keys, GlobListAt(*keys, path + ".keys", /*allow_single=*/false));

  if (auto it = j.find("issuer"); it != j.end()) {
    SIGNET_ASSIGN_OR_RETURN(rule.issuer, GlobAt(*it, path + ".issuer"));
  }

  if (auto it = j.find("claims"); it != j.end()) {
    if (!it->is_object()) {
      return FieldError(path + ".claims", std::string("must be an object, not ") + TypeName(*it));
    }
    for (const auto& [claim, value] : it->items()) {
      std::string claim_path = path;
      claim_path += ".claims.";
      claim_path += claim;
      if (claim.empty()) return FieldError(path + ".claims", "empty claim name");
      SIGNET_ASSIGN_OR_RETURN(auto globs, GlobListAt(value, claim_path, /*allow_single=*/true));
      rule.claims.emplace(claim, std::move(globs));
    }
  }

  if (auto it = j.find("formats"); it != j.end()) {
    const std::string fpath = path + ".formats";
    if (!it->is_array()) {
      return FieldError(fpath, std::string("must be a list of format names, not ") + TypeName(*it));
    }
    if (it->empty())
      return FieldError(fpath, "must not be an empty list (omit it to allow any format)");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& f = (*it)[i];
      const std::string epath = fpath + "[" + std::to_string(i) + "]";
      if (!f.is_string() || f.get_ref<const std::string&>().empty()) {
        return FieldError(epath, "must be a format name such as \"pe\", \"cms\" or \"raw\"");
      }
      for (char c : f.get_ref<const std::string&>()) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
          return FieldError(epath, "format \"" + f.get<std::string>() +
                                       "\" is not a format name (lower-case letters, digits, - _)");
        }
      }
      rule.formats.push_back(f.get<std::string>());
    }
  }

  if (auto it = j.find("max_artifact_size"); it != j.end()) {
    SIGNET_ASSIGN_OR_RETURN(std::uint64_t v,
                            PositiveIntAt(*it, path + ".max_artifact_size", UINT64_MAX));
    rule.max_artifact_size = v;
  }
  if (auto it = j.find("max_signings_per_hour"); it != j.end()) {
    SIGNET_ASSIGN_OR_RETURN(std::uint64_t v,
                            PositiveIntAt(*it, path + ".max_signings_per_hour", 100'000'000));
    rule.max_signings_per_hour = static_cast<int>(v);
  }
  return rule;
}

}  // namespace

std::string CheckGlob(std::string_view glob) {
  if (glob.empty()) return "must not be empty (use \"*\" to match anything)";
  if (glob.size() > kMaxGlobLength) {
    return "longer than " + std::to_string(kMaxGlobLength) + " characters";
  }
  for (char ch : glob) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return "contains a control character";
    if (ch == '[' || ch == ']' || ch == '\\') {
      return std::string("'") + ch + "' is not supported (only * and ? are special)";
    }
  }
  return "";
}

Result<std::vector<Rule>> ParseRules(const json& policy) {
  const std::string path = "policy";
  if (!policy.is_object()) {
    return FieldError(path, std::string("must be an object, not ") + TypeName(policy));
  }
  SIGNET_RETURN_IF_ERROR(CheckFields(policy, path, {"rules"}));
  std::vector<Rule> rules;
  auto it = policy.find("rules");
  if (it == policy.end()) return rules;  // no rules: everything is denied
  if (!it->is_array()) {
    return FieldError(path + ".rules", std::string("must be a list, not ") + TypeName(*it));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < it->size(); ++i) {
    SIGNET_ASSIGN_OR_RETURN(Rule rule,
                            ParseRule((*it)[i], path + ".rules[" + std::to_string(i) + "]", names));
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace signet::policy::internal
