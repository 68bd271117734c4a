#include "keys/azurekv/azurekv_api.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "crypto/der.h"
#include "keys/cloud/jose.h"

namespace signet::azurekv {
namespace {

constexpr std::string_view kScheme = "azurekv://";

// Key Vault and Managed HSM DNS suffixes of the Azure clouds (public, China,
// US Government). The OAuth resource is "https://" + suffix.
constexpr std::array<std::string_view, 6> kSuffixes = {
    "vault.azure.net",     "managedhsm.azure.net",    "vault.azure.cn",
    "managedhsm.azure.cn", "vault.usgovcloudapi.net", "managedhsm.usgovcloudapi.net",
};

constexpr std::string_view kOidRsaEncryption = "1.2.840.113549.1.1.1";  // RFC 8017 A.1
constexpr std::string_view kOidEcPublicKey = "1.2.840.10045.2.1";       // RFC 5480 2.1.1
constexpr std::string_view kOidP256 = "1.2.840.10045.3.1.7";            // RFC 5480 2.1.1.1
constexpr std::string_view kOidP384 = "1.3.132.0.34";

bool AllOf(std::string_view s, bool (*ok)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), ok);
}
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsAlnumDash(char c) { return IsAlnum(c) || c == '-'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A base64url JWK member decoded; kUnavailable when the service sent garbage.
Result<Bytes> JwkBytes(const cloud::Json& jwk, std::string_view member) {
  auto text = cloud::StringMember(jwk, member);
  if (!text) {
    return Unavailable(std::string(kService) + ": the key's JWK has no '" + std::string(member) +
                       "'");
  }
  auto bytes = Base64UrlDecode(*text);
  if (!bytes || bytes->empty()) {
    return Unavailable(std::string(kService) + ": the key's JWK member '" + std::string(member) +
                       "' is not base64url");
  }
  return bytes;
}

// The vault-relative part of a kid: "https://HOST/keys/NAME/VERSION" ->
// VERSION, when HOST and NAME are the URI's.
Result<std::string> KidVersion(std::string_view kid, const KeyUri& uri) {
  std::string prefix = "https://" + uri.host + "/keys/" + uri.name + "/";
  if (kid.size() <= prefix.size() || Lower(kid.substr(0, prefix.size())) != Lower(prefix)) {
    return Unavailable(std::string(kService) + ": the answer names key '" +
                       std::string(kid.substr(0, 200)) + "', not " + uri.ToString());
  }
  std::string_view version = kid.substr(prefix.size());
  if (!AllOf(version, IsAlnum)) {
    return Unavailable(std::string(kService) + ": the answer's key id '" +
                       std::string(kid.substr(0, 200)) + "' has no valid version");
  }
  return std::string(version);
}

}  // namespace

std::string KeyUri::ToString() const {
  return std::string(kScheme) + host + "/keys/" + name + (version.empty() ? "" : "/" + version);
}

Result<KeyUri> ParseKeyUri(std::string_view uri) {
  const std::string shown(uri.substr(0, 200));
  const std::string form = " (expected azurekv://VAULT.vault.azure.net/keys/NAME[/VERSION])";
  if (!uri.starts_with(kScheme)) {
    return InvalidArgument("'" + shown + "' is not an azurekv: URI" + form);
  }
  std::string_view rest = uri.substr(kScheme.size());
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return InvalidArgument("key URI " + shown + " may not have a query, fragment or user" + form);
  }
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return InvalidArgument("key URI " + shown + " names no key" + form);
  }
  KeyUri out;
  out.host = Lower(rest.substr(0, slash));
  std::string_view path = rest.substr(slash + 1);

  for (std::string_view suffix : kSuffixes) {
    std::string dotted = "." + std::string(suffix);
    if (out.host.size() > dotted.size() && out.host.ends_with(dotted)) {
      std::string_view label =
          std::string_view(out.host).substr(0, out.host.size() - dotted.size());
      if (label.size() <= 63 && AllOf(label, IsAlnumDash)) {
        out.resource = "https://" + std::string(suffix);
      }
    }
  }
  if (out.resource.empty()) {
    return InvalidArgument("key URI " + shown + ": '" + out.host +
                           "' is not a Key Vault or Managed HSM host (*.vault.azure.net, "
                           "*.managedhsm.azure.net, or their Azure China / US Government names)");
  }
  if (!path.starts_with("keys/")) {
    return InvalidArgument("key URI " + shown + " has no /keys/ path" + form);
  }
  path.remove_prefix(5);
  auto vslash = path.find('/');
  std::string_view name = path.substr(0, vslash);
  std::string_view version = vslash == std::string_view::npos ? "" : path.substr(vslash + 1);
  if (name.size() > 127 || !AllOf(name, IsAlnumDash)) {
    return InvalidArgument("key URI " + shown +
                           ": the key name must be 1-127 letters, digits or '-'" + form);
  }
  if (vslash != std::string_view::npos && (version.size() > 64 || !AllOf(version, IsAlnum))) {
    return InvalidArgument("key URI " + shown + ": the key version must be letters and digits" +
                           form);
  }
  out.name = std::string(name);
  out.version = std::string(version);
  return out;
}

Result<PublicKey> PublicKeyFromJwk(const cloud::Json& jwk) {
  std::string kty = cloud::StringMember(jwk, "kty").value_or("");
  Bytes spki;
  if (kty == "RSA" || kty == "RSA-HSM") {
    SIGNET_ASSIGN_OR_RETURN(Bytes n, JwkBytes(jwk, "n"));
    SIGNET_ASSIGN_OR_RETURN(Bytes e, JwkBytes(jwk, "e"));
    Bytes rsa = der::Sequence({der::IntegerFromUnsigned(n), der::IntegerFromUnsigned(e)});
    spki = der::Sequence(
        {der::Sequence({der::Oid(kOidRsaEncryption), der::Null()}), der::BitString(rsa)});
  } else if (kty == "EC" || kty == "EC-HSM") {
    std::string crv = cloud::StringMember(jwk, "crv").value_or("");
    std::size_t size = 0;
    std::string_view oid;
    if (crv == "P-256") {
      size = 32;
      oid = kOidP256;
    } else if (crv == "P-384") {
      size = 48;
      oid = kOidP384;
    } else {
      return FailedPrecondition("the key is on curve '" + crv.substr(0, 20) +
                                "', which signet does not support (use P-256 or P-384)");
    }
    SIGNET_ASSIGN_OR_RETURN(Bytes x, JwkBytes(jwk, "x"));
    SIGNET_ASSIGN_OR_RETURN(Bytes y, JwkBytes(jwk, "y"));
    if (x.size() != size || y.size() != size) {
      return Unavailable(std::string(kService) + ": the key's " + crv +
                         " coordinates do not have " + std::to_string(size) + " bytes");
    }
    Bytes point{0x04};  // uncompressed (SEC 1 section 2.3.3)
    point.insert(point.end(), x.begin(), x.end());
    point.insert(point.end(), y.begin(), y.end());
    spki = der::Sequence(
        {der::Sequence({der::Oid(kOidEcPublicKey), der::Oid(oid)}), der::BitString(point)});
  } else {
    return FailedPrecondition("the key has type '" + kty.substr(0, 20) +
                              "', which cannot sign (use an RSA or EC key)");
  }
  auto key = PublicKey::FromSpkiDer(spki);
  if (!key) return FailedPrecondition("the key's public key is not usable: " + key.error().message);
  return key;
}

Result<KeyBundle> ParseKeyBundle(std::string_view body, const KeyUri& uri) {
  SIGNET_ASSIGN_OR_RETURN(cloud::Json j,
                          cloud::ParseJsonObject(body, std::string(kService) + " get key"));
  const cloud::Json* jwk = cloud::Member(j, "key");
  if (jwk == nullptr || !jwk->is_object()) {
    return Unavailable(std::string(kService) + ": the get key answer has no 'key' object");
  }
  std::string kid = cloud::StringMember(*jwk, "kid").value_or("");
  SIGNET_ASSIGN_OR_RETURN(std::string version, KidVersion(kid, uri));
  if (!uri.version.empty() && Lower(version) != Lower(uri.version)) {
    return Unavailable(std::string(kService) + ": asked for version " + uri.version +
                       ", the answer is version " + version);
  }
  if (const cloud::Json* attributes = cloud::Member(j, "attributes")) {
    if (cloud::BoolMember(*attributes, "enabled") == false) {
      return FailedPrecondition(uri.ToString() + " is disabled in the vault");
    }
  }
  if (const cloud::Json* ops = cloud::Member(*jwk, "key_ops"); ops != nullptr && ops->is_array()) {
    bool sign = std::any_of(ops->begin(), ops->end(),
                            [](const cloud::Json& op) { return op.is_string() && op == "sign"; });
    if (!sign) {
      return FailedPrecondition(uri.ToString() +
                                " does not permit the 'sign' operation (its key_ops)");
    }
  }
  auto key = PublicKeyFromJwk(*jwk);
  if (!key) return std::unexpected(key.error().WithContext(uri.ToString()));
  return KeyBundle{std::move(kid), std::move(version), std::move(*key)};
}

Result<std::string> JwaAlgorithm(const SignatureAlgorithm& alg, const PublicKey& key) {
  const std::string bits = std::to_string(DigestSize(alg.digest) * 8);
  switch (key.type()) {
    case KeyType::kRsa:
      if (alg.scheme == SignatureScheme::kRsaPkcs1v15) return "RS" + bits;
      if (alg.scheme == SignatureScheme::kRsaPss) return "PS" + bits;
      break;
    case KeyType::kEcP256:
      if (alg.scheme == SignatureScheme::kEcdsa && alg.digest == DigestAlgorithm::kSha256) {
        return std::string("ES256");
      }
      if (alg.scheme == SignatureScheme::kEcdsa) {
        return FailedPrecondition(
            "Key Vault signs with P-256 keys only as ES256 (ECDSA with "
            "SHA-256), not " +
            SignatureAlgorithmName(alg) + ": use --digest sha256");
      }
      break;
    case KeyType::kEcP384:
      if (alg.scheme == SignatureScheme::kEcdsa && alg.digest == DigestAlgorithm::kSha384) {
        return std::string("ES384");
      }
      if (alg.scheme == SignatureScheme::kEcdsa) {
        return FailedPrecondition(
            "Key Vault signs with P-384 keys only as ES384 (ECDSA with "
            "SHA-384), not " +
            SignatureAlgorithmName(alg) + ": use --digest sha384");
      }
      break;
    case KeyType::kEd25519:
      break;
  }
  return FailedPrecondition(SignatureAlgorithmName(alg) + " cannot be used with a " +
                            key.Description() + " key");
}

std::string SignRequestBody(std::string_view jwa, ByteView digest) {
  cloud::Json j = {{"alg", std::string(jwa)}, {"value", Base64UrlEncode(digest)}};
  return j.dump();
}

Result<Bytes> ParseSignResponse(std::string_view body, const KeyBundle& key) {
  SIGNET_ASSIGN_OR_RETURN(cloud::Json j,
                          cloud::ParseJsonObject(body, std::string(kService) + " sign"));
  if (auto kid = cloud::StringMember(j, "kid"); kid && Lower(*kid) != Lower(key.kid)) {
    return Unavailable(std::string(kService) + ": the signature was made by '" +
                       kid->substr(0, 200) + "', not by " + key.kid + "; nothing was written");
  }
  auto value = cloud::StringMember(j, "value");
  if (!value) return Unavailable(std::string(kService) + ": the sign answer has no 'value'");
  auto signature = Base64UrlDecode(*value);
  if (!signature || signature->empty()) {
    return Unavailable(std::string(kService) + ": the sign answer's 'value' is not base64url");
  }
  const KeyType type = key.public_key.type();
  if (type == KeyType::kEcP256 || type == KeyType::kEcP384) {
    // JWS ECDSA (RFC 7518 section 3.4): R and S, each the size of the field.
    const std::size_t expected = type == KeyType::kEcP256 ? 64 : 96;
    if (signature->size() != expected) {
      return Unavailable(std::string(kService) + ": the ECDSA signature has " +
                         std::to_string(signature->size()) + " bytes, not " +
                         std::to_string(expected) + "; nothing was written");
    }
    return EcdsaRawToDer(*signature);
  }
  return signature;
}

Error ServiceError(const net::HttpResponse& response) {
  cloud::Json j = cloud::Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  std::string code;
  std::string message;
  if (const cloud::Json* e = cloud::Member(j, "error"); e != nullptr && e->is_object()) {
    code = cloud::StringMember(*e, "code").value_or("");
    message = cloud::StringMember(*e, "message").value_or("");
    if (const cloud::Json* inner = cloud::Member(*e, "innererror")) {
      if (auto inner_code = cloud::StringMember(*inner, "code")) code += "/" + *inner_code;
    }
  }
  return net::HttpStatusError(kService, response.status, code, message);
}

}  // namespace signet::azurekv
