// HttpServer: the acceptor, the I/O threads, the handler pool and graceful
// shutdown. Sessions live in http_session_*.cpp, the TLS context in
// http_tls.cpp.
#include "server/http_server.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "server/http_internal.h"
#include "server/log.h"
#include "server/metrics.h"

namespace signet::server {
namespace internal {

namespace net = boost::asio;
using net::ip::tcp;

ServerState::ServerState(const HttpServerOptions& opts, Handler h, int handler_threads)
    : options(opts),
      handler(std::move(h)),
      logger(opts.logger != nullptr ? opts.logger : &DefaultLogger()),
      handler_pool(static_cast<std::size_t>(handler_threads)) {
  if (MetricsRegistry* m = opts.metrics) {
    open_connections = &m->GetGauge("signet_http_open_connections", "Open HTTP connections.");
    connections_total =
        &m->GetCounter("signet_http_connections_total", "HTTP connections accepted.");
    rejected_connections = &m->GetCounter("signet_http_rejected_connections_total",
                                          "Connections refused with 503: too many open.");
    static constexpr const char* kReasons[] = {"bad_request",      "body_too_large",
                                               "header_too_large", "timeout",
                                               "tls_handshake",    "handler_exception"};
    for (int i = 0; i < 6; ++i) {
      request_errors[i] = &m->GetCounter(
          "signet_http_request_errors_total",
          "Requests that failed in the HTTP layer (malformed, too large, timed out, TLS, "
          "handler exception).",
          {{"reason", kReasons[i]}});
    }
  }
}

std::uint64_t ServerState::Register(const std::shared_ptr<SessionBase>& session, bool rejecting) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_id_++;
  sessions_.emplace(id, session);
  ++(rejecting ? rejecting_ : open_);
  if (open_connections != nullptr && !rejecting) open_connections->Increment();
  return id;
}

void ServerState::Unregister(std::uint64_t id, bool rejecting) {
  {
    std::lock_guard lock(mu_);
    sessions_.erase(id);
    --(rejecting ? rejecting_ : open_);
    if (open_connections != nullptr && !rejecting) open_connections->Decrement();
  }
  cv_.notify_all();
}

std::vector<std::shared_ptr<SessionBase>> ServerState::Snapshot() {
  std::vector<std::shared_ptr<SessionBase>> out;
  std::lock_guard lock(mu_);
  out.reserve(sessions_.size());
  for (const auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}

std::size_t ServerState::open_sessions() {
  std::lock_guard lock(mu_);
  return open_;
}

std::size_t ServerState::rejecting_sessions() {
  std::lock_guard lock(mu_);
  return rejecting_;
}

bool ServerState::WaitNoSessions(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  net::ip::address a = endpoint.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
  }
  std::string out = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return out + ":" + std::to_string(endpoint.port());
}

namespace {

// Connections answered 503 at the same time, beyond max_connections; more
// are closed at once.
constexpr std::size_t kMaxRejecting = 64;

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const HttpServerOptions& options, Handler handler, int handler_threads,
                 int io_threads, std::unique_ptr<net::ssl::context> tls)
      : tls_(std::move(tls)),
        state_(options, std::move(handler), handler_threads),
        work_(net::make_work_guard(ioc_)),
        acceptor_(net::make_strand(ioc_)),
        accept_retry_(acceptor_.get_executor()),
        io_thread_count_(io_threads) {}

  ~HttpServerImpl() override {
    Stop();
    if (async_stop_.joinable()) async_stop_.join();
  }

  Status Listen() {
    const HttpServerOptions& o = state_.options;
    const std::string where = o.listen_address + ":" + std::to_string(o.port);
    boost::system::error_code ec;
    net::ip::address address = net::ip::make_address(o.listen_address, ec);
    if (ec) {
      tcp::resolver resolver(ioc_);
      auto results =
          resolver.resolve(o.listen_address, std::to_string(o.port), tcp::resolver::passive, ec);
      if (ec || results.empty()) {
        return InvalidArgument("invalid listen address " + o.listen_address + ": " +
                               (ec ? ec.message() : "no address"));
      }
      address = results.begin()->endpoint().address();
    }
    const tcp::endpoint endpoint(address, o.port);
    if (acceptor_.open(endpoint.protocol(), ec); ec) {
      return Unavailable("cannot open a socket to listen on " + where + ": " + ec.message());
    }
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (acceptor_.bind(endpoint, ec); ec) {
      if (ec == net::error::address_in_use) {
        return Unavailable("cannot listen on " + where +
                           ": address already in use; stop the other process or choose "
                           "another port");
      }
      if (ec == boost::system::errc::address_not_available || ec == net::error::access_denied) {
        return InvalidArgument("cannot listen on " + where + ": " + ec.message());
      }
      return Unavailable("cannot listen on " + where + ": " + ec.message());
    }
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) {
      return Unavailable("cannot listen on " + where + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint(ec).port();
    return {};
  }

  void Run() {
    running_ = true;
    net::post(acceptor_.get_executor(), [this] { Accept(); });
    for (int i = 0; i < io_thread_count_; ++i) {
      io_threads_.emplace_back([this] {
        for (;;) {
          try {
            ioc_.run();
            return;
          } catch (const std::exception& e) {
            state_.logger->Error("unexpected exception on an I/O thread", {{"error", e.what()}});
          }
        }
      });
    }
    state_.logger->Debug("listening", {{"address", state_.options.listen_address},
                                       {"port", port_},
                                       {"tls", tls_ != nullptr},
                                       {"io_threads", io_thread_count_}});
  }

  std::uint16_t port() const override { return port_; }

  void Stop() override {
    {
      std::unique_lock lock(stop_mu_);
      if (stop_started_) {
        if (InWorkerThread()) return;
        stop_cv_.wait(lock, [this] { return stopped_; });
        return;
      }
      stop_started_ = true;
    }
    if (InWorkerThread()) {
      // Joining the pools from one of their threads would deadlock.
      async_stop_ = std::thread([this] { StopNow(); });
      return;
    }
    StopNow();
  }

  void Wait() override {
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait(lock, [this] { return stopped_; });
  }

 private:
  bool InWorkerThread() {
    return ioc_.get_executor().running_in_this_thread() ||
           state_.handler_pool.get_executor().running_in_this_thread();
  }

  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           [this](boost::system::error_code ec, tcp::socket socket) {
                             OnAccept(ec, std::move(socket));
                           });
  }

  void OnAccept(boost::system::error_code ec, tcp::socket socket) {
    if (state_.stopping.load() || ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors or memory: wait before trying again rather
      // than spinning.
      state_.logger->Warn("accept failed", {{"error", ec.message()}});
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](boost::system::error_code wec) {
        if (!wec && !state_.stopping.load()) Accept();
      });
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const bool reject = state_.open_sessions() >= state_.options.max_connections;
    if (reject) {
      if (state_.rejected_connections != nullptr) state_.rejected_connections->Increment();
      LogRejection();
      if (state_.rejecting_sessions() >= kMaxRejecting) {
        socket.close(ignored);
        return Accept();
      }
    } else if (state_.connections_total != nullptr) {
      state_.connections_total->Increment();
    }
    if (tls_ != nullptr) {
      StartTlsSession(state_, std::move(socket), *tls_, reject);
    } else {
      StartPlainSession(state_, std::move(socket), reject);
    }
    Accept();
  }

  // At most one warning per second (on the acceptor's strand).
  void LogRejection() {
    ++rejected_since_log_;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_reject_log_ < std::chrono::seconds(1)) return;
    state_.logger->Warn(
        "too many connections: answering 503",
        {{"max_connections", state_.options.max_connections}, {"refused", rejected_since_log_}});
    last_reject_log_ = now;
    rejected_since_log_ = 0;
  }

  void StopNow() {
    const auto start = std::chrono::steady_clock::now();
    state_.stopping.store(true);
    if (running_) {
      std::promise<void> closed;
      net::post(acceptor_.get_executor(), [this, &closed] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        accept_retry_.cancel();
        closed.set_value();
      });
      closed.get_future().wait();

      for (const auto& session : state_.Snapshot()) session->RequestShutdown();
      if (!state_.WaitNoSessions(start + state_.options.shutdown_grace)) {
        auto remaining = state_.Snapshot();
        state_.logger->Warn("shutdown grace period over: closing connections",
                            {{"connections", remaining.size()}});
        for (const auto& session : remaining) session->ForceClose();
        remaining.clear();
        // A handler cannot be interrupted: its connection ends when it returns.
        while (!state_.WaitNoSessions(std::chrono::steady_clock::now() + std::chrono::seconds(1))) {
        }
      }
    }
    state_.handler_pool.join();
    work_.reset();
    ioc_.stop();
    for (auto& t : io_threads_) t.join();
    if (running_) state_.logger->Debug("stopped", {{"port", port_}});
    {
      std::lock_guard lock(stop_mu_);
      stopped_ = true;
    }
    stop_cv_.notify_all();
  }

  // Destroyed last: sessions (destroyed with ioc_) use the TLS context and
  // the state.
  std::unique_ptr<net::ssl::context> tls_;
  ServerState state_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  const int io_thread_count_;
  std::vector<std::thread> io_threads_;
  std::uint16_t port_ = 0;
  bool running_ = false;
  std::chrono::steady_clock::time_point last_reject_log_{};
  std::uint64_t rejected_since_log_ = 0;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_started_ = false;
  bool stopped_ = false;
  std::thread async_stop_;
};

}  // namespace
}  // namespace internal

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Handler handler) {
  if (!handler) return InvalidArgument("HTTP server: no request handler");
  if (options.max_connections == 0 || options.max_body_bytes == 0 ||
      options.max_header_bytes == 0) {
    return InvalidArgument(
        "HTTP server: max_connections, max_body_bytes and max_header_bytes must be positive");
  }
  if (options.read_timeout.count() <= 0 || options.idle_timeout.count() <= 0 ||
      options.shutdown_grace.count() < 0) {
    return InvalidArgument("HTTP server: timeouts must be positive");
  }
  Logger& logger = options.logger != nullptr ? *options.logger : DefaultLogger();
  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int handler_threads = options.threads > 0 ? options.threads : std::max(32, 4 * hw);
  const int io_threads = options.io_threads > 0 ? options.io_threads : std::clamp(hw, 1, 4);

  std::unique_ptr<boost::asio::ssl::context> tls;
  if (options.plain_http) {
    if (!options.tls_certificate_path.empty() || !options.tls_key_path.empty()) {
      logger.Warn("plain HTTP requested: the TLS certificate and key are ignored");
    }
  } else {
    SIGNET_ASSIGN_OR_RETURN(tls, internal::MakeServerTlsContext(options));
  }
  auto server = std::make_unique<internal::HttpServerImpl>(
      options, std::move(handler), handler_threads, io_threads, std::move(tls));
  SIGNET_RETURN_IF_ERROR(server->Listen());
  server->Run();
  return std::unique_ptr<HttpServer>(std::move(server));
}

std::function<int()> BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return [set] {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    return sig;
  };
}

}  // namespace signet::server
