#include "keys/gcpkms/gcpkms_api.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <vector>

#include "keys/cloud/cloud_http.h"
#include "keys/cloud/crc32c.h"

namespace signet::gcpkms {
namespace {

constexpr std::string_view kScheme = "gcpkms://";

// Resource ids: letters, digits, '-', '_' (and '.', ':' in domain-scoped
// project ids).
bool IdChars(std::string_view s) {
  return !s.empty() && s.size() <= 100 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

std::optional<int> Number(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<DigestAlgorithm> ShaDigest(std::string_view s) {
  if (s == "SHA256") return DigestAlgorithm::kSha256;
  if (s == "SHA384") return DigestAlgorithm::kSha384;
  if (s == "SHA512") return DigestAlgorithm::kSha512;
  return std::nullopt;
}

std::string OptionsFor(const SignatureAlgorithm& alg) {
  std::string options = "--digest " + std::string(DigestName(alg.digest));
  if (alg.scheme == SignatureScheme::kRsaPss) options += " --rsa-pss";
  return options;
}

// A CRC field (int64 as a decimal string, or a number) equal to crc32c(data).
bool CrcMatches(const cloud::Json& j, std::string_view field, ByteView data) {
  auto crc = cloud::IntegerMember(j, field);
  return crc && *crc == static_cast<std::int64_t>(cloud::Crc32c(data));
}

}  // namespace

Result<std::string> ParseKeyUri(std::string_view uri) {
  const std::string shown(uri.substr(0, 300));
  const std::string form =
      " (expected gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V)";
  if (!uri.starts_with(kScheme)) {
    return InvalidArgument("'" + shown + "' is not a gcpkms: URI" + form);
  }
  std::string_view name = uri.substr(kScheme.size());
  auto invalid = [&](std::string_view why) {
    std::string message = "key URI " + shown;
    message += why;
    message += form;
    return InvalidArgument(std::move(message));
  };
  constexpr std::array<std::string_view, 5> kCollections = {"projects", "locations", "keyRings",
                                                            "cryptoKeys", "cryptoKeyVersions"};
  std::string_view rest = name;
  for (std::size_t i = 0; i < kCollections.size(); ++i) {
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || rest.substr(0, slash) != kCollections[i]) {
      return invalid(" does not name a key version");
    }
    rest.remove_prefix(slash + 1);
    auto next = rest.find('/');
    std::string_view id = rest.substr(0, next);
    bool last = i + 1 == kCollections.size();
    if (!IdChars(id) || (last && next != std::string_view::npos) ||
        (!last && next == std::string_view::npos)) {
      std::string why = " has an invalid ";
      why += kCollections[i];
      why += " id";
      return invalid(why);
    }
    if (last && !Number(id)) {
      return invalid(": the key version must be a number");
    }
    if (!last) rest.remove_prefix(next + 1);
  }
  return std::string(name);
}

std::optional<KeyAlgorithm> ParseAlgorithm(std::string_view name) {
  // Underscore-separated parts.
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    auto end = name.find('_', start);
    parts.push_back(name.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  KeyAlgorithm out;
  if (parts.size() == 5 && parts[0] == "RSA" && parts[1] == "SIGN" &&
      (parts[2] == "PKCS1" || parts[2] == "PSS")) {
    auto bits = Number(parts[3]);
    auto digest = ShaDigest(parts[4]);
    if (!bits || !digest) return std::nullopt;
    out.signature = {parts[2] == "PSS" ? SignatureScheme::kRsaPss : SignatureScheme::kRsaPkcs1v15,
                     *digest};
    out.key_type = KeyType::kRsa;
    out.rsa_bits = *bits;
    return out;
  }
  if (name == "EC_SIGN_P256_SHA256") {
    out.signature = {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256};
    out.key_type = KeyType::kEcP256;
    return out;
  }
  if (name == "EC_SIGN_P384_SHA384") {
    out.signature = {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384};
    out.key_type = KeyType::kEcP384;
    return out;
  }
  return std::nullopt;
}

Result<KeyVersion> ParsePublicKeyResponse(std::string_view body, std::string_view resource) {
  SIGNET_ASSIGN_OR_RETURN(cloud::Json j,
                          cloud::ParseJsonObject(body, std::string(kService) + " getPublicKey"));
  auto name = cloud::StringMember(j, "name");
  if (!name || *name != resource) {
    return Unavailable(std::string(kService) + ": the getPublicKey answer is for '" +
                       name.value_or("").substr(0, 300) + "', not " + std::string(resource));
  }
  auto pem = cloud::StringMember(j, "pem");
  auto algorithm = cloud::StringMember(j, "algorithm");
  if (!pem || !algorithm) {
    return Unavailable(std::string(kService) + ": the getPublicKey answer has no pem or algorithm");
  }
  if (!CrcMatches(j, "pemCrc32c", AsBytes(*pem))) {
    return Unavailable(
        std::string(kService) +
        ": the public key's pemCrc32c does not match its PEM (corrupted in transit)");
  }
  auto key = PublicKey::FromPem(AsBytes(*pem));
  if (!key) {
    return FailedPrecondition(std::string(resource) + " (" + algorithm->substr(0, 60) +
                              "): the public key is not usable: " + key.error().message);
  }
  if (auto expected = ParseAlgorithm(*algorithm)) {
    bool fits = key->type() == expected->key_type &&
                (expected->rsa_bits == 0 || key->bits() == expected->rsa_bits);
    if (!fits) {
      return Unavailable(std::string(kService) + ": the public key of " + std::string(resource) +
                         " (" + key->Description() + ") does not fit its algorithm " + *algorithm);
    }
  }
  return KeyVersion{std::move(*key), std::move(*algorithm)};
}

Status CheckAlgorithm(const KeyVersion& key, const SignatureAlgorithm& requested) {
  auto algorithm = ParseAlgorithm(key.algorithm);
  if (!algorithm) {
    return FailedPrecondition("the key version's algorithm " + key.algorithm.substr(0, 60) +
                              " cannot sign a digest (signet uses RSA_SIGN_PKCS1_*, "
                              "RSA_SIGN_PSS_*, EC_SIGN_P256_SHA256 and EC_SIGN_P384_SHA384)");
  }
  if (algorithm->signature == requested) return {};
  return FailedPrecondition("the key version's algorithm " + key.algorithm + " signs " +
                            SignatureAlgorithmName(algorithm->signature) + ", not " +
                            SignatureAlgorithmName(requested) + ": sign with " +
                            OptionsFor(algorithm->signature));
}

std::string SignRequestBody(DigestAlgorithm alg, ByteView digest) {
  cloud::Json j = {
      {"digest", {{std::string(DigestName(alg)), Base64Encode(digest)}}},
      {"digestCrc32c", std::to_string(cloud::Crc32c(digest))},
  };
  return j.dump();
}

Result<Bytes> ParseSignResponse(std::string_view body, std::string_view resource) {
  SIGNET_ASSIGN_OR_RETURN(cloud::Json j,
                          cloud::ParseJsonObject(body, std::string(kService) + " asymmetricSign"));
  auto name = cloud::StringMember(j, "name");
  if (!name || *name != resource) {
    return Unavailable(std::string(kService) + ": the signature was made by '" +
                       name.value_or("").substr(0, 300) + "', not by " + std::string(resource) +
                       "; nothing was written");
  }
  if (cloud::BoolMember(j, "verifiedDigestCrc32c") != true) {
    return Unavailable(std::string(kService) +
                       ": the service did not confirm the digest's CRC32C "
                       "(verifiedDigestCrc32c is not true): the request may have been corrupted");
  }
  auto text = cloud::StringMember(j, "signature");
  if (!text) {
    return Unavailable(std::string(kService) + ": the asymmetricSign answer has no signature");
  }
  auto signature = Base64Decode(*text);
  if (!signature || signature->empty()) {
    return Unavailable(std::string(kService) + ": the asymmetricSign signature is not base64");
  }
  if (!CrcMatches(j, "signatureCrc32c", *signature)) {
    return Unavailable(std::string(kService) +
                       ": signatureCrc32c does not match the signature (corrupted in transit)");
  }
  return signature;
}

Error ServiceError(std::string_view service, const net::HttpResponse& response) {
  cloud::Json j = cloud::Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  std::string code;
  std::string message;
  if (const cloud::Json* e = cloud::Member(j, "error"); e != nullptr && e->is_object()) {
    code = cloud::StringMember(*e, "status").value_or("");
    message = cloud::StringMember(*e, "message").value_or("");
  } else if (auto oauth = cloud::StringMember(j, "error")) {
    code = *oauth;
    message = cloud::StringMember(j, "error_description").value_or("");
  }
  return net::HttpStatusError(service, response.status, code, message);
}

}  // namespace signet::gcpkms
