// A small HTTP/1.1 server on Boost.Beast/Asio: HTTPS (TLS key and
// certificate from files) or, only when asked explicitly, plain HTTP (for
// loopback tests). It knows nothing about signing: every request goes to one
// Handler, called on a pool of worker threads (the handler may block, e.g.
// on an HSM or the audit store).
//
// Limits: request body size (413), header size, read timeout (408 / close),
// idle keep-alive timeout, maximum concurrent connections. Graceful
// shutdown: Stop() stops accepting, lets requests in flight finish (up to a
// deadline), then closes.
//
// Threads: `io_threads` run the io_context (accept, TLS, parsing, writing);
// the handler runs on a separate pool of `threads` threads. A handler that
// blocks (HSM, database fsync) then never delays accepts, timeouts or other
// connections' I/O, and the handler pool can be sized for how many
// requests may block at once (the default allows 4 per core, at least 32,
// so 64 concurrent clients keep a group-committing audit store busy).
// Beyond the pool size, requests queue (FIFO) until a handler thread frees.
//
// Thread-safety: Start/Stop from one controlling thread; the handler is
// called concurrently. Stop() may be called from any thread, including a
// handler (it then completes asynchronously; Wait() still blocks).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace signet::server {

class Logger;
class MetricsRegistry;

struct HttpServerOptions {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8443;         // 0: any free port (see HttpServer::port())
  bool plain_http = false;           // must be set explicitly to serve without TLS
  std::string tls_certificate_path;  // PEM chain, leaf first
  std::string tls_key_path;          // PEM private key
  // Handler threads; 0: 4 x hardware concurrency, at least 32.
  int threads = 0;
  // I/O threads; 0: hardware concurrency, between 1 and 4.
  int io_threads = 0;
  std::size_t max_body_bytes = 4 << 20;     // larger: 413
  std::size_t max_header_bytes = 16 << 10;  // request line + headers; larger: 431
  // Time to receive one whole request (from its first byte) and to write
  // one response; exceeded: the connection is closed.
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds shutdown_grace{10000};
  // Beyond this many open connections, new ones get a 503 and are closed.
  std::size_t max_connections = 1024;
  // Server events (listening, stopped, handler exceptions, refused
  // connections); null: DefaultLogger(). Not owned; must outlive the server.
  Logger* logger = nullptr;
  // Optional: signet_http_open_connections, signet_http_connections_total,
  // signet_http_rejected_connections_total,
  // signet_http_request_errors_total{reason=...} (errors answered or closed
  // before the handler saw a request). Not owned; must outlive the server.
  MetricsRegistry* metrics = nullptr;
};

struct ServerRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as received: "/v1/sign?x=1"
  std::string path;    // target without the query
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string client_address;  // "127.0.0.1:53412"

  // The first header named `name` (lower case), or "".
  [[nodiscard]] std::string Header(std::string_view name) const;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using Handler = std::function<ServerResponse(const ServerRequest&)>;

class HttpServer {
 public:
  // Binds and listens (errors: kInvalidArgument for bad TLS files or
  // address, kUnavailable when the port is taken); serving starts on the
  // worker threads at once.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   Handler handler);
  virtual ~HttpServer() = default;
  // The bound port (useful with port 0).
  [[nodiscard]] virtual std::uint16_t port() const = 0;
  // Graceful shutdown (idempotent): stops accepting, closes idle keep-alive
  // connections, lets requests in flight finish (answered with
  // "Connection: close"); after shutdown_grace closes the remaining
  // connections (a handler still running cannot be interrupted: Stop waits
  // for it and drops its response). Returns when every thread has stopped.
  // Called from a handler or I/O thread, it returns at once and the
  // shutdown completes in the background (Wait() blocks until it is done).
  virtual void Stop() = 0;
  // Blocks until Stop() has finished (from another thread or a signal).
  virtual void Wait() = 0;
};

// Blocks SIGINT/SIGTERM in the calling thread (call before Start, so the
// workers inherit the mask) and returns a function that waits for one of
// them and returns its number.
std::function<int()> BlockTerminationSignals();

}  // namespace signet::server
