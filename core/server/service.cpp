#include "server/service.h"

#include <openssl/rand.h>

#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "identity/api_token.h"
#include "identity/jwt.h"
#include "policy/policy.h"
#include "remote/protocol.h"
#include "timestamp/timestamper.h"

namespace signet::server {
namespace {

std::string NewRequestId() {
  unsigned char raw[12];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    // Not a secret: a clock-based id is still unique enough for logs.
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return "r" + std::to_string(now);
  }
  return HexEncode(ByteView(raw, sizeof raw));
}

std::string Tagged(DigestAlgorithm alg, ByteView digest) {
  return std::string(DigestName(alg)) + ":" + HexEncode(digest);
}

// The signers of one configured key. A KeySigner is used by one thread at a
// time, so each request borrows one; more are opened on demand (a PKCS#11
// session each, a file key parsed again).
class KeyPool {
 public:
  KeyPool(KeyConfig config, KeyOptions options, const KeyRegistry& registry)
      : config_(std::move(config)), options_(std::move(options)), registry_(registry) {}

  // Opens the first signer: the key's public key and chain come from it.
  Status Init() {
    auto signer = registry_.Open(config_.uri, options_);
    if (!signer) {
      return MakeError(signer.error().code, "key " + config_.name + ": " + signer.error().message);
    }
    public_key_ = (*signer)->public_key();
    chain_ = (*signer)->certificate_chain();
    if (!chain_.empty())
      leaf_sha256_ = HexEncode(Digest(DigestAlgorithm::kSha256, chain_.front().Der()));
    info_.name = config_.name;
    info_.key_type = public_key_->Description();
    info_.public_key_pem = public_key_->Pem();
    for (const Certificate& c : chain_) info_.chain.push_back(c.Pem());
    info_.timestamps = !config_.tsa_url.empty();
    idle_.push_back(std::move(*signer));
    return {};
  }

  class Lease {
   public:
    Lease(KeyPool& pool, std::unique_ptr<KeySigner> signer)
        : pool_(pool), signer_(std::move(signer)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (signer_) pool_.Return(std::move(signer_));
    }
    KeySigner& operator*() { return *signer_; }
    // A signer that failed may be broken (a closed session): drop it.
    void Discard() { signer_.reset(); }

   private:
    KeyPool& pool_;
    std::unique_ptr<KeySigner> signer_;
  };

  Result<Lease> Borrow() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        std::unique_ptr<KeySigner> s = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(s));
      }
    }
    auto signer = registry_.Open(config_.uri, options_);
    if (!signer) {
      return MakeError(signer.error().code, "key " + config_.name + ": " + signer.error().message);
    }
    return Lease(*this, std::move(*signer));
  }

  const KeyConfig& config() const { return config_; }
  const PublicKey& public_key() const { return *public_key_; }
  const remote::KeyInfo& info() const { return info_; }
  const std::string& leaf_sha256() const { return leaf_sha256_; }

 private:
  void Return(std::unique_ptr<KeySigner> signer) {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(signer));
  }

  KeyConfig config_;
  KeyOptions options_;
  const KeyRegistry& registry_;
  std::optional<PublicKey> public_key_;
  CertificateChain chain_;
  std::string leaf_sha256_;
  remote::KeyInfo info_;
  std::mutex mu_;
  std::vector<std::unique_ptr<KeySigner>> idle_;
};

ServerResponse JsonResponse(int status, const nlohmann::json& body, const std::string& request_id) {
  ServerResponse r;
  r.status = status;
  r.body = body.dump();
  if (!request_id.empty()) r.headers.emplace_back("X-Request-Id", request_id);
  return r;
}

// What one request did, for the log line, the metrics and the audit.
struct Outcome {
  std::string reason;
  std::string key;
  // The caller, once authenticated; `who` points into the route's own
  // frame and is valid only there, issuer and subject are copies for the
  // log line.
  const identity::Identity* who = nullptr;
  std::string issuer;
  std::string subject;
  void Authenticated(const identity::Identity& id) {
    who = &id;
    issuer = id.issuer;
    subject = id.subject;
  }
  std::map<std::string, std::string> used_claims;
};

class Service final : public SigningService {
 public:
  Service(const ServerConfig& config, ServiceEnvironment env)
      : config_(config), env_(std::move(env)) {}

  Status Init() {
    audit_ = std::move(env_.audit);
    if (!audit_) {
      SIGNET_ASSIGN_OR_RETURN(audit_, audit::OpenStore(config_.audit_db));
    }
    SIGNET_ASSIGN_OR_RETURN(policy_, policy::Policy::FromJson(config_.policy));
    if (!config_.api_tokens_file.empty()) {
      SIGNET_ASSIGN_OR_RETURN(identity::ApiTokenStore tokens,
                              identity::ApiTokenStore::Load(config_.api_tokens_file));
      tokens_.emplace(std::move(tokens));
    }
    if (!config_.issuers.empty()) {
      std::unique_ptr<net::HttpClient> http = std::move(env_.http);
      if (!http) http = net::MakeCurlHttpClient(net::HttpOptionsFromEnv());
      jwt_ = std::make_unique<identity::JwtValidator>(config_.issuers, std::move(http));
    }
    for (const auto& [name, key] : config_.keys) {
      KeyOptions options;
      options.cert_path = key.certificate_path;
      if (!key.pin_file.empty()) {
        SIGNET_ASSIGN_OR_RETURN(Secret pin, ReadSecretFile(key.pin_file));
        options.pin = pin;
        options.passphrase = pin;
      }
      auto pool = std::make_unique<KeyPool>(key, std::move(options), *env_.keys);
      SIGNET_RETURN_IF_ERROR(pool->Init());
      keys_.emplace(name, std::move(pool));
    }
    MetricsRegistry& m = *env_.metrics;
    latency_ = &m.GetHistogram("signet_request_duration_seconds",
                               "Time to answer a request, by the server.");
    signatures_ = &m.GetCounter("signet_signatures_total", "Signatures returned.");
    audit_errors_ = &m.GetCounter("signet_audit_errors_total",
                                  "Audit appends that failed (the request failed closed).");
    return {};
  }

  ServerResponse Handle(const ServerRequest& request) override {
    auto start = std::chrono::steady_clock::now();
    std::string request_id = NewRequestId();
    Outcome outcome;
    ServerResponse response = Route(request, request_id, outcome);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    latency_->Observe(seconds);
    std::string route = RouteLabel(request.path);
    std::string result = OutcomeLabel(response.status);
    env_.metrics
        ->GetCounter("signet_requests_total", "Requests by route and outcome.",
                     {{"route", route}, {"outcome", result}})
        .Increment();
    if (response.status == 401 || response.status == 403) {
      env_.metrics
          ->GetCounter("signet_denials_total", "Requests refused (401 or 403), by route.",
                       {{"route", route}, {"status", std::to_string(response.status)}})
          .Increment();
    }
    if (route != "/healthz" && route != "/metrics") {
      env_.log->Log(response.status >= 500 ? LogLevel::kWarn : LogLevel::kInfo, "request",
                    {{"request_id", request_id},
                     {"method", request.method},
                     {"path", request.path},
                     {"status", response.status},
                     {"duration_ms", seconds * 1000.0},
                     {"client", request.client_address},
                     {"bytes_in", request.body.size()},
                     {"issuer", outcome.issuer},
                     {"subject", outcome.subject},
                     {"key", outcome.key},
                     {"reason", outcome.reason}});
    }
    return response;
  }

 private:
  static std::string RouteLabel(const std::string& path) {
    if (path == "/v1/sign" || path == "/v1/info" || path == "/healthz" || path == "/metrics") {
      return path;
    }
    if (path.starts_with("/v1/keys/")) return "/v1/keys/{name}";
    return "other";
  }
  static std::string OutcomeLabel(int status) {
    if (status < 300) return "ok";
    if (status == 401) return "unauthenticated";
    if (status == 403) return "denied";
    if (status < 500) return "bad_request";
    return "error";
  }

  ServerResponse Route(const ServerRequest& request, const std::string& request_id,
                       Outcome& outcome) {
    const std::string& path = request.path;
    if (path == "/healthz" && request.method == "GET") return Health(request_id);
    if (path == "/metrics" && request.method == "GET") {
      ServerResponse r;
      r.content_type = std::string(kPrometheusContentType);
      r.body = env_.metrics->RenderText();
      return r;
    }
    if (path == "/v1/info" && request.method == "GET") {
      return JsonResponse(200,
                          {{"server", "signet"},
                           {"api", remote::kApiVersion},
                           {"default_audience", config_.default_audience},
                           {"max_plans_per_request", config_.max_plans_per_request},
                           {"max_plan_bytes", remote::kMaxPlanBytes}},
                          request_id);
    }
    if (path == "/v1/sign") {
      if (request.method != "POST")
        return Fail(405, ErrorCode::kInvalidArgument, "use POST", request_id);
      return Sign(request, request_id, outcome);
    }
    if (path.starts_with("/v1/keys/")) {
      if (request.method != "GET")
        return Fail(405, ErrorCode::kInvalidArgument, "use GET", request_id);
      return GetKey(request, path.substr(9), request_id, outcome);
    }
    return Fail(404, ErrorCode::kNotFound, "no such endpoint: " + path, request_id);
  }

  static ServerResponse Fail(int status, ErrorCode code, const std::string& message,
                             const std::string& request_id) {
    nlohmann::json body = remote::ErrorJson(Error{code, message});
    body["request_id"] = request_id;
    return JsonResponse(status, body, request_id);
  }

  ServerResponse Health(const std::string& request_id) {
    Status ping = audit_->Ping();
    if (!ping) {
      return JsonResponse(503, {{"status", "unavailable"}, {"audit", "unreachable"}}, request_id);
    }
    return JsonResponse(200, {{"status", "ok"}}, request_id);
  }

  // Authenticates the caller; on failure audits the attempt and returns the
  // 401 to send.
  // `use_jti`: see JwtValidator::Validate (false for key lookups).
  Result<identity::Identity> Authenticate(const ServerRequest& request, bool use_jti) {
    std::string header = request.Header("authorization");
    constexpr std::string_view kBearer = "bearer ";
    if (header.size() <= kBearer.size() ||
        !std::equal(kBearer.begin(), kBearer.end(), header.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      return PermissionDenied("no bearer token");
    }
    std::string_view token = std::string_view(header).substr(kBearer.size());
    if (identity::IsApiToken(token)) {
      if (!tokens_) return PermissionDenied("API tokens are not enabled on this server");
      return tokens_->Authenticate(token);
    }
    if (!jwt_) return PermissionDenied("no OIDC issuer is configured on this server");
    return jwt_->Validate(token, use_jti);
  }

  static bool InScope(const identity::Identity& who, const std::string& key) {
    if (who.issuer != identity::kApiTokenIssuer) return true;
    for (const std::string& s : who.scopes) {
      if (s == "*" || s == key) return true;
    }
    return false;
  }

  audit::Record BaseRecord(const ServerRequest& request, const std::string& request_id,
                           const identity::Identity* who, const std::string& key) {
    audit::Record r;
    r.time = audit::NowRfc3339();
    r.request_id = request_id;
    if (who != nullptr) {
      r.issuer = who->issuer;
      r.subject = who->subject;
    }
    r.key = key;
    if (auto it = keys_.find(key); it != keys_.end())
      r.certificate_sha256 = it->second->leaf_sha256();
    r.client = request.client_address;
    return r;
  }

  // Audits a refused request (one record) and returns its error response.
  // A failed append is logged; the refusal stands.
  ServerResponse Refuse(const ServerRequest& request, const std::string& request_id,
                        Outcome& outcome, int status, ErrorCode code, const std::string& reason,
                        std::vector<audit::Record> records = {}) {
    outcome.reason = reason;
    if (records.empty())
      records.push_back(BaseRecord(request, request_id, outcome.who, outcome.key));
    for (audit::Record& r : records) {
      r.decision = "deny";
      r.reason = reason;
      r.claims = outcome.used_claims;
    }
    if (auto appended = audit_->Append(std::move(records)); !appended) {
      audit_errors_->Increment();
      env_.log->Error("audit append failed",
                      {{"request_id", request_id}, {"error", appended.error().message}});
    }
    return Fail(status, code, reason, request_id);
  }

  ServerResponse GetKey(const ServerRequest& request, const std::string& name,
                        const std::string& request_id, Outcome& outcome) {
    outcome.key = name;
    auto who = Authenticate(request, /*use_jti=*/false);
    if (!who) {
      return Refuse(request, request_id, outcome, 401, ErrorCode::kPermissionDenied,
                    "authentication failed: " + who.error().message);
    }
    outcome.Authenticated(*who);
    auto it = keys_.find(name);
    if (it == keys_.end() || !InScope(*who, name)) {
      return Refuse(request, request_id, outcome, 404, ErrorCode::kNotFound,
                    "no key named " + name + " for this caller");
    }
    return JsonResponse(200, it->second->info().ToJson(), request_id);
  }

  ServerResponse Sign(const ServerRequest& request, const std::string& request_id,
                      Outcome& outcome) {
    auto who = Authenticate(request, /*use_jti=*/true);
    if (!who) {
      return Refuse(request, request_id, outcome, 401, ErrorCode::kPermissionDenied,
                    "authentication failed: " + who.error().message);
    }
    outcome.Authenticated(*who);

    nlohmann::json j = nlohmann::json::parse(request.body, nullptr, false);
    auto body = remote::SignBody::FromJson(j, config_.max_plans_per_request);
    if (!body) {
      return Refuse(request, request_id, outcome, 400, ErrorCode::kInvalidArgument,
                    body.error().message);
    }
    outcome.key = body->key;
    auto key_it = keys_.find(body->key);
    if (key_it == keys_.end() || !InScope(*who, body->key)) {
      return Refuse(request, request_id, outcome, 404, ErrorCode::kNotFound,
                    "no key named " + body->key + " for this caller");
    }
    KeyPool& pool = *key_it->second;

    // One audit record per plan, filled as far as the request got.
    std::vector<audit::Record> records;
    records.reserve(body->plans.size());
    for (const SigningPlan& plan : body->plans) {
      audit::Record r = BaseRecord(request, request_id, &*who, body->key);
      r.format = plan.format;
      r.artifact = plan.artifact;
      r.artifact_size = plan.artifact_size;
      r.content_digest = Tagged(plan.content_digest_algorithm, plan.content_digest);
      r.tbs_digest = Tagged(plan.signature_algorithm.digest, plan.to_be_signed_digest);
      records.push_back(std::move(r));
    }

    // What is signed must be what is recorded: every plan must be one its
    // format could have made, committing to the declared content digest.
    for (std::size_t i = 0; i < body->plans.size(); ++i) {
      const SigningPlan& plan = body->plans[i];
      const Format* format = env_.formats->Find(plan.format);
      std::string which = body->plans.size() == 1 ? "plan" : "plan " + std::to_string(i);
      if (format == nullptr) {
        return Refuse(request, request_id, outcome, 400, ErrorCode::kInvalidArgument,
                      which + ": unknown format '" + plan.format + "'", std::move(records));
      }
      if (!SchemeFitsKey(plan.signature_algorithm.scheme, pool.public_key().type())) {
        return Refuse(request, request_id, outcome, 400, ErrorCode::kInvalidArgument,
                      which + ": " + SignatureAlgorithmName(plan.signature_algorithm) +
                          " does not fit key " + body->key + " (" +
                          pool.public_key().Description() + ")",
                      std::move(records));
      }
      if (Status valid = format->ValidatePlan(plan); !valid) {
        return Refuse(request, request_id, outcome, 403, ErrorCode::kPermissionDenied,
                      which + " refused: " + valid.error().message, std::move(records));
      }
    }

    // Policy: every plan must be allowed; the batch counts as a whole
    // against the rate limit of the rule that allows its first plan.
    std::time_t now = std::time(nullptr);
    policy::Decision decision;
    for (std::size_t i = 1; i < body->plans.size(); ++i) {
      policy::Request pr{&*who, body->key, body->plans[i].format, body->plans[i].artifact_size};
      policy::Decision d = policy_.Evaluate(pr, now);
      if (!d.allowed) {
        outcome.used_claims = d.used_claims;
        return Refuse(request, request_id, outcome, 403, ErrorCode::kPermissionDenied, d.reason,
                      std::move(records));
      }
    }
    policy::Request first{&*who, body->key, body->plans[0].format, body->plans[0].artifact_size};
    decision = policy_.Authorize(first, now, static_cast<int>(body->plans.size()));
    outcome.used_claims = decision.used_claims;
    if (!decision.allowed) {
      return Refuse(request, request_id, outcome, 403, ErrorCode::kPermissionDenied,
                    decision.reason, std::move(records));
    }

    // Sign.
    remote::SignReply reply;
    reply.request_id = request_id;
    {
      auto lease = pool.Borrow();
      if (!lease) return BackendFailure(request_id, outcome, lease.error(), records);
      for (const SigningPlan& plan : body->plans) {
        SignRequest sr;
        sr.algorithm = plan.signature_algorithm;
        sr.digest = plan.to_be_signed_digest;
        sr.message = plan.to_be_signed;
        auto signature = (**lease).Sign(sr);
        if (!signature) {
          lease->Discard();
          return BackendFailure(request_id, outcome, signature.error(), records);
        }
        reply.signatures.push_back(std::move(*signature));
      }
    }
    reply.timestamp_tokens.resize(reply.signatures.size());
    if (!pool.config().tsa_url.empty()) {
      timestamp::TimestamperOptions ts_options;
      ts_options.urls = {pool.config().tsa_url};
      timestamp::Timestamper stamper(std::move(ts_options));
      for (std::size_t i = 0; i < body->plans.size(); ++i) {
        const Format* format = env_.formats->Find(body->plans[i].format);
        if (!format->embeds_timestamps()) continue;
        auto token =
            stamper.Timestamp(body->plans[i].signature_algorithm.digest, reply.signatures[i]);
        if (!token) {
          return BackendFailure(request_id, outcome,
                                Error{token.error().code, "timestamp: " + token.error().message},
                                records);
        }
        reply.timestamp_tokens[i] = std::move(*token);
      }
    }

    // Fail closed: no signature leaves without its committed record.
    outcome.reason = decision.reason;
    for (audit::Record& r : records) {
      r.decision = "allow";
      r.reason = decision.reason;
      r.claims = decision.used_claims;
    }
    if (auto appended = audit_->Append(std::move(records)); !appended) {
      audit_errors_->Increment();
      env_.log->Error("audit append failed: no signature returned",
                      {{"request_id", request_id}, {"error", appended.error().message}});
      return Fail(503, ErrorCode::kUnavailable,
                  "the audit log is unavailable; nothing was signed (retry later)", request_id);
    }
    signatures_->Increment(reply.signatures.size());
    return JsonResponse(200, reply.ToJson(), request_id);
  }

  // The key backend or the TSA failed: audited as "error", 503 (retry) or
  // 500.
  ServerResponse BackendFailure(const std::string& request_id, Outcome& outcome, const Error& error,
                                std::vector<audit::Record>& records) {
    env_.metrics
        ->GetCounter("signet_backend_errors_total", "Key backend or TSA failures, by key.",
                     {{"key", outcome.key}})
        .Increment();
    outcome.reason = error.message;
    for (audit::Record& r : records) {
      r.decision = "error";
      r.reason = error.message;
    }
    if (auto appended = audit_->Append(std::move(records)); !appended) {
      audit_errors_->Increment();
    }
    env_.log->Error("key backend failed",
                    {{"request_id", request_id}, {"key", outcome.key}, {"error", error.message}});
    int status = error.code == ErrorCode::kUnavailable ? 503 : 500;
    return Fail(
        status,
        error.code == ErrorCode::kUnavailable ? ErrorCode::kUnavailable : ErrorCode::kInternal,
        "key " + outcome.key + " could not sign: " + error.message, request_id);
  }

  ServerConfig config_;
  ServiceEnvironment env_;
  std::unique_ptr<audit::Store> audit_;
  policy::Policy policy_;
  std::optional<identity::ApiTokenStore> tokens_;
  std::unique_ptr<identity::JwtValidator> jwt_;
  std::map<std::string, std::unique_ptr<KeyPool>> keys_;
  Histogram* latency_ = nullptr;
  Counter* signatures_ = nullptr;
  Counter* audit_errors_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<SigningService>> SigningService::Create(const ServerConfig& config,
                                                               ServiceEnvironment env) {
  auto service = std::make_unique<Service>(config, std::move(env));
  SIGNET_RETURN_IF_ERROR(service->Init());
  return std::unique_ptr<SigningService>(std::move(service));
}

}  // namespace signet::server
