// Timestamper: TSAs tried in order, bounded retries with backoff for
// failures that may pass, no retry for wrong answers, and the error code the
// CLI turns into an exit code. Fault-injecting transports stand in for HTTP;
// the libcurl transport is checked on loopback (refused) and bad URLs.
#include "timestamp/timestamper.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <vector>

#include "timestamp/rfc3161.h"
#include "timestamp/test_tsa.h"

namespace signet::timestamp {
namespace {

using signet::testing::TestTsa;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const Bytes kSignature = ToBytes("signature bytes");

// What a fake TSA URL does for each request, in order (the last repeats).
enum class Behaviour { kOk, kRefused, kHttp500, kHttp503, kGarbage, kWrongNonce, kBadUrl };

class FakeTransport final : public HttpTransport {
 public:
  FakeTransport(const TestTsa* tsa, std::map<std::string, std::vector<Behaviour>> script,
                std::vector<std::string>* log)
      : tsa_(tsa), script_(std::move(script)), log_(log) {}

  Result<HttpResponse> Post(const std::string& url, std::string_view content_type,
                            ByteView body) override {
    log_->push_back(url);
    EXPECT_EQ(content_type, "application/timestamp-query");
    std::vector<Behaviour>& steps = script_[url];
    Behaviour b = steps.empty() ? Behaviour::kRefused : steps.front();
    if (steps.size() > 1) steps.erase(steps.begin());
    switch (b) {
      case Behaviour::kOk:
        return HttpResponse{200, tsa_->Respond(body)};
      case Behaviour::kRefused:
        return Unavailable("Couldn't connect to server");
      case Behaviour::kHttp500:
        return HttpResponse{500, {}};
      case Behaviour::kHttp503:
        return HttpResponse{503, {}};
      case Behaviour::kGarbage:
        return HttpResponse{200, ToBytes("garbage")};
      case Behaviour::kWrongNonce:
        return HttpResponse{200, tsa_->Respond(body, TestTsa::Fault::kWrongNonce)};
      case Behaviour::kBadUrl:
        return InvalidArgument("URL using bad/illegal format or missing URL");
    }
    return Internal("unreachable");
  }

 private:
  const TestTsa* tsa_;
  std::map<std::string, std::vector<Behaviour>> script_;
  std::vector<std::string>* log_;
};

class TimestamperTest : public ::testing::Test {
 protected:
  Result<Bytes> Run(std::vector<std::string> urls,
                    std::map<std::string, std::vector<Behaviour>> script, int attempts = 3) {
    TimestamperOptions options;
    options.urls = std::move(urls);
    options.attempts = attempts;
    options.backoff = std::chrono::milliseconds(100);
    Timestamper ts(std::move(options),
                   std::make_unique<FakeTransport>(&tsa_, std::move(script), &log_),
                   [this](std::chrono::milliseconds d) { sleeps_.push_back(d.count()); });
    return ts.Timestamp(DigestAlgorithm::kSha256, kSignature);
  }

  TestTsa tsa_;
  std::vector<std::string> log_;
  std::vector<long> sleeps_;
};

TEST_F(TimestamperTest, FirstTsaAnswersAtOnce) {
  auto token = Run({"http://a/"}, {{"http://a/", {Behaviour::kOk}}});
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_TRUE(VerifyToken(*token, kSignature, tsa_.Anchors()).has_value());
  EXPECT_THAT(log_, ElementsAre("http://a/"));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(TimestamperTest, RetriesAnUnreachableTsaWithBackoffThenSucceeds) {
  auto token = Run({"http://a/"},
                   {{"http://a/", {Behaviour::kRefused, Behaviour::kHttp503, Behaviour::kOk}}});
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_THAT(log_, ElementsAre("http://a/", "http://a/", "http://a/"));
  EXPECT_THAT(sleeps_, ElementsAre(100, 200));
}

TEST_F(TimestamperTest, AllUnreachableIsUnavailableAfterBoundedRetries) {
  auto token = Run({"http://a/", "http://b/"}, {});
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(log_.size(), 6u);  // 3 tries each
  EXPECT_THAT(token.error().message, HasSubstr("http://a/"));
  EXPECT_THAT(token.error().message, HasSubstr("http://b/"));
  EXPECT_THAT(token.error().message, HasSubstr("3 tries"));
  EXPECT_EQ(token.error().message.find('\n'), std::string::npos);
}

TEST_F(TimestamperTest, WrongAnswersAreNotRetriedAndMoveToTheNextTsa) {
  auto token = Run({"http://a/", "http://b/", "http://c/", "http://d/"},
                   {{"http://a/", {Behaviour::kHttp500}},
                    {"http://b/", {Behaviour::kGarbage}},
                    {"http://c/", {Behaviour::kWrongNonce}},
                    {"http://d/", {Behaviour::kOk}}});
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_THAT(log_, ElementsAre("http://a/", "http://b/", "http://c/", "http://d/"));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(TimestamperTest, AWrongAnswerMakesTheFailureAVerificationFailure) {
  auto token = Run({"http://a/", "http://b/"},
                   {{"http://a/", {Behaviour::kRefused}}, {"http://b/", {Behaviour::kHttp500}}});
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kVerificationFailed);
  EXPECT_THAT(token.error().message, HasSubstr("HTTP 500"));
  for (Behaviour b : {Behaviour::kGarbage, Behaviour::kWrongNonce}) {
    auto t = Run({"http://x/"}, {{"http://x/", {b}}});
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error().code, ErrorCode::kVerificationFailed);
  }
}

TEST_F(TimestamperTest, ABadUrlIsInvalidArgumentAndNotRetried) {
  auto token = Run({"bad url"}, {{"bad url", {Behaviour::kBadUrl}}});
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(log_.size(), 1u);
}

TEST_F(TimestamperTest, NoUrlIsInvalidArgument) {
  auto token = Run({}, {});
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, ErrorCode::kInvalidArgument);
}

TEST(CurlTransport, RefusedConnectionIsUnavailable) {
  HttpLimits limits;
  limits.connect_timeout = std::chrono::milliseconds(2000);
  auto transport = MakeCurlTransport(limits);
  // Port 1 on loopback: nothing listens there.
  auto r = transport->Post("http://127.0.0.1:1/", "application/timestamp-query", ToBytes("x"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(CurlTransport, UnusableUrlsAreInvalidArgument) {
  auto transport = MakeCurlTransport(HttpLimits{});
  for (const char* url : {"ftp://127.0.0.1/", "file:///etc/passwd", "not a url at all"}) {
    auto r = transport->Post(url, "application/timestamp-query", ToBytes("x"));
    ASSERT_FALSE(r.has_value()) << url;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << url << ": " << r.error().message;
  }
}

}  // namespace
}  // namespace signet::timestamp
