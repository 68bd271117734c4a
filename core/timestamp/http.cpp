#include "timestamp/http.h"

#include "net/http_client.h"

#include <curl/curl.h>

#include <mutex>

namespace signet::timestamp {
namespace {

struct Sink {
  Bytes body;
  std::size_t limit = 0;
  bool overflow = false;
};

std::size_t WriteBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::size_t n = size * count;
  if (sink->body.size() + n > sink->limit) {
    sink->overflow = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  sink->body.insert(sink->body.end(), data, data + n);
  return n;
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(const HttpLimits& limits) : limits_(limits) {
    net::EnsureCurlGlobalInit();
  }

  Result<HttpResponse> Post(const std::string& url, std::string_view content_type,
                            ByteView body) override {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return Internal("curl_easy_init failed");
    std::string header = "Content-Type: " + std::string(content_type);
    curl_slist* headers = curl_slist_append(nullptr, header.c_str());
    headers = curl_slist_append(headers, "Accept: application/timestamp-reply");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                            curl_slist_free_all);
    Sink sink;
    sink.limit = limits_.max_response_size;
    char error[CURL_ERROR_SIZE] = {};
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(limits_.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(limits_.total_timeout.count()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "signet");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);

    CURLcode rc = curl_easy_perform(c);
    if (sink.overflow) {
      return VerificationFailed("the answer is larger than " +
                                std::to_string(limits_.max_response_size) + " bytes");
    }
    if (rc != CURLE_OK) {
      std::string why = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
      if (net::IsRetryableCurlCode(rc)) return Unavailable(why);
      return InvalidArgument(why);
    }
    HttpResponse out;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
    out.body = std::move(sink.body);
    return out;
  }

 private:
  HttpLimits limits_;
};

}  // namespace

std::unique_ptr<HttpTransport> MakeCurlTransport(const HttpLimits& limits) {
  return std::make_unique<CurlTransport>(limits);
}

}  // namespace signet::timestamp
