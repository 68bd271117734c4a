#include "keys/awskms/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>

#include "crypto/digest.h"

namespace signet::aws {
namespace {

Bytes Hmac(ByteView key, std::string_view data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims and collapses runs of spaces to one (SigV4 canonical header values).
std::string CanonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string CanonicalUri(std::string_view path) {
  if (path.empty()) return "/";
  return net::UrlEncode(path, /*keep_slash=*/true);
}

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(net::UrlEncode(name), net::UrlEncode(value));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

// Parts of an http(s) URL needed to sign it.
struct UrlParts {
  std::string host_header;  // host[:port]
  std::string path;         // unencoded
  std::vector<std::pair<std::string, std::string>> query;
};

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return InvalidArgument("bad percent-encoding in URL");
    auto hex = HexDecode(s.substr(i + 1, 2));
    if (!hex) return InvalidArgument("bad percent-encoding in URL");
    out += static_cast<char>((*hex)[0]);
    i += 2;
  }
  return out;
}

Result<UrlParts> SplitUrl(std::string_view url) {
  std::string_view rest = url;
  std::string default_port;
  if (rest.starts_with("https://")) {
    default_port = "443";
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    default_port = "80";
    rest.remove_prefix(7);
  } else {
    return InvalidArgument("not an http(s) URL");
  }
  std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return InvalidArgument("URL has no host (or carries user info)");
  }
  UrlParts out;
  std::string host = Lower(authority);
  // Drop a default port: it is not part of the Host header curl sends.
  std::size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    if (host.substr(colon + 1) == default_port) host.resize(colon);
  }
  out.host_header = host;
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::string_view path = rest.substr(0, rest.find('?'));
  SIGNET_ASSIGN_OR_RETURN(out.path, PercentDecode(path.empty() ? "/" : path));
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    while (!query.empty()) {
      std::string_view item = query.substr(0, query.find('&'));
      query.remove_prefix(std::min(query.size(), item.size() + 1));
      if (item.empty()) continue;
      std::size_t eq = item.find('=');
      SIGNET_ASSIGN_OR_RETURN(std::string name, PercentDecode(item.substr(0, eq)));
      std::string value;
      if (eq != std::string_view::npos) {
        SIGNET_ASSIGN_OR_RETURN(value, PercentDecode(item.substr(eq + 1)));
      }
      out.query.emplace_back(std::move(name), std::move(value));
    }
  }
  return out;
}

}  // namespace

std::string SigV4Scope::CredentialScope() const {
  return amz_date.substr(0, 8) + "/" + region + "/" + service + "/aws4_request";
}

std::string HexSha256(std::string_view data) {
  return HexEncode(Digest(DigestAlgorithm::kSha256, AsBytes(data)));
}

std::string AmzDate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalRequest(const SigV4Request& request, std::string* signed_headers) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    std::string key = Lower(name);
    std::string v = CanonicalValue(value);
    auto [it, inserted] = headers.emplace(key, v);
    if (!inserted) it->second += "," + v;
  }
  std::string canonical_headers;
  std::string names;
  for (const auto& [name, value] : headers) {
    canonical_headers += name;
    canonical_headers += ':';
    canonical_headers += value;
    canonical_headers += '\n';
    if (!names.empty()) names += ';';
    names += name;
  }
  if (signed_headers != nullptr) *signed_headers = names;
  return request.method + "\n" + CanonicalUri(request.path) + "\n" + CanonicalQuery(request.query) +
         "\n" + canonical_headers + "\n" + names + "\n" + request.payload_hash;
}

std::string StringToSign(const SigV4Scope& scope, std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + scope.amz_date + "\n" + scope.CredentialScope() + "\n" +
         HexSha256(canonical_request);
}

Bytes SigningKey(const Secret& secret_access_key, const SigV4Scope& scope) {
  std::string first = "AWS4";
  first += secret_access_key.Reveal();
  Bytes k_date = Hmac(AsBytes(first), scope.amz_date.substr(0, 8));
  OPENSSL_cleanse(first.data(), first.size());
  Bytes k_region = Hmac(k_date, scope.region);
  Bytes k_service = Hmac(k_region, scope.service);
  Bytes k_signing = Hmac(k_service, "aws4_request");
  for (Bytes* b : {&k_date, &k_region, &k_service}) OPENSSL_cleanse(b->data(), b->size());
  return k_signing;
}

std::string Signature(const Secret& secret_access_key, const SigV4Scope& scope,
                      std::string_view string_to_sign) {
  Bytes key = SigningKey(secret_access_key, scope);
  std::string sig = HexEncode(Hmac(key, string_to_sign));
  OPENSSL_cleanse(key.data(), key.size());
  return sig;
}

std::string AuthorizationHeader(const SigV4Request& request, std::string_view access_key_id,
                                const Secret& secret_access_key, const SigV4Scope& scope) {
  std::string signed_headers;
  std::string canonical = CanonicalRequest(request, &signed_headers);
  std::string signature = Signature(secret_access_key, scope, StringToSign(scope, canonical));
  return "AWS4-HMAC-SHA256 Credential=" + std::string(access_key_id) + "/" +
         scope.CredentialScope() + ", SignedHeaders=" + signed_headers + ", Signature=" + signature;
}

Status SignHttpRequest(net::HttpRequest& request, const AwsCredentials& credentials,
                       std::string_view region, std::string_view service, std::time_t now) {
  auto url = SplitUrl(request.url);
  if (!url) return std::unexpected(url.error().WithContext("cannot sign the request"));
  SigV4Scope scope{AmzDate(now), std::string(region), std::string(service)};
  // Replace what a previous signing added (a retried or refreshed request).
  std::erase_if(request.headers, [](const auto& h) {
    std::string n = Lower(h.first);
    return n == "host" || n == "x-amz-date" || n == "x-amz-security-token" || n == "authorization";
  });
  request.headers.emplace_back("Host", url->host_header);
  request.headers.emplace_back("X-Amz-Date", scope.amz_date);
  if (!credentials.session_token.empty()) {
    request.headers.emplace_back("X-Amz-Security-Token",
                                 std::string(credentials.session_token.Reveal()));
  }
  SigV4Request sig;
  sig.method = request.method;
  sig.path = url->path;
  sig.query = url->query;
  sig.headers = request.headers;
  sig.payload_hash = HexSha256(request.body);
  request.headers.emplace_back(
      "Authorization",
      AuthorizationHeader(sig, credentials.access_key_id, credentials.secret_access_key, scope));
  return {};
}

}  // namespace signet::aws
