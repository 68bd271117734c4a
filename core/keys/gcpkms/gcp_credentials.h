// Google OAuth 2.0 access tokens for Cloud KMS, found the way Application
// Default Credentials find them:
//
//   1. GOOGLE_APPLICATION_CREDENTIALS names a JSON credential file:
//      "service_account"   a JWT assertion signed RS256 with the account's key
//                          (iss = client_email, scope, aud = token_uri, iat,
//                          exp = iat + 1 h; header kid = private_key_id), exchanged
//                          at token_uri (RFC 7523 jwt-bearer grant);
//      "external_account"  workload identity federation: the subject token (a CI
//                          OIDC token) from credential_source.file or .url (format
//                          text or json), exchanged at token_url (RFC 8693 token
//                          exchange, Google STS), then, when the file has a
//                          service_account_impersonation_url, swapped for the
//                          service account's token (IAM Credentials
//                          generateAccessToken).
//   2. Otherwise the metadata server (GCE, GKE, Cloud Run) at GCE_METADATA_HOST
//      or metadata.google.internal.
//
// The token_uri / token_url of the file are honoured (tests point them at a
// loopback server). Private keys, subject tokens and access tokens stay in
// Secret and never appear in an error.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "keys/cloud/cloud_http.h"

namespace signet::gcpkms {

inline constexpr std::string_view kKmsScope = "https://www.googleapis.com/auth/cloudkms";
inline constexpr std::string_view kCloudPlatformScope =
    "https://www.googleapis.com/auth/cloud-platform";
inline constexpr std::string_view kDefaultTokenUri = "https://oauth2.googleapis.com/token";
inline constexpr std::string_view kDefaultMetadataHost = "metadata.google.internal";

// The parts of a service account key file signet uses.
struct ServiceAccountKey {
  std::string client_email;
  std::string private_key_id;
  std::string token_uri;
  Secret private_key_pem;
};

// Parses a "service_account" credential file's JSON (`json` is wiped as far
// as it holds the private key).
Result<ServiceAccountKey> ParseServiceAccountKey(cloud::Json& json, std::string_view path);

// The signed JWT a service account exchanges for an access token.
Result<Secret> ServiceAccountAssertion(const ServiceAccountKey& key, std::string_view scope,
                                       std::time_t now);

// An RFC 3339 UTC time ("2026-01-02T03:04:05Z", optional fraction) as Unix time.
std::optional<std::time_t> ParseRfc3339(std::string_view text);

// The token source the environment configures. `http_factory` makes the
// short-timeout client that probes the metadata server.
Result<std::unique_ptr<cloud::TokenSource>> CredentialFromEnvironment(
    const cloud::HttpClientFactory& http_factory);

}  // namespace signet::gcpkms
