// The Azure Key Vault keys REST API (api-version 7.4) as pure functions: key
// URIs, JSON Web Keys, the sign request and answer, and Key Vault errors.
// The backend (azurekv_key.cpp) adds HTTP and credentials.
//
//   GET  https://VAULT.vault.azure.net/keys/NAME[/VERSION]?api-version=7.4
//        -> {"key": {JWK}, "attributes": {"enabled": true, ...}}
//   POST https://VAULT.vault.azure.net/keys/NAME/VERSION/sign?api-version=7.4
//        {"alg": "PS256", "value": BASE64URL(digest)} -> {"kid": ..., "value": BASE64URL(sig)}
//
// References: Key Vault REST API "Get Key" and "Sign" (7.4); RFC 7517 (JWK),
// RFC 7518 sections 3.1 and 6 (JWA algorithms, RSA and EC key parameters).
// ECDSA signatures come back as JOSE r||s (RFC 7518 section 3.4) and are
// converted to DER here.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "crypto/algorithm.h"
#include "crypto/public_key.h"
#include "keys/cloud/cloud_http.h"
#include "net/http_client.h"

namespace signet::azurekv {

inline constexpr std::string_view kApiVersion = "7.4";
inline constexpr std::string_view kService = "Azure Key Vault";

// azurekv://HOST/keys/NAME[/VERSION]
struct KeyUri {
  std::string host;     // "myvault.vault.azure.net", lower case
  std::string name;     // key name: letters, digits, '-'
  std::string version;  // "" = the current version (pinned by Open)
  // The OAuth resource of the vault's cloud and kind: "https://vault.azure.net",
  // "https://managedhsm.azure.net", "https://vault.azure.cn", ...
  std::string resource;

  [[nodiscard]] std::string ToString() const;
};

// Parses a key URI. The host must be a vault or Managed HSM in a known Azure
// cloud (*.vault.azure.net, *.managedhsm.azure.net, and the China and US
// Government equivalents): the backend sends it bearer tokens.
Result<KeyUri> ParseKeyUri(std::string_view uri);

// The public key of a JWK: kty RSA/RSA-HSM (n, e) or EC/EC-HSM (crv P-256 or
// P-384, x, y). Other key types and curves: kFailedPrecondition.
Result<PublicKey> PublicKeyFromJwk(const cloud::Json& jwk);

// What Open learns from GET key.
struct KeyBundle {
  std::string kid;      // https://HOST/keys/NAME/VERSION
  std::string version;  // VERSION of kid: every sign call names it
  PublicKey public_key;
};

// Parses a Get Key answer for `uri`: the kid must name the URI's vault, key
// (and version, when the URI has one); the key must be enabled and allow
// "sign" when it lists key_ops.
Result<KeyBundle> ParseKeyBundle(std::string_view body, const KeyUri& uri);

// The JWA "alg" for signing with `alg` by `key`: RS256..RS512 (PKCS#1 v1.5),
// PS256..PS512 (PSS, salt = digest length), ES256 (P-256 with SHA-256), ES384
// (P-384 with SHA-384); kFailedPrecondition for any other combination.
Result<std::string> JwaAlgorithm(const SignatureAlgorithm& alg, const PublicKey& key);

// The body of a sign request.
std::string SignRequestBody(std::string_view jwa, ByteView digest);

// The signature in a sign answer, as formats embed it (ECDSA as DER). Checks
// that the answer names the key version that was asked for.
Result<Bytes> ParseSignResponse(std::string_view body, const KeyBundle& key);

// The error for a non-2xx Key Vault answer, with its error.code (and
// innererror.code) and error.message.
Error ServiceError(const net::HttpResponse& response);

}  // namespace signet::azurekv
