// SigV4 against AWS's published examples.
//
// Test vectors (data, not code) come from two AWS publications:
//  - the Signature Version 4 test suite (AWS General Reference, "Signature
//    Version 4 test suite"; the same files ship as aws-sig-v4-test-suite in
//    awslabs/aws-c-auth): get-vanilla, get-vanilla-query-order-key-case,
//    get-utf8, post-vanilla and post-x-www-form-urlencoded, all with access
//    key AKIDEXAMPLE, secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
//    region us-east-1, service "service", at 20150830T123600Z;
//  - the worked example of the AWS General Reference ("Create a signed AWS
//    API request": IAM ListUsers, GET https://iam.amazonaws.com/?Action=
//    ListUsers&Version=2010-05-08), with its canonical request hash, derived
//    signing key and signature.
#include "keys/awskms/sigv4.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace signet::aws {
namespace {

using ::testing::HasSubstr;

constexpr const char* kAccessKey = "AKIDEXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kDate = "20150830T123600Z";
constexpr const char* kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

SigV4Scope SuiteScope() { return SigV4Scope{kDate, "us-east-1", "service"}; }

SigV4Request SuiteRequest(std::string method, std::string path) {
  SigV4Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kDate}};
  r.payload_hash = kEmptyHash;
  return r;
}

std::string SuiteAuthorization(std::string_view signed_headers, std::string_view signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" +
         std::string(signed_headers) + ", Signature=" + std::string(signature);
}

TEST(SigV4Test, GetVanilla) {
  SigV4Request r = SuiteRequest("GET", "/");
  std::string signed_headers;
  EXPECT_EQ(CanonicalRequest(r, &signed_headers),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" +
                std::string(kEmptyHash));
  EXPECT_EQ(signed_headers, "host;x-amz-date");
  EXPECT_EQ(StringToSign(SuiteScope(), CanonicalRequest(r, nullptr)),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(AuthorizationHeader(r, kAccessKey, Secret(kSecret), SuiteScope()),
            SuiteAuthorization("host;x-amz-date",
                               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
}

TEST(SigV4Test, GetVanillaQueryOrderKeyCase) {
  SigV4Request r = SuiteRequest("GET", "/");
  r.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  EXPECT_THAT(CanonicalRequest(r, nullptr), HasSubstr("\nParam1=value1&Param2=value2\n"));
  EXPECT_EQ(AuthorizationHeader(r, kAccessKey, Secret(kSecret), SuiteScope()),
            SuiteAuthorization("host;x-amz-date",
                               "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST(SigV4Test, GetUtf8) {
  SigV4Request r = SuiteRequest("GET", "/\xe1\x88\xb4");  // U+1234
  EXPECT_THAT(CanonicalRequest(r, nullptr), HasSubstr("\n/%E1%88%B4\n"));
  EXPECT_EQ(AuthorizationHeader(r, kAccessKey, Secret(kSecret), SuiteScope()),
            SuiteAuthorization("host;x-amz-date",
                               "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"));
}

TEST(SigV4Test, PostVanilla) {
  SigV4Request r = SuiteRequest("POST", "/");
  EXPECT_EQ(AuthorizationHeader(r, kAccessKey, Secret(kSecret), SuiteScope()),
            SuiteAuthorization("host;x-amz-date",
                               "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
}

TEST(SigV4Test, PostXWwwFormUrlencoded) {
  SigV4Request r = SuiteRequest("POST", "/");
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  r.payload_hash = HexSha256("Param1=value1");
  EXPECT_EQ(r.payload_hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(StringToSign(SuiteScope(), CanonicalRequest(r, nullptr)),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  EXPECT_EQ(AuthorizationHeader(r, kAccessKey, Secret(kSecret), SuiteScope()),
            SuiteAuthorization("content-type;host;x-amz-date",
                               "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST(SigV4Test, IamListUsersExample) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"Action", "ListUsers"}, {"Version", "2010-05-08"}};
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"Host", "iam.amazonaws.com"},
               {"X-Amz-Date", kDate}};
  r.payload_hash = kEmptyHash;
  SigV4Scope scope{kDate, "us-east-1", "iam"};
  std::string canonical = CanonicalRequest(r, nullptr);
  EXPECT_EQ(canonical,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n" +
                std::string(kEmptyHash));
  EXPECT_EQ(HexSha256(canonical),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(HexEncode(SigningKey(Secret(kSecret), scope)),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  EXPECT_EQ(Signature(Secret(kSecret), scope, StringToSign(scope, canonical)),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  EXPECT_EQ(AuthorizationHeader(r, kAccessKey, Secret(kSecret), scope),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(SigV4Test, HeaderValuesAreTrimmedAndRepeatsJoined) {
  SigV4Request r = SuiteRequest("GET", "/");
  r.headers.emplace_back("My-Header1", "  a   b   c  ");
  r.headers.emplace_back("my-header2", "x");
  r.headers.emplace_back("MY-HEADER2", "y");
  std::string signed_headers;
  std::string canonical = CanonicalRequest(r, &signed_headers);
  EXPECT_THAT(canonical, HasSubstr("\nmy-header1:a b c\nmy-header2:x,y\n"));
  EXPECT_EQ(signed_headers, "host;my-header1;my-header2;x-amz-date");
}

TEST(SigV4Test, AmzDateIsUtc) { EXPECT_EQ(AmzDate(1440938160), "20150830T123600Z"); }

TEST(SigV4Test, SignHttpRequestMatchesTheSuiteAndAddsTheHeaders) {
  // post-x-www-form-urlencoded through the HttpRequest path: same signature.
  net::HttpRequest req;
  req.method = "POST";
  req.url = "https://example.amazonaws.com/";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = "Param1=value1";
  AwsCredentials creds;
  creds.access_key_id = kAccessKey;
  creds.secret_access_key = Secret(kSecret);
  ASSERT_TRUE(SignHttpRequest(req, creds, "us-east-1", "service", 1440938160));
  net::HttpResponse as_headers;  // reuse its case-insensitive lookup
  as_headers.headers = req.headers;
  EXPECT_EQ(as_headers.Header("host"), "example.amazonaws.com");
  EXPECT_EQ(as_headers.Header("x-amz-date"), kDate);
  EXPECT_EQ(as_headers.Header("x-amz-security-token"), "");
  EXPECT_EQ(as_headers.Header("authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4Test, SignHttpRequestSignsTheSessionTokenAndPort) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = "http://127.0.0.1:4566/?b=2&a=1";
  AwsCredentials creds;
  creds.access_key_id = "ASIAEXAMPLE";
  creds.secret_access_key = Secret(kSecret);
  creds.session_token = Secret("session-token-value");
  ASSERT_TRUE(SignHttpRequest(req, creds, "eu-west-1", "kms", 1440938160));
  net::HttpResponse h;
  h.headers = req.headers;
  EXPECT_EQ(h.Header("host"), "127.0.0.1:4566");
  EXPECT_EQ(h.Header("x-amz-security-token"), "session-token-value");
  EXPECT_THAT(h.Header("authorization"),
              HasSubstr("Credential=ASIAEXAMPLE/20150830/eu-west-1/kms/aws4_request, "
                        "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="));
  // Signing again (a refreshed credential) replaces, never duplicates.
  ASSERT_TRUE(SignHttpRequest(req, creds, "eu-west-1", "kms", 1440938161));
  int authorizations = 0;
  for (const auto& [n, v] : req.headers) authorizations += (n == "Authorization");
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(req.headers.size(), 4u);
}

TEST(SigV4Test, DefaultPortIsNotPartOfTheHost) {
  net::HttpRequest req;
  req.url = "https://kms.us-east-1.amazonaws.com:443/";
  AwsCredentials creds;
  creds.access_key_id = kAccessKey;
  creds.secret_access_key = Secret(kSecret);
  ASSERT_TRUE(SignHttpRequest(req, creds, "us-east-1", "kms", 0));
  net::HttpResponse h;
  h.headers = req.headers;
  EXPECT_EQ(h.Header("host"), "kms.us-east-1.amazonaws.com");
}

TEST(SigV4Test, AnyChangeChangesTheSignature) {
  SigV4Request r = SuiteRequest("POST", "/");
  std::string base = AuthorizationHeader(r, kAccessKey, Secret(kSecret), SuiteScope());
  SigV4Request body = r;
  body.payload_hash = HexSha256("x");
  EXPECT_NE(AuthorizationHeader(body, kAccessKey, Secret(kSecret), SuiteScope()), base);
  EXPECT_NE(AuthorizationHeader(r, kAccessKey, Secret("other"), SuiteScope()), base);
  SigV4Scope region = SuiteScope();
  region.region = "eu-west-1";
  EXPECT_NE(AuthorizationHeader(r, kAccessKey, Secret(kSecret), region), base);
}

TEST(SigV4Test, UnsignableUrlsFail) {
  AwsCredentials creds;
  creds.secret_access_key = Secret(kSecret);
  for (const char* url : {"ftp://x/", "https:///", "https://user@host/"}) {
    net::HttpRequest req;
    req.url = url;
    EXPECT_FALSE(SignHttpRequest(req, creds, "us-east-1", "kms", 0)) << url;
  }
}

}  // namespace
}  // namespace signet::aws
