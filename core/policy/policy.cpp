// Policy evaluation and per-identity rate limits (policy.h; the format and
// the semantics are documented for operators in docs/policy.md).
//
// Evaluate looks only at the rules whose `keys` match the requested key, so
// nothing it says (reason, explanation) can name another key's rule. Each of
// those rules is checked in file order -- issuer, claims, format, size --
// and the first that passes every check allows. When none does, the reason
// comes from the rule that got furthest (a rule that matched the identity
// but not the format tells more than one for another repository).
//
// Authorize adds the rate limit of the deciding rule: a sliding window of
// one hour per (rule, issuer, subject), kept in memory under one mutex.
#include "policy/policy.h"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "policy/rules_json.h"

namespace signet::policy {
namespace {

constexpr std::time_t kWindowSeconds = 3600;
// How often Authorize drops identities whose window is empty.
constexpr std::time_t kSweepSeconds = 60;
// Longest claim value quoted in a reason; values come from tokens.
constexpr std::size_t kMaxQuoted = 200;

// A value safe to put in a one-line reason: control characters replaced,
// long values cut.
std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(std::min(s.size(), kMaxQuoted) + 3);
  for (std::size_t i = 0; i < s.size() && i < kMaxQuoted; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out.push_back(c < 0x20 || c == 0x7F ? '?' : s[i]);
  }
  if (s.size() > kMaxQuoted) out += "...";
  if (out.empty()) out = "\"\"";
  return out;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool AnyGlob(const std::vector<std::string>& globs, std::string_view text) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return GlobMatch(g, text); });
}

// How far a rule got with a request; a later stage is a more useful reason.
enum class Stage { kIssuer, kClaims, kFormat, kSize, kMatched };

struct Outcome {
  Stage stage = Stage::kIssuer;
  std::size_t claims_failed = 0;  // mismatched or missing claims
  std::size_t claims_matched = 0;
  std::string why;                              // the first failed check; empty when matched
  std::map<std::string, std::string> compared;  // claim -> identity's value
};

Outcome Check(const Rule& rule, const identity::Identity& id, const Request& request) {
  Outcome o;
  if (!GlobMatch(rule.issuer, id.issuer)) {
    o.why = "issuer " + Printable(id.issuer) + " does not match " + rule.issuer;
    return o;
  }
  o.stage = Stage::kClaims;
  std::string first_failure;
  for (const auto& [name, globs] : rule.claims) {
    std::optional<std::string> value = id.Claim(name);
    if (!value) {
      ++o.claims_failed;
      if (first_failure.empty()) first_failure = "identity has no claim " + name;
      continue;
    }
    o.compared.emplace(name, *value);
    if (AnyGlob(globs, *value)) {
      ++o.claims_matched;
      continue;
    }
    ++o.claims_failed;
    if (first_failure.empty()) {
      first_failure = name + " " + Printable(*value) + " does not match " +
                      (globs.size() == 1 ? globs[0] : "any of " + Join(globs));
    }
  }
  if (!first_failure.empty()) {
    o.why = std::move(first_failure);
    return o;
  }
  o.stage = Stage::kFormat;
  if (!rule.formats.empty() &&
      std::find(rule.formats.begin(), rule.formats.end(), request.format) == rule.formats.end()) {
    o.why = "format " + Printable(request.format) +
            " is not allowed (formats: " + Join(rule.formats) + ")";
    return o;
  }
  o.stage = Stage::kSize;
  if (rule.max_artifact_size && request.artifact_size > *rule.max_artifact_size) {
    o.why = "artifact size " + std::to_string(request.artifact_size) +
            " bytes exceeds max_artifact_size " + std::to_string(*rule.max_artifact_size);
    return o;
  }
  o.stage = Stage::kMatched;
  return o;
}

// Whether `a` explains a denial better than `b`: the rule closest to
// matching. A rule for another issuer is the least relevant; then fewer
// failed claims, then a later stage (format, size), then more matched claims.
bool MoreUseful(const Outcome& a, const Outcome& b) {
  const bool a_issuer = a.stage == Stage::kIssuer, b_issuer = b.stage == Stage::kIssuer;
  if (a_issuer != b_issuer) return b_issuer;
  if (a.claims_failed != b.claims_failed) return a.claims_failed < b.claims_failed;
  if (a.stage != b.stage) return a.stage > b.stage;
  return a.claims_matched > b.claims_matched;
}

std::string WhoIs(const identity::Identity& id) {
  return Printable(id.subject.empty() ? id.issuer : id.subject);
}

// The decision and the index of the rule that allowed (or npos).
std::pair<Decision, std::size_t> Decide(const std::vector<Rule>& rules, const Request& request) {
  Decision d;
  constexpr std::size_t npos = static_cast<std::size_t>(-1);
  if (request.identity == nullptr) {
    d.reason = "no identity: the request was not authenticated";
    return {d, npos};
  }
  const identity::Identity& id = *request.identity;
  const std::string key = Printable(request.key);

  std::size_t allowed = npos;
  std::size_t best = npos;
  Outcome best_outcome;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Rule& rule = rules[i];
    if (!AnyGlob(rule.keys, request.key)) continue;
    Outcome o = Check(rule, id, request);
    if (o.stage == Stage::kMatched) {
      if (allowed == npos) {
        allowed = i;
        d.explanation.push_back("rule " + rule.name + ": matches");
        d.used_claims = std::move(o.compared);
      } else {
        d.explanation.push_back("rule " + rule.name + ": matches (not used: rule " +
                                rules[allowed].name + " comes first)");
      }
      continue;
    }
    d.explanation.push_back("rule " + rule.name + ": " + o.why);
    if (allowed == npos && (best == npos || MoreUseful(o, best_outcome))) {
      best = i;
      best_outcome = std::move(o);
    }
  }

  if (allowed != npos) {
    d.allowed = true;
    d.rule = rules[allowed].name;
    d.reason = "allowed by rule " + d.rule;
    return {d, allowed};
  }
  if (best == npos) {
    d.reason = "no rule allows key " + key;
    return {d, npos};
  }
  std::string what;
  switch (best_outcome.stage) {
    case Stage::kFormat:
      what = "format " + Printable(request.format) + " for identity " + WhoIs(id);
      break;
    case Stage::kSize:
      what = "an artifact of " + std::to_string(request.artifact_size) + " bytes for identity " +
             WhoIs(id);
      break;
    default:
      what = "identity " + WhoIs(id);
      break;
  }
  d.reason = "no rule for key " + key + " allows " + what + ": rule " + rules[best].name + ": " +
             best_outcome.why;
  d.used_claims = std::move(best_outcome.compared);
  return {d, npos};
}

// Signings in the last hour by one identity under one rule: (second, count)
// pairs, oldest first, one per second at most (so at most 3600 of them).
struct Window {
  std::deque<std::pair<std::time_t, std::uint64_t>> events;
  std::uint64_t total = 0;

  void Expire(std::time_t now) {
    while (!events.empty() && now - events.front().first >= kWindowSeconds) {
      total -= events.front().second;
      events.pop_front();
    }
  }
  // Threads read the clock before taking the lock, so `now` may be a
  // little behind the newest event: it is then counted at the newest
  // event's time (expiring a little later), which keeps the deque sorted.
  void Add(std::time_t now, std::uint64_t n) {
    if (!events.empty() && events.back().first >= now) {
      events.back().second += n;
    } else {
      events.emplace_back(now, n);
    }
    total += n;
  }
};

std::string CounterKey(std::size_t rule, const identity::Identity& id) {
  // Length-prefixed, so no issuer/subject pair can collide with another.
  return std::to_string(rule) + ":" + std::to_string(id.issuer.size()) + ":" + id.issuer +
         id.subject;
}

}  // namespace

struct Policy::State {
  std::vector<Rule> rules;

  std::mutex mu;  // guards everything below
  std::unordered_map<std::string, Window> windows;
  std::time_t last_sweep = 0;

  // Drops the windows that have nothing left in the last hour. Called with
  // mu held, at most once a minute, so memory follows the identities active
  // in the last hour.
  void MaybeSweep(std::time_t now) {
    if (now - last_sweep < kSweepSeconds && last_sweep - now < kSweepSeconds) return;
    last_sweep = now;
    for (auto it = windows.begin(); it != windows.end();) {
      it->second.Expire(now);
      it = it->second.events.empty() ? windows.erase(it) : std::next(it);
    }
  }
};

Policy::Policy() : state_(std::make_unique<State>()) {}
Policy::~Policy() = default;
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;

Result<Policy> Policy::FromJson(const nlohmann::json& j) {
  SIGNET_ASSIGN_OR_RETURN(std::vector<Rule> rules, internal::ParseRules(j));
  Policy policy;
  policy.state_->rules = std::move(rules);
  return policy;
}

const std::vector<Rule>& Policy::rules() const { return state_->rules; }

Decision Policy::Evaluate(const Request& request, std::time_t /*now*/) const {
  return Decide(state_->rules, request).first;
}

Decision Policy::Authorize(const Request& request, std::time_t now, int signings) {
  auto [d, index] = Decide(state_->rules, request);
  if (!d.allowed) return d;
  const Rule& rule = state_->rules[index];
  if (signings < 1) {
    d.allowed = false;
    d.rule.clear();
    d.reason = "a request must count at least one signing (got " + std::to_string(signings) + ")";
    return d;
  }
  if (!rule.max_signings_per_hour) return d;

  const auto limit = static_cast<std::uint64_t>(*rule.max_signings_per_hour);
  const auto n = static_cast<std::uint64_t>(signings);
  std::uint64_t used = 0;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->MaybeSweep(now);
    Window& w = state_->windows[CounterKey(index, *request.identity)];
    w.Expire(now);
    used = w.total;
    if (used + n <= limit) {
      w.Add(now, n);
      return d;
    }
    if (w.events.empty()) state_->windows.erase(CounterKey(index, *request.identity));
  }
  d.allowed = false;
  d.rule.clear();
  d.reason = "rate limit: rule " + rule.name + " for key " + Printable(request.key) + " allows " +
             std::to_string(limit) + " signings per hour per identity; " +
             WhoIs(*request.identity) + " has made " + std::to_string(used) +
             " in the last hour and this request asks for " + std::to_string(n);
  d.explanation.push_back("rule " + rule.name + ": rate limit max_signings_per_hour " +
                          std::to_string(limit) + " reached (" + std::to_string(used) + " used, " +
                          std::to_string(n) + " asked)");
  return d;
}

}  // namespace signet::policy
