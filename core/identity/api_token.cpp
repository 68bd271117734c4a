#include "identity/api_token.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <array>
#include <ctime>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "crypto/digest.h"
#include "crypto/openssl_util.h"
#include "identity/jwk.h"

namespace signet::identity {

namespace {

constexpr std::size_t kTokenRandomBytes = 32;    // 256 bits -> 43 base64url characters
constexpr std::size_t kMaxStoreSize = 4u << 20;  // the JSON file
constexpr std::size_t kMaxNameSize = 128;

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameSize) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ValidHex64(std::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Sha256Hex(std::string_view token) {
  return HexEncode(Digest(DigestAlgorithm::kSha256, AsBytes(token)));
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<ApiTokenEntry> ParseEntry(const nlohmann::json& j, std::size_t index) {
  std::string where = "tokens[" + std::to_string(index) + "]";
  if (!j.is_object()) return InvalidArgument(where + ": not a JSON object");
  ApiTokenEntry e;
  auto str = [&](const char* name, std::string& out, bool required) -> Status {
    auto it = j.find(name);
    if (it == j.end()) {
      if (required) return InvalidArgument(where + "." + name + ": missing");
      return {};
    }
    if (!it->is_string()) return InvalidArgument(where + "." + name + ": not a string");
    out = it->get<std::string>();
    return {};
  };
  SIGNET_RETURN_IF_ERROR(str("name", e.name, true));
  SIGNET_RETURN_IF_ERROR(str("sha256", e.sha256_hex, true));
  SIGNET_RETURN_IF_ERROR(str("created", e.created, false));
  if (!ValidName(e.name)) return InvalidArgument(where + ".name: not [A-Za-z0-9._-]+");
  if (!ValidHex64(e.sha256_hex)) {
    return InvalidArgument(where + ".sha256: not 64 lower-case hex digits");
  }
  auto scopes = j.find("scopes");
  if (scopes == j.end() || !scopes->is_array()) {
    return InvalidArgument(where + ".scopes: missing (a list of key names, or [\"*\"])");
  }
  for (const auto& s : *scopes) {
    if (!s.is_string() || s.get_ref<const std::string&>().empty()) {
      return InvalidArgument(where + ".scopes: not a list of key names");
    }
    e.scopes.push_back(s.get<std::string>());
  }
  return e;
}

nlohmann::json ToJson(const std::vector<ApiTokenEntry>& entries) {
  nlohmann::json tokens = nlohmann::json::array();
  for (const auto& e : entries) {
    tokens.push_back(
        {{"name", e.name}, {"sha256", e.sha256_hex}, {"scopes", e.scopes}, {"created", e.created}});
  }
  return {{"tokens", tokens}};
}

}  // namespace

bool IsApiToken(std::string_view token) { return token.starts_with(kApiTokenPrefix); }

Result<ApiTokenStore> ApiTokenStore::Load(const std::string& path) {
  ApiTokenStore store;
  if (!PathExists(path)) return store;
  SIGNET_ASSIGN_OR_RETURN(Bytes content, ReadSmallFile(path, kMaxStoreSize));
  auto doc = nlohmann::json::parse(content.begin(), content.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument(path + ": not a JSON object (an API token file)");
  }
  auto tokens = doc.find("tokens");
  if (tokens == doc.end() || !tokens->is_array()) {
    return InvalidArgument(path + ": no \"tokens\" array");
  }
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    auto entry = ParseEntry((*tokens)[i], i);
    if (!entry) return std::unexpected(entry.error().WithContext(path));
    for (const auto& other : store.entries_) {
      if (other.name == entry->name) {
        return InvalidArgument(path + ": token name \"" + entry->name + "\" appears twice");
      }
    }
    store.entries_.push_back(std::move(*entry));
  }
  return store;
}

Result<Secret> ApiTokenStore::Create(const std::string& path, const std::string& name,
                                     const std::vector<std::string>& scopes) {
  if (!ValidName(name)) {
    return InvalidArgument("API token name \"" + name + "\" is not [A-Za-z0-9._-]+ (1-128)");
  }
  if (scopes.empty()) return InvalidArgument("API token " + name + " needs at least one scope");
  for (const auto& s : scopes) {
    if (s.empty()) return InvalidArgument("API token " + name + ": empty scope");
  }
  SIGNET_ASSIGN_OR_RETURN(ApiTokenStore store, Load(path));
  for (const auto& e : store.entries_) {
    if (e.name == name) {
      std::string message = "API token ";
      message += name;
      message += " already exists in ";
      message += path;
      message += "; choose another name or remove the entry";
      return InvalidArgument(std::move(message));
    }
  }
  std::array<std::uint8_t, kTokenRandomBytes> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return Internal("no random bytes for an API token: " + OpenSslErrors());
  }
  Secret token(std::string(kApiTokenPrefix) + Base64UrlEncode(random));
  OPENSSL_cleanse(random.data(), random.size());
  store.entries_.push_back({name, Sha256Hex(token.Reveal()), scopes, UtcNow()});

  std::string text = ToJson(store.entries_).dump(2) + "\n";
  SIGNET_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(path, 0600));
  // An existing file's mode is carried over by AtomicFile; this file is
  // always owner-only.
  if (::chmod(out.temp_path().c_str(), 0600) != 0) {
    return InvalidArgument("cannot set mode 0600 on " + out.temp_path());
  }
  SIGNET_RETURN_IF_ERROR(out.Write(AsBytes(text)));
  SIGNET_RETURN_IF_ERROR(out.Commit());
  return token;
}

Result<Identity> ApiTokenStore::Authenticate(std::string_view token) const {
  if (!IsApiToken(token) || token.size() > 256) return PermissionDenied("unknown API token");
  const std::string hash = Sha256Hex(token);
  const ApiTokenEntry* match = nullptr;
  // Every entry is compared, in constant time, whatever matched before.
  for (const auto& e : entries_) {
    bool equal = e.sha256_hex.size() == hash.size() &&
                 CRYPTO_memcmp(e.sha256_hex.data(), hash.data(), hash.size()) == 0;
    if (equal) match = &e;
  }
  if (match == nullptr) return PermissionDenied("unknown API token");
  Identity id;
  id.issuer = std::string(kApiTokenIssuer);
  id.subject = match->name;
  id.scopes = match->scopes;
  id.normalized[std::string(kCi)] = "api-token";
  return id;
}

}  // namespace signet::identity
