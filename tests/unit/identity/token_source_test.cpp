// FindToken (identity/token_source.h): the order of the sources, what is
// sent to the CI token endpoints, and the errors.
//
// The environment and the HTTP client are fakes here: these tests pin which
// source wins and the exact requests. The real endpoints (GitHub- and
// Azure-shaped, over HTTPS) are exercised in jwt_test.cpp against
// tests/tools/oidc_issuer.py.
#include <gtest/gtest.h>

#include <map>

#include "identity/token_source.h"
#include "test_keys.h"

namespace signet::identity {
namespace {

class FakeHttp : public net::HttpClient {
 public:
  Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
    requests.push_back(request);
    return response;
  }
  std::vector<net::HttpRequest> requests;
  Result<net::HttpResponse> response = net::HttpResponse{200, {}, R"({"value": "jwt-from-http"})"};
};

struct Env {
  std::map<std::string, std::string> vars;
  TokenSourceOptions Options() const {
    TokenSourceOptions o;
    o.getenv = [vars = vars](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    return o;
  }
};

const std::map<std::string, std::string> kAll = {
    {"SIGNET_TOKEN", "from-signet-token"},
    {"ACTIONS_ID_TOKEN_REQUEST_URL", "https://pipelines.example/token?api-version=2.0"},
    {"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-secret"},
    {"SIGNET_ID_TOKEN", "from-gitlab"},
    {"SYSTEM_OIDCREQUESTURI", "https://dev.azure.example/oidc"},
    {"SYSTEM_ACCESSTOKEN", "azure-access-secret"},
};

Env Without(std::initializer_list<const char*> drop) {
  Env env{kAll};
  for (const char* d : drop) env.vars.erase(d);
  return env;
}

TEST(FindTokenTest, TokenFileComesFirst) {
  signet::testing::TempDir dir;
  Env env{kAll};
  auto options = env.Options();
  options.token_file = dir.Write("token", "file-token\n");
  FakeHttp http;
  auto found = FindToken(options, http);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->source, "--token-file");
  EXPECT_EQ(found->token.Reveal(), "file-token");
  EXPECT_TRUE(http.requests.empty());
}

TEST(FindTokenTest, BadTokenFileIsAnErrorNotAFallThrough) {
  signet::testing::TempDir dir;
  Env env{kAll};
  auto options = env.Options();
  options.token_file = dir.File("missing");
  FakeHttp http;
  auto found = FindToken(options, http);
  ASSERT_FALSE(found);
  EXPECT_NE(found.error().message.find("--token-file"), std::string::npos);
  options.token_file = dir.Write("empty", "");
  EXPECT_FALSE(FindToken(options, http));
}

TEST(FindTokenTest, SignetTokenBeatsCi) {
  FakeHttp http;
  auto found = FindToken(Env{kAll}.Options(), http);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->source, "SIGNET_TOKEN");
  EXPECT_EQ(found->token.Reveal(), "from-signet-token");
  EXPECT_TRUE(http.requests.empty());
}

TEST(FindTokenTest, GithubActionsRequestsWithAudience) {
  FakeHttp http;
  auto options = Without({"SIGNET_TOKEN"}).Options();
  options.audience = "signet prod";
  auto found = FindToken(options, http);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->source, "github-actions");
  EXPECT_EQ(found->token.Reveal(), "jwt-from-http");
  ASSERT_EQ(http.requests.size(), 1u);
  const auto& r = http.requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://pipelines.example/token?api-version=2.0&audience=signet%20prod");
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].first, "Authorization");
  EXPECT_EQ(r.headers[0].second, "bearer gh-request-secret");
}

TEST(FindTokenTest, GitlabWhenNoGithub) {
  FakeHttp http;
  auto found = FindToken(
      Without({"SIGNET_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"})
          .Options(),
      http);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->source, "gitlab");
  EXPECT_EQ(found->token.Reveal(), "from-gitlab");
  EXPECT_TRUE(http.requests.empty());
}

TEST(FindTokenTest, GitlabVariableNameIsConfigurable) {
  FakeHttp http;
  Env env{{{"MY_TOKEN", "custom"}, {"SIGNET_ID_TOKEN", "default"}}};
  auto options = env.Options();
  options.gitlab_variable = "MY_TOKEN";
  auto found = FindToken(options, http);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->token.Reveal(), "custom");
}

TEST(FindTokenTest, AzurePipelinesPostsForAToken) {
  FakeHttp http;
  http.response = net::HttpResponse{200, {}, R"({"oidcToken": "azure-jwt"})"};
  auto found = FindToken(Env{{{"SYSTEM_OIDCREQUESTURI", "https://dev.azure.example/oidc"},
                              {"SYSTEM_ACCESSTOKEN", "azure-access-secret"}}}
                             .Options(),
                         http);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->source, "azure-pipelines");
  EXPECT_EQ(found->token.Reveal(), "azure-jwt");
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].method, "POST");
  EXPECT_EQ(http.requests[0].url, "https://dev.azure.example/oidc?api-version=7.1-preview.1");
  EXPECT_EQ(http.requests[0].headers[0].second, "Bearer azure-access-secret");
}

TEST(FindTokenTest, NothingFoundNamesEveryPlace) {
  FakeHttp http;
  auto found = FindToken(Env{{{"ACTIONS_ID_TOKEN_REQUEST_URL", "https://x"}}}.Options(), http);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kFailedPrecondition);
  const std::string& m = found.error().message;
  for (const char* place : {"--token-file", "SIGNET_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL",
                            "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "id-token: write", "SIGNET_ID_TOKEN",
                            "SYSTEM_OIDCREQUESTURI", "SYSTEM_ACCESSTOKEN"}) {
    EXPECT_NE(m.find(place), std::string::npos) << place << " in " << m;
  }
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_TRUE(http.requests.empty());
}

TEST(FindTokenTest, EndpointFailuresNeverQuoteSecrets) {
  auto options = Without({"SIGNET_TOKEN"}).Options();
  FakeHttp refused;
  refused.response = net::HttpResponse{403, {}, R"({"message": "gh-request-secret denied"})"};
  auto found = FindToken(options, refused);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(found.error().message.find("gh-request-secret"), std::string::npos);
  EXPECT_NE(found.error().message.find("GitHub"), std::string::npos);

  FakeHttp no_value;
  no_value.response = net::HttpResponse{200, {}, R"({"count": 0})"};
  found = FindToken(options, no_value);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kUnavailable);

  FakeHttp down;
  down.response = std::unexpected(Error{ErrorCode::kUnavailable, "connection refused"});
  found = FindToken(options, down);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace signet::identity
