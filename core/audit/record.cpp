// Record <-> JSON, the chain hash, and URL helpers (audit.h).
#include <chrono>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "audit/chain.h"
#include "base/bytes.h"
#include "crypto/digest.h"

namespace signet::audit {

nlohmann::json Record::ToJson() const {
  nlohmann::json j = ToJsonWithoutHash(*this);
  j["hash"] = hash;
  return j;
}

nlohmann::json ToJsonWithoutHash(const Record& r) {
  nlohmann::json claims_json = nlohmann::json::object();
  for (const auto& [name, value] : r.claims) claims_json[name] = value;
  return nlohmann::json{{"seq", r.seq},
                        {"time", r.time},
                        {"request_id", r.request_id},
                        {"issuer", r.issuer},
                        {"subject", r.subject},
                        {"claims", std::move(claims_json)},
                        {"key", r.key},
                        {"certificate_sha256", r.certificate_sha256},
                        {"format", r.format},
                        {"artifact", r.artifact},
                        {"artifact_size", r.artifact_size},
                        {"content_digest", r.content_digest},
                        {"tbs_digest", r.tbs_digest},
                        {"decision", r.decision},
                        {"reason", r.reason},
                        {"client", r.client},
                        {"prev_hash", r.prev_hash}};
}

std::string CanonicalJson(const nlohmann::json& j) {
  // Objects are std::map-backed: keys come out sorted. Invalid UTF-8 (an
  // artifact name sent by a client) is replaced by U+FFFD, the same way on
  // every dump, so hashing never throws and stays reproducible.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ChainHash(std::string_view prev_hash, std::string_view canonical_without_hash) {
  auto hasher = Hasher::Create(DigestAlgorithm::kSha256);
  if (!hasher) return {};  // SHA-256 is always available; a mismatch will show.
  hasher->Update(AsBytes(prev_hash));
  hasher->Update(AsBytes("\n"));
  hasher->Update(AsBytes(canonical_without_hash));
  return HexEncode(hasher->Finish());
}

std::string Record::ComputeHash() const {
  return ChainHash(prev_hash, CanonicalJson(ToJsonWithoutHash(*this)));
}

namespace {

Status ReadString(const nlohmann::json& j, const char* name, std::string& out) {
  auto it = j.find(name);
  if (it == j.end()) return InvalidArgument(std::string("audit record: missing field ") + name);
  if (!it->is_string()) {
    return InvalidArgument(std::string("audit record: field ") + name + " is not a string");
  }
  out = it->get<std::string>();
  return {};
}

}  // namespace

Result<Record> Record::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("audit record: not a JSON object");
  Record r;
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_integer()) {
    return InvalidArgument("audit record: field seq is missing or not an integer");
  }
  r.seq = seq->get<std::int64_t>();
  auto size = j.find("artifact_size");
  if (size == j.end() || !size->is_number_unsigned()) {
    return InvalidArgument(
        "audit record: field artifact_size is missing or not an unsigned integer");
  }
  r.artifact_size = size->get<std::uint64_t>();
  auto claims = j.find("claims");
  if (claims == j.end() || !claims->is_object()) {
    return InvalidArgument("audit record: field claims is missing or not an object");
  }
  for (const auto& [name, value] : claims->items()) {
    if (!value.is_string()) {
      return InvalidArgument("audit record: claim " + name + " is not a string");
    }
    r.claims[name] = value.get<std::string>();
  }
  const std::pair<const char*, std::string*> strings[] = {
      {"time", &r.time},
      {"request_id", &r.request_id},
      {"issuer", &r.issuer},
      {"subject", &r.subject},
      {"key", &r.key},
      {"certificate_sha256", &r.certificate_sha256},
      {"format", &r.format},
      {"artifact", &r.artifact},
      {"content_digest", &r.content_digest},
      {"tbs_digest", &r.tbs_digest},
      {"decision", &r.decision},
      {"reason", &r.reason},
      {"client", &r.client},
      {"prev_hash", &r.prev_hash},
      {"hash", &r.hash},
  };
  for (const auto& [name, field] : strings) SIGNET_RETURN_IF_ERROR(ReadString(j, name, *field));
  return r;
}

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

std::string SqlitePath(std::string_view url) {
  if (url.starts_with("sqlite://")) return std::string(url.substr(9));
  if (url.starts_with("sqlite:")) return std::string(url.substr(7));
  return std::string(url);
}

std::string ResolveStoreUrl(const std::string& url, const std::string& base_dir) {
  if (IsPostgresUrl(url)) return url;
  std::string path = url.empty() ? "audit.db" : SqlitePath(url);
  if (!path.empty() && path.front() != '/' && !base_dir.empty()) {
    path = base_dir + (base_dir.back() == '/' ? "" : "/") + path;
  }
  return "sqlite:" + path;
}

std::string RedactUrl(const std::string& url) {
  if (!IsPostgresUrl(url)) return url;
  std::string out = url;
  // user:PASSWORD@host: the authority ends at the first '/', '?' or '#'
  // after "://"; the password sits between the first ':' and the last '@'.
  std::size_t start = out.find("://") + 3;
  std::size_t end = out.find_first_of("/?#", start);
  if (end == std::string::npos) end = out.size();
  std::size_t at = out.rfind('@', end);
  if (at != std::string::npos && at >= start) {
    std::size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // ?password=... / &password=...
  for (const char* key : {"?password=", "&password="}) {
    std::size_t pos = out.find(key);
    if (pos == std::string::npos) continue;
    std::size_t value = pos + std::char_traits<char>::length(key);
    std::size_t value_end = out.find_first_of("&#", value);
    if (value_end == std::string::npos) value_end = out.size();
    out.replace(value, value_end - value, "***");
  }
  return out;
}

}  // namespace signet::audit
