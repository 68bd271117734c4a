#include "timestamp/timestamper.h"

#include <thread>

#include "timestamp/rfc3161.h"

namespace signet::timestamp {
namespace {

bool RetryableStatus(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// How telling a failure is, for the final error code: a wrong answer beats a
// bad URL beats an unreachable TSA.
int Rank(ErrorCode code) {
  switch (code) {
    case ErrorCode::kVerificationFailed:
      return 3;
    case ErrorCode::kInvalidArgument:
      return 2;
    case ErrorCode::kUnavailable:
      return 1;
    default:
      return 4;  // internal: surface it
  }
}

}  // namespace

Timestamper::Timestamper(TimestamperOptions options, std::unique_ptr<HttpTransport> transport,
                         std::function<void(std::chrono::milliseconds)> sleep)
    : options_(std::move(options)),
      transport_(transport ? std::move(transport) : MakeCurlTransport(options_.limits)),
      sleep_(sleep ? std::move(sleep)
                   : [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }) {}

Result<Bytes> Timestamper::TryOnce(const std::string& url, DigestAlgorithm alg, ByteView data) {
  std::uint64_t nonce = NewNonce();
  Bytes request = BuildRequest(alg, data, nonce);
  SIGNET_ASSIGN_OR_RETURN(HttpResponse response,
                          transport_->Post(url, "application/timestamp-query", request));
  if (response.status != 200) {
    std::string what = "HTTP " + std::to_string(response.status);
    if (RetryableStatus(response.status)) return Unavailable(what);
    return VerificationFailed(what);
  }
  return CheckResponse(response.body, alg, data, nonce);
}

Result<Bytes> Timestamper::Timestamp(DigestAlgorithm alg, ByteView data) {
  if (options_.urls.empty()) return InvalidArgument("no TSA URL given");
  std::string failures;
  ErrorCode worst = ErrorCode::kUnavailable;
  int worst_rank = 0;
  for (const std::string& url : options_.urls) {
    std::chrono::milliseconds delay = options_.backoff;
    const int attempts = std::max(1, options_.attempts);
    Error last;
    int tried = 0;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      ++tried;
      auto token = TryOnce(url, alg, data);
      if (token) return token;
      last = token.error();
      if (last.code != ErrorCode::kUnavailable || attempt == attempts) break;
      sleep_(delay);
      delay *= 2;
    }
    if (Rank(last.code) > worst_rank) {
      worst_rank = Rank(last.code);
      worst = last.code;
    }
    failures += (failures.empty() ? "" : "; ") + url + ": " + last.message;
    if (tried > 1) failures += " (" + std::to_string(tried) + " tries)";
  }
  return MakeError(worst, "no valid timestamp from any TSA: " + failures);
}

}  // namespace signet::timestamp
