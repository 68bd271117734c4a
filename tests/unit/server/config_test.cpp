// The server configuration file: comments, relative paths, strictness.
#include "server/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_keys.h"

namespace signet::server {
namespace {

using signet::testing::TempDir;
using ::testing::HasSubstr;

constexpr const char* kMinimal = R"({
  // comments are allowed
  "listen": "127.0.0.1:9443",
  "tls": {"certificate": "tls/cert.pem", "key": "tls/key.pem"},
  /* block comments too */
  "keys": {"release": {"uri": "file:keys/release.pem", "certificate": "release.pem",
                       "pin_file": "release.pin", "tsa": "http://tsa.example/"}},
  "issuers": [{"issuer": "https://token.actions.githubusercontent.com", "audience": "signet",
               "ci": "github"}],
  "policy": {"rules": []}
})";

TEST(ServerConfig, ReadsCommentsAndResolvesRelativePaths) {
  TempDir dir;
  auto c = LoadServerConfig(dir.Write("s.json", kMinimal));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 9443);
  EXPECT_FALSE(c->plain_http);
  EXPECT_EQ(c->tls_certificate_path, dir.path() + "/tls/cert.pem");
  ASSERT_EQ(c->keys.count("release"), 1u);
  const KeyConfig& k = c->keys.at("release");
  EXPECT_EQ(k.uri, "file:" + dir.path() + "/keys/release.pem");
  EXPECT_EQ(k.certificate_path, dir.path() + "/release.pem");
  EXPECT_EQ(k.pin_file, dir.path() + "/release.pin");
  EXPECT_EQ(k.tsa_url, "http://tsa.example/");
  ASSERT_EQ(c->issuers.size(), 1u);
  EXPECT_EQ(c->issuers[0].ci, "github");
  EXPECT_EQ(c->audit_db, "sqlite:" + dir.path() + "/audit.db");
  EXPECT_EQ(c->max_plans_per_request, 256u);
}

struct BadConfig {
  const char* name;
  const char* json;
  const char* message;
};

class ServerConfigErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ServerConfigErrors, NameTheFieldAndTheFile) {
  TempDir dir;
  std::string path = dir.Write("s.json", GetParam().json);
  auto c = LoadServerConfig(path);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(c.error().message, HasSubstr(path));
  EXPECT_THAT(c.error().message, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    All, ServerConfigErrors,
    ::testing::Values(
        BadConfig{"NotJson", "{", "not a JSON object"},
        BadConfig{"NoTls", R"({"keys": {"a": {"uri": "file:a"}}})", "tls: missing"},
        BadConfig{"NoKeys", R"({"plain_http": true})", "keys: missing"},
        BadConfig{"Typo", R"({"plain_http": true, "keys": {"a": {"uri": "file:a"}}, "polcy": {}})",
                  "polcy: unknown setting"},
        BadConfig{"KeyTypo",
                  R"({"plain_http": true, "keys": {"a": {"uri": "file:a", "pin": "1"}}})",
                  "keys.a.pin: unknown setting"},
        BadConfig{"BadKeyName", R"({"plain_http": true, "keys": {"a/b": {"uri": "file:a"}}})",
                  "keys.a/b"},
        BadConfig{"RemoteKey", R"({"plain_http": true, "keys": {"a": {"uri": "signet://h/a"}}})",
                  "another server"},
        BadConfig{"BadListen",
                  R"({"plain_http": true, "listen": "nowhere", "keys": {"a": {"uri": "file:a"}}})",
                  "listen"},
        BadConfig{
            "BadLimit",
            R"({"plain_http": true, "keys": {"a": {"uri": "file:a"}}, "limits": {"max_plans_per_request": 0}})",
            "limits.max_plans_per_request"},
        BadConfig{
            "DuplicateIssuer",
            R"({"plain_http": true, "keys": {"a": {"uri": "file:a"}}, "issuers": [{"issuer": "https://i", "audience": "s"}, {"issuer": "https://i", "audience": "t"}]})",
            "listed twice"},
        BadConfig{"BadIssuer",
                  R"({"plain_http": true, "keys": {"a": {"uri": "file:a"}}, "issuers": [{}]})",
                  "issuers[0]"}),
    [](const ::testing::TestParamInfo<BadConfig>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace signet::server
