// Test support for the HTTP server tests: a throwaway CA and TLS server
// certificate (written to a TempDir), and a raw loopback socket client for
// behaviour a real HTTP client would hide (partial requests, garbage,
// keep-alive on one connection, the server closing).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "test_keys.h"

namespace signet::testing {

struct TlsFiles {
  std::string ca_path;         // the CA certificate (client trust)
  std::string chain_path;      // server leaf (SAN 127.0.0.1, localhost; serverAuth) + CA
  std::string key_path;        // the leaf's key (PKCS#8 PEM)
  std::string other_key_path;  // another key, matching nothing
};
TlsFiles MakeTlsFiles(const TempDir& dir);

// A blocking TCP client to 127.0.0.1:port with a receive timeout.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }
  bool Send(std::string_view data);
  // One response: status line and headers, then Content-Length bytes of
  // body. nullopt when the connection closes or times out first.
  struct Response {
    int status = 0;
    std::string head;  // status line and headers
    std::string body;
    [[nodiscard]] std::string Header(std::string_view name) const;  // case-insensitive
  };
  std::optional<Response> ReadResponse(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True when the server closes the connection (EOF or reset) within
  // `timeout`; data received before that is discarded.
  bool WaitClosed(std::chrono::milliseconds timeout);
  // Whatever arrives until close or timeout.
  std::string ReadAll(std::chrono::milliseconds timeout);

 private:
  // Reads more into buf_; false on close/timeout.
  bool Fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buf_;
};

}  // namespace signet::testing
