// A loopback HTTP/1.1 server for unit tests of HTTP clients: a thread that
// accepts connections on 127.0.0.1 (a free port), reads one request per
// connection, asks a handler for the answer and closes the connection.
//
//   TestHttpServer server([](const TestRequest& r) {
//     return TestResponse{.status = 200, .body = R"({"ok":true})"};
//   });
//   client->Send({.method = "POST", .url = server.Url("/x"), .body = "{}"});
//   EXPECT_EQ(server.requests().size(), 1u);
//
// A response with `hang` set is never answered (the connection stays open
// until the server stops): timeout tests. `drop` closes the connection
// without an answer (transport error tests). `close_delimited` sends the body
// without a Content-Length (the client learns its size only by reading).
//
// Thread-safety: requests()/request_count() may be called while the server
// runs; the handler runs on the server thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace signet::testing {

struct TestRequest {
  std::string method;
  std::string target;                                        // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  // The first header named `name` (lower case), or "".
  [[nodiscard]] std::string Header(std::string_view name) const;
};

struct TestResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool hang = false;
  bool drop = false;
  // No Content-Length: the body ends when the connection closes.
  bool close_delimited = false;
};

class TestHttpServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;
  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  // "http://127.0.0.1:PORT" + path.
  [[nodiscard]] std::string Url(std::string_view path = "/") const;
  [[nodiscard]] std::vector<TestRequest> requests() const;
  [[nodiscard]] std::size_t request_count() const;

 private:
  void Loop();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<TestRequest> requests_;
  std::thread thread_;
};

}  // namespace signet::testing
