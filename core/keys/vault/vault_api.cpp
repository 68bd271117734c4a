#include "keys/vault/vault_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "crypto/der.h"
#include "keys/cloud/cloud_http.h"

namespace signet::vault {
namespace {

constexpr std::string_view kScheme = "hashivault://";
constexpr std::string_view kOidEd25519 = "1.3.101.112";  // RFC 8410 section 3

bool NameChars(std::string_view s) {
  return !s.empty() && s.size() <= 256 && s != "." && s != ".." &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                  c == '.';
         });
}

bool MountPath(std::string_view s) {
  if (s.empty() || s.size() > 512) return false;
  for (std::size_t start = 0;;) {
    auto slash = s.find('/', start);
    if (!NameChars(s.substr(start, slash == std::string_view::npos ? slash : slash - start))) {
      return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// Percent-decoding of a query value (RFC 3986 section 2.1).
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto decoded = HexDecode(s.substr(i + 1, 2));
    if (!decoded) return std::nullopt;
    out += static_cast<char>((*decoded)[0]);
    i += 2;
  }
  return out;
}

std::optional<int> PositiveNumber(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v <= 0) return std::nullopt;
  return v;
}

// The key types and what signet can do with them.
bool SignsDigests(std::string_view type) {
  return type == "rsa-2048" || type == "rsa-3072" || type == "rsa-4096" || type == "ecdsa-p256" ||
         type == "ecdsa-p384";
}

bool TypeMatches(std::string_view type, const PublicKey& key) {
  if (type.starts_with("rsa-")) {
    return key.type() == KeyType::kRsa && std::to_string(key.bits()) == type.substr(4);
  }
  if (type == "ecdsa-p256") return key.type() == KeyType::kEcP256;
  if (type == "ecdsa-p384") return key.type() == KeyType::kEcP384;
  if (type == "ed25519") return key.type() == KeyType::kEd25519;
  return false;
}

}  // namespace

std::string KeyUri::ToString() const {
  std::string out = std::string(kScheme) + name;
  std::string query;
  if (mount != "transit") query += "mount=" + mount;
  if (version) query += (query.empty() ? "" : "&") + ("version=" + std::to_string(*version));
  return query.empty() ? out : out + "?" + query;
}

Result<KeyUri> ParseKeyUri(std::string_view uri) {
  const std::string shown(uri.substr(0, 200));
  const std::string form = " (expected hashivault://KEY[?mount=transit][&version=N])";
  if (!uri.starts_with(kScheme)) {
    return InvalidArgument("'" + shown + "' is not a hashivault: URI" + form);
  }
  std::string_view rest = uri.substr(kScheme.size());
  auto question = rest.find('?');
  std::string_view name = rest.substr(0, question);
  KeyUri out;
  if (!NameChars(name)) {
    return InvalidArgument("key URI " + shown +
                           ": the key name must be letters, digits, '-', '_' or '.'" + form);
  }
  out.name = std::string(name);
  if (question == std::string_view::npos) return out;
  std::string_view query = rest.substr(question + 1);
  auto invalid = [&](std::string_view why, std::string_view parameter) {
    std::string message = "key URI " + shown;
    message += why;
    message += parameter;
    message += form;
    return InvalidArgument(std::move(message));
  };
  for (std::size_t start = 0; start <= query.size();) {
    auto amp = query.find('&', start);
    std::string_view param = query.substr(start, amp == std::string_view::npos ? amp : amp - start);
    auto eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    auto value = PercentDecode(eq == std::string_view::npos ? "" : param.substr(eq + 1));
    if (key == "mount" && value && MountPath(*value)) {
      out.mount = *value;
    } else if (key == "version" && value && PositiveNumber(*value)) {
      out.version = PositiveNumber(*value);
    } else if (key == "mount" || key == "version") {
      return invalid(" has an invalid ", key);
    } else {
      return invalid(" has an unknown parameter: ", key.substr(0, 40));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

Result<KeyInfo> ParseKeyResponse(std::string_view body, const KeyUri& uri) {
  const std::string what = std::string(kService) + " read key " + uri.ToString();
  SIGNET_ASSIGN_OR_RETURN(cloud::Json j, cloud::ParseJsonObject(body, what));
  const cloud::Json* data = cloud::Member(j, "data");
  if (data == nullptr || !data->is_object()) {
    return Unavailable(what + ": the answer has no 'data'");
  }
  std::string type = cloud::StringMember(*data, "type").value_or("");
  if (cloud::BoolMember(*data, "supports_signing") != true) {
    return FailedPrecondition(uri.ToString() + " has type " + type.substr(0, 40) +
                              ", which cannot sign");
  }
  if (!SignsDigests(type) && type != "ed25519") {
    return FailedPrecondition(uri.ToString() + " has type " + type.substr(0, 40) +
                              "; signet signs with rsa-2048/3072/4096 and ecdsa-p256/p384 keys");
  }
  int version = 0;
  if (uri.version) {
    version = *uri.version;
  } else {
    auto latest = cloud::IntegerMember(*data, "latest_version");
    if (!latest || *latest <= 0 || *latest > INT32_MAX) {
      return Unavailable(what + ": the answer has no latest_version");
    }
    version = static_cast<int>(*latest);
  }
  const cloud::Json* keys = cloud::Member(*data, "keys");
  const cloud::Json* entry = keys ? cloud::Member(*keys, std::to_string(version)) : nullptr;
  if (entry == nullptr) {
    return NotFound(uri.ToString() + " has no version " + std::to_string(version) +
                    " (or it is below the key's min_available_version)");
  }
  auto public_text = cloud::StringMember(*entry, "public_key");
  if (!public_text) {
    return Unavailable(what + ": version " + std::to_string(version) + " has no public_key");
  }
  Result<PublicKey> key = InvalidArgument("");
  if (type == "ed25519") {
    // Vault gives Ed25519 public keys as base64 of the raw 32 bytes.
    auto raw = Base64Decode(*public_text);
    if (!raw || raw->size() != 32) {
      return Unavailable(what + ": the ed25519 public key is not 32 bytes");
    }
    key = PublicKey::FromSpkiDer(
        der::Sequence({der::Sequence({der::Oid(kOidEd25519)}), der::BitString(*raw)}));
  } else {
    key = PublicKey::FromPem(AsBytes(*public_text));
  }
  if (!key) return Unavailable(what + ": the public key is not usable: " + key.error().message);
  if (!TypeMatches(type, *key)) {
    return Unavailable(what + ": the public key (" + key->Description() + ") is not a " + type +
                       " key");
  }
  return KeyInfo{std::move(type), version, std::move(*key)};
}

std::string_view HashAlgorithmName(DigestAlgorithm alg) {
  switch (alg) {
    case DigestAlgorithm::kSha256:
      return "sha2-256";
    case DigestAlgorithm::kSha384:
      return "sha2-384";
    case DigestAlgorithm::kSha512:
      return "sha2-512";
  }
  return "sha2-256";
}

Result<std::string> SignRequestBody(const KeyInfo& key, const SignatureAlgorithm& alg,
                                    ByteView digest) {
  if (!SignsDigests(key.type)) {
    return FailedPrecondition("Vault " + key.type +
                              " keys sign whole messages, not digests: use an rsa-* or ecdsa-p256/"
                              "p384 transit key");
  }
  if (!SchemeFitsKey(alg.scheme, key.public_key.type())) {
    return FailedPrecondition(SignatureAlgorithmName(alg) + " cannot be used with a " + key.type +
                              " key");
  }
  cloud::Json j = {{"input", Base64Encode(digest)},
                   {"prehashed", true},
                   {"hash_algorithm", std::string(HashAlgorithmName(alg.digest))},
                   {"marshaling_algorithm", "asn1"},
                   {"key_version", key.version}};
  if (alg.scheme == SignatureScheme::kRsaPkcs1v15) j["signature_algorithm"] = "pkcs1v15";
  if (alg.scheme == SignatureScheme::kRsaPss) {
    j["signature_algorithm"] = "pss";
    j["salt_length"] = "hash";
  }
  return j.dump();
}

Result<Bytes> ParseSignResponse(std::string_view body, const KeyInfo& key) {
  const std::string what = std::string(kService) + " sign";
  SIGNET_ASSIGN_OR_RETURN(cloud::Json j, cloud::ParseJsonObject(body, what));
  const cloud::Json* data = cloud::Member(j, "data");
  auto text = data ? cloud::StringMember(*data, "signature") : std::nullopt;
  if (!text) return Unavailable(what + ": the answer has no data.signature");
  // vault:v<N>:<base64>
  const std::string prefix = "vault:v" + std::to_string(key.version) + ":";
  if (!text->starts_with(prefix)) {
    return Unavailable(what + ": the signature does not start with '" + prefix + "' but with '" +
                       text->substr(0, 12) + "' (another key version); nothing was written");
  }
  if (auto version = cloud::IntegerMember(*data, "key_version");
      version && *version != key.version) {
    return Unavailable(what + ": the answer says key_version " + std::to_string(*version) +
                       ", not " + std::to_string(key.version) + "; nothing was written");
  }
  auto signature = Base64Decode(std::string_view(*text).substr(prefix.size()));
  if (!signature || signature->empty()) return Unavailable(what + ": the signature is not base64");
  return signature;
}

Secret JwtLoginBody(std::string_view role, const Secret& jwt) {
  cloud::Json j = {{"role", std::string(role)}, {"jwt", std::string(jwt.Reveal())}};
  std::string body = j.dump();
  cloud::WipeString(j["jwt"].get_ref<std::string&>());
  return Secret(std::move(body));
}

Result<Secret> ParseLoginResponse(std::string body) {
  const std::string what = std::string(kService) + " JWT login";
  auto j = cloud::ParseJsonObject(body, what);
  cloud::WipeString(body);
  if (!j) return std::unexpected(j.error());
  cloud::Json* auth = j->is_object() && j->contains("auth") ? &(*j)["auth"] : nullptr;
  auto token = auth ? cloud::TakeSecretMember(*auth, "client_token") : std::nullopt;
  if (!token) return Unavailable(what + ": the answer has no auth.client_token");
  return std::move(*token);
}

Error ServiceError(std::string_view service, const net::HttpResponse& response) {
  cloud::Json j = cloud::Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  std::string message;
  if (const cloud::Json* errors = cloud::Member(j, "errors"); errors && errors->is_array()) {
    for (const auto& e : *errors) {
      if (!e.is_string()) continue;
      if (!message.empty()) message += "; ";
      message += e.get<std::string>();
    }
  }
  return net::HttpStatusError(service, response.status, "", message);
}

}  // namespace signet::vault
