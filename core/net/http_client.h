// HTTP client for the cloud backends (KMS, identity endpoints), over libcurl.
//
// One place for what every outgoing call needs: connect and total timeouts,
// bounded retries with exponential backoff and jitter on 429, 5xx and
// network errors (never on other 4xx), the standard proxy variables
// (HTTPS_PROXY, NO_PROXY, ...; a loopback destination is never proxied),
// TLS verification always on (a CA bundle may replace the system store), and
// a response size cap. Plain http:// is allowed only to loopback hosts
// (emulators and test servers) and to the metadata hosts a caller names in
// HttpOptions::plain_http_hosts. See docs/decisions/0014-http-client-policy.md.
//
// Request and response headers may carry credentials: nothing in this module
// logs them, and errors never include header values or bodies. Redirects
// are not followed (a redirect must not carry credentials elsewhere).
//
// Thread-safety: an HttpClient is used from one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace signet::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT (others are sent as given, with the body)
  std::string url;
  Headers headers;  // sent as given (names as written)
  std::string body;
};

struct HttpResponse {
  long status = 0;
  Headers headers;  // names lower-cased
  std::string body;

  // The first header named `name` (case-insensitive), or "".
  [[nodiscard]] std::string Header(std::string_view name) const;
};

struct RetryPolicy {
  int max_attempts = 4;  // total, including the first
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  // Honour a Retry-After header (seconds or HTTP-date) when it is not longer
  // than this: the next attempt waits at least that long. A longer
  // Retry-After ends the retries and the response is returned as it is.
  std::chrono::milliseconds max_retry_after{10000};
  // Also retry a response this returns true for (e.g. a service that
  // signals throttling with a 400 and its own error code). Optional.
  std::function<bool(const HttpResponse&)> retry_also;
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{30000};
  // A larger response aborts the transfer: kUnavailable, not retried.
  std::size_t max_response_size = 4 << 20;
  // CA file (PEM) used instead of the system store (like AWS_CA_BUNDLE);
  // empty: the system store.
  std::string ca_bundle;
  RetryPolicy retry;
  // Hosts (besides loopback) that may be reached over plain http://: the
  // link-local metadata endpoints of cloud VMs and containers, e.g.
  // "169.254.169.254", "169.254.170.2", "[fd00:ec2::254]",
  // "metadata.google.internal". Matched exactly (lower case, IPv6 in brackets).
  std::vector<std::string> plain_http_hosts;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends `request`, retrying per the policy. Returns the final response
  // whatever its status (after retries, a 429/5xx is returned as a response,
  // and the caller reads the service's error code from its body). Errors:
  // kUnavailable for transport failures (refused, timeout, DNS, TLS) after
  // the last attempt; kInvalidArgument for a URL that cannot work
  // (malformed, unsupported scheme, http:// to a non-loopback host).
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

std::unique_ptr<HttpClient> MakeCurlHttpClient(const HttpOptions& options);

// Maps a final non-2xx response of a cloud service to an Error: 429/5xx ->
// kUnavailable, 401/403 -> kPermissionDenied, 404 -> kNotFound, other 4xx ->
// kInvalidArgument; `service` and the service's own code/message (parsed by
// the caller) go into the one-line message.
Error HttpStatusError(std::string_view service, long status, std::string_view service_code,
                      std::string_view service_message);

// `options` with the overrides from the environment applied, for every
// backend alike (tests and slow networks):
//   SIGNET_HTTP_TIMEOUT_MS          total time per attempt (also caps connect)
//   SIGNET_HTTP_CONNECT_TIMEOUT_MS  connect time per attempt
//   SIGNET_HTTP_MAX_ATTEMPTS        attempts in all (1..20)
//   SIGNET_HTTP_BACKOFF_MS          initial backoff (0 for tests)
//   SIGNET_CA_BUNDLE                CA file (PEM) instead of the system store
// Malformed or out-of-range values are ignored.
HttpOptions HttpOptionsFromEnv(HttpOptions options = {});

// True for loopback hosts: "localhost", 127.0.0.0/8, ::1 (with or without
// brackets), ::ffff:127.x.y.z. Plain http:// is always allowed to these.
bool IsLoopbackHost(std::string_view host);

// libcurl glue shared with the other curl user (the RFC 3161 client, which
// keeps its own transport: see docs/decisions/0010):
// curl_global_init, once per process, thread-safe.
void EnsureCurlGlobalInit();
// True when a libcurl result (a CURLcode) is a transport failure worth
// another attempt: refused, unresolved, timed out, reset, TLS handshake.
bool IsRetryableCurlCode(int curl_code);

// Percent-encodes per RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~).
std::string UrlEncode(std::string_view s, bool keep_slash = false);

}  // namespace signet::net
