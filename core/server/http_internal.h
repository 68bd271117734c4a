// Internal to the HTTP server (http_server.cpp, http_session_*.cpp): the
// state shared by the acceptor and every session, and the entry points of
// the plain and TLS sessions (kept in separate translation units so each
// compiles in reasonable time). Beast is not included here.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "server/http_server.h"
#include "server/log.h"
#include "server/metrics.h"

namespace boost::asio::ssl {
class context;
}

namespace signet::server::internal {

// What a session does for Stop(): both post to the session's strand.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection if it waits for a request (idle keep-alive, TLS
  // handshake); otherwise closes it after the response in progress.
  virtual void RequestShutdown() = 0;
  // Closes the connection now (a handler still running is not interrupted;
  // its response is dropped).
  virtual void ForceClose() = 0;
};

// Why a request ended before reaching the handler (metrics label).
enum class RequestError {
  kBadRequest,
  kBodyTooLarge,
  kHeaderTooLarge,
  kTimeout,
  kTlsHandshake,
  kHandlerException,
};

struct ServerState {
  ServerState(const HttpServerOptions& opts, Handler h, int handler_threads);

  HttpServerOptions options;
  Handler handler;
  Logger* logger;
  boost::asio::thread_pool handler_pool;
  std::atomic<bool> stopping{false};

  // Metrics (null without options.metrics).
  Gauge* open_connections = nullptr;
  Counter* connections_total = nullptr;
  Counter* rejected_connections = nullptr;
  Counter* request_errors[6] = {};
  void CountError(RequestError e) {
    if (Counter* c = request_errors[static_cast<int>(e)]) c->Increment();
  }

  // Session registry: every live session, for Stop().
  std::uint64_t Register(const std::shared_ptr<SessionBase>& session, bool rejecting);
  void Unregister(std::uint64_t id, bool rejecting);
  std::vector<std::shared_ptr<SessionBase>> Snapshot();
  std::size_t open_sessions();  // serving (not rejecting)
  std::size_t rejecting_sessions();
  // Waits until no session is left or `deadline` passes; true when none is left.
  bool WaitNoSessions(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t next_id_ = 1;
  std::size_t open_ = 0;
  std::size_t rejecting_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions_;
};

// Start serving `socket` (already accepted, on its own strand). `reject`:
// answer 503 and close (too many connections).
void StartPlainSession(ServerState& state, boost::asio::ip::tcp::socket socket, bool reject);
void StartTlsSession(ServerState& state, boost::asio::ip::tcp::socket socket,
                     boost::asio::ssl::context& tls, bool reject);

// A TLS 1.2+ server context with the certificate chain and key of
// `options`; kInvalidArgument naming the file that does not load or match.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const HttpServerOptions& options);

// "1.2.3.4:5678", "[::1]:5678" (IPv4-mapped addresses shown as IPv4).
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace signet::server::internal
