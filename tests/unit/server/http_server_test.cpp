// HttpServer over real loopback sockets: plain HTTP and HTTPS (a throwaway
// CA and server certificate), clients are libcurl (net::HttpClient) or raw
// sockets where curl would hide the behaviour under test.
#include "server/http_server.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "http_test_util.h"
#include "net/http_client.h"
#include "server/log.h"
#include "server/metrics.h"

namespace signet::server {
namespace {

using namespace std::chrono_literals;
using signet::testing::RawClient;

// Echoes the request as JSON and sets X-Request-Id.
ServerResponse Echo(const ServerRequest& r) {
  nlohmann::json j = {{"method", r.method},
                      {"path", r.path},
                      {"target", r.target},
                      {"x_test", r.Header("x-test")},
                      {"body", r.body},
                      {"client", r.client_address},
                      {"header_count", r.headers.size()}};
  ServerResponse resp;
  resp.status = r.path == "/created" ? 201 : 200;
  resp.body = j.dump();
  resp.headers.emplace_back("X-Request-Id", "req-" + std::to_string(r.body.size()));
  return resp;
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerOptions PlainOptions() {
    HttpServerOptions o;
    o.port = 0;
    o.plain_http = true;
    o.threads = 4;
    o.io_threads = 2;
    o.logger = &logger_;
    return o;
  }
  HttpServerOptions TlsOptions() {
    HttpServerOptions o = PlainOptions();
    o.plain_http = false;
    o.tls_certificate_path = tls_.chain_path;
    o.tls_key_path = tls_.key_path;
    return o;
  }
  std::unique_ptr<HttpServer> StartOrDie(const HttpServerOptions& o, Handler h = Echo) {
    auto server = HttpServer::Start(o, std::move(h));
    if (!server) {
      ADD_FAILURE() << server.error().message;
      return nullptr;
    }
    return std::move(*server);
  }
  std::unique_ptr<net::HttpClient> Client(bool tls) {
    net::HttpOptions o;
    o.retry.max_attempts = 1;
    o.total_timeout = 10s;
    if (tls) o.ca_bundle = tls_.ca_path;
    return net::MakeCurlHttpClient(o);
  }
  static std::string Url(bool tls, std::uint16_t port, std::string_view path) {
    return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port) +
           std::string(path);
  }

  std::ostringstream log_out_;
  Logger logger_{log_out_, LogLevel::kDebug};
  signet::testing::TempDir dir_;
  signet::testing::TlsFiles tls_ = signet::testing::MakeTlsFiles(dir_);
};

void ExpectRoundTrip(net::HttpClient& client, const std::string& base) {
  net::HttpRequest get;
  get.url = base + "/v1/things?x=1&y=2";
  get.headers = {{"X-Test", "hello"}};
  auto r = client.Send(get);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_EQ(r->Header("x-request-id"), "req-0");
  EXPECT_EQ(r->Header("content-length"), std::to_string(r->body.size()));
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/v1/things");
  EXPECT_EQ(j["target"], "/v1/things?x=1&y=2");
  EXPECT_EQ(j["x_test"], "hello");
  EXPECT_TRUE(j["client"].get<std::string>().starts_with("127.0.0.1:"));

  net::HttpRequest post;
  post.method = "POST";
  post.url = base + "/created";
  post.headers = {{"Content-Type", "application/json"}};
  post.body = std::string(3000, 'b') + "\"\n\x01";
  r = client.Send(post);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->Header("x-request-id"), "req-" + std::to_string(post.body.size()));
  j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["body"], post.body);
}

TEST_F(HttpServerTest, PlainGetAndPostRoundTrip) {
  auto server = StartOrDie(PlainOptions());
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), 0);
  auto client = Client(false);
  ExpectRoundTrip(*client, Url(false, server->port(), ""));
}

TEST_F(HttpServerTest, TlsGetAndPostRoundTrip) {
  auto server = StartOrDie(TlsOptions());
  ASSERT_NE(server, nullptr);
  auto client = Client(true);
  ExpectRoundTrip(*client, Url(true, server->port(), ""));
}

TEST_F(HttpServerTest, OversizeBodyGets413WithJsonError) {
  HttpServerOptions o = PlainOptions();
  o.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  auto server = StartOrDie(o, [&](const ServerRequest& r) {
    ++calls;
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  // Declared too large: answered before the body is sent.
  RawClient raw(server->port());
  ASSERT_TRUE(raw.Send("POST /v1/sign HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
  auto resp = raw.ReadResponse();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 413);
  EXPECT_EQ(resp->Header("connection"), "close");
  auto j = nlohmann::json::parse(resp->body);
  EXPECT_EQ(j["error"]["code"], "payload_too_large");
  // Through curl, the body actually sent; one byte under the limit passes.
  auto client = Client(false);
  net::HttpRequest post{"POST", Url(false, server->port(), "/x"), {}, std::string(5000, 'a')};
  auto r = client->Send(post);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 413);
  post.body = std::string(1024, 'a');
  r = client->Send(post);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitGets413) {
  HttpServerOptions o = PlainOptions();
  o.max_body_bytes = 100;
  auto server = StartOrDie(o);
  ASSERT_NE(server, nullptr);
  RawClient raw(server->port());
  ASSERT_TRUE(
      raw.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "c8\r\n" +
               std::string(200, 'z') + "\r\n0\r\n\r\n"));
  auto resp = raw.ReadResponse();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 413);
}

TEST_F(HttpServerTest, GarbageGets400) {
  auto server = StartOrDie(PlainOptions());
  ASSERT_NE(server, nullptr);
  RawClient raw(server->port());
  ASSERT_TRUE(raw.Send("\x16\x03\x01 this is not HTTP\r\n\r\n"));
  auto resp = raw.ReadResponse();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 400);
  EXPECT_EQ(nlohmann::json::parse(resp->body)["error"]["code"], "bad_request");
  EXPECT_TRUE(raw.WaitClosed(3s));

  RawClient bad_length(server->port());
  ASSERT_TRUE(bad_length.Send("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"));
  resp = bad_length.ReadResponse();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 400);
}

TEST_F(HttpServerTest, OversizeHeaderGets431) {
  HttpServerOptions o = PlainOptions();
  o.max_header_bytes = 2048;
  auto server = StartOrDie(o);
  ASSERT_NE(server, nullptr);
  RawClient raw(server->port());
  ASSERT_TRUE(
      raw.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'h') + "\r\n\r\n"));
  auto resp = raw.ReadResponse();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 431);
}

TEST_F(HttpServerTest, SlowLorisIsClosedAfterReadTimeout) {
  HttpServerOptions o = PlainOptions();
  o.read_timeout = 300ms;
  MetricsRegistry metrics;
  o.metrics = &metrics;
  auto server = StartOrDie(o);
  ASSERT_NE(server, nullptr);
  RawClient raw(server->port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(raw.Send("POST /v1/sign HTTP/1.1\r\nHost: x\r\n"));
  // Trickle one header byte at a time: each byte arrives well within the
  // timeout, but the request as a whole does not.
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(60ms);
    if (!raw.Send("X")) break;
  }
  EXPECT_TRUE(raw.WaitClosed(3s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 2s);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_NE(metrics.RenderText().find("signet_http_request_errors_total{reason=\"timeout\"} 1"),
            std::string::npos);
}

TEST_F(HttpServerTest, KeepAliveReusesTheConnectionAndIdleTimeoutClosesIt) {
  HttpServerOptions o = PlainOptions();
  o.idle_timeout = 400ms;
  auto server = StartOrDie(o);
  ASSERT_NE(server, nullptr);
  RawClient raw(server->port());
  std::string first_client;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(raw.Send("POST /k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
    auto resp = raw.ReadResponse();
    ASSERT_TRUE(resp.has_value()) << "request " << i;
    EXPECT_EQ(resp->status, 200);
    EXPECT_EQ(resp->Header("connection"), "");  // HTTP/1.1 default: keep-alive
    const std::string client = nlohmann::json::parse(resp->body)["client"];
    if (i == 0) first_client = client;
    EXPECT_EQ(client, first_client);  // same source port: same connection
  }
  // Two pipelined requests in one write are both answered, in order.
  ASSERT_TRUE(raw.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto a = raw.ReadResponse();
  auto b = raw.ReadResponse();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(nlohmann::json::parse(a->body)["path"], "/a");
  EXPECT_EQ(nlohmann::json::parse(b->body)["path"], "/b");
  const auto idle_start = std::chrono::steady_clock::now();
  EXPECT_TRUE(raw.WaitClosed(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - idle_start, 300ms);
}

TEST_F(HttpServerTest, Http10ClientGetsConnectionClose) {
  auto server = StartOrDie(PlainOptions());
  ASSERT_NE(server, nullptr);
  RawClient raw(server->port());
  ASSERT_TRUE(raw.Send("GET /old HTTP/1.0\r\n\r\n"));
  auto resp = raw.ReadResponse();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 200);
  EXPECT_TRUE(raw.WaitClosed(3s));
}

TEST_F(HttpServerTest, ExpectContinueIsAnswered) {
  auto server = StartOrDie(PlainOptions());
  ASSERT_NE(server, nullptr);
  RawClient raw(server->port());
  ASSERT_TRUE(
      raw.Send("POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  auto cont = raw.ReadResponse(3s);
  ASSERT_TRUE(cont.has_value());
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(raw.Send("data"));
  auto resp = raw.ReadResponse();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(nlohmann::json::parse(resp->body)["body"], "data");
}

TEST_F(HttpServerTest, HandlerExceptionsBecome500) {
  auto server = StartOrDie(PlainOptions(), [](const ServerRequest& r) -> ServerResponse {
    if (r.path == "/std") throw std::runtime_error("token=abc secret detail");
    if (r.path == "/int") throw 42;
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  auto client = Client(false);
  for (const char* path : {"/std", "/int"}) {
    auto r = client->Send({"GET", Url(false, server->port(), path), {}, ""});
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->status, 500);
    EXPECT_EQ(r->body, R"({"error":{"code":"internal","message":"internal error"}})");
  }
  // Still serving.
  auto ok = client->Send({"GET", Url(false, server->port(), "/fine"), {}, ""});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(log_out_.str().find("secret detail"), std::string::npos);
}

TEST_F(HttpServerTest, ConcurrentRequestsOverTlsAreAllAnswered) {
  HttpServerOptions o = TlsOptions();
  o.threads = 8;
  std::atomic<int> in_handler{0};
  std::atomic<int> max_in_handler{0};
  auto server = StartOrDie(o, [&](const ServerRequest& r) {
    const int now = ++in_handler;
    int seen = max_in_handler.load();
    while (now > seen && !max_in_handler.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(2ms);  // a little blocking, like an fsync
    --in_handler;
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 13;  // 208 requests
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto client = Client(true);
      for (int i = 0; i < kPerThread; ++i) {
        const std::string body = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto r = client->Send({"POST", Url(true, server->port(), "/v1/sign"), {}, body});
        if (r && r->status == 200 && nlohmann::json::parse(r->body)["body"] == body) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_GT(max_in_handler.load(), 1);  // handlers really ran concurrently
}

TEST_F(HttpServerTest, StopLetsASlowRequestFinish) {
  std::promise<void> entered;
  auto server = StartOrDie(PlainOptions(), [&](const ServerRequest& r) {
    if (r.path == "/slow") {
      entered.set_value();
      std::this_thread::sleep_for(500ms);
    }
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  const std::uint16_t port = server->port();
  RawClient idle(port);  // an idle keep-alive connection must not hold Stop up
  ASSERT_TRUE(idle.Send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.ReadResponse().has_value());

  auto slow = std::async(std::launch::async, [&] {
    RawClient raw(port);
    raw.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    return raw.ReadResponse();
  });
  entered.get_future().wait();
  std::thread waiter([&] { server->Wait(); });
  const auto start = std::chrono::steady_clock::now();
  server->Stop();
  const auto took = std::chrono::steady_clock::now() - start;
  auto resp = slow.get();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->Header("connection"), "close");
  EXPECT_LT(took, 5s);  // shutdown_grace is 10 s: nothing waited for it
  EXPECT_TRUE(idle.WaitClosed(1s));
  server->Stop();  // idempotent
  waiter.join();
  RawClient after(port);
  EXPECT_FALSE(after.connected() && after.Send("GET / HTTP/1.1\r\n\r\n") &&
               after.ReadResponse(1s).has_value());
}

TEST_F(HttpServerTest, SignalWaitingThreadStopsTheServer) {
  auto server = StartOrDie(PlainOptions());
  ASSERT_NE(server, nullptr);
  std::promise<void> ready;
  int got = 0;
  std::thread signal_thread([&] {
    auto wait_for_signal = BlockTerminationSignals();  // this thread only
    ready.set_value();
    got = wait_for_signal();
    server->Stop();
  });
  ready.get_future().wait();
  // Directed at the waiting thread, which blocks it: the process survives.
  ASSERT_EQ(pthread_kill(signal_thread.native_handle(), SIGTERM), 0);
  server->Wait();
  signal_thread.join();
  EXPECT_EQ(got, SIGTERM);
}

TEST_F(HttpServerTest, StopFromAHandlerDoesNotDeadlock) {
  HttpServer* self = nullptr;
  auto server = StartOrDie(PlainOptions(), [&](const ServerRequest& r) {
    if (r.path == "/quit") self->Stop();
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  self = server.get();
  RawClient raw(server->port());
  ASSERT_TRUE(raw.Send("GET /quit HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto resp = raw.ReadResponse();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 200);
  server->Wait();
}

TEST_F(HttpServerTest, StopAfterGraceClosesHungRequests) {
  HttpServerOptions o = PlainOptions();
  o.shutdown_grace = 200ms;
  std::promise<void> entered;
  auto server = StartOrDie(o, [&](const ServerRequest& r) {
    entered.set_value();
    std::this_thread::sleep_for(800ms);
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  RawClient raw(server->port());
  ASSERT_TRUE(raw.Send("GET /hung HTTP/1.1\r\nHost: x\r\n\r\n"));
  entered.get_future().wait();
  server->Stop();  // waits for the handler, but its response is dropped
  EXPECT_FALSE(raw.ReadResponse(1s).has_value());
}

TEST_F(HttpServerTest, MaxConnectionsAnswers503) {
  HttpServerOptions o = PlainOptions();
  o.max_connections = 2;
  auto server = StartOrDie(o);
  ASSERT_NE(server, nullptr);
  RawClient a(server->port()), b(server->port());
  for (RawClient* c : {&a, &b}) {
    ASSERT_TRUE(c->Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(c->ReadResponse().has_value());
  }
  RawClient third(server->port());
  ASSERT_TRUE(third.connected());
  third.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto resp = third.ReadResponse();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->status, 503);
}

TEST_F(HttpServerTest, PortInUseIsUnavailable) {
  auto first = StartOrDie(PlainOptions());
  ASSERT_NE(first, nullptr);
  HttpServerOptions o = PlainOptions();
  o.port = first->port();
  auto second = HttpServer::Start(o, Echo);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message.find(std::to_string(o.port)), std::string::npos);
}

TEST_F(HttpServerTest, BadListenAddressIsInvalidArgument) {
  HttpServerOptions o = PlainOptions();
  o.listen_address = "no such host.invalid";
  auto server = HttpServer::Start(o, Echo);
  ASSERT_FALSE(server.has_value());
  EXPECT_EQ(server.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(HttpServerTest, BadTlsFilesAreInvalidArgumentNamingTheFile) {
  HttpServerOptions o = TlsOptions();
  o.tls_key_path = tls_.other_key_path;  // does not match the certificate
  auto r = HttpServer::Start(o, Echo);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find(tls_.other_key_path), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("does not match"), std::string::npos) << r.error().message;

  o = TlsOptions();
  o.tls_certificate_path = dir_.File("missing.pem");
  r = HttpServer::Start(o, Echo);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("missing.pem"), std::string::npos) << r.error().message;

  o = TlsOptions();
  o.tls_key_path = tls_.ca_path;  // a certificate, not a key
  r = HttpServer::Start(o, Echo);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find(tls_.ca_path), std::string::npos) << r.error().message;

  o = TlsOptions();
  o.tls_certificate_path = tls_.key_path;  // a key, not a certificate
  r = HttpServer::Start(o, Echo);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);

  o = PlainOptions();
  o.plain_http = false;  // TLS without files
  r = HttpServer::Start(o, Echo);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(HttpServerTest, PlainClientAgainstTlsPortFails) {
  auto server = StartOrDie(TlsOptions());
  ASSERT_NE(server, nullptr);
  auto client = Client(false);
  auto r = client->Send({"GET", Url(false, server->port(), "/"), {}, ""});
  EXPECT_FALSE(r.has_value() && r->status == 200);
  RawClient raw(server->port());
  ASSERT_TRUE(raw.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string got = raw.ReadAll(3s);  // a TLS alert at most, then close
  EXPECT_FALSE(got.starts_with("HTTP/"));
  // A client that does not trust the CA (system store only) fails the handshake.
  net::HttpOptions untrusting;
  untrusting.retry.max_attempts = 1;
  auto r2 =
      net::MakeCurlHttpClient(untrusting)->Send({"GET", Url(true, server->port(), "/"), {}, ""});
  EXPECT_FALSE(r2.has_value());
}

}  // namespace
}  // namespace signet::server
