// Test doubles for the cloud key backends' unit tests: an in-process fake of a
// service behind the net::HttpClient interface (the backends take an
// HttpClientFactory), scoped environment variables, and small helpers to
// build and read what the services exchange (JWKs, forms, JWTs).
//
// Not thread-safe; gtest runs a test binary's tests on one thread.
#pragma once

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "keys/cloud/cloud_http.h"
#include "keys/cloud/jose.h"
#include "net/http_client.h"

namespace signet::testing {

using nlohmann::json;

// A service played by `handler`; every request is recorded (copied before the
// backend wipes it).
class FakeService {
 public:
  using Handler = std::function<net::HttpResponse(const net::HttpRequest&)>;

  explicit FakeService(Handler handler) : state_(std::make_shared<State>()) {
    state_->handler = std::move(handler);
  }

  // Clients made by this factory send to this service; the options they were
  // made with are recorded.
  cloud::HttpClientFactory Factory() {
    auto state = state_;
    return [state](const net::HttpOptions& options) -> std::unique_ptr<net::HttpClient> {
      state->options.push_back(options);
      return std::make_unique<Client>(state);
    };
  }

  [[nodiscard]] const std::vector<net::HttpRequest>& requests() const { return state_->requests; }
  [[nodiscard]] const std::vector<net::HttpOptions>& options() const { return state_->options; }
  // Requests whose URL contains `fragment`.
  [[nodiscard]] int Count(std::string_view fragment) const {
    int n = 0;
    for (const auto& r : state_->requests) n += r.url.find(fragment) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  struct State {
    Handler handler;
    std::vector<net::HttpRequest> requests;
    std::vector<net::HttpOptions> options;
  };
  class Client final : public net::HttpClient {
   public:
    explicit Client(std::shared_ptr<State> state) : state_(std::move(state)) {}
    Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
      state_->requests.push_back(request);
      return state_->handler(request);
    }

   private:
    std::shared_ptr<State> state_;
  };
  std::shared_ptr<State> state_;
};

inline net::HttpResponse JsonAnswer(long status, const json& body) {
  return net::HttpResponse{status, {{"content-type", "application/json"}}, body.dump()};
}

// The value of header `name` (case-insensitive), nullopt when absent.
inline std::optional<std::string> HeaderOf(const net::HttpRequest& request, std::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return std::nullopt;
}

// Decodes an application/x-www-form-urlencoded body.
inline std::map<std::string, std::string> ParseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  auto decode = [](std::string_view s) {
    std::string r;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        r += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        r += s[i] == '+' ? ' ' : s[i];
      }
    }
    return r;
  };
  std::size_t start = 0;
  while (start < body.size()) {
    auto amp = body.find('&', start);
    std::string_view pair = body.substr(start, amp == std::string_view::npos ? amp : amp - start);
    auto eq = pair.find('=');
    out[decode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

// The header and claims of a compact JWT (not verified).
inline std::pair<json, json> JwtParts(std::string_view jwt) {
  auto dot1 = jwt.find('.');
  auto dot2 = jwt.find('.', dot1 + 1);
  auto header = Base64UrlDecode(jwt.substr(0, dot1));
  auto claims = Base64UrlDecode(jwt.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!header || !claims) return {};
  return {json::parse(ToString(*header), nullptr, false),
          json::parse(ToString(*claims), nullptr, false)};
}

// Whether the RS256 signature of `jwt` verifies with `key`.
inline bool JwtVerifies(std::string_view jwt, EVP_PKEY* key) {
  auto dot2 = jwt.rfind('.');
  auto signature = Base64UrlDecode(jwt.substr(dot2 + 1));
  if (!signature) return false;
  std::string_view input = jwt.substr(0, dot2);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), signature->data(), signature->size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

// A big-endian integer parameter of a key ("n", "e", "qx", "qy"), left-padded to `size`.
inline Bytes KeyParam(EVP_PKEY* key, const char* name, std::size_t size = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return {};
  std::size_t n = static_cast<std::size_t>(BN_num_bytes(bn));
  Bytes out(std::max(n, size));
  BN_bn2binpad(bn, out.data(), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

// An ECDSA DER signature as JOSE r||s with `size`-byte halves.
inline Bytes EcdsaDerToRaw(ByteView der, std::size_t size) {
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  Bytes out(2 * size);
  if (sig == nullptr) return {};
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), out.data(), static_cast<int>(size));
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), out.data() + size, static_cast<int>(size));
  ECDSA_SIG_free(sig);
  return out;
}

// Sets (or, with nullopt, unsets) an environment variable for a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace signet::testing
