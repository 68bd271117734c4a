#include "net/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>

#include "net/test_http_server.h"

namespace signet::net {
namespace {

using signet::testing::TestHttpServer;
using signet::testing::TestRequest;
using signet::testing::TestResponse;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

HttpOptions FastOptions(int attempts = 4) {
  HttpOptions o;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.total_timeout = std::chrono::milliseconds(5000);
  o.retry.max_attempts = attempts;
  o.retry.initial_backoff = std::chrono::milliseconds(1);
  o.retry.max_backoff = std::chrono::milliseconds(5);
  return o;
}

TestResponse Answer(int status, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  TestResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}
TestResponse Hang() {
  TestResponse r;
  r.hang = true;
  return r;
}
TestResponse Drop() {
  TestResponse r;
  r.drop = true;
  return r;
}
HttpRequest Request(std::string method, std::string url, std::string body = "",
                    Headers headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}
HttpRequest Get(std::string url) { return Request("GET", std::move(url)); }

long long MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

TEST(HttpClientTest, SendsMethodHeadersAndBodyAndLowerCasesResponseHeaders) {
  TestHttpServer server([](const TestRequest&) {
    return Answer(200, "hello", {{"X-Amzn-RequestId", "abc"}, {"Content-Type", "text/plain"}});
  });
  auto client = MakeCurlHttpClient(FastOptions());
  auto r = client->Send(Request("PUT", server.Url("/latest/api/token?x=1"), R"({"a":1})",
                                {{"X-Custom", "v1"}, {"Content-Type", "application/json"}}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->Header("x-amzn-requestid"), "abc");
  EXPECT_EQ(r->Header("X-AMZN-REQUESTID"), "abc");
  bool found = false;
  for (const auto& [name, value] : r->headers) {
    EXPECT_EQ(name, [&] {
      std::string l = name;
      for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return l;
    }());
    if (name == "x-amzn-requestid") found = true;
  }
  EXPECT_TRUE(found);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].target, "/latest/api/token?x=1");
  EXPECT_EQ(reqs[0].Header("x-custom"), "v1");
  EXPECT_EQ(reqs[0].Header("content-type"), "application/json");
  EXPECT_EQ(reqs[0].body, R"({"a":1})");
  EXPECT_EQ(reqs[0].Header("expect"), "");
}

TEST(HttpClientTest, GetSendsNoBodyAndEmptyHeaderValuesAreSent) {
  TestHttpServer server([](const TestRequest&) { return Answer(200, "{}"); });
  auto client = MakeCurlHttpClient(FastOptions());
  auto r = client->Send(Request("GET", server.Url("/"), "", {{"X-Empty", ""}}));
  ASSERT_TRUE(r) << r.error().message;
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_TRUE(reqs[0].body.empty());
  bool found = false;
  for (const auto& [n, v] : reqs[0].headers) found = found || (n == "x-empty" && v.empty());
  EXPECT_TRUE(found);
}

TEST(HttpClientTest, RetriesOn429ThenSucceeds) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest&) {
    if (++calls <= 2) return Answer(429, R"({"__type":"Throttling"})");
    return Answer(200, "done");
  });
  auto client = MakeCurlHttpClient(FastOptions(4));
  auto r = client->Send(Request("POST", server.Url("/"), "x"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(server.request_count(), 3u);
  // Every attempt carries the same request.
  for (const auto& req : server.requests()) EXPECT_EQ(req.body, "x");
}

TEST(HttpClientTest, ServerErrorForeverReturnsTheLastResponseAfterMaxAttempts) {
  TestHttpServer server(
      [](const TestRequest&) { return Answer(500, R"({"__type":"KMSInternalException"})"); });
  auto client = MakeCurlHttpClient(FastOptions(3));
  auto r = client->Send(Request("POST", server.Url("/"), "{}"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 500);
  EXPECT_THAT(r->body, HasSubstr("KMSInternalException"));
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(HttpClientTest, ForbiddenIsNotRetried) {
  TestHttpServer server([](const TestRequest&) { return Answer(403, "no"); });
  auto client = MakeCurlHttpClient(FastOptions(4));
  auto r = client->Send(Request("POST", server.Url("/"), "{}"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpClientTest, OtherClientErrorsAreNotRetried) {
  for (int status : {400, 401, 404}) {
    TestHttpServer server([&](const TestRequest&) { return Answer(status); });
    auto client = MakeCurlHttpClient(FastOptions(4));
    auto r = client->Send(Get(server.Url("/")));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(server.request_count(), 1u) << status;
  }
}

TEST(HttpClientTest, TimeoutIsUnavailableAfterRetries) {
  TestHttpServer server([](const TestRequest&) { return Hang(); });
  HttpOptions o = FastOptions(2);
  o.total_timeout = std::chrono::milliseconds(300);
  auto client = MakeCurlHttpClient(o);
  auto start = Clock::now();
  auto r = client->Send(Request("POST", server.Url("/sign"), "{}"));
  long long elapsed = MillisSince(start);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message, HasSubstr("Timeout"));
  EXPECT_THAT(r.error().message, HasSubstr("after 2 attempts"));
  EXPECT_GE(elapsed, 550);
  EXPECT_LT(elapsed, 5000);
}

TEST(HttpClientTest, DroppedConnectionIsRetried) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest&) {
    if (++calls == 1) return Drop();
    return Answer(200, "ok");
  });
  auto client = MakeCurlHttpClient(FastOptions(3));
  auto r = client->Send(Get(server.Url("/")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  int port = 0;
  {
    TestHttpServer server([](const TestRequest&) { return Answer(200); });
    port = server.port();
  }  // closed: nothing listens on the port now
  auto client = MakeCurlHttpClient(FastOptions(2));
  auto r = client->Send(Get("http://127.0.0.1:" + std::to_string(port) + "/x?secret=1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message, HasSubstr("127.0.0.1"));
  // The query string (which may carry tokens) is not repeated in errors.
  EXPECT_THAT(r.error().message, ::testing::Not(HasSubstr("secret")));
}

TEST(HttpClientTest, PlainHttpOnlyToLoopback) {
  auto client = MakeCurlHttpClient(FastOptions(1));
  for (const char* url : {"http://example.com/", "http://10.0.0.1:8080/", "http://169.254.169.254/",
                          "http://[2001:db8::1]/", "http://128.0.0.1/"}) {
    auto r = client->Send(Get(url));
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << url;
    EXPECT_THAT(r.error().message, HasSubstr("loopback")) << url;
  }
}

TEST(HttpClientTest, PlainHttpHostsAllowsNamedMetadataEndpoints) {
  HttpOptions o = FastOptions(1);
  o.connect_timeout = std::chrono::milliseconds(50);
  o.total_timeout = std::chrono::milliseconds(100);
  auto refused = MakeCurlHttpClient(o)->Send(Get("http://169.254.169.254/latest/api/token"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  o.plain_http_hosts = {"169.254.169.254"};
  // Allowed now: whatever happens next is a transport matter (no such host
  // here: a connect timeout or an unreachable network), not a refusal.
  auto tried = MakeCurlHttpClient(o)->Send(Get("http://169.254.169.254/latest/api/token"));
  if (!tried) {
    EXPECT_EQ(tried.error().code, ErrorCode::kUnavailable) << tried.error().message;
  }
  // Only the named hosts.
  auto other = MakeCurlHttpClient(o)->Send(Get("http://169.254.169.253/"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
}

TEST(HttpClientTest, RetryAlsoRetriesWhatTheServiceCallsThrottling) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest&) {
    if (++calls == 1) return Answer(400, R"({"__type":"ThrottlingException"})");
    if (calls == 2) return Answer(400, R"({"__type":"ValidationException"})");
    return Answer(200);
  });
  HttpOptions o = FastOptions(4);
  o.retry.retry_also = [](const HttpResponse& r) {
    return r.body.find("ThrottlingException") != std::string::npos;
  };
  auto r = MakeCurlHttpClient(o)->Send(Get(server.Url("/")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 400);  // the ValidationException is final
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(HttpClientTest, LoopbackNamesAreAcceptedOverHttp) {
  TestHttpServer server([](const TestRequest&) { return Answer(200, "ok"); });
  auto client = MakeCurlHttpClient(FastOptions(1));
  for (std::string host : {"127.0.0.1", "localhost"}) {
    auto r = client->Send(Get("http://" + host + ":" + std::to_string(server.port()) + "/"));
    ASSERT_TRUE(r) << host << ": " << r.error().message;
    EXPECT_EQ(r->body, "ok");
  }
}

TEST(HttpClientTest, OtherSchemesAndMalformedUrlsAreInvalid) {
  auto client = MakeCurlHttpClient(FastOptions(1));
  for (const char* url : {"ftp://127.0.0.1/x", "file:///etc/passwd", "not a url", ""}) {
    auto r = client->Send(Get(url));
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << url;
  }
}

TEST(HttpClientTest, ResponseSizeCapAbortsTheTransfer) {
  TestHttpServer server([](const TestRequest&) { return Answer(200, std::string(100000, 'a')); });
  HttpOptions o = FastOptions(3);
  o.max_response_size = 1000;
  auto client = MakeCurlHttpClient(o);
  auto r = client->Send(Get(server.Url("/")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message, HasSubstr("larger than 1000 bytes"));
  EXPECT_EQ(server.request_count(), 1u);  // not retried
}

TEST(HttpClientTest, ResponseSizeCapWithoutContentLength) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse r = Answer(200, std::string(100000, 'b'));
    r.close_delimited = true;
    return r;
  });
  HttpOptions o = FastOptions(3);
  o.max_response_size = 1000;
  auto r = MakeCurlHttpClient(o)->Send(Get(server.Url("/")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message, HasSubstr("larger than 1000 bytes"));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpClientTest, ResponseAtTheCapIsAccepted) {
  TestHttpServer server([](const TestRequest&) { return Answer(200, std::string(1000, 'a')); });
  HttpOptions o = FastOptions(1);
  o.max_response_size = 1000;
  auto r = MakeCurlHttpClient(o)->Send(Get(server.Url("/")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body.size(), 1000u);
}

TEST(HttpClientTest, RetryAfterIsHonoured) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest&) {
    if (++calls == 1) return Answer(503, "", {{"Retry-After", "1"}});
    return Answer(200);
  });
  auto client = MakeCurlHttpClient(FastOptions(3));
  auto start = Clock::now();
  auto r = client->Send(Get(server.Url("/")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_GE(MillisSince(start), 950);
}

TEST(HttpClientTest, RetryAfterLongerThanTheCapEndsTheRetries) {
  TestHttpServer server([](const TestRequest&) {
    return Answer(429, "", {{"Retry-After", "3600"}});
  });
  auto client = MakeCurlHttpClient(FastOptions(4));
  auto start = Clock::now();
  auto r = client->Send(Get(server.Url("/")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_LT(MillisSince(start), 2000);
}

TEST(HttpClientTest, BackoffGrowsButStaysUnderTheCap) {
  TestHttpServer server([](const TestRequest&) { return Answer(502); });
  HttpOptions o = FastOptions(4);
  o.retry.initial_backoff = std::chrono::milliseconds(100);
  o.retry.max_backoff = std::chrono::milliseconds(150);
  auto client = MakeCurlHttpClient(o);
  auto start = Clock::now();
  auto r = client->Send(Get(server.Url("/")));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(server.request_count(), 4u);
  // Three waits, each at most 150 ms (full jitter: possibly much less).
  EXPECT_LT(MillisSince(start), 450 + 1000);
}

TEST(HttpClientTest, StatusErrorMapsCodesAndKeepsTheServiceWords) {
  Error e =
      HttpStatusError("AWS KMS Sign", 403, "AccessDeniedException", "User: x is not\nallowed");
  EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(e.message, "AWS KMS Sign: AccessDeniedException: User: x is not allowed (HTTP 403)");
  EXPECT_EQ(HttpStatusError("s", 401, "", "").code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(HttpStatusError("s", 429, "ThrottlingException", "").code, ErrorCode::kUnavailable);
  EXPECT_EQ(HttpStatusError("s", 503, "", "").code, ErrorCode::kUnavailable);
  EXPECT_EQ(HttpStatusError("s", 404, "NotFoundException", "").code, ErrorCode::kNotFound);
  EXPECT_EQ(HttpStatusError("s", 400, "ValidationException", "").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(HttpStatusError("s", 500, "", "").message, "s: request failed (HTTP 500)");
  EXPECT_LT(HttpStatusError("s", 400, "", std::string(5000, 'x')).message.size(), 600u);
}

TEST(HttpClientTest, UrlEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(UrlEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(UrlEncode("a b/c+d=é"), "a%20b%2Fc%2Bd%3D%C3%A9");
  EXPECT_EQ(UrlEncode("alias/my key", true), "alias/my%20key");
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(HttpClientTest, OptionsFromEnv) {
  HttpOptions defaults;
  {
    ScopedEnv a("SIGNET_HTTP_TIMEOUT_MS", "1500");
    ScopedEnv b("SIGNET_HTTP_MAX_ATTEMPTS", "2");
    ScopedEnv c("SIGNET_HTTP_BACKOFF_MS", "0");
    ScopedEnv d("SIGNET_CA_BUNDLE", "/tmp/ca.pem");
    HttpOptions o = HttpOptionsFromEnv(defaults);
    EXPECT_EQ(o.total_timeout.count(), 1500);
    EXPECT_EQ(o.connect_timeout.count(), 1500);
    EXPECT_EQ(o.retry.max_attempts, 2);
    EXPECT_EQ(o.retry.initial_backoff.count(), 0);
    EXPECT_EQ(o.ca_bundle, "/tmp/ca.pem");
  }
  {
    ScopedEnv a("SIGNET_HTTP_TIMEOUT_MS", "12abc");
    ScopedEnv b("SIGNET_HTTP_MAX_ATTEMPTS", "0");
    HttpOptions o = HttpOptionsFromEnv(defaults);
    EXPECT_EQ(o.total_timeout, defaults.total_timeout);
    EXPECT_EQ(o.retry.max_attempts, defaults.retry.max_attempts);
  }
}

TEST(HttpClientTest, OneClientServesManyRequests) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const TestRequest&) { return Answer(200, std::to_string(++calls)); });
  auto client = MakeCurlHttpClient(FastOptions(1));
  for (int i = 1; i <= 5; ++i) {
    auto r = client->Send(Get(server.Url("/")));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, std::to_string(i));
  }
}

}  // namespace
}  // namespace signet::net
