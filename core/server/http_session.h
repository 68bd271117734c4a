// Internal to the HTTP server: one connection, plain (beast::tcp_stream) or
// TLS (beast::ssl_stream<beast::tcp_stream>). Instantiated once each, in
// http_session_plain.cpp and http_session_tls.cpp.
//
// A connection cycles through
//   [handshake] -> idle (waiting for a request's first byte, idle_timeout)
//   -> reading (header, optional "100 Continue", body: read_timeout for the
//      whole request) -> handling (handler on the handler pool, no timer)
//   -> writing (read_timeout) -> idle ...
// Every step runs on the connection's strand except the handler, which runs
// on the pool while no I/O is pending on the connection; posting to the
// pool and back orders the accesses to the parser and the response.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "server/http_message.h"

namespace signet::server::internal {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... TlsContext>
  Session(ServerState& state, net::ip::tcp::socket&& socket, bool reject, TlsContext&... tls)
      : state_(state),
        stream_(std::move(socket), tls...),
        executor_(beast::get_lowest_layer(stream_).get_executor()),
        reject_(reject) {}

  ~Session() override {
    if (id_ != 0) state_.Unregister(id_, reject_);
  }

  void Start() {
    id_ = state_.Register(this->shared_from_this(), reject_);
    boost::system::error_code ec;
    const auto remote = Lowest().socket().remote_endpoint(ec);
    client_ = ec ? std::string("unknown") : FormatEndpoint(remote);
    net::dispatch(executor_, [self = this->shared_from_this()] { self->Begin(); });
  }

  void RequestShutdown() override {
    net::post(executor_, [self = this->shared_from_this()] {
      self->close_after_ = true;
      if (self->phase_ == Phase::kHandshake || self->phase_ == Phase::kIdle) self->Close();
    });
  }

  void ForceClose() override {
    net::post(executor_, [self = this->shared_from_this()] { self->Close(); });
  }

 private:
  enum class Phase { kStart, kHandshake, kIdle, kReading, kHandling, kWriting, kClosing, kClosed };
  static constexpr std::size_t kReadChunk = 16 << 10;

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  const HttpServerOptions& options() const { return state_.options; }

  void Begin() {
    if (state_.stopping.load()) return Close();
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      Lowest().expires_after(options().read_timeout);
      stream_.async_handshake(
          net::ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
    } else {
      AfterHandshake();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      state_.CountError(RequestError::kTlsHandshake);
      state_.logger->Debug("TLS handshake failed", {{"client", client_}, {"error", ec.message()}});
      return Close();
    }
    AfterHandshake();
  }

  void AfterHandshake() {
    if (reject_) {
      return WriteErrorAndClose(503, "unavailable", "too many connections; retry later");
    }
    ReadIdle();
  }

  void ReadIdle() {
    if (closed_) return;
    if (close_after_ || state_.stopping.load()) return Close();
    if (buffer_.size() > 0) return ReadHeader();  // pipelined request already here
    phase_ = Phase::kIdle;
    Lowest().expires_after(options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->OnIdleRead(ec, n);
                            });
  }

  void OnIdleRead(beast::error_code ec, std::size_t n) {
    if (closed_) return;
    if (ec) return Close();  // peer closed, idle timeout, shutdown
    buffer_.commit(n);
    ReadHeader();
  }

  void ReadHeader() {
    phase_ = Phase::kReading;
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(options().max_header_bytes, UINT32_MAX)));
    parser_->body_limit(static_cast<std::uint64_t>(options().max_body_bytes));
    deadline_ = std::chrono::steady_clock::now() + options().read_timeout;
    Lowest().expires_at(deadline_);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (closed_) return;
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return Dispatch();
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      Lowest().expires_at(deadline_);
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this()](beast::error_code wec, std::size_t) {
                         if (self->closed_) return;
                         if (wec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    Lowest().expires_at(deadline_);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (self->closed_) return;
                       if (ec) return self->OnReadError(ec);
                       self->Dispatch();
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      state_.CountError(RequestError::kBodyTooLarge);
      return WriteErrorAndClose(
          413, "payload_too_large",
          "request body larger than " + std::to_string(options().max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit) {
      state_.CountError(RequestError::kHeaderTooLarge);
      return WriteErrorAndClose(431, "header_too_large", "request header too large");
    }
    if (ec == beast::error::timeout) {
      state_.CountError(RequestError::kTimeout);
      return Close();
    }
    const bool parse_error =
        ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (parse_error) {
      state_.CountError(RequestError::kBadRequest);
      return WriteErrorAndClose(400, "bad_request", "malformed HTTP request");
    }
    Close();  // peer gone, reset, TLS error
  }

  void Dispatch() {
    phase_ = Phase::kHandling;
    Lowest().expires_never();
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    net::post(state_.handler_pool, [self = this->shared_from_this()] { self->RunHandler(); });
  }

  // On a handler-pool thread.
  void RunHandler() {
    try {
      ServerRequest request = ToServerRequest(parser_->release(), client_);
      parser_.reset();
      FillResponse(CallHandler(state_, request), response_, version_, head_);
    } catch (...) {  // allocation failure building the request or response
      net::post(executor_, [self = this->shared_from_this()] { self->Close(); });
      return;
    }
    net::post(executor_, [self = this->shared_from_this()] { self->Write(); });
  }

  void Write() {
    if (closed_) return;
    const bool keep_alive = keep_alive_ && !close_after_ && !state_.stopping.load();
    response_.keep_alive(keep_alive);
    phase_ = Phase::kWriting;
    Lowest().expires_after(options().read_timeout);
    http::async_write(
        stream_, response_,
        [self = this->shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
          if (self->closed_) return;
          if (ec) return self->Close();
          self->response_ = BeastResponse{};
          if (!keep_alive) {
            // The whole request was read: nothing to drain unless the
            // client pipelined more.
            if (self->buffer_.size() > 0) return self->LingerClose();
            beast::error_code ignored;
            self->Lowest().socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
            return self->Close();
          }
          self->ReadIdle();
        });
  }

  void WriteErrorAndClose(unsigned status, std::string_view code, const std::string& message) {
    FillErrorResponse(response_, status, code, message);
    response_.keep_alive(false);
    phase_ = Phase::kWriting;
    Lowest().expires_after(
        std::min<std::chrono::milliseconds>(options().read_timeout, std::chrono::seconds(5)));
    http::async_write(stream_, response_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (self->closed_) return;
                        if (ec) return self->Close();
                        self->LingerClose();
                      });
  }

  // Half-closes and reads what the client still sends (for up to a second)
  // before closing, so a client that is still sending (e.g. an oversized
  // body) reads the response instead of a connection reset. Under TLS this
  // reads the raw TCP bytes: the TLS session is over.
  void LingerClose() {
    phase_ = Phase::kClosing;
    beast::error_code ignored;
    Lowest().socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    Lowest().expires_after(std::chrono::seconds(1));
    Drain();
  }

  void Drain() {
    if (!drain_) drain_ = std::make_unique<std::array<char, 4096>>();
    Lowest().async_read_some(net::buffer(*drain_),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               if (self->closed_) return;
                               if (ec) return self->Close();
                               self->Drain();
                             });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    phase_ = Phase::kClosed;
    Lowest().close();
  }

  ServerState& state_;
  Stream stream_;
  typename beast::tcp_stream::executor_type executor_;  // the connection's strand
  const bool reject_;
  std::uint64_t id_ = 0;
  std::string client_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  BeastResponse response_;
  std::unique_ptr<std::array<char, 4096>> drain_;
  std::chrono::steady_clock::time_point deadline_;
  Phase phase_ = Phase::kStart;
  bool closed_ = false;
  bool close_after_ = false;  // Stop(): close after the response in progress
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
};

}  // namespace signet::server::internal
