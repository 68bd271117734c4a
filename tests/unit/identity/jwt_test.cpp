// JwtValidator against a real loopback HTTPS issuer (tests/tools/oidc_issuer.py):
// discovery, JWKS over TLS with the issuer's CA, RS256 and ES256 tokens shaped
// like GitHub's, GitLab's, Azure's and Jenkins', each attack of issue 4, the
// key cache and its refetch rate limit, and FindToken against the issuer's
// GitHub- and Azure-shaped runner endpoints.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "identity/jwt.h"
#include "identity/oidc_issuer.h"
#include "identity/token_source.h"

namespace signet::identity {
namespace {

using signet::testing::OidcIssuer;

class JwtValidatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    issuer_ = OidcIssuer::Start(&error).release();
    if (issuer_ == nullptr) start_error_ = new std::string(error);
  }
  static void TearDownTestSuite() {
    delete issuer_;
    issuer_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(issuer_, nullptr) << *start_error_;
    offset_ = 0;
  }

  static std::unique_ptr<net::HttpClient> Http(const std::string& ca, int attempts = 2) {
    net::HttpOptions options;
    options.ca_bundle = ca;
    options.retry.max_attempts = attempts;
    options.retry.initial_backoff = std::chrono::milliseconds(0);
    options.total_timeout = std::chrono::milliseconds(10000);
    return net::MakeCurlHttpClient(options);
  }

  static IssuerConfig Config(const std::string& ci, bool require_jti = false) {
    IssuerConfig c;
    c.issuer = issuer_->url();
    c.audiences = {"signet", "other-service"};
    c.ci = ci;
    c.require_jti = require_jti;
    return c;
  }

  // A validator whose clock is the real time plus offset_ (tests move it).
  static std::unique_ptr<JwtValidator> Validator(const std::string& ci, bool require_jti = false) {
    return std::make_unique<JwtValidator>(std::vector<IssuerConfig>{Config(ci, require_jti)},
                                          Http(issuer_->ca_pem()),
                                          [] { return std::time(nullptr) + offset_.load(); });
  }

  static std::string Mint(std::vector<std::string> args) {
    std::string token = issuer_->Mint(args);
    EXPECT_FALSE(token.empty()) << "mint failed";
    return token;
  }

  static void ExpectDenied(JwtValidator& v, const std::string& token, const std::string& reason) {
    auto id = v.Validate(token);
    ASSERT_FALSE(id) << "accepted; expected: " << reason;
    EXPECT_EQ(id.error().code, ErrorCode::kPermissionDenied) << id.error().message;
    EXPECT_EQ(id.error().message, reason);
    // The reason never quotes the token's payload or signature.
    auto dot = token.find('.');
    if (dot != std::string::npos && token.size() > dot + 9) {
      EXPECT_EQ(id.error().message.find(token.substr(dot + 1, 8)), std::string::npos);
    }
  }

  static OidcIssuer* issuer_;
  static std::string* start_error_;
  static std::atomic<std::int64_t> offset_;
};

OidcIssuer* JwtValidatorTest::issuer_ = nullptr;
std::string* JwtValidatorTest::start_error_ = nullptr;
std::atomic<std::int64_t> JwtValidatorTest::offset_{0};

TEST_F(JwtValidatorTest, AcceptsGithubTokensRs256AndEs256) {
  auto v = Validator("github");
  for (const char* alg : {"RS256", "ES256"}) {
    auto id = v->Validate(Mint({"--shape", "github", "--alg", alg}));
    ASSERT_TRUE(id) << alg << ": " << id.error().message;
    EXPECT_EQ(id->issuer, issuer_->url());
    EXPECT_EQ(id->subject, "repo:acme/app:ref:refs/heads/main");
    EXPECT_EQ(id->normalized.at("ci"), "github");
    EXPECT_EQ(id->normalized.at("repository"), "acme/app");
    EXPECT_EQ(id->normalized.at("ref"), "refs/heads/main");
    EXPECT_EQ(id->normalized.at("workflow"), "release");
    EXPECT_EQ(id->normalized.at("environment"), "production");
    EXPECT_EQ(id->normalized.at("runner_type"), "github-hosted");
    EXPECT_EQ(id->normalized.at("run_id"), "8123456789");
    EXPECT_EQ(id->Claim("actor"), "octocat");
    EXPECT_TRUE(id->jti.has_value());
    EXPECT_GT(id->expires, std::time(nullptr));
  }
}

TEST_F(JwtValidatorTest, AcceptsGitlabTagTokensWithGithubStyleRef) {
  auto v = Validator("gitlab");
  for (const char* alg : {"RS256", "ES256"}) {
    auto id =
        v->Validate(Mint({"--shape", "gitlab", "--alg", alg, "--claim", "ref=v1.2.0", "--claim",
                          "ref_type=tag", "--claim", "runner_environment=self-hosted"}));
    ASSERT_TRUE(id) << alg << ": " << id.error().message;
    EXPECT_EQ(id->subject, "project_path:acme/app:ref_type:tag:ref:v1.2.0");
    EXPECT_EQ(id->normalized.at("repository"), "acme/app");
    EXPECT_EQ(id->normalized.at("ref"), "refs/tags/v1.2.0");
    EXPECT_EQ(id->normalized.at("environment"), "production");
    EXPECT_EQ(id->normalized.at("runner_type"), "self-hosted");
    EXPECT_EQ(id->normalized.at("run_id"), "1001");
    EXPECT_EQ(id->Claim("runner_id"), "17");
  }
}

TEST_F(JwtValidatorTest, CommandLineMintMakesValidTokens) {
  std::string token = issuer_->MintCli({"--shape", "gitlab", "--alg", "ES256"});
  auto id = Validator("gitlab")->Validate(token);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->normalized.at("ref"), "refs/heads/main");
}

TEST_F(JwtValidatorTest, AcceptsAzureAndJenkinsShapes) {
  auto azure = Validator("azure")->Validate(Mint({"--shape", "azure"}));
  ASSERT_TRUE(azure) << azure.error().message;
  EXPECT_EQ(azure->normalized.at("repository"), "acme/app/app");
  EXPECT_EQ(azure->normalized.at("workflow"), "release");
  auto jenkins = Validator("jenkins")->Validate(Mint({"--shape", "jenkins", "--alg", "ES256"}));
  ASSERT_TRUE(jenkins) << jenkins.error().message;
  EXPECT_EQ(jenkins->normalized.at("workflow"), "acme/app");
  EXPECT_EQ(jenkins->normalized.at("run_id"), "42");
  EXPECT_EQ(jenkins->normalized.at("repository"), "acme/app");
}

struct Attack {
  const char* name;
  std::vector<std::string> args;
  const char* reason;
};

TEST_F(JwtValidatorTest, RefusesEachAttackWithItsReason) {
  const std::vector<Attack> attacks = {
      {"expired", {"--attack", "expired"}, "token expired"},
      {"not yet valid", {"--attack", "not-yet-valid"}, "token not yet valid"},
      {"issued in the future",
       {"--claim", "iat:=9999999999", "--claim", "exp:=9999999999"},
       "token not yet valid"},
      {"wrong issuer", {"--attack", "wrong-issuer"}, "unknown issuer: https://evil.example.com"},
      {"wrong audience", {"--aud", "someone-else"}, "audience not accepted"},
      {"no audience", {"--drop", "aud"}, "audience not accepted"},
      {"unknown kid", {"--attack", "unknown-kid"}, "unknown signing key"},
      {"alg none", {"--attack", "none"}, "algorithm not allowed: none"},
      {"HS256 with the RSA public key",
       {"--attack", "hs256-with-rsa-pubkey"},
       "algorithm not allowed: HS256"},
      {"tampered payload RS256", {"--attack", "tamper"}, "bad signature"},
      {"tampered payload ES256", {"--attack", "tamper", "--alg", "ES256"}, "bad signature"},
      {"RS256 naming the EC key",
       {"--attack", "alg-mismatch"},
       "algorithm does not match the signing key"},
      {"ES256 naming the RSA key",
       {"--attack", "alg-mismatch", "--alg", "ES256"},
       "algorithm does not match the signing key"},
      {"no expiry", {"--drop", "exp"}, "token has no expiry"},
      {"too long a lifetime", {"--ttl", "200000"}, "token lifetime too long"},
  };
  auto v = Validator("github");
  for (const auto& attack : attacks) {
    SCOPED_TRACE(attack.name);
    std::vector<std::string> args = {"--shape", "github"};
    args.insert(args.end(), attack.args.begin(), attack.args.end());
    ExpectDenied(*v, Mint(args), attack.reason);
  }
  ExpectDenied(*v, "", "no token");
  ExpectDenied(*v, "abc.def", "malformed token");
  ExpectDenied(*v, std::string(kMaxTokenSize + 1, 'a'), "malformed token");
  std::string good = Mint({"--shape", "github"});
  ExpectDenied(*v, good.substr(0, good.rfind('.') + 1), "malformed token");  // no signature
  EXPECT_TRUE(v->Validate(good)) << "a good token after the attacks";
}

TEST_F(JwtValidatorTest, ClockSkewIsTolerated) {
  auto v = Validator("github");
  std::string token = Mint({"--shape", "github", "--ttl", "120"});
  offset_ = 150;  // 30 s past exp, within the 60 s skew
  EXPECT_TRUE(v->Validate(token));
  offset_ = 200;
  ExpectDenied(*v, token, "token expired");
  offset_ = -50;  // the validator's clock is behind the issuer's
  EXPECT_TRUE(v->Validate(token));
}

TEST_F(JwtValidatorTest, ReplayedJtiRefusedWhenRequired) {
  auto v = Validator("github", /*require_jti=*/true);
  std::string jti = "replay-" + std::to_string(std::time(nullptr));
  std::string first = Mint({"--shape", "github", "--jti", jti});
  std::string second = Mint({"--shape", "github", "--jti", jti, "--alg", "ES256"});
  ASSERT_TRUE(v->Validate(first));
  ExpectDenied(*v, first, "token replayed");
  ExpectDenied(*v, second, "token replayed");  // another token, same jti
  ExpectDenied(*v, Mint({"--shape", "github", "--drop", "jti"}), "token has no jti");
  EXPECT_TRUE(v->Validate(Mint({"--shape", "github"})));  // fresh jti
  // Without replay protection the same token is accepted again.
  auto lax = Validator("github");
  EXPECT_TRUE(lax->Validate(first));
  EXPECT_TRUE(lax->Validate(first));
}

TEST_F(JwtValidatorTest, JwksIsCachedAndRefetchedOnceForUnknownKid) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i)
    tokens.push_back(Mint({"--shape", "github", "--alg", i % 2 ? "ES256" : "RS256"}));
  std::string bogus1 = Mint({"--shape", "github", "--attack", "unknown-kid"});
  std::string bogus2 = Mint({"--shape", "github", "--attack", "unknown-kid"});

  auto v = Validator("github");
  int hits = issuer_->JwksHits();
  for (const auto& t : tokens) ASSERT_TRUE(v->Validate(t));
  EXPECT_EQ(issuer_->JwksHits(), hits + 1) << "one fetch for four validations";

  // Just fetched: an unknown kid does not reach the issuer.
  ExpectDenied(*v, bogus1, "unknown signing key");
  EXPECT_EQ(issuer_->JwksHits(), hits + 1);

  offset_ = kUnknownKidRefetchInterval.count() + 1;
  ExpectDenied(*v, bogus1, "unknown signing key");
  EXPECT_EQ(issuer_->JwksHits(), hits + 2) << "one refetch for the unknown kid";
  ExpectDenied(*v, bogus2, "unknown signing key");
  ExpectDenied(*v, bogus1, "unknown signing key");
  EXPECT_EQ(issuer_->JwksHits(), hits + 2) << "rate limited";
  EXPECT_TRUE(v->Validate(tokens[0]));
  EXPECT_EQ(issuer_->JwksHits(), hits + 2);
}

TEST_F(JwtValidatorTest, RotatedKeyIsPickedUp) {
  auto v = Validator("github");
  ASSERT_TRUE(v->Validate(Mint({"--shape", "github"})));
  int hits = issuer_->JwksHits();
  // A key the issuer starts publishing now (created by mint in DIR/keys).
  std::string kid = "rot" + std::to_string(std::time(nullptr) % 100000);
  std::string rotated = Mint({"--shape", "github", "--alg", "ES256", "--kid", kid});
  offset_ = kUnknownKidRefetchInterval.count() + 1;
  auto id = v->Validate(rotated);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(issuer_->JwksHits(), hits + 1);
}

TEST_F(JwtValidatorTest, ConcurrentValidationsShareOneFetch) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i)
    tokens.push_back(Mint({"--shape", "github", "--alg", i % 2 ? "ES256" : "RS256"}));
  auto v = Validator("github");
  int hits = issuer_->JwksHits();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) ok += v->Validate(tokens[(t + i) % tokens.size()]) ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(issuer_->JwksHits(), hits + 1);
}

TEST_F(JwtValidatorTest, ReplayCacheIsThreadSafe) {
  auto v = Validator("github", /*require_jti=*/true);
  std::string token = Mint({"--shape", "github"});
  ASSERT_TRUE(v->Validate(Mint({"--shape", "github"})));  // keys fetched
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) accepted += v->Validate(token) ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), 1);
}

TEST_F(JwtValidatorTest, UnreachableIssuerIsUnavailable) {
  IssuerConfig c = Config("github");
  c.issuer = "https://127.0.0.1:1";
  JwtValidator v({c}, Http(issuer_->ca_pem(), 1));
  std::string token = Mint({"--shape", "github", "--claim", "iss=https://127.0.0.1:1"});
  auto id = v.Validate(token);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(id.error().message.find("https://127.0.0.1:1"), std::string::npos);
  auto again = v.Validate(token);  // within the backoff: fails fast, same answer
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kUnavailable);
}

TEST_F(JwtValidatorTest, DiscoveryMustNameTheConfiguredIssuer) {
  IssuerConfig c = Config("github");
  c.issuer = issuer_->url() + "/";  // the document says the URL without the slash
  JwtValidator v({c}, Http(issuer_->ca_pem()));
  auto id = v.Validate(Mint({"--shape", "github", "--claim", "iss=" + c.issuer}));
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(id.error().message.find("another issuer"), std::string::npos);
}

TEST_F(JwtValidatorTest, UntrustedIssuerCertificateIsUnavailable) {
  // The system store does not know the test CA: TLS must fail.
  IssuerConfig c = Config("github");
  JwtValidator v({c}, Http("", 1));
  auto id = v.Validate(Mint({"--shape", "github"}));
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kUnavailable);
  // A per-issuer ca_bundle gives that issuer a client of its own.
  c.ca_bundle = issuer_->ca_pem();
  JwtValidator with_ca({c}, Http("", 1));
  EXPECT_TRUE(with_ca.Validate(Mint({"--shape", "github"})));
}

TEST_F(JwtValidatorTest, ExplicitJwksUriSkipsDiscovery) {
  IssuerConfig c = Config("github");
  c.jwks_uri = issuer_->url() + "/jwks";
  JwtValidator v({c}, Http(issuer_->ca_pem()));
  EXPECT_TRUE(v.Validate(Mint({"--shape", "github", "--alg", "ES256"})));
}

TEST_F(JwtValidatorTest, FindTokenFromGithubActionsEndpoint) {
  std::map<std::string, std::string> env = {
      {"ACTIONS_ID_TOKEN_REQUEST_URL", issuer_->url() + "/github/token"},
      {"ACTIONS_ID_TOKEN_REQUEST_TOKEN", issuer_->RequestToken()}};
  TokenSourceOptions options;
  options.audience = "signet";
  options.getenv = [&env](const std::string& n) -> std::optional<std::string> {
    auto it = env.find(n);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto http = Http(issuer_->ca_pem());
  auto found = FindToken(options, *http);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->source, "github-actions");
  auto id = Validator("github")->Validate(found->token.Reveal());
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->Claim("aud"), "signet");

  env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "wrong-request-token";
  auto refused = FindToken(options, *http);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(refused.error().message.find("wrong-request-token"), std::string::npos);
}

TEST_F(JwtValidatorTest, FindTokenFromAzurePipelinesEndpoint) {
  std::map<std::string, std::string> env = {
      {"SYSTEM_OIDCREQUESTURI", issuer_->url() + "/azure/oidctoken"},
      {"SYSTEM_ACCESSTOKEN", issuer_->RequestToken()}};
  TokenSourceOptions options;
  options.getenv = [&env](const std::string& n) -> std::optional<std::string> {
    auto it = env.find(n);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto http = Http(issuer_->ca_pem());
  auto found = FindToken(options, *http);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->source, "azure-pipelines");
  IssuerConfig c = Config("azure");
  c.audiences = {"api://AzureADTokenExchange"};
  JwtValidator v({c}, Http(issuer_->ca_pem()));
  auto id = v.Validate(found->token.Reveal());
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->normalized.at("ref"), "refs/heads/main");
  EXPECT_EQ(id->normalized.at("run_id"), "2024");
}

}  // namespace
}  // namespace signet::identity
