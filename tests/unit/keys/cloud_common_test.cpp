// Shared code of the cloud key backends (core/keys/cloud): base64url, RS256
// JWTs, PEM keys in Secrets, JSON access that never throws, form encoding,
// OAuth errors and token caching.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "cloud_fakes.h"
#include "keys/cloud/cloud_http.h"
#include "keys/cloud/jose.h"
#include "test_keys.h"

namespace signet::cloud {
namespace {

using signet::testing::KeyKind;
using signet::testing::SharedKey;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

TEST(Base64UrlTest, EncodesWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(AsBytes("")), "");
  EXPECT_EQ(Base64UrlEncode(AsBytes("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(AsBytes("fo")), "Zm8");
  EXPECT_EQ(Base64UrlEncode(AsBytes("foo")), "Zm9v");
  EXPECT_EQ(Base64UrlEncode(Bytes{0xfb, 0xff, 0xbf}), "-_-_");  // "+/+/" in base64
}

TEST(Base64UrlTest, DecodesStrictly) {
  EXPECT_EQ(Base64UrlDecode("-_-_").value(), (Bytes{0xfb, 0xff, 0xbf}));
  EXPECT_EQ(ToString(Base64UrlDecode("Zm8").value()), "fo");
  EXPECT_FALSE(Base64UrlDecode("Zm8=").has_value());   // padding
  EXPECT_FALSE(Base64UrlDecode("+/+/").has_value());   // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").has_value());  // impossible length
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());     // non-zero trailing bits
}

TEST(JwtTest, SignsRs256ThatVerifies) {
  EVP_PKEY* key = SharedKey(KeyKind::kRsa2048);
  auto jwt = SignJwtRs256(R"({"alg":"RS256","typ":"JWT"})", R"({"iss":"me"})", key);
  ASSERT_TRUE(jwt.has_value()) << jwt.error().message;
  std::string_view text = jwt->Reveal();
  EXPECT_TRUE(testing::JwtVerifies(text, key));
  auto [header, claims] = testing::JwtParts(text);
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(claims["iss"], "me");
}

TEST(JwtTest, RefusesNonRsaKeys) {
  auto jwt = SignJwtRs256("{}", "{}", SharedKey(KeyKind::kEcP256));
  ASSERT_FALSE(jwt.has_value());
  EXPECT_EQ(jwt.error().code, ErrorCode::kInvalidArgument);
}

TEST(JwtTest, PrivateKeyFromPemNeverQuotesTheInput) {
  Secret garbage(std::string("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n"));
  auto key = PrivateKeyFromPem(garbage, "the test key");
  ASSERT_FALSE(key.has_value());
  EXPECT_THAT(key.error().message, HasSubstr("the test key"));
  EXPECT_THAT(key.error().message, Not(HasSubstr("c2VjcmV0")));
  Secret good(testing::PrivateKeyPkcs8Pem(SharedKey(KeyKind::kRsa2048)));
  EXPECT_TRUE(PrivateKeyFromPem(good, "k").has_value());
}

TEST(JwtTest, RandomUuidIsVersion4) {
  auto a = RandomUuid();
  auto b = RandomUuid();
  ASSERT_TRUE(a && b);
  EXPECT_THAT(*a,
              MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_NE(*a, *b);
}

TEST(JsonTest, ParseJsonObjectRefusesOtherAnswers) {
  for (std::string_view body : {"", "[1]", "<html>proxy error</html>", R"({"a": )"}) {
    auto j = ParseJsonObject(body, "the service");
    ASSERT_FALSE(j.has_value()) << body;
    EXPECT_EQ(j.error().code, ErrorCode::kUnavailable);
    EXPECT_THAT(j.error().message, HasSubstr("the service"));
  }
  EXPECT_TRUE(ParseJsonObject(R"({"a": 1})", "x").has_value());
}

TEST(JsonTest, MembersNeverThrow) {
  Json j = Json::parse(R"({"s": "text", "n": 42, "ns": "1234", "neg": -5, "b": true, "o": {}})");
  EXPECT_EQ(StringMember(j, "s"), "text");
  EXPECT_EQ(StringMember(j, "n"), std::nullopt);
  EXPECT_EQ(IntegerMember(j, "n"), 42);
  EXPECT_EQ(IntegerMember(j, "ns"), 1234);  // proto3 int64
  EXPECT_EQ(IntegerMember(j, "neg"), -5);
  EXPECT_EQ(IntegerMember(j, "s"), std::nullopt);
  EXPECT_EQ(BoolMember(j, "b"), true);
  EXPECT_EQ(BoolMember(j, "n"), std::nullopt);
  EXPECT_EQ(Member(j, "missing"), nullptr);
  EXPECT_EQ(StringMember(Json::array(), "s"), std::nullopt);
  EXPECT_EQ(IntegerMember(Json(nullptr), "n"), std::nullopt);
}

TEST(JsonTest, TakeSecretMemberWipesTheJsonCopy) {
  Json j = Json::parse(R"({"access_token": "tok-123", "empty": ""})");
  auto token = TakeSecretMember(j, "access_token");
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->Reveal(), "tok-123");
  EXPECT_EQ(j["access_token"], "");
  EXPECT_FALSE(TakeSecretMember(j, "empty").has_value());
  EXPECT_FALSE(TakeSecretMember(j, "missing").has_value());
}

TEST(OAuthTest, FormEncodesReservedCharacters) {
  Secret body = FormEncode({{"grant_type", "client_credentials"},
                            {"scope", "https://vault.azure.net/.default"},
                            {"client_secret", "a b&c=d+e~"}});
  EXPECT_EQ(body.Reveal(),
            "grant_type=client_credentials&scope=https%3A%2F%2Fvault.azure.net%2F.default"
            "&client_secret=a%20b%26c%3Dd%2Be~");
  auto form = testing::ParseForm(body.Reveal());
  EXPECT_EQ(form["client_secret"], "a b&c=d+e~");
}

TEST(OAuthTest, ErrorCarriesTheServiceCodeAndDescription) {
  net::HttpResponse response{
      401, {}, R"({"error":"invalid_client","error_description":"AADSTS7000215: bad secret"})"};
  Error e = OAuthError("Azure AD", response);
  EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(e.message, HasSubstr("invalid_client"));
  EXPECT_THAT(e.message, HasSubstr("AADSTS7000215"));
  EXPECT_THAT(e.message, HasSubstr("HTTP 401"));
  Error google = OAuthError(
      "STS",
      {400, {}, R"({"error":{"code":400,"message":"bad audience","status":"INVALID_ARGUMENT"}})"});
  EXPECT_EQ(google.code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(google.message, HasSubstr("INVALID_ARGUMENT: bad audience"));
  EXPECT_EQ(OAuthError("x", {503, {}, "<html>"}).code, ErrorCode::kUnavailable);
}

TEST(OAuthTest, TokenExpiry) {
  using std::chrono::seconds;
  auto now = std::chrono::system_clock::from_time_t(1'700'000'000);
  EXPECT_EQ(TokenExpiry(Json::parse(R"({"expires_in": 3599})"), now), now + seconds(3599));
  EXPECT_EQ(TokenExpiry(Json::parse(R"({"expires_in": "60"})"), now), now + seconds(60));
  EXPECT_EQ(TokenExpiry(Json::parse(R"({"expires_on": "1700003600"})"), now),
            std::chrono::system_clock::from_time_t(1'700'003'600));
  EXPECT_EQ(TokenExpiry(Json::parse("{}"), now), now + std::chrono::minutes(5));
}

class CountingSource final : public TokenSource {
 public:
  explicit CountingSource(std::chrono::seconds lifetime) : lifetime_(lifetime) {}
  [[nodiscard]] std::string Describe() const override { return "counting"; }
  Result<AccessToken> Fetch(net::HttpClient&) override {
    ++fetches;
    return AccessToken{Secret("token-" + std::to_string(fetches)),
                       std::chrono::system_clock::now() + lifetime_};
  }
  int fetches = 0;

 private:
  std::chrono::seconds lifetime_;
};

TEST(OAuthTest, TokenCacheFetchesOnceWhileValid) {
  testing::FakeService service([](const net::HttpRequest&) { return net::HttpResponse{}; });
  auto http = service.Factory()({});
  auto source = std::make_unique<CountingSource>(std::chrono::seconds(3600));
  CountingSource* raw = source.get();
  TokenCache cache(std::move(source));
  EXPECT_EQ(cache.Get(*http)->Reveal(), "token-1");
  EXPECT_EQ(cache.Get(*http)->Reveal(), "token-1");
  EXPECT_EQ(raw->fetches, 1);
}

TEST(OAuthTest, TokenCacheRefreshesAnExpiringToken) {
  testing::FakeService service([](const net::HttpRequest&) { return net::HttpResponse{}; });
  auto http = service.Factory()({});
  auto source = std::make_unique<CountingSource>(std::chrono::seconds(30));  // < 1 minute left
  CountingSource* raw = source.get();
  TokenCache cache(std::move(source));
  EXPECT_EQ(cache.Get(*http)->Reveal(), "token-1");
  EXPECT_EQ(cache.Get(*http)->Reveal(), "token-2");
  EXPECT_EQ(raw->fetches, 2);
}

TEST(CredentialFileTest, ReadsTheWholeFileTrimmed) {
  signet::testing::TempDir dir;
  std::string path = dir.Write("token", std::string_view("line1\nline2\n\n"));
  auto secret = ReadCredentialFile(path, "TOKEN_FILE");
  ASSERT_TRUE(secret.has_value());
  EXPECT_EQ(secret->Reveal(), "line1\nline2");
  auto empty = ReadCredentialFile(dir.Write("empty", std::string_view("\n")), "TOKEN_FILE");
  ASSERT_FALSE(empty.has_value());
  EXPECT_THAT(empty.error().message, HasSubstr("TOKEN_FILE"));
  EXPECT_FALSE(ReadCredentialFile(dir.File("missing"), "TOKEN_FILE").has_value());
}

}  // namespace
}  // namespace signet::cloud
