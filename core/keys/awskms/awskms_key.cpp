#include "keys/awskms/awskms_key.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/http_client.h"

namespace signet {
namespace aws {
namespace {

using nlohmann::json;

constexpr std::string_view kScheme = "awskms://";

// KMS error types, by what the caller should do.
ErrorCode CodeForKmsError(std::string_view type, ErrorCode by_status) {
  static constexpr std::string_view kDenied[] = {
      "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
      "IncompleteSignature",   "ExpiredTokenException",       "MissingAuthenticationToken",
      "InvalidClientTokenId",  "SignatureDoesNotMatch",       "InvalidGrantTokenException",
      "AccessDenied"};
  static constexpr std::string_view kSetup[] = {
      "DisabledException", "KMSInvalidStateException", "InvalidKeyUsageException",
      "UnsupportedOperationException", "IncorrectKeyException"};
  static constexpr std::string_view kRetry[] = {
      "ThrottlingException",     "KMSInternalException",   "DependencyTimeoutException",
      "KeyUnavailableException", "LimitExceededException", "RequestLimitExceeded",
      "ServiceUnavailable",      "InternalFailure"};
  auto in = [&](const auto& list) {
    return std::find(std::begin(list), std::end(list), type) != std::end(list);
  };
  if (in(kDenied)) return ErrorCode::kPermissionDenied;
  if (in(kSetup)) return ErrorCode::kFailedPrecondition;
  if (in(kRetry)) return ErrorCode::kUnavailable;
  if (type == "NotFoundException") return ErrorCode::kNotFound;
  return by_status;
}

// The error type of an AWS JSON-protocol answer: "__type" in the body
// ("com.amazon...#AccessDeniedException" or just the name), else the
// x-amzn-ErrorType header ("Name:http://...").
std::string ErrorType(const net::HttpResponse& r, const json& body) {
  std::string type;
  if (body.is_object() && body.contains("__type") && body["__type"].is_string()) {
    type = body["__type"].get<std::string>();
  } else {
    type = r.Header("x-amzn-errortype");
    type = type.substr(0, type.find(':'));
  }
  if (auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  return type;
}

bool ThrottlingAnswer(const net::HttpResponse& r) {
  if (r.status != 400) return false;
  auto body = json::parse(r.body, nullptr, false);
  std::string type = ErrorType(r, body);
  return type == "ThrottlingException" || type == "RequestLimitExceeded" ||
         type == "KMSInternalException" || type == "DependencyTimeoutException";
}

// One endpoint, region and credential chain; calls TrentService actions.
class KmsClient {
 public:
  KmsClient(std::string endpoint, std::string region, CredentialChain credentials,
            const net::HttpOptions& options)
      : endpoint_(std::move(endpoint)),
        region_(std::move(region)),
        credentials_(std::move(credentials)),
        http_(net::MakeCurlHttpClient(options)) {}

  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }

  Result<json> Call(std::string_view action, const json& body) {
    const std::string what = "AWS KMS " + std::string(action);
    auto creds = credentials_.Get();
    if (!creds) return std::unexpected(creds.error().WithContext("AWS credentials"));
    net::HttpRequest request;
    request.method = "POST";
    request.url = endpoint_;
    request.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                       {"X-Amz-Target", "TrentService." + std::string(action)}};
    request.body = body.dump();
    SIGNET_RETURN_IF_ERROR(SignHttpRequest(request, **creds, region_, "kms", std::time(nullptr)));
    auto response = http_->Send(request);
    for (auto& [name, value] : request.headers) OPENSSL_cleanse(value.data(), value.size());
    if (!response) return std::unexpected(response.error().WithContext(what));
    auto parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (response->status < 200 || response->status > 299) {
      std::string type = ErrorType(*response, parsed);
      std::string message;
      if (parsed.is_object()) {
        for (const char* k : {"message", "Message"}) {
          if (parsed.contains(k) && parsed[k].is_string()) message = parsed[k].get<std::string>();
        }
      }
      Error e = net::HttpStatusError(what, response->status, type, message);
      e.code = CodeForKmsError(type, e.code);
      return std::unexpected(e);
    }
    if (!parsed.is_object()) {
      return Unavailable(what + ": malformed answer from " + endpoint_ + " (not a JSON object)");
    }
    return parsed;
  }

 private:
  std::string endpoint_;
  std::string region_;
  CredentialChain credentials_;
  std::unique_ptr<net::HttpClient> http_;
};

// What GetPublicKey told us about a key.
struct KeyInfo {
  PublicKey public_key;
  std::vector<std::string> algorithms;  // SigningAlgorithms
  std::string key_spec;
};

Result<KeyInfo> GetPublicKey(KmsClient& client, const std::string& key_id) {
  SIGNET_ASSIGN_OR_RETURN(json r, client.Call("GetPublicKey", json{{"KeyId", key_id}}));
  const std::string what = "AWS KMS GetPublicKey " + key_id;
  if (!r.contains("PublicKey") || !r["PublicKey"].is_string()) {
    return Unavailable(what + ": malformed answer (no PublicKey)");
  }
  auto der = Base64Decode(r["PublicKey"].get<std::string>());
  if (!der) return Unavailable(what + ": malformed answer (PublicKey is not base64)");
  std::string key_spec;
  for (const char* k : {"KeySpec", "CustomerMasterKeySpec"}) {
    if (key_spec.empty() && r.contains(k) && r[k].is_string()) key_spec = r[k].get<std::string>();
  }
  if (r.contains("KeyUsage") && r["KeyUsage"].is_string() && r["KeyUsage"] != "SIGN_VERIFY") {
    return FailedPrecondition("AWS KMS key " + key_id + " has KeyUsage " +
                              r["KeyUsage"].get<std::string>() +
                              "; signing needs a SIGN_VERIFY key");
  }
  auto pub = PublicKey::FromSpkiDer(*der);
  if (!pub) {
    return FailedPrecondition("AWS KMS key " + key_id +
                              (key_spec.empty() ? "" : " (" + key_spec + ")") +
                              " cannot be used: " + pub.error().message);
  }
  KeyInfo info{std::move(*pub), {}, key_spec};
  if (r.contains("SigningAlgorithms") && r["SigningAlgorithms"].is_array()) {
    for (const auto& a : r["SigningAlgorithms"]) {
      if (a.is_string()) info.algorithms.push_back(a.get<std::string>());
    }
  }
  return info;
}

class AwsKmsSigner final : public KeySigner {
 public:
  AwsKmsSigner(std::string uri, std::string key_id, std::unique_ptr<KmsClient> client, KeyInfo info,
               CertificateChain chain)
      : uri_(std::move(uri)),
        key_id_(std::move(key_id)),
        client_(std::move(client)),
        info_(std::move(info)),
        chain_(std::move(chain)) {}

  std::string uri() const override { return uri_; }
  const PublicKey& public_key() const override { return info_.public_key; }
  const CertificateChain& certificate_chain() const override { return chain_; }

  Result<Bytes> Sign(const SignRequest& request) override {
    const PublicKey& pub = info_.public_key;
    if (!SchemeFitsKey(request.algorithm.scheme, pub.type())) {
      return FailedPrecondition("key " + uri_ + " (" + pub.Description() + ") cannot sign " +
                                SignatureAlgorithmName(request.algorithm));
    }
    std::string algorithm = KmsSigningAlgorithm(request.algorithm);
    if (algorithm.empty()) {
      return FailedPrecondition("AWS KMS has no signing algorithm for " +
                                SignatureAlgorithmName(request.algorithm) + " (key " + uri_ + ")");
    }
    if (!info_.algorithms.empty() && std::find(info_.algorithms.begin(), info_.algorithms.end(),
                                               algorithm) == info_.algorithms.end()) {
      std::string supported;
      for (const auto& a : info_.algorithms) supported += (supported.empty() ? "" : ", ") + a;
      return FailedPrecondition("AWS KMS key " + uri_ +
                                (info_.key_spec.empty() ? "" : " (" + info_.key_spec + ")") +
                                " cannot sign with " + algorithm + "; it supports " + supported);
    }
    if (request.digest.size() != DigestSize(request.algorithm.digest)) {
      return InvalidArgument("digest length does not match " +
                             SignatureAlgorithmName(request.algorithm));
    }
    json body = {{"KeyId", key_id_},
                 {"Message", Base64Encode(request.digest)},
                 {"MessageType", "DIGEST"},
                 {"SigningAlgorithm", algorithm}};
    SIGNET_ASSIGN_OR_RETURN(json r, client_->Call("Sign", body));
    const std::string what = "AWS KMS Sign " + key_id_;
    if (!r.contains("Signature") || !r["Signature"].is_string()) {
      return Unavailable(what + ": malformed answer (no Signature)");
    }
    auto signature = Base64Decode(r["Signature"].get<std::string>());
    if (!signature || signature->empty()) {
      return Unavailable(what + ": malformed answer (Signature is not base64)");
    }
    if (r.contains("SigningAlgorithm") && r["SigningAlgorithm"].is_string() &&
        r["SigningAlgorithm"] != algorithm) {
      return Unavailable(what + ": answered with " + r["SigningAlgorithm"].get<std::string>() +
                         " instead of " + algorithm + "; refused");
    }
    if (!pub.VerifyDigest(request.algorithm, request.digest, *signature)) {
      return Unavailable(what +
                         ": the returned signature does not verify with the key's public "
                         "key (fetched from " +
                         client_->endpoint() + "); refused, nothing was written");
    }
    return std::move(*signature);
  }

 private:
  std::string uri_;
  std::string key_id_;
  std::unique_ptr<KmsClient> client_;
  KeyInfo info_;
  CertificateChain chain_;
};

// The region named by a kms[-fips].REGION.amazonaws.com host (also VPC
// endpoint names: vpce-....kms.REGION.vpce.amazonaws.com); "" otherwise.
std::string RegionFromEndpoint(std::string_view endpoint) {
  auto scheme = endpoint.find("://");
  std::string_view host = scheme == std::string_view::npos ? endpoint : endpoint.substr(scheme + 3);
  host = host.substr(0, host.find_first_of(":/"));
  std::vector<std::string_view> labels;
  while (!host.empty()) {
    auto dot = host.find('.');
    labels.push_back(host.substr(0, dot));
    host.remove_prefix(dot == std::string_view::npos ? host.size() : dot + 1);
  }
  for (std::size_t i = 0; i + 2 < labels.size(); ++i) {
    if ((labels[i] == "kms" || labels[i] == "kms-fips") && IsValidRegion(labels[i + 1])) {
      return std::string(labels[i + 1]);
    }
  }
  return "";
}

std::string WithRootPath(std::string endpoint) {
  auto scheme = endpoint.find("://");
  std::size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
  if (endpoint.find('/', host_start) == std::string::npos) endpoint += '/';
  return endpoint;
}

net::HttpOptions KmsHttpOptions(const EnvLookup& env) {
  net::HttpOptions options = net::HttpOptionsFromEnv();
  // The AWS SDKs' CA bundle variable, unless signet's own is set.
  if (env("SIGNET_CA_BUNDLE").empty()) {
    if (std::string ca = env("AWS_CA_BUNDLE"); !ca.empty()) options.ca_bundle = ca;
  }
  options.retry.retry_also = ThrottlingAnswer;
  return options;
}

class AwsKmsBackend final : public KeyBackend {
 public:
  explicit AwsKmsBackend(EnvLookup env) : env_(std::move(env)) {}

  std::string_view scheme() const override { return "awskms"; }

  Result<std::unique_ptr<KeySigner>> Open(std::string_view uri,
                                          const KeyOptions& options) override {
    SIGNET_ASSIGN_OR_RETURN(KmsKeyUri parsed, ParseKmsKeyUri(uri));
    SIGNET_ASSIGN_OR_RETURN(Profile profile, LoadProfile(env_));

    std::string endpoint;
    if (!parsed.host.empty()) {
      std::string host = parsed.host;
      if (auto colon = host.rfind(':');
          colon != std::string::npos && host.find(']', colon) == std::string::npos) {
        host.resize(colon);
      }
      endpoint = (net::IsLoopbackHost(host) ? "http://" : "https://") + parsed.host;
    } else {
      endpoint = EndpointFromEnv(env_, "KMS");
    }
    std::string region = RegionFromArn(parsed.key_id);
    if (region.empty()) region = RegionFromEnvOrProfile(env_, profile);
    if (region.empty()) region = RegionFromEndpoint(endpoint);
    if (region.empty()) {
      return FailedPrecondition(
          "no AWS region for " + std::string(uri) +
          ": set AWS_REGION, a region in the AWS profile, or use the key's ARN");
    }
    if (!IsValidRegion(region)) {
      return InvalidArgument("'" + region + "' is not an AWS region name (key " + std::string(uri) +
                             ")");
    }
    if (endpoint.empty()) {
      endpoint = "https://kms." + region + "." +
                 (region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com");
    }
    endpoint = WithRootPath(endpoint);

    net::HttpOptions http = KmsHttpOptions(env_);
    CredentialContext context;
    context.env = env_;
    context.profile = profile;
    context.region = region;
    context.http = net::HttpOptionsFromEnv();
    context.http.ca_bundle = http.ca_bundle;
    auto client =
        std::make_unique<KmsClient>(endpoint, region, CredentialChain(std::move(context)), http);

    std::string cache_key = endpoint + "\n" + parsed.key_id;
    auto cached = cache_.find(cache_key);
    if (cached == cache_.end()) {
      auto info = GetPublicKey(*client, parsed.key_id);
      if (!info) return std::unexpected(info.error());
      cached = cache_.emplace(cache_key, std::move(*info)).first;
    }
    auto chain = ResolveCertificateChain({}, options, cached->second.public_key);
    if (!chain) return std::unexpected(chain.error().WithContext(std::string(uri)));
    return std::make_unique<AwsKmsSigner>(std::string(uri), parsed.key_id, std::move(client),
                                          cached->second, std::move(*chain));
  }

 private:
  EnvLookup env_;
  // Public keys fetched in this process, by endpoint and key id.
  std::map<std::string, KeyInfo> cache_;
};

}  // namespace

Result<KmsKeyUri> ParseKmsKeyUri(std::string_view uri) {
  const std::string shown(uri.substr(0, 200));
  if (!uri.starts_with(kScheme)) {
    return InvalidArgument("key URI '" + shown +
                           "' is not awskms://[HOST[:PORT]]/KEY (e.g. awskms:///alias/NAME)");
  }
  std::string_view rest = uri.substr(kScheme.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return InvalidArgument(
        "key URI '" + shown +
        "' names no key: awskms://[HOST[:PORT]]/KEY (key id, ARN or alias/NAME)");
  }
  KmsKeyUri out;
  out.host = std::string(rest.substr(0, slash));
  out.key_id = std::string(rest.substr(slash + 1));
  if (out.key_id.empty()) {
    return InvalidArgument("key URI '" + shown + "' names no key (key id, ARN or alias/NAME)");
  }
  for (char c : out.key_id) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '?' || c == '#' || c == '%') {
      return InvalidArgument("key URI '" + shown +
                             "': the key id holds a character KMS key ids, ARNs and aliases "
                             "never have");
    }
  }
  for (char c : out.host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
    if (!ok) return InvalidArgument("key URI '" + shown + "': bad endpoint host");
  }
  if (out.key_id.starts_with("alias/") && out.key_id.size() == 6) {
    return InvalidArgument("key URI '" + shown + "': empty alias name");
  }
  if (out.key_id.starts_with("arn:") && RegionFromArn(out.key_id).empty()) {
    return InvalidArgument("key URI '" + shown +
                           "': not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or "
                           ":alias/NAME)");
  }
  return out;
}

std::string RegionFromArn(std::string_view key_id) {
  // arn:PARTITION:kms:REGION:ACCOUNT:RESOURCE
  if (!key_id.starts_with("arn:")) return "";
  std::vector<std::string_view> parts;
  std::string_view rest = key_id;
  for (int i = 0; i < 5; ++i) {
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return "";
    parts.push_back(rest.substr(0, colon));
    rest.remove_prefix(colon + 1);
  }
  if (parts[2] != "kms" || rest.empty() || !IsValidRegion(parts[3])) return "";
  return std::string(parts[3]);
}

std::string KmsSigningAlgorithm(const SignatureAlgorithm& alg) {
  std::string digest;
  switch (alg.digest) {
    case DigestAlgorithm::kSha256:
      digest = "SHA_256";
      break;
    case DigestAlgorithm::kSha384:
      digest = "SHA_384";
      break;
    case DigestAlgorithm::kSha512:
      digest = "SHA_512";
      break;
  }
  switch (alg.scheme) {
    case SignatureScheme::kRsaPkcs1v15:
      return "RSASSA_PKCS1_V1_5_" + digest;
    case SignatureScheme::kRsaPss:
      return "RSASSA_PSS_" + digest;
    case SignatureScheme::kEcdsa:
      // KMS pairs each curve with one digest; ECDSA_SHA_512 exists for P-521 only,
      // which signet does not take.
      return alg.digest == DigestAlgorithm::kSha512 ? "" : "ECDSA_" + digest;
    case SignatureScheme::kEd25519:
      return "";
  }
  return "";
}

}  // namespace aws

std::unique_ptr<KeyBackend> MakeAwsKmsKeyBackend() {
  return std::make_unique<aws::AwsKmsBackend>(aws::ProcessEnv);
}

std::unique_ptr<KeyBackend> MakeAwsKmsKeyBackend(aws::EnvLookup env) {
  return std::make_unique<aws::AwsKmsBackend>(std::move(env));
}

}  // namespace signet
