#include "keys/cloud/cloud_http.h"

#include <charconv>
#include <cstdlib>

#include "base/file.h"

namespace signet::cloud {

HttpClientFactory CurlHttpClientFactory() {
  return [](const net::HttpOptions& options) { return net::MakeCurlHttpClient(options); };
}

std::string EnvOrEmpty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

void WipeString(std::string& s) {
  s.resize(s.capacity());
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

Result<net::HttpResponse> SendWiping(net::HttpClient& http, net::HttpRequest request) {
  auto response = http.Send(request);
  WipeString(request.body);
  for (auto& header : request.headers) WipeString(header.second);
  return response;
}

Result<Secret> ReadCredentialFile(const std::string& path, std::string_view what) {
  auto content = ReadSmallFile(path, 1 << 20);
  if (!content) return std::unexpected(content.error().WithContext(std::string(what)));
  std::string text(content->begin(), content->end());
  volatile std::uint8_t* p = content->data();
  for (std::size_t i = 0; i < content->size(); ++i) p[i] = 0;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.pop_back();
  }
  if (text.empty()) return InvalidArgument(std::string(what) + " " + path + " is empty");
  Secret secret(text);
  WipeString(text);
  return secret;
}

std::pair<std::string, std::string> BearerHeader(const Secret& token) {
  std::string value = "Bearer ";
  value += token.Reveal();
  return {"Authorization", std::move(value)};
}

Result<Json> ParseJsonObject(std::string_view body, std::string_view what) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Unavailable(std::string(what) + ": the answer is not a JSON object (" +
                       std::to_string(body.size()) + " bytes)");
  }
  return j;
}

const Json* Member(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::optional<std::string> StringMember(const Json& obj, std::string_view key) {
  const Json* m = Member(obj, key);
  if (m == nullptr || !m->is_string()) return std::nullopt;
  return m->get<std::string>();
}

std::optional<std::int64_t> IntegerMember(const Json& obj, std::string_view key) {
  const Json* m = Member(obj, key);
  if (m == nullptr) return std::nullopt;
  if (m->is_number_unsigned()) {
    auto v = m->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (m->is_number_integer()) return m->get<std::int64_t>();
  if (m->is_string()) {
    const auto& s = m->get_ref<const std::string&>();
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

std::optional<bool> BoolMember(const Json& obj, std::string_view key) {
  const Json* m = Member(obj, key);
  if (m == nullptr || !m->is_boolean()) return std::nullopt;
  return m->get<bool>();
}

std::optional<Secret> TakeSecretMember(Json& obj, std::string_view key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  auto& value = it->get_ref<std::string&>();
  if (value.empty()) return std::nullopt;
  Secret secret(value);  // copies; the JSON's buffer is wiped next
  WipeString(value);
  return secret;
}

Secret FormEncode(const std::vector<std::pair<std::string_view, std::string_view>>& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += '&';
    body += net::UrlEncode(name);
    body += '=';
    std::string encoded = net::UrlEncode(value);
    body += encoded;
    WipeString(encoded);
  }
  return Secret(std::move(body));
}

Error OAuthError(std::string_view service, const net::HttpResponse& response) {
  Json j = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  std::string code = StringMember(j, "error").value_or("");
  std::string description = StringMember(j, "error_description").value_or("");
  // Some endpoints answer in the Google API style instead: {"error": {...}}.
  if (const Json* e = Member(j, "error"); e != nullptr && e->is_object()) {
    code = StringMember(*e, "status").value_or(StringMember(*e, "code").value_or(""));
    description = StringMember(*e, "message").value_or("");
  }
  return net::HttpStatusError(service, response.status, code, description);
}

std::chrono::system_clock::time_point TokenExpiry(const Json& response,
                                                  std::chrono::system_clock::time_point now) {
  using std::chrono::seconds;
  if (auto in = IntegerMember(response, "expires_in");
      in && *in > 0 && *in < std::int64_t{10} * 86400) {
    return now + seconds(*in);
  }
  if (auto on = IntegerMember(response, "expires_on"); on && *on > 0) {
    return std::chrono::system_clock::time_point(seconds(*on));
  }
  return now + std::chrono::minutes(5);
}

Result<Secret> TokenCache::Get(net::HttpClient& http) {
  auto now = std::chrono::system_clock::now();
  if (!token_ || token_->expires_at - std::chrono::minutes(1) <= now) {
    token_.reset();
    auto fetched = source_->Fetch(http);
    if (!fetched) return std::unexpected(std::move(fetched).error());
    token_ = std::move(*fetched);
  }
  return token_->value;
}

}  // namespace signet::cloud
