// azurekv: backend — key URIs, JWKs, the sign request and answer, Key Vault
// errors, Azure AD credentials, and the whole backend against an in-process
// fake of Key Vault and Azure AD that checks each request.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "cloud_fakes.h"
#include "crypto/digest.h"
#include "keys/azurekv/azure_credentials.h"
#include "keys/azurekv/azurekv_api.h"
#include "keys/azurekv/azurekv_key.h"
#include "test_keys.h"

namespace signet {
namespace {

using nlohmann::json;
using signet::testing::FakeService;
using signet::testing::JsonAnswer;
using signet::testing::KeyKind;
using signet::testing::ScopedEnv;
using signet::testing::SharedKey;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kClientId = "0b5cbd0e-7e0d-4c7b-9b7d-2f1e6c3a9e51";
constexpr std::string_view kVersion = "0123456789abcdef0123456789abcdef";

json Jwk(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    return {{"kty", "RSA"},
            {"n", Base64UrlEncode(testing::KeyParam(key, "n"))},
            {"e", Base64UrlEncode(testing::KeyParam(key, "e"))}};
  }
  const std::size_t size = EVP_PKEY_get_bits(key) == 256 ? 32 : 48;
  return {{"kty", "EC-HSM"},
          {"crv", size == 32 ? "P-256" : "P-384"},
          {"x", Base64UrlEncode(testing::KeyParam(key, "qx", size))},
          {"y", Base64UrlEncode(testing::KeyParam(key, "qy", size))}};
}

// ---- URIs ----

TEST(AzureKvUriTest, ParsesVaultAndManagedHsmKeys) {
  auto uri = azurekv::ParseKeyUri("azurekv://MyVault.vault.azure.net/keys/code-sign");
  ASSERT_TRUE(uri.has_value()) << uri.error().message;
  EXPECT_EQ(uri->host, "myvault.vault.azure.net");
  EXPECT_EQ(uri->name, "code-sign");
  EXPECT_EQ(uri->version, "");
  EXPECT_EQ(uri->resource, "https://vault.azure.net");
  EXPECT_EQ(uri->ToString(), "azurekv://myvault.vault.azure.net/keys/code-sign");

  auto pinned = azurekv::ParseKeyUri("azurekv://v.vault.azure.net/keys/k/" + std::string(kVersion));
  ASSERT_TRUE(pinned.has_value());
  EXPECT_EQ(pinned->version, kVersion);

  auto hsm = azurekv::ParseKeyUri("azurekv://pool.managedhsm.azure.net/keys/k");
  ASSERT_TRUE(hsm.has_value());
  EXPECT_EQ(hsm->resource, "https://managedhsm.azure.net");
  auto china = azurekv::ParseKeyUri("azurekv://v.vault.azure.cn/keys/k");
  ASSERT_TRUE(china.has_value());
  EXPECT_EQ(china->resource, "https://vault.azure.cn");
}

TEST(AzureKvUriTest, RefusesOtherHostsAndMalformedPaths) {
  for (std::string_view bad : {
           "azurekv://example.com/keys/k",      // not a vault: no token goes there
           "azurekv://vault.azure.net/keys/k",  // no vault name
           "azurekv://v.vault.azure.net.evil.com/keys/k",
           "azurekv://v.vault.azure.net:8443/keys/k",
           "azurekv://user@v.vault.azure.net/keys/k",
           "azurekv://v.vault.azure.net/secrets/k",
           "azurekv://v.vault.azure.net/keys/",
           "azurekv://v.vault.azure.net/keys/a_b",    // names: letters, digits, '-'
           "azurekv://v.vault.azure.net/keys/k/v-1",  // versions: letters and digits
           "azurekv://v.vault.azure.net/keys/k/1/2",
           "azurekv://v.vault.azure.net/keys/k?api-version=1",
           "azurekv:v.vault.azure.net/keys/k",
       }) {
    auto uri = azurekv::ParseKeyUri(bad);
    ASSERT_FALSE(uri.has_value()) << bad;
    EXPECT_EQ(uri.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

// ---- JWKs and key bundles ----

TEST(AzureKvJwkTest, RsaAndEcKeysMatchTheirSource) {
  for (KeyKind kind : {KeyKind::kRsa2048, KeyKind::kEcP256, KeyKind::kEcP384}) {
    EVP_PKEY* key = SharedKey(kind);
    auto pub = azurekv::PublicKeyFromJwk(Jwk(key));
    ASSERT_TRUE(pub.has_value()) << testing::KeyKindName(kind) << ": " << pub.error().message;
    EXPECT_EQ(EVP_PKEY_eq(pub->evp(), key), 1) << testing::KeyKindName(kind);
  }
}

TEST(AzureKvJwkTest, RefusesKeysThatCannotSignHere) {
  json oct = {{"kty", "oct-HSM"}};
  EXPECT_EQ(azurekv::PublicKeyFromJwk(oct).error().code, ErrorCode::kFailedPrecondition);
  json p521 = Jwk(SharedKey(KeyKind::kEcP256));
  p521["crv"] = "P-521";
  EXPECT_EQ(azurekv::PublicKeyFromJwk(p521).error().code, ErrorCode::kFailedPrecondition);
  json short_x = Jwk(SharedKey(KeyKind::kEcP256));
  short_x["x"] = Base64UrlEncode(Bytes(31, 1));
  EXPECT_EQ(azurekv::PublicKeyFromJwk(short_x).error().code, ErrorCode::kUnavailable);
  json padded = Jwk(SharedKey(KeyKind::kRsa2048));
  padded["n"] = padded["n"].get<std::string>() + "=";
  EXPECT_FALSE(azurekv::PublicKeyFromJwk(padded).has_value());
}

class AzureKvBundleTest : public ::testing::Test {
 protected:
  json Answer() {
    json jwk = Jwk(SharedKey(KeyKind::kEcP256));
    jwk["kid"] = "https://myvault.vault.azure.net/keys/k/" + std::string(kVersion);
    jwk["key_ops"] = {"sign", "verify"};
    return {{"key", jwk}, {"attributes", {{"enabled", true}}}};
  }
  azurekv::KeyUri uri_ = *azurekv::ParseKeyUri("azurekv://myvault.vault.azure.net/keys/k");
};

TEST_F(AzureKvBundleTest, PinsTheVersionOfTheAnswer) {
  auto bundle = azurekv::ParseKeyBundle(Answer().dump(), uri_);
  ASSERT_TRUE(bundle.has_value()) << bundle.error().message;
  EXPECT_EQ(bundle->version, kVersion);
  EXPECT_EQ(bundle->public_key.type(), KeyType::kEcP256);
}

TEST_F(AzureKvBundleTest, RefusesAnswersForAnotherKeyOrVersion) {
  json other_vault = Answer();
  other_vault["key"]["kid"] = "https://othervault.vault.azure.net/keys/k/" + std::string(kVersion);
  EXPECT_EQ(azurekv::ParseKeyBundle(other_vault.dump(), uri_).error().code,
            ErrorCode::kUnavailable);
  json other_key = Answer();
  other_key["key"]["kid"] = "https://myvault.vault.azure.net/keys/k2/" + std::string(kVersion);
  EXPECT_FALSE(azurekv::ParseKeyBundle(other_key.dump(), uri_).has_value());
  azurekv::KeyUri pinned = uri_;
  pinned.version = "ffff";
  EXPECT_FALSE(azurekv::ParseKeyBundle(Answer().dump(), pinned).has_value());
}

TEST_F(AzureKvBundleTest, RefusesDisabledKeysAndKeysWithoutSign) {
  json disabled = Answer();
  disabled["attributes"]["enabled"] = false;
  EXPECT_EQ(azurekv::ParseKeyBundle(disabled.dump(), uri_).error().code,
            ErrorCode::kFailedPrecondition);
  json verify_only = Answer();
  verify_only["key"]["key_ops"] = {"verify"};
  auto e = azurekv::ParseKeyBundle(verify_only.dump(), uri_);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(e.error().message, HasSubstr("'sign'"));
}

// ---- sign ----

TEST(AzureKvSignTest, JwaAlgorithms) {
  auto rsa = *PublicKey::FromEvp(SharedKey(KeyKind::kRsa2048));
  auto p256 = *PublicKey::FromEvp(SharedKey(KeyKind::kEcP256));
  auto p384 = *PublicKey::FromEvp(SharedKey(KeyKind::kEcP384));
  using S = SignatureScheme;
  using D = DigestAlgorithm;
  EXPECT_EQ(azurekv::JwaAlgorithm({S::kRsaPkcs1v15, D::kSha256}, rsa).value(), "RS256");
  EXPECT_EQ(azurekv::JwaAlgorithm({S::kRsaPkcs1v15, D::kSha512}, rsa).value(), "RS512");
  EXPECT_EQ(azurekv::JwaAlgorithm({S::kRsaPss, D::kSha384}, rsa).value(), "PS384");
  EXPECT_EQ(azurekv::JwaAlgorithm({S::kEcdsa, D::kSha256}, p256).value(), "ES256");
  EXPECT_EQ(azurekv::JwaAlgorithm({S::kEcdsa, D::kSha384}, p384).value(), "ES384");
  for (auto [alg, key] : {std::pair{SignatureAlgorithm{S::kEcdsa, D::kSha384}, p256},
                          std::pair{SignatureAlgorithm{S::kEcdsa, D::kSha256}, p384},
                          std::pair{SignatureAlgorithm{S::kEcdsa, D::kSha256}, rsa},
                          std::pair{SignatureAlgorithm{S::kRsaPss, D::kSha256}, p256}}) {
    auto jwa = azurekv::JwaAlgorithm(alg, key);
    ASSERT_FALSE(jwa.has_value()) << SignatureAlgorithmName(alg) << " " << key.Description();
    EXPECT_EQ(jwa.error().code, ErrorCode::kFailedPrecondition);
  }
}

TEST(AzureKvSignTest, RequestBodyIsBase64UrlWithoutPadding) {
  Bytes digest(32, 0xfb);
  json body = json::parse(azurekv::SignRequestBody("PS256", digest));
  EXPECT_EQ(body, (json{{"alg", "PS256"}, {"value", Base64UrlEncode(digest)}}));
  EXPECT_THAT(body["value"].get<std::string>(), Not(HasSubstr("=")));
  EXPECT_THAT(body["value"].get<std::string>(), HasSubstr("-"));
}

TEST(AzureKvSignTest, EcdsaAnswersBecomeDer) {
  EVP_PKEY* key = SharedKey(KeyKind::kEcP256);
  azurekv::KeyBundle bundle{"https://v.vault.azure.net/keys/k/1", "1", *PublicKey::FromEvp(key)};
  Bytes digest = Digest(DigestAlgorithm::kSha256, AsBytes("data"));
  Bytes der = testing::SignDigest(key, "sha256", digest);
  Bytes raw = testing::EcdsaDerToRaw(der, 32);
  json answer = {{"kid", bundle.kid}, {"value", Base64UrlEncode(raw)}};
  auto signature = azurekv::ParseSignResponse(answer.dump(), bundle);
  ASSERT_TRUE(signature.has_value()) << signature.error().message;
  EXPECT_TRUE(bundle.public_key.VerifyDigest({SignatureScheme::kEcdsa, DigestAlgorithm::kSha256},
                                             digest, *signature));
  answer["value"] = Base64UrlEncode(der);  // DER is not what JOSE sends
  EXPECT_EQ(azurekv::ParseSignResponse(answer.dump(), bundle).error().code,
            ErrorCode::kUnavailable);
  answer = {{"kid", "https://v.vault.azure.net/keys/k/2"}, {"value", Base64UrlEncode(raw)}};
  EXPECT_EQ(azurekv::ParseSignResponse(answer.dump(), bundle).error().code,
            ErrorCode::kUnavailable);
  EXPECT_EQ(azurekv::ParseSignResponse("{not json", bundle).error().code, ErrorCode::kUnavailable);
}

TEST(AzureKvErrorTest, KeepsKeyVaultsCodeAndMessage) {
  net::HttpResponse forbidden{
      403,
      {},
      R"({"error":{"code":"Forbidden","message":"Caller is not authorized","innererror":{"code":"ForbiddenByPolicy"}}})"};
  Error e = azurekv::ServiceError(forbidden);
  EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(
      e.message,
      HasSubstr(
          "Azure Key Vault: Forbidden/ForbiddenByPolicy: Caller is not authorized (HTTP 403)"));
  EXPECT_EQ(azurekv::ServiceError({429, {}, "{}"}).code, ErrorCode::kUnavailable);
  EXPECT_EQ(azurekv::ServiceError({404, {}, ""}).code, ErrorCode::kNotFound);
  EXPECT_EQ(azurekv::ServiceError({400, {}, ""}).code, ErrorCode::kInvalidArgument);
}

// ---- credentials ----

TEST(AzureCredentialTest, TokenEndpoint) {
  EXPECT_EQ(azurekv::TokenEndpoint("https://login.microsoftonline.com/", "contoso.onmicrosoft.com")
                .value(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
  EXPECT_FALSE(azurekv::TokenEndpoint("https://login.microsoftonline.com", "a/b").has_value());
  EXPECT_FALSE(azurekv::TokenEndpoint("login.microsoftonline.com", "t").has_value());
}

TEST(AzureCredentialTest, CertificateAssertion) {
  EVP_PKEY* key = SharedKey(KeyKind::kRsa2048);
  testing::TestPki pki = testing::MakePki(key);
  Certificate cert = Certificate::FromX509(pki.leaf_cert.get());
  const std::string endpoint = "https://login.microsoftonline.com/t/oauth2/v2.0/token";
  auto jwt = azurekv::CertificateAssertion(cert, key, kClientId, endpoint, 1'700'000'000, "jti-1");
  ASSERT_TRUE(jwt.has_value()) << jwt.error().message;
  EXPECT_TRUE(testing::JwtVerifies(jwt->Reveal(), key));
  auto [header, claims] = testing::JwtParts(jwt->Reveal());
  unsigned char sha1[20];
  unsigned int len = 0;
  X509_digest(pki.leaf_cert.get(), EVP_sha1(), sha1, &len);
  EXPECT_EQ(
      header,
      (json{{"alg", "RS256"}, {"typ", "JWT"}, {"x5t", Base64UrlEncode(ByteView(sha1, len))}}));
  EXPECT_EQ(claims["aud"], endpoint);
  EXPECT_EQ(claims["iss"], kClientId);
  EXPECT_EQ(claims["sub"], kClientId);
  EXPECT_EQ(claims["jti"], "jti-1");
  EXPECT_EQ(claims["nbf"], 1'700'000'000);
  EXPECT_EQ(claims["exp"], 1'700'000'600);
}

// Clears every Azure credential variable for a test.
class AzureEnv {
 public:
  AzureEnv() = default;

 private:
  ScopedEnv secret_{"AZURE_CLIENT_SECRET", std::nullopt};
  ScopedEnv cert_{"AZURE_CLIENT_CERTIFICATE_PATH", std::nullopt};
  ScopedEnv cert_password_{"AZURE_CLIENT_CERTIFICATE_PASSWORD", std::nullopt};
  ScopedEnv federated_{"AZURE_FEDERATED_TOKEN_FILE", std::nullopt};
  ScopedEnv endpoint_{"IDENTITY_ENDPOINT", std::nullopt};
  ScopedEnv header_{"IDENTITY_HEADER", std::nullopt};
  ScopedEnv imds_{"AZURE_POD_IDENTITY_AUTHORITY_HOST", std::nullopt};
  ScopedEnv authority_{"AZURE_AUTHORITY_HOST", std::nullopt};
  ScopedEnv vault_endpoint_{"SIGNET_AZUREKV_ENDPOINT", std::nullopt};
  ScopedEnv tenant_{"AZURE_TENANT_ID", std::string(kTenant)};
  ScopedEnv client_{"AZURE_CLIENT_ID", std::string(kClientId)};
};

TEST(AzureCredentialTest, IncompleteConfigurationIsAPreconditionError) {
  AzureEnv env;
  ScopedEnv secret("AZURE_CLIENT_SECRET", "s");
  ScopedEnv no_tenant("AZURE_TENANT_ID", std::nullopt);
  auto source = azurekv::CredentialFromEnvironment("https://vault.azure.net", nullptr);
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(source.error().message, HasSubstr("AZURE_TENANT_ID"));
}

TEST(AzureCredentialTest, ArcStyleManagedIdentityIsRefused) {
  AzureEnv env;
  ScopedEnv endpoint("IDENTITY_ENDPOINT", "http://127.0.0.1:40342/metadata/identity/oauth2/token");
  auto source = azurekv::CredentialFromEnvironment("https://vault.azure.net", nullptr);
  ASSERT_FALSE(source.has_value());
  EXPECT_THAT(source.error().message, HasSubstr("IDENTITY_HEADER"));
}

TEST(AzureCredentialTest, ImdsWhenNothingElseIsConfigured) {
  AzureEnv env;
  testing::FakeService imds([](const net::HttpRequest& r) {
    EXPECT_EQ(r.url,
              "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
              "&resource=https%3A%2F%2Fvault.azure.net&client_id=" +
                  std::string(kClientId));
    EXPECT_EQ(testing::HeaderOf(r, "Metadata"), "true");
    return JsonAnswer(200, {{"access_token", "mi-token"}, {"expires_in", "3599"}});
  });
  auto source = azurekv::CredentialFromEnvironment("https://vault.azure.net", imds.Factory());
  ASSERT_TRUE(source.has_value()) << source.error().message;
  // Its own client: plain http to the link-local address only, a short connect timeout.
  ASSERT_EQ(imds.options().size(), 1U);
  EXPECT_EQ(imds.options()[0].plain_http_hosts, std::vector<std::string>{"169.254.169.254"});
  EXPECT_EQ(imds.options()[0].connect_timeout, std::chrono::milliseconds(1000));
  testing::FakeService unused([](const net::HttpRequest&) { return net::HttpResponse{}; });
  auto http = unused.Factory()({});
  auto token = (*source)->Fetch(*http);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_EQ(token->value.Reveal(), "mi-token");
  EXPECT_TRUE(unused.requests().empty());
}

// ---- the backend against a fake Key Vault + Azure AD ----

class AzureKvBackendTest : public ::testing::Test {
 protected:
  AzureKvBackendTest()
      : service_([this](const net::HttpRequest& r) { return Handle(r); }),
        backend_(MakeAzureKvKeyBackend(service_.Factory())) {}

  net::HttpResponse Handle(const net::HttpRequest& r) {
    const std::string aad =
        "https://login.microsoftonline.com/" + std::string(kTenant) + "/oauth2/v2.0/token";
    if (r.url == aad) {
      EXPECT_EQ(r.method, "POST");
      EXPECT_EQ(testing::HeaderOf(r, "Content-Type"), "application/x-www-form-urlencoded");
      auto form = testing::ParseForm(r.body);
      EXPECT_EQ(form["grant_type"], "client_credentials");
      EXPECT_EQ(form["client_id"], kClientId);
      EXPECT_EQ(form["scope"], "https://vault.azure.net/.default");
      if (form["client_secret"] != "the-secret") {
        return JsonAnswer(401, {{"error", "invalid_client"},
                                {"error_description", "AADSTS7000215: Invalid client secret"}});
      }
      return JsonAnswer(
          200, {{"token_type", "Bearer"}, {"expires_in", 3599}, {"access_token", "tok-abc"}});
    }
    EXPECT_EQ(testing::HeaderOf(r, "Authorization"), "Bearer tok-abc");
    const std::string base = "https://myvault.vault.azure.net/keys/";
    if (r.method == "GET") {
      EXPECT_EQ(r.url, base + name_ + "?api-version=7.4");
      json jwk = Jwk(key_);
      jwk["kid"] = base + name_ + "/" + std::string(kVersion);
      return JsonAnswer(200, {{"key", jwk}, {"attributes", {{"enabled", true}}}});
    }
    EXPECT_EQ(r.url, base + name_ + "/" + std::string(kVersion) + "/sign?api-version=7.4");
    EXPECT_EQ(testing::HeaderOf(r, "Content-Type"), "application/json");
    json body = json::parse(r.body);
    last_alg_ = body["alg"];
    Bytes digest = *Base64UrlDecode(body["value"].get<std::string>());
    if (bad_signature_) digest[0] ^= 1;
    Bytes signature = testing::SignDigest(key_, DigestFor(last_alg_), digest, last_alg_[0] == 'P');
    if (last_alg_[0] == 'E')
      signature = testing::EcdsaDerToRaw(signature, last_alg_ == "ES256" ? 32 : 48);
    return JsonAnswer(200, {{"kid", base + name_ + "/" + std::string(kVersion)},
                            {"value", Base64UrlEncode(signature)}});
  }
  static std::string DigestFor(const std::string& alg) { return "sha" + alg.substr(2); }

  Result<Bytes> SignWith(std::string_view uri, SignatureAlgorithm alg) {
    SIGNET_ASSIGN_OR_RETURN(auto signer, backend_->Open(uri, {}));
    Bytes digest = Digest(alg.digest, AsBytes("to be signed"));
    SIGNET_ASSIGN_OR_RETURN(Bytes signature, signer->Sign({alg, digest, {}}));
    EXPECT_TRUE(signer->public_key().VerifyDigest(alg, digest, signature));
    return signature;
  }

  AzureEnv env_;
  ScopedEnv secret_{"AZURE_CLIENT_SECRET", "the-secret"};
  FakeService service_;
  std::unique_ptr<KeyBackend> backend_;
  EVP_PKEY* key_ = SharedKey(KeyKind::kRsa2048);
  std::string name_ = "rsa";
  std::string last_alg_;
  bool bad_signature_ = false;
};

TEST_F(AzureKvBackendTest, SignsRsaPkcs1AndPss) {
  ASSERT_TRUE(SignWith("azurekv://myvault.vault.azure.net/keys/rsa",
                       {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256}));
  EXPECT_EQ(last_alg_, "RS256");
  ASSERT_TRUE(SignWith("azurekv://myvault.vault.azure.net/keys/rsa",
                       {SignatureScheme::kRsaPss, DigestAlgorithm::kSha512}));
  EXPECT_EQ(last_alg_, "PS512");
  // One token and one key fetch for the process; two signatures.
  EXPECT_EQ(service_.Count("oauth2/v2.0/token"), 1);
  EXPECT_EQ(service_.Count("/keys/rsa?"), 1);
  EXPECT_EQ(service_.Count("/sign?"), 2);
}

TEST_F(AzureKvBackendTest, SignsEcdsa) {
  key_ = SharedKey(KeyKind::kEcP384);
  name_ = "ec";
  ASSERT_TRUE(SignWith("azurekv://myvault.vault.azure.net/keys/ec",
                       {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384}));
  EXPECT_EQ(last_alg_, "ES384");
}

TEST_F(AzureKvBackendTest, RefusesASignatureThatDoesNotVerify) {
  bad_signature_ = true;
  auto signature = SignWith("azurekv://myvault.vault.azure.net/keys/rsa",
                            {SignatureScheme::kRsaPkcs1v15, DigestAlgorithm::kSha256});
  ASSERT_FALSE(signature.has_value());
  EXPECT_EQ(signature.error().code, ErrorCode::kUnavailable);
}

TEST_F(AzureKvBackendTest, WrongSecretIsPermissionDeniedAndNotQuoted) {
  ScopedEnv wrong("AZURE_CLIENT_SECRET", "wrong-secret-value");
  auto signer = backend_->Open("azurekv://myvault.vault.azure.net/keys/rsa", {});
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(signer.error().message, HasSubstr("AADSTS7000215"));
  EXPECT_THAT(signer.error().message, Not(HasSubstr("wrong-secret-value")));
}

TEST_F(AzureKvBackendTest, MismatchedAlgorithmFailsBeforeAnyRequest) {
  key_ = SharedKey(KeyKind::kEcP256);
  name_ = "ec";
  auto signer = backend_->Open("azurekv://myvault.vault.azure.net/keys/ec", {});
  ASSERT_TRUE(signer.has_value());
  Bytes digest(48, 1);
  auto signature =
      (*signer)->Sign({{SignatureScheme::kEcdsa, DigestAlgorithm::kSha384}, digest, {}});
  ASSERT_FALSE(signature.has_value());
  EXPECT_EQ(signature.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(service_.Count("/sign?"), 0);
}

}  // namespace
}  // namespace signet
