#include "server/config.h"

#include <charconv>
#include <filesystem>
#include <set>

#include "audit/audit.h"
#include "base/file.h"
#include "remote/protocol.h"

namespace signet::server {
namespace {

constexpr std::size_t kMaxConfigBytes = 4 << 20;

// Reads fields of one JSON object, tracking the path for messages and
// refusing fields it was not asked about (a typo must not silently disable
// a setting).
class ObjectReader {
 public:
  ObjectReader(const nlohmann::json& j, std::string file, std::string path)
      : j_(j), file_(std::move(file)), path_(std::move(path)) {}

  Error Bad(const std::string& field, const std::string& why) const {
    return Error{ErrorCode::kInvalidArgument, file_ + ": " + Join(field) + ": " + why};
  }
  std::string Join(const std::string& field) const {
    return path_.empty() ? field : path_ + "." + field;
  }

  Status String(const char* name, std::string& out, bool required = false) {
    seen_.insert(name);
    auto it = j_.find(name);
    if (it == j_.end()) {
      if (required) return std::unexpected(Bad(name, "missing"));
      return {};
    }
    if (!it->is_string()) return std::unexpected(Bad(name, "must be a string"));
    out = it->get<std::string>();
    return {};
  }
  template <typename Int>
  Status Integer(const char* name, Int& out, long long min, long long max) {
    seen_.insert(name);
    auto it = j_.find(name);
    if (it == j_.end()) return {};
    if (!it->is_number_integer() || it->get<long long>() < min || it->get<long long>() > max) {
      return std::unexpected(Bad(
          name, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max)));
    }
    out = static_cast<Int>(it->get<long long>());
    return {};
  }
  Status Bool(const char* name, bool& out) {
    seen_.insert(name);
    auto it = j_.find(name);
    if (it == j_.end()) return {};
    if (!it->is_boolean()) return std::unexpected(Bad(name, "must be true or false"));
    out = it->get<bool>();
    return {};
  }
  const nlohmann::json* Get(const char* name) {
    seen_.insert(name);
    auto it = j_.find(name);
    return it == j_.end() ? nullptr : &*it;
  }
  Status NoOthers() const {
    for (const auto& [k, v] : j_.items()) {
      if (!seen_.contains(k)) return std::unexpected(Bad(k, "unknown setting"));
    }
    return {};
  }

 private:
  const nlohmann::json& j_;
  std::string file_;
  std::string path_;
  std::set<std::string> seen_;
};

std::string Resolve(const std::filesystem::path& dir, const std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (dir / p).lexically_normal().string();
}

Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& listen) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("listen: expected HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  std::string_view p(listen.data() + colon + 1, listen.size() - colon - 1);
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (host.empty() || ec != std::errc() || ptr != p.data() + p.size() || port > 65535) {
    return InvalidArgument("listen: expected HOST:PORT");
  }
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

}  // namespace

Result<ServerConfig> LoadServerConfig(const std::string& path) {
  SIGNET_ASSIGN_OR_RETURN(Bytes raw, ReadSmallFile(path, kMaxConfigBytes));
  nlohmann::json j = nlohmann::json::parse(raw.begin(), raw.end(), nullptr, false,
                                           /*ignore_comments=*/true);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(path +
                           ": not a JSON object (comments are allowed, trailing commas are not)");
  }
  std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
  ServerConfig c;
  c.path = path;
  ObjectReader top(j, path, "");

  std::string listen;
  SIGNET_RETURN_IF_ERROR(top.String("listen", listen));
  if (!listen.empty()) {
    auto hp = ParseListen(listen);
    if (!hp) return std::unexpected(top.Bad("listen", "expected HOST:PORT, e.g. 127.0.0.1:8443"));
    std::tie(c.listen_host, c.listen_port) = *hp;
  }
  SIGNET_RETURN_IF_ERROR(top.Bool("plain_http", c.plain_http));
  if (const nlohmann::json* tls = top.Get("tls")) {
    if (!tls->is_object()) return std::unexpected(top.Bad("tls", "must be an object"));
    ObjectReader r(*tls, path, "tls");
    SIGNET_RETURN_IF_ERROR(r.String("certificate", c.tls_certificate_path, true));
    SIGNET_RETURN_IF_ERROR(r.String("key", c.tls_key_path, true));
    SIGNET_RETURN_IF_ERROR(r.NoOthers());
    c.tls_certificate_path = Resolve(dir, c.tls_certificate_path);
    c.tls_key_path = Resolve(dir, c.tls_key_path);
  } else if (!c.plain_http) {
    return std::unexpected(
        top.Bad("tls",
                "missing: give a certificate and key, or set \"plain_http\": true "
                "(loopback tests only)"));
  }
  SIGNET_RETURN_IF_ERROR(top.String("default_audience", c.default_audience));

  if (const nlohmann::json* issuers = top.Get("issuers")) {
    if (!issuers->is_array()) return std::unexpected(top.Bad("issuers", "must be a list"));
    for (std::size_t i = 0; i < issuers->size(); ++i) {
      auto issuer = identity::IssuerConfig::FromJson((*issuers)[i]);
      if (!issuer) {
        return std::unexpected(
            top.Bad("issuers[" + std::to_string(i) + "]", issuer.error().message));
      }
      issuer->ca_bundle = Resolve(dir, issuer->ca_bundle);
      for (const identity::IssuerConfig& seen : c.issuers) {
        if (seen.issuer == issuer->issuer) {
          return std::unexpected(top.Bad("issuers[" + std::to_string(i) + "]",
                                         "issuer " + issuer->issuer + " is listed twice"));
        }
      }
      c.issuers.push_back(std::move(*issuer));
    }
  }
  SIGNET_RETURN_IF_ERROR(top.String("api_tokens_file", c.api_tokens_file));
  c.api_tokens_file = Resolve(dir, c.api_tokens_file);

  const nlohmann::json* keys = top.Get("keys");
  if (keys == nullptr || !keys->is_object() || keys->empty()) {
    return std::unexpected(top.Bad("keys", "missing: name at least one key"));
  }
  for (const auto& [name, value] : keys->items()) {
    if (!remote::IsValidKeyName(name)) {
      return std::unexpected(top.Bad("keys." + name, "key names use A-Z a-z 0-9 . _ - only"));
    }
    if (!value.is_object()) return std::unexpected(top.Bad("keys." + name, "must be an object"));
    ObjectReader r(value, path, "keys." + name);
    KeyConfig k;
    k.name = name;
    SIGNET_RETURN_IF_ERROR(r.String("uri", k.uri, true));
    SIGNET_RETURN_IF_ERROR(r.String("certificate", k.certificate_path));
    SIGNET_RETURN_IF_ERROR(r.String("pin_file", k.pin_file));
    SIGNET_RETURN_IF_ERROR(r.String("tsa", k.tsa_url));
    SIGNET_RETURN_IF_ERROR(r.NoOthers());
    if (k.uri.starts_with("signet:")) {
      return std::unexpected(r.Bad("uri", "a server cannot use another server's key"));
    }
    // A relative file: key path is relative to the config, like the others.
    if (k.uri.starts_with("file:") && !k.uri.starts_with("file:/")) {
      k.uri = "file:" + Resolve(dir, k.uri.substr(5));
    }
    k.certificate_path = Resolve(dir, k.certificate_path);
    k.pin_file = Resolve(dir, k.pin_file);
    c.keys.emplace(name, std::move(k));
  }

  if (const nlohmann::json* policy = top.Get("policy")) {
    if (!policy->is_object()) return std::unexpected(top.Bad("policy", "must be an object"));
    c.policy = *policy;
  }
  if (const nlohmann::json* audit = top.Get("audit")) {
    if (!audit->is_object()) return std::unexpected(top.Bad("audit", "must be an object"));
    ObjectReader r(*audit, path, "audit");
    SIGNET_RETURN_IF_ERROR(r.String("db", c.audit_db));
    SIGNET_RETURN_IF_ERROR(r.NoOthers());
  }
  // The same resolution as `signet audit --config`, so both open one store.
  c.audit_db = audit::ResolveStoreUrl(c.audit_db, dir.string());
  if (const nlohmann::json* limits = top.Get("limits")) {
    if (!limits->is_object()) return std::unexpected(top.Bad("limits", "must be an object"));
    ObjectReader r(*limits, path, "limits");
    SIGNET_RETURN_IF_ERROR(r.Integer("max_body_bytes", c.max_body_bytes, 64 << 10, 256 << 20));
    SIGNET_RETURN_IF_ERROR(r.Integer("max_plans_per_request", c.max_plans_per_request, 1, 4096));
    SIGNET_RETURN_IF_ERROR(r.Integer("read_timeout_ms", c.read_timeout_ms, 100, 600000));
    SIGNET_RETURN_IF_ERROR(r.Integer("threads", c.threads, 0, 1024));
    SIGNET_RETURN_IF_ERROR(r.NoOthers());
  }
  SIGNET_RETURN_IF_ERROR(top.NoOthers());
  return c;
}

}  // namespace signet::server
