// AWS Signature Version 4 (SigV4) request signing, as pure functions.
//
// Implements the four steps of the AWS General Reference ("Create a signed
// AWS API request", Signature Version 4): the canonical request, the string
// to sign, the derived signing key and the signature, and the Authorization
// header that carries them. Tested against AWS's published examples (the
// SigV4 test suite's get-vanilla family and the IAM ListUsers example).
//
// Rules followed here (non-S3 services):
//   - the canonical URI is the path with each segment URI-encoded (RFC 3986
//     unreserved characters kept); callers give the path unencoded;
//   - query parameters are encoded the same way and sorted by name, then value;
//   - header names are lower-cased, values trimmed with inner runs of spaces
//     collapsed to one; repeated headers are joined with ','; sorted by name;
//   - the payload hash is the lower-case hex SHA-256 of the body.
//
//   SigV4Request r;
//   r.method = "POST"; r.path = "/";
//   r.headers = {{"host", "kms.eu-west-1.amazonaws.com"}, {"x-amz-date", amz_date}, ...};
//   r.payload_hash = HexSha256(body);
//   std::string auth = AuthorizationHeader(r, creds_access_key, secret, scope);
//
// Thread-safety: pure functions.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "base/secret.h"
#include "net/http_client.h"

namespace signet::aws {

struct SigV4Request {
  std::string method;                                        // "GET", "POST"
  std::string path;                                          // unencoded, starting with '/'
  std::vector<std::pair<std::string, std::string>> query;    // unencoded name, value
  std::vector<std::pair<std::string, std::string>> headers;  // every header to sign
  std::string payload_hash;                                  // hex SHA-256 of the body
};

struct SigV4Scope {
  std::string amz_date;  // "20150830T123600Z"
  std::string region;    // "us-east-1"
  std::string service;   // "kms", "sts"
  // "20150830/us-east-1/kms/aws4_request"
  [[nodiscard]] std::string CredentialScope() const;
};

// Lower-case hex SHA-256.
std::string HexSha256(std::string_view data);
// "YYYYMMDDTHHMMSSZ" (UTC).
std::string AmzDate(std::time_t t);

// Step 1. Also returns the signed header list ("host;x-amz-date").
std::string CanonicalRequest(const SigV4Request& request, std::string* signed_headers);
// Step 2.
std::string StringToSign(const SigV4Scope& scope, std::string_view canonical_request);
// Step 3: HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
Bytes SigningKey(const Secret& secret_access_key, const SigV4Scope& scope);
// Step 4: hex HMAC-SHA256 of the string to sign under the signing key.
std::string Signature(const Secret& secret_access_key, const SigV4Scope& scope,
                      std::string_view string_to_sign);
// "AWS4-HMAC-SHA256 Credential=AKID/SCOPE, SignedHeaders=..., Signature=..."
std::string AuthorizationHeader(const SigV4Request& request, std::string_view access_key_id,
                                const Secret& secret_access_key, const SigV4Scope& scope);

// Credentials for signing. The secret key and the session token are secrets.
struct AwsCredentials {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;        // empty for long-term keys
  std::time_t expiration = 0;  // 0: does not expire
  std::string source;          // "environment", "profile default", ... (for messages)
};

// Signs an HTTP request in place for `service` in `region` at time `now`:
// adds Host (host[:port] of the URL, port only when not the scheme's
// default), X-Amz-Date, X-Amz-Security-Token (with a session token) and
// Authorization; every header already on the request is signed too.
// Fails for a URL it cannot parse.
Status SignHttpRequest(net::HttpRequest& request, const AwsCredentials& credentials,
                       std::string_view region, std::string_view service, std::time_t now);

}  // namespace signet::aws
