// The remote signer against a real server on loopback (plain HTTP): the
// client's token discovery, key fetch, batching through the signing
// pipeline, and the errors a CI job sees.
#include "remote/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/pipeline.h"
#include "remote/protocol.h"
#include "server/http_server.h"
#include "service_fixture.h"

namespace signet::remote {
namespace {

using signet::testing::ServiceFixture;
using ::testing::HasSubstr;

class RemoteClientTest : public ::testing::Test {
 protected:
  void StartServer(const std::function<void(nlohmann::json&)>& edit = {}) {
    fixture_ = std::make_unique<ServiceFixture>(edit);
    service_ = fixture_->Start();
    ASSERT_NE(service_, nullptr);
    server::HttpServerOptions options;
    options.port = 0;
    options.plain_http = true;
    options.threads = 4;
    options.logger = &fixture_->log;
    server::SigningService* s = service_.get();
    auto http = server::HttpServer::Start(
        options, [s](const server::ServerRequest& r) { return s->Handle(r); });
    ASSERT_TRUE(http.has_value()) << http.error().message;
    http_ = std::move(*http);
  }
  void TearDown() override {
    if (http_) http_->Stop();
  }

  Result<std::unique_ptr<PlanSigner>> Open(const std::string& token,
                                           const std::string& key = "ec") {
    RemoteOptions options;
    options.base_url = "http://127.0.0.1:" + std::to_string(http_->port());
    options.key = key;
    options.token.getenv = [token](const std::string& name) -> std::optional<std::string> {
      if (name == "SIGNET_TOKEN" && !token.empty()) return token;
      return std::nullopt;
    };
    options.http.retry.max_attempts = 1;
    return OpenRemoteSigner(options);
  }

  std::unique_ptr<ServiceFixture> fixture_;
  std::unique_ptr<server::SigningService> service_;
  std::unique_ptr<server::HttpServer> http_;
};

TEST_F(RemoteClientTest, SignsFilesInBatchesOfTheServersLimit) {
  StartServer([](nlohmann::json& j) { j["limits"]["max_plans_per_request"] = 2; });
  auto signer = Open(fixture_->bot_token);
  ASSERT_TRUE(signer.has_value()) << signer.error().message;
  EXPECT_EQ((*signer)->max_batch(), 2u);
  EXPECT_EQ((*signer)->public_key().Description(), "EC P-256");
  EXPECT_EQ((*signer)->certificate_chain().size(), 2u);

  std::vector<std::string> files;
  for (int i = 0; i < 5; ++i) {
    files.push_back(
        fixture_->dir.Write("f" + std::to_string(i) + ".txt", "content " + std::to_string(i)));
  }
  cli::SignSettings settings;
  settings.format = "cms";
  int signed_ok = 0;
  cli::SignFiles(fixture_->formats, **signer, files, settings,
                 [&](const std::string& path, const Result<cli::SignOutcome>& outcome) {
                   ASSERT_TRUE(outcome.has_value()) << path << ": " << outcome.error().message;
                   EXPECT_EQ(outcome->output_path, path + ".p7s");
                   ++signed_ok;
                 });
  EXPECT_EQ(signed_ok, 5);
  // Five plans in batches of two: three sign requests.
  std::string metrics = service_->Handle(fixture_->Get("/metrics")).body;
  EXPECT_THAT(metrics, HasSubstr("signet_requests_total{route=\"/v1/sign\",outcome=\"ok\"} 3"));
  auto records = fixture_->AuditRecords();
  ASSERT_EQ(records.size(), 5u);
  // The server records the artifact's name, not the client's path.
  EXPECT_EQ(records[0].artifact, "f0.txt");
}

TEST_F(RemoteClientTest, WrongTokenIsPermissionDeniedNamingTheSource) {
  StartServer();
  auto signer = Open("sgt_" + std::string(43, 'B'));
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(signer.error().message, HasSubstr("token refused (from SIGNET_TOKEN)"));
}

TEST_F(RemoteClientTest, NoTokenAnywhereSaysWhereItLooked) {
  StartServer();
  auto signer = Open("");
  ASSERT_FALSE(signer.has_value());
  EXPECT_THAT(signer.error().message, HasSubstr("needs a token"));
}

TEST_F(RemoteClientTest, PolicyDenialReachesTheClient) {
  StartServer();
  auto signer = Open(fixture_->stranger_token);
  ASSERT_TRUE(signer.has_value()) << signer.error().message;
  std::vector<SigningPlan> plans = {fixture_->Plan("a.txt")};
  auto signatures = (*signer)->SignPlans(plans);
  ASSERT_FALSE(signatures.has_value());
  EXPECT_EQ(signatures.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(signatures.error().message, HasSubstr("denied"));
}

TEST_F(RemoteClientTest, UnknownKeyIsNotFound) {
  StartServer();
  auto signer = Open(fixture_->bot_token, "nope");
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kNotFound);
}

TEST_F(RemoteClientTest, UnreachableServerIsUnavailable) {
  StartServer();
  std::uint16_t port = http_->port();
  http_->Stop();
  http_.reset();
  RemoteOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(port);
  options.key = "ec";
  options.http.retry.max_attempts = 1;
  auto signer = OpenRemoteSigner(options);
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kUnavailable);
}

TEST(RemoteKeyUri, Parses) {
  auto k = ParseRemoteKeyUri("signet://signer.example:8443/release");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->base_url, "https://signer.example:8443");
  EXPECT_EQ(k->key, "release");
  for (const char* bad : {"signet://", "signet://host", "signet://host/", "signet://u@host/k",
                          "signet://host/a/b", "file:/x"}) {
    EXPECT_FALSE(ParseRemoteKeyUri(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace signet::remote
