// Timestamper: gets an RFC 3161 timestamp token from one of several TSAs.
//
//   timestamp::Timestamper ts({.urls = {"http://tsa.example/"}});
//   SIGNET_ASSIGN_OR_RETURN(Bytes token, ts.Timestamp(DigestAlgorithm::kSha256, signature));
//
// TSAs are tried in the order given. Each gets `attempts` tries when the
// failure may pass (connection refused or reset, timeout, HTTP 429/502/503/
// 504), with exponential backoff between them; an answer that is wrong (HTTP
// error status, not a TimeStampResp, refused, another digest, another nonce,
// bad signature) moves on to the next TSA at once. Every answer is checked
// (rfc3161.h CheckResponse) before its token is returned.
//
// The error when every TSA failed names each one's failure in one line, with
// the code of the most telling failure: kVerificationFailed when a TSA
// answered wrongly, kInvalidArgument for an unusable URL, kUnavailable only
// when none could be reached (retry later).
//
// Not thread-safe; one per thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "crypto/algorithm.h"
#include "timestamp/http.h"

namespace signet::timestamp {

struct TimestamperOptions {
  std::vector<std::string> urls;
  int attempts = 3;                        // per TSA, for failures that may pass
  std::chrono::milliseconds backoff{500};  // before the 2nd try; doubles after
  HttpLimits limits;
};

class Timestamper {
 public:
  // `transport` null: libcurl. `sleep` null: std::this_thread::sleep_for.
  explicit Timestamper(TimestamperOptions options,
                       std::unique_ptr<HttpTransport> transport = nullptr,
                       std::function<void(std::chrono::milliseconds)> sleep = nullptr);

  // A token whose message imprint is digest(alg, data).
  Result<Bytes> Timestamp(DigestAlgorithm alg, ByteView data);

 private:
  Result<Bytes> TryOnce(const std::string& url, DigestAlgorithm alg, ByteView data);

  TimestamperOptions options_;
  std::unique_ptr<HttpTransport> transport_;
  std::function<void(std::chrono::milliseconds)> sleep_;
};

}  // namespace signet::timestamp
