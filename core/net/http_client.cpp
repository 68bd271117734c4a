#include "net/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace signet::net {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The parts of a URL this module needs, from libcurl's own parser (so that
// what we check is what curl will connect to).
struct ParsedUrl {
  std::string scheme;
  std::string host;       // IPv6 literals in brackets, as curl returns them
  std::string printable;  // scheme://host[:port]/path, no query or user info
};

Result<ParsedUrl> ParseUrl(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u) return Internal("curl_url failed");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return InvalidArgument("malformed URL");
  }
  auto part = [&](CURLUPart p) -> std::string {
    char* v = nullptr;
    if (curl_url_get(u.get(), p, &v, 0) != CURLUE_OK || v == nullptr) return "";
    std::string s(v);
    curl_free(v);
    return s;
  };
  ParsedUrl out;
  out.scheme = Lower(part(CURLUPART_SCHEME));
  out.host = Lower(part(CURLUPART_HOST));
  std::string port = part(CURLUPART_PORT);
  out.printable =
      out.scheme + "://" + out.host + (port.empty() ? "" : ":" + port) + part(CURLUPART_PATH);
  if (out.host.empty()) return InvalidArgument("URL " + out.printable + " has no host");
  return out;
}

}  // namespace

void EnsureCurlGlobalInit() {
  // curl_global_init is not thread-safe in every libcurl build: once per process.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool IsRetryableCurlCode(int curl_code) {
  const auto code = static_cast<CURLcode>(curl_code);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_PROXY:
      return true;
    default:
      return false;
  }
}

bool IsLoopbackHost(std::string_view host) {
  std::string lower = Lower(host);
  host = lower;
  if (host == "localhost" || host == "localhost.") return true;
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;  // 127.0.0.0/8
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;  // ::ffff:127.x.y.z
  }
  return false;
}

namespace {

struct Transfer {
  std::string body;
  Headers headers;
  std::size_t limit = 0;
  bool overflow = false;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  if (t->body.size() + n > t->limit) {
    t->overflow = true;
    return 0;  // curl aborts the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new response (after a 100 Continue or a proxy's CONNECT answer):
    // only the final one's headers count.
    t->headers.clear();
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;
  if (t->headers.size() >= 200) return n;  // bounded; the body cap covers the rest
  t->headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                          std::string(Trim(line.substr(colon + 1))));
  return n;
}

bool RetryableStatus(long status) { return status == 429 || (status >= 500 && status <= 599); }

// Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date. Returns -1 when
// absent or unparsable.
std::chrono::milliseconds ParseRetryAfter(std::string_view value) {
  value = Trim(value);
  if (value.empty()) return std::chrono::milliseconds(-1);
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size() && seconds >= 0) {
    if (seconds > 86400) seconds = 86400;
    return std::chrono::seconds(seconds);
  }
  std::string date(value);
  std::time_t when = curl_getdate(date.c_str(), nullptr);
  if (when < 0) return std::chrono::milliseconds(-1);
  std::time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? std::min<std::time_t>(when - now, 86400) : 0);
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(const HttpOptions& options)
      : options_(options), curl_(nullptr, curl_easy_cleanup), rng_(std::random_device{}()) {
    EnsureCurlGlobalInit();
    curl_.reset(curl_easy_init());
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (!curl_) return Internal("curl_easy_init failed");
    auto url = ParseUrl(request.url);
    if (!url) return std::unexpected(url.error());
    const std::string what = "HTTP " + request.method + " " + url->printable;
    bool loopback = IsLoopbackHost(url->host);
    if (url->scheme != "https" && url->scheme != "http") {
      return InvalidArgument(what + ": unsupported scheme (https only)");
    }
    bool allowed_http =
        loopback || std::find(options_.plain_http_hosts.begin(), options_.plain_http_hosts.end(),
                              url->host) != options_.plain_http_hosts.end();
    if (url->scheme == "http" && !allowed_http) {
      return InvalidArgument(what + ": plain http is allowed only to loopback hosts (use https)");
    }
    int attempts = std::max(1, options_.retry.max_attempts);
    for (int attempt = 1;; ++attempt) {
      Transfer transfer;
      transfer.limit = options_.max_response_size;
      long status = 0;
      CURLcode rc = Perform(request, loopback, transfer, status);
      if (transfer.overflow) {
        return Unavailable(what + ": the response is larger than " +
                           std::to_string(options_.max_response_size) + " bytes");
      }
      bool last = attempt >= attempts;
      if (rc != CURLE_OK) {
        std::string why = what;
        why += ": ";
        why += curl_easy_strerror(rc);
        if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
          return InvalidArgument(why);
        }
        if (rc == CURLE_FILESIZE_EXCEEDED) {
          return Unavailable(what + ": the response is larger than " +
                             std::to_string(options_.max_response_size) + " bytes");
        }
        if (last || !IsRetryableCurlCode(rc)) {
          if (attempt > 1) why += " (after " + std::to_string(attempt) + " attempts)";
          return Unavailable(why);
        }
        Backoff(attempt, std::chrono::milliseconds(-1));
        continue;
      }
      HttpResponse response;
      response.status = status;
      response.headers = std::move(transfer.headers);
      response.body = std::move(transfer.body);
      bool retry = RetryableStatus(status) ||
                   (options_.retry.retry_also && options_.retry.retry_also(response));
      if (last || !retry) return response;
      auto retry_after = ParseRetryAfter(response.Header("retry-after"));
      if (retry_after > options_.retry.max_retry_after) {
        return response;  // the service asks for a longer pause than we wait for
      }
      Backoff(attempt, retry_after);
    }
  }

 private:
  CURLcode Perform(const HttpRequest& request, bool loopback, Transfer& transfer, long& status) {
    CURL* c = curl_.get();
    // Resets options, keeps the connection cache, DNS cache and TLS sessions.
    curl_easy_reset(c);
    curl_slist* list = nullptr;
    for (const auto& [name, value] : request.headers) {
      // "Name;" is curl's way to send a header with an empty value.
      std::string line = name;
      if (value.empty()) {
        line += ';';
      } else {
        line += ": ";
        line += value;
      }
      list = curl_slist_append(list, line.c_str());
    }
    // No "Expect: 100-continue" round trip for larger bodies.
    list = curl_slist_append(list, "Expect:");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(list,
                                                                            curl_slist_free_all);

    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    // No redirects: cloud APIs do not redirect, and a redirect must not
    // carry signed or bearer credentials to another host.
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (request.method == "GET") {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
      if (request.method != "POST")
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "signet");
    // TLS verification is always on (these are curl's defaults; set so that
    // nothing can turn them off by accident).
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
    if (!options_.ca_bundle.empty())
      curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_bundle.c_str());
    // Proxies: curl reads http_proxy/HTTPS_PROXY/NO_PROXY from the environment
    // unless CURLOPT_PROXY is set. A loopback destination is never proxied.
    if (loopback) curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options_.max_response_size));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);

    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    // The list may hold credentials (Authorization): do not leave them in
    // freed memory.
    for (curl_slist* p = header_list.get(); p != nullptr; p = p->next) {
      volatile char* s = p->data;
      while (*s != '\0') *s++ = '\0';
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    return rc;
  }

  // Sleeps before attempt `attempt + 1`: full jitter over an exponentially
  // growing cap, or what the service asked for (Retry-After) when longer.
  void Backoff(int attempt, std::chrono::milliseconds retry_after) {
    using std::chrono::milliseconds;
    long long base = options_.retry.initial_backoff.count();
    long long cap = options_.retry.max_backoff.count();
    long long ceiling = base;
    for (int i = 1; i < attempt && ceiling < cap; ++i) ceiling *= 2;
    ceiling = std::clamp<long long>(ceiling, 0, std::max<long long>(cap, 0));
    std::uniform_int_distribution<long long> dist(0, ceiling);
    milliseconds wait(dist(rng_));
    if (retry_after > wait) wait = retry_after;
    std::this_thread::sleep_for(wait);
  }

  HttpOptions options_;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_;
  std::mt19937_64 rng_;
};

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return "";
}

std::unique_ptr<HttpClient> MakeCurlHttpClient(const HttpOptions& options) {
  return std::make_unique<CurlHttpClient>(options);
}

Error HttpStatusError(std::string_view service, long status, std::string_view service_code,
                      std::string_view service_message) {
  // The service's words, on one line and bounded.
  auto clean = [](std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s) {
      if (out.size() >= max) {
        out += "...";
        break;
      }
      out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    }
    return std::string(Trim(out));
  };
  std::string code = clean(service_code, 100);
  std::string message = clean(service_message, 400);
  std::string text(service);
  text += ": ";
  if (!code.empty()) text += code + (message.empty() ? "" : ": ");
  text += message;
  if (code.empty() && message.empty()) text += "request failed";
  text += " (HTTP " + std::to_string(status) + ")";
  ErrorCode ec = ErrorCode::kInvalidArgument;
  if (RetryableStatus(status)) {
    ec = ErrorCode::kUnavailable;
  } else if (status == 401 || status == 403) {
    ec = ErrorCode::kPermissionDenied;
  } else if (status == 404) {
    ec = ErrorCode::kNotFound;
  } else if (status < 400) {
    ec = ErrorCode::kUnavailable;  // an unexpected non-error status: the service misbehaves
  }
  return Error{ec, std::move(text)};
}

std::string UrlEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

HttpOptions HttpOptionsFromEnv(HttpOptions options) {
  auto read = [](const char* name, long long min, long long max) -> std::optional<long long> {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    long long n = 0;
    std::string_view s(v);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || n < min || n > max) return std::nullopt;
    return n;
  };
  if (auto v = read("SIGNET_HTTP_TIMEOUT_MS", 1, 3600000)) {
    options.total_timeout = std::chrono::milliseconds(*v);
    options.connect_timeout = std::min(options.connect_timeout, options.total_timeout);
  }
  if (auto v = read("SIGNET_HTTP_CONNECT_TIMEOUT_MS", 1, 3600000)) {
    options.connect_timeout = std::chrono::milliseconds(*v);
  }
  if (auto v = read("SIGNET_HTTP_MAX_ATTEMPTS", 1, 20)) {
    options.retry.max_attempts = static_cast<int>(*v);
  }
  if (auto v = read("SIGNET_HTTP_BACKOFF_MS", 0, 600000)) {
    options.retry.initial_backoff = std::chrono::milliseconds(*v);
    options.retry.max_backoff = std::max(options.retry.max_backoff, options.retry.initial_backoff);
  }
  if (const char* ca = std::getenv("SIGNET_CA_BUNDLE"); ca != nullptr && *ca != '\0') {
    options.ca_bundle = ca;
  }
  return options;
}

}  // namespace signet::net
