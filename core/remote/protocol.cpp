#include "remote/protocol.h"

#include <algorithm>

namespace signet::remote {
namespace {

Result<const nlohmann::json*> Field(const nlohmann::json& j, const char* name,
                                    nlohmann::json::value_t type, const char* what) {
  auto it = j.find(name);
  if (it == j.end() || it->type() != type) {
    return InvalidArgument(std::string(what) + ": missing or malformed \"" + name + "\"");
  }
  return &*it;
}

Result<Bytes> Base64Field(const nlohmann::json& j, const char* name, const char* what) {
  SIGNET_ASSIGN_OR_RETURN(const nlohmann::json* v,
                          Field(j, name, nlohmann::json::value_t::string, what));
  auto bytes = Base64Decode(v->get<std::string>());
  if (!bytes) return InvalidArgument(std::string(what) + ": \"" + name + "\" is not base64");
  return std::move(*bytes);
}

}  // namespace

nlohmann::json KeyInfo::ToJson() const {
  return {{"name", name},
          {"key_type", key_type},
          {"public_key", public_key_pem},
          {"chain", chain},
          {"timestamps", timestamps}};
}

Result<KeyInfo> KeyInfo::FromJson(const nlohmann::json& j) {
  constexpr const char* kWhat = "server key description";
  if (!j.is_object()) return InvalidArgument(std::string(kWhat) + " is not a JSON object");
  KeyInfo k;
  SIGNET_ASSIGN_OR_RETURN(const nlohmann::json* name,
                          Field(j, "name", nlohmann::json::value_t::string, kWhat));
  SIGNET_ASSIGN_OR_RETURN(const nlohmann::json* pub,
                          Field(j, "public_key", nlohmann::json::value_t::string, kWhat));
  k.name = name->get<std::string>();
  k.public_key_pem = pub->get<std::string>();
  k.key_type = j.value("key_type", "");
  k.timestamps = j.value("timestamps", false);
  if (auto it = j.find("chain"); it != j.end()) {
    if (!it->is_array()) return InvalidArgument(std::string(kWhat) + ": \"chain\" is not a list");
    for (const auto& c : *it) {
      if (!c.is_string()) return InvalidArgument(std::string(kWhat) + ": bad chain entry");
      k.chain.push_back(c.get<std::string>());
    }
  }
  return k;
}

nlohmann::json SignBody::ToJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const SigningPlan& p : plans) list.push_back(p.ToJson());
  return {{"key", key}, {"plans", std::move(list)}};
}

Result<SignBody> SignBody::FromJson(const nlohmann::json& j, std::size_t max_plans) {
  constexpr const char* kWhat = "sign request";
  if (!j.is_object()) return InvalidArgument(std::string(kWhat) + " is not a JSON object");
  SignBody body;
  SIGNET_ASSIGN_OR_RETURN(const nlohmann::json* key,
                          Field(j, "key", nlohmann::json::value_t::string, kWhat));
  SIGNET_ASSIGN_OR_RETURN(const nlohmann::json* plans,
                          Field(j, "plans", nlohmann::json::value_t::array, kWhat));
  body.key = key->get<std::string>();
  if (!IsValidKeyName(body.key)) return InvalidArgument("sign request: malformed key name");
  if (plans->empty()) return InvalidArgument("sign request: no plans");
  if (plans->size() > max_plans) {
    return InvalidArgument("sign request: " + std::to_string(plans->size()) +
                           " plans; the server takes at most " + std::to_string(max_plans) +
                           " per request");
  }
  body.plans.reserve(plans->size());
  for (std::size_t i = 0; i < plans->size(); ++i) {
    const nlohmann::json& p = (*plans)[i];
    if (p.dump().size() > kMaxPlanBytes) {
      return InvalidArgument("sign request: plan " + std::to_string(i) + " is larger than " +
                             std::to_string(kMaxPlanBytes) + " bytes");
    }
    auto plan = SigningPlan::FromJson(p);
    if (!plan) {
      return InvalidArgument("sign request: plan " + std::to_string(i) + ": " +
                             plan.error().message);
    }
    body.plans.push_back(std::move(*plan));
  }
  return body;
}

nlohmann::json SignReply::ToJson() const {
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    nlohmann::json r = {{"signature", Base64Encode(signatures[i])}};
    if (i < timestamp_tokens.size() && timestamp_tokens[i]) {
      r["timestamp_token"] = Base64Encode(*timestamp_tokens[i]);
    }
    results.push_back(std::move(r));
  }
  return {{"request_id", request_id}, {"results", std::move(results)}};
}

Result<SignReply> SignReply::FromJson(const nlohmann::json& j) {
  constexpr const char* kWhat = "server sign reply";
  if (!j.is_object()) return InvalidArgument(std::string(kWhat) + " is not a JSON object");
  SignReply reply;
  reply.request_id = j.value("request_id", "");
  SIGNET_ASSIGN_OR_RETURN(const nlohmann::json* results,
                          Field(j, "results", nlohmann::json::value_t::array, kWhat));
  for (const auto& r : *results) {
    if (!r.is_object()) return InvalidArgument(std::string(kWhat) + ": malformed result");
    SIGNET_ASSIGN_OR_RETURN(Bytes sig, Base64Field(r, "signature", kWhat));
    reply.signatures.push_back(std::move(sig));
    if (r.contains("timestamp_token")) {
      SIGNET_ASSIGN_OR_RETURN(Bytes token, Base64Field(r, "timestamp_token", kWhat));
      reply.timestamp_tokens.emplace_back(std::move(token));
    } else {
      reply.timestamp_tokens.emplace_back();
    }
  }
  return reply;
}

nlohmann::json ErrorJson(const Error& error) {
  return {
      {"error", {{"code", std::string(ErrorCodeName(error.code))}, {"message", error.message}}}};
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kVerificationFailed:
    case ErrorCode::kInternal:
      break;
  }
  return 500;
}

bool IsValidKeyName(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Result<RemoteKey> ParseRemoteKeyUri(std::string_view uri) {
  constexpr std::string_view kScheme = "signet://";
  auto bad = [&uri](const std::string& why) {
    return InvalidArgument("key URI " + std::string(uri) + ": " + why +
                           " (expected signet://HOST[:PORT]/KEYNAME)");
  };
  if (!uri.starts_with(kScheme)) return bad("not a signet:// URI");
  std::string_view rest = uri.substr(kScheme.size());
  std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return bad("no host");
  std::string_view host = rest.substr(0, slash);
  std::string_view key = rest.substr(slash + 1);
  if (host.find_first_of("@?#") != std::string_view::npos) return bad("malformed host");
  if (!IsValidKeyName(key)) return bad("malformed key name");
  return RemoteKey{"https://" + std::string(host), std::string(key)};
}

}  // namespace signet::remote
