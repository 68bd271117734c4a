#include "keys/awskms/aws_config.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/secret.h"

namespace signet::aws {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsTrue(const std::string& v) { return Lower(Trim(v)) == "true"; }

std::string ExpandHome(const EnvLookup& env, std::string path) {
  if (path.starts_with("~/")) path = env("HOME") + path.substr(1);
  return path;
}

// Reads an optional config file; nullopt when it does not exist.
Result<std::optional<IniSections>> ReadIniFile(const std::string& path) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return std::optional<IniSections>();
  auto data = ReadSmallFile(path, 1 << 20);
  if (!data) {
    return FailedPrecondition("cannot read AWS config file " + path + ": " + data.error().message);
  }
  IniSections sections = ParseIni(ToString(*data));
  OPENSSL_cleanse(data->data(), data->size());
  return std::optional<IniSections>(std::move(sections));
}

// The partition's DNS suffix for a region.
std::string DnsSuffix(std::string_view region) {
  return region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

std::string JoinPath(std::string base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + std::string(path);
}

std::string XmlUnescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      static constexpr std::pair<std::string_view, char> kEntities[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      bool done = false;
      for (const auto& [entity, c] : kEntities) {
        if (s.substr(i).starts_with(entity)) {
          out += c;
          i += entity.size() - 1;
          done = true;
          break;
        }
      }
      if (done) continue;
    }
    out += s[i];
  }
  return out;
}

// The text of the first <tag>...</tag> in `xml` ("" when absent). Enough for
// the flat, known shape of STS responses.
std::string XmlText(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  auto start = xml.find(open);
  if (start == std::string_view::npos) return "";
  start += open.size();
  auto end = xml.find(close, start);
  if (end == std::string_view::npos) return "";
  return XmlUnescape(Trim(xml.substr(start, end - start)));
}

net::HttpRequest MakeRequest(std::string method, std::string url) {
  net::HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}

// Credentials from the JSON that the ECS endpoint and IMDS return.
Result<AwsCredentials> CredentialsFromJson(std::string_view body, std::string_view what,
                                           std::string source) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("AccessKeyId") || !json.contains("SecretAccessKey") ||
      !json["AccessKeyId"].is_string() || !json["SecretAccessKey"].is_string()) {
    return Unavailable(std::string(what) + ": malformed credentials response");
  }
  if (json.contains("Code") && json["Code"].is_string() && json["Code"] != "Success") {
    return Unavailable(std::string(what) + ": " + json["Code"].get<std::string>());
  }
  AwsCredentials c;
  c.access_key_id = json["AccessKeyId"].get<std::string>();
  c.secret_access_key = Secret(json["SecretAccessKey"].get<std::string>());
  if (json.contains("Token") && json["Token"].is_string()) {
    c.session_token = Secret(json["Token"].get<std::string>());
  }
  if (json.contains("Expiration") && json["Expiration"].is_string()) {
    c.expiration = ParseIso8601(json["Expiration"].get<std::string>());
  }
  c.source = std::move(source);
  // Best effort: the parsed tree held the secret too.
  for (const char* k : {"SecretAccessKey", "Token"}) {
    if (json.contains(k) && json[k].is_string()) {
      auto& s = json[k].get_ref<std::string&>();
      OPENSSL_cleanse(s.data(), s.size());
    }
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Unavailable(std::string(what) + ": the response holds empty credentials");
  }
  return c;
}

Result<AwsCredentials> WebIdentity(const CredentialContext& ctx, const std::string& role_arn,
                                   const std::string& token_file, std::string session_name,
                                   std::string source) {
  const std::string what = "AWS STS AssumeRoleWithWebIdentity";
  auto token = ReadSecretFile(token_file);
  if (!token) {
    return FailedPrecondition("web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE) " +
                              token_file + ": " + token.error().message);
  }
  if (token->empty()) {
    return FailedPrecondition("web identity token file " + token_file + " is empty");
  }
  if (session_name.empty()) session_name = "signet-" + std::to_string(ctx.now());
  std::string endpoint = EndpointFromEnv(ctx.env, "STS");
  if (endpoint.empty()) {
    endpoint = ctx.region.empty() ? "https://sts.amazonaws.com"
                                  : "https://sts." + ctx.region + "." + DnsSuffix(ctx.region);
  }
  net::HttpRequest request = MakeRequest("POST", JoinPath(endpoint, "/"));
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                     {"Accept", "application/xml"}};
  request.body =
      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + net::UrlEncode(role_arn) +
      "&RoleSessionName=" + net::UrlEncode(session_name) +
      "&WebIdentityToken=" + net::UrlEncode(token->Reveal());
  net::HttpOptions options = ctx.http;
  options.retry.retry_also = [](const net::HttpResponse& r) {
    return r.status == 400 &&
           (r.body.find("<Code>IDPCommunicationError</Code>") != std::string::npos ||
            r.body.find("<Code>Throttling</Code>") != std::string::npos);
  };
  auto response = net::MakeCurlHttpClient(options)->Send(request);
  OPENSSL_cleanse(request.body.data(), request.body.size());
  if (!response) return std::unexpected(response.error().WithContext(what));
  if (response->status != 200) {
    std::string code = XmlText(response->body, "Code");
    Error e =
        net::HttpStatusError(what, response->status, code, XmlText(response->body, "Message"));
    if (code == "InvalidIdentityToken" || code == "ExpiredTokenException" ||
        code == "IDPRejectedClaim" || code == "AccessDenied" || code == "AccessDeniedException") {
      e.code = ErrorCode::kPermissionDenied;
    } else if (code == "IDPCommunicationError") {
      e.code = ErrorCode::kUnavailable;
    }
    return std::unexpected(e);
  }
  AwsCredentials c;
  c.access_key_id = XmlText(response->body, "AccessKeyId");
  c.secret_access_key = Secret(XmlText(response->body, "SecretAccessKey"));
  c.session_token = Secret(XmlText(response->body, "SessionToken"));
  c.expiration = ParseIso8601(XmlText(response->body, "Expiration"));
  c.source = std::move(source);
  OPENSSL_cleanse(response->body.data(), response->body.size());
  if (c.access_key_id.empty() || c.secret_access_key.empty() || c.session_token.empty()) {
    return Unavailable(what + ": malformed response (no credentials in it)");
  }
  return c;
}

Result<AwsCredentials> Container(const CredentialContext& ctx, const std::string& relative,
                                 const std::string& full) {
  const std::string what = "AWS container credentials";
  std::string url = !relative.empty() ? "http://169.254.170.2" + relative : full;
  Secret token;
  if (std::string file = ctx.env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !file.empty()) {
    auto t = ReadSecretFile(file);
    if (!t) {
      return FailedPrecondition("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + file + ": " +
                                t.error().message);
    }
    token = std::move(*t);
  } else {
    token = Secret(ctx.env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
  }
  net::HttpOptions options = ctx.http;
  options.connect_timeout = std::min(options.connect_timeout, std::chrono::milliseconds(2000));
  options.total_timeout = std::min(options.total_timeout, std::chrono::milliseconds(5000));
  options.plain_http_hosts = {"169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"};
  net::HttpRequest request = MakeRequest("GET", url);
  if (!token.empty()) request.headers.emplace_back("Authorization", std::string(token.Reveal()));
  auto response = net::MakeCurlHttpClient(options)->Send(request);
  for (auto& [n, v] : request.headers) OPENSSL_cleanse(v.data(), v.size());
  if (!response) return std::unexpected(response.error().WithContext(what));
  if (response->status != 200) {
    auto json = nlohmann::json::parse(response->body, nullptr, false);
    std::string code;
    std::string message;
    if (json.is_object()) {
      if (json.contains("code") && json["code"].is_string()) code = json["code"];
      if (json.contains("message") && json["message"].is_string()) message = json["message"];
    }
    return std::unexpected(net::HttpStatusError(what, response->status, code, message));
  }
  return CredentialsFromJson(response->body, what, "container credentials endpoint");
}

// nullopt: no instance metadata service here (not on EC2, or IMDS off).
Result<std::optional<AwsCredentials>> InstanceMetadata(const CredentialContext& ctx) {
  const std::string what = "EC2 instance metadata (IMDSv2)";
  std::string base = ctx.env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (base.empty()) base = "http://169.254.169.254";
  net::HttpOptions options = ctx.http;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.total_timeout = std::chrono::milliseconds(2000);
  options.retry.max_attempts = 1;
  options.plain_http_hosts = {"169.254.169.254", "[fd00:ec2::254]"};
  auto client = net::MakeCurlHttpClient(options);

  net::HttpRequest put = MakeRequest("PUT", JoinPath(base, "/latest/api/token"));
  put.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  auto token_response = client->Send(put);
  if (!token_response) {
    if (token_response.error().code == ErrorCode::kUnavailable) {
      return std::optional<AwsCredentials>();  // nothing answers: not on EC2
    }
    return std::unexpected(token_response.error().WithContext(what));
  }
  if (token_response->status == 403 || token_response->status == 404 ||
      token_response->status == 405) {
    return std::optional<AwsCredentials>();  // IMDS disabled or v1-only: not usable
  }
  if (token_response->status != 200 || token_response->body.empty()) {
    return std::unexpected(net::HttpStatusError(what, token_response->status, "", "token request"));
  }
  Secret token(std::move(token_response->body));
  auto get = [&](const std::string& path) {
    net::HttpRequest r = MakeRequest("GET", JoinPath(base, path));
    r.headers = {{"X-aws-ec2-metadata-token", std::string(token.Reveal())}};
    auto out = client->Send(r);
    for (auto& [n, v] : r.headers) OPENSSL_cleanse(v.data(), v.size());
    return out;
  };
  const std::string prefix = "/latest/meta-data/iam/security-credentials/";
  auto roles = get(prefix);
  if (!roles) return std::unexpected(roles.error().WithContext(what));
  if (roles->status == 404) return std::optional<AwsCredentials>();  // no instance role
  if (roles->status != 200) {
    return std::unexpected(net::HttpStatusError(what, roles->status, "", "listing the role"));
  }
  std::string role(Trim(std::string_view(roles->body).substr(0, roles->body.find('\n'))));
  if (role.empty()) return std::optional<AwsCredentials>();
  auto creds = get(prefix + net::UrlEncode(role));
  if (!creds) return std::unexpected(creds.error().WithContext(what));
  if (creds->status != 200) {
    return std::unexpected(net::HttpStatusError(what, creds->status, "", "role " + role));
  }
  auto c = CredentialsFromJson(creds->body, what, "EC2 instance metadata (role " + role + ")");
  OPENSSL_cleanse(creds->body.data(), creds->body.size());
  if (!c) return std::unexpected(c.error());
  return std::optional<AwsCredentials>(std::move(*c));
}

}  // namespace

std::string ProcessEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

IniSections ParseIni(std::string_view text) {
  IniSections out;
  std::string section;
  bool have_section = false;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) continue;  // sub-setting
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      auto close = line.find(']');
      if (close == std::string_view::npos) {
        have_section = false;
        continue;
      }
      section = std::string(Trim(line.substr(1, close - 1)));
      // "profile  name" -> "profile name"
      if (section.starts_with("profile ")) {
        section = "profile " + std::string(Trim(std::string_view(section).substr(8)));
      }
      have_section = true;
      out[section];
      continue;
    }
    auto eq = line.find('=');
    if (!have_section || eq == std::string_view::npos) continue;
    out[section][Lower(Trim(line.substr(0, eq)))] = std::string(Trim(line.substr(eq + 1)));
  }
  return out;
}

std::string Profile::Get(const std::string& key) const {
  auto it = values.find(key);
  return it == values.end() ? "" : it->second;
}

Result<Profile> LoadProfile(const EnvLookup& env) {
  Profile profile;
  profile.name = env("AWS_PROFILE");
  bool named = !profile.name.empty();
  if (!named) profile.name = "default";
  std::string home = env("HOME");
  std::string config_path = env("AWS_CONFIG_FILE");
  if (config_path.empty() && !home.empty()) config_path = home + "/.aws/config";
  std::string creds_path = env("AWS_SHARED_CREDENTIALS_FILE");
  if (creds_path.empty() && !home.empty()) creds_path = home + "/.aws/credentials";
  config_path = ExpandHome(env, config_path);
  creds_path = ExpandHome(env, creds_path);
  profile.files = config_path + " and " + creds_path;

  SIGNET_ASSIGN_OR_RETURN(auto config, ReadIniFile(config_path));
  SIGNET_ASSIGN_OR_RETURN(auto creds, ReadIniFile(creds_path));
  if (config) {
    auto it = config->find("profile " + profile.name);
    if (it == config->end() && profile.name == "default") it = config->find("default");
    if (it != config->end()) {
      profile.values = it->second;
      profile.found = true;
    }
  }
  if (creds) {
    auto it = creds->find(profile.name);
    if (it != creds->end()) {
      for (const auto& [k, v] : it->second) profile.values[k] = v;
      profile.found = true;
    }
  }
  if (named && !profile.found) {
    return FailedPrecondition("AWS profile '" + profile.name + "' (AWS_PROFILE) is not in " +
                              profile.files);
  }
  return profile;
}

bool IsValidRegion(std::string_view region) {
  if (region.empty() || region.size() > 32 || region.front() == '-' || region.back() == '-') {
    return false;
  }
  for (char c : region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string RegionFromEnvOrProfile(const EnvLookup& env, const Profile& profile) {
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (std::string v = env(name); !v.empty()) return v;
  }
  return profile.Get("region");
}

std::string EndpointFromEnv(const EnvLookup& env, std::string_view service_env) {
  if (IsTrue(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))) return "";
  std::string specific = "AWS_ENDPOINT_URL_" + std::string(service_env);
  if (std::string v = env(specific.c_str()); !v.empty()) return v;
  return env("AWS_ENDPOINT_URL");
}

Result<AwsCredentials> ResolveCredentials(const CredentialContext& ctx) {
  const EnvLookup& env = ctx.env;
  // 1. Environment.
  {
    std::string id = env("AWS_ACCESS_KEY_ID");
    Secret secret(env("AWS_SECRET_ACCESS_KEY"));
    if (!id.empty() || !secret.empty()) {
      if (id.empty() || secret.empty()) {
        return FailedPrecondition(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (one is empty)");
      }
      AwsCredentials c;
      c.access_key_id = std::move(id);
      c.secret_access_key = std::move(secret);
      c.session_token = Secret(env("AWS_SESSION_TOKEN"));
      c.source = "environment";
      return c;
    }
  }
  // 2. Shared config and credentials files.
  const Profile& p = ctx.profile;
  if (p.found) {
    std::string source = "profile " + p.name;
    std::string id = p.Get("aws_access_key_id");
    Secret secret(p.Get("aws_secret_access_key"));
    if (!id.empty() && !secret.empty()) {
      AwsCredentials c;
      c.access_key_id = std::move(id);
      c.secret_access_key = std::move(secret);
      c.session_token = Secret(p.Get("aws_session_token"));
      c.source = source;
      return c;
    }
    if (!p.Get("role_arn").empty() && !p.Get("web_identity_token_file").empty()) {
      return WebIdentity(ctx, p.Get("role_arn"), ExpandHome(env, p.Get("web_identity_token_file")),
                         p.Get("role_session_name"), source + " (web identity)");
    }
    bool named = !env("AWS_PROFILE").empty();
    for (const char* unsupported : {"source_profile", "credential_source", "credential_process",
                                    "sso_session", "sso_start_url"}) {
      if (named && !p.Get(unsupported).empty()) {
        return FailedPrecondition("AWS profile '" + p.name + "' uses " + unsupported +
                                  ", which signet does not support; give the credentials "
                                  "through the environment, a web identity token or "
                                  "aws_access_key_id/aws_secret_access_key");
      }
    }
  }
  // 3. Web identity from the environment.
  {
    std::string token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
    std::string role = env("AWS_ROLE_ARN");
    if (!token_file.empty() || !role.empty()) {
      if (token_file.empty() || role.empty()) {
        return FailedPrecondition(
            "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must be set together");
      }
      return WebIdentity(ctx, role, token_file, env("AWS_ROLE_SESSION_NAME"), "web identity");
    }
  }
  // 4. ECS/EKS container endpoint.
  {
    std::string relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    std::string full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!relative.empty() || !full.empty()) return Container(ctx, relative, full);
  }
  // 5. EC2 instance metadata.
  bool imds = !IsTrue(env("AWS_EC2_METADATA_DISABLED"));
  if (imds) {
    SIGNET_ASSIGN_OR_RETURN(auto found, InstanceMetadata(ctx));
    if (found) return std::move(*found);
  }
  return FailedPrecondition(
      "none found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE "
      "in " +
      p.files + "), AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, or run where container or " +
      (imds ? "instance metadata" : "instance metadata (disabled by AWS_EC2_METADATA_DISABLED)") +
      " credentials are available");
}

Result<const AwsCredentials*> CredentialChain::Get() {
  std::time_t now = context_.now();
  if (current_ && (current_->expiration == 0 || now + 300 < current_->expiration)) {
    return current_.get();
  }
  SIGNET_ASSIGN_OR_RETURN(AwsCredentials fresh, ResolveCredentials(context_));
  current_ = std::make_unique<AwsCredentials>(std::move(fresh));
  return current_.get();
}

std::time_t ParseIso8601(std::string_view text) {
  std::string s(Trim(text));
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return 0;
  return timegm(&tm);
}

}  // namespace signet::aws
