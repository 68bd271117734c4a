// HTTP POST for the RFC 3161 client (RFC 3161 section 3.4, "Time-Stamp
// Protocol via HTTP"), over libcurl. An interface so that tests can inject
// transports that fail on purpose.
//
// A transport is used from one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/error.h"

namespace signet::timestamp {

struct HttpResponse {
  long status = 0;  // HTTP status code
  Bytes body;
};

struct HttpLimits {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{30000};  // whole exchange, including the read
  std::size_t max_response_size = 1 << 20;         // a token is a few KiB
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // POSTs `body`. An HTTP error status is a response, not an error. Errors:
  // kUnavailable when retrying may help (refused, unreachable, timed out,
  // reset, TLS handshake), kInvalidArgument for a URL that cannot work
  // (malformed, unsupported scheme), kVerificationFailed for an oversized
  // answer.
  virtual Result<HttpResponse> Post(const std::string& url, std::string_view content_type,
                                    ByteView body) = 0;
};

// libcurl: http and https only, at most 3 redirects, proxies from the
// environment (curl's usual variables), TLS verification on.
std::unique_ptr<HttpTransport> MakeCurlTransport(const HttpLimits& limits);

}  // namespace signet::timestamp
