// The HashiCorp Vault (and OpenBao) transit secrets engine API as pure
// functions: key URIs, the read-key answer, sign requests and "vault:vN:"
// signatures, JWT auth login, and Vault errors. The backend (vault_key.cpp)
// adds HTTP.
//
//   GET  $VAULT_ADDR/v1/MOUNT/keys/NAME
//        -> {"data": {"type": "rsa-3072", "latest_version": 2, "supports_signing": true,
//                     "keys": {"2": {"public_key": "-----BEGIN PUBLIC KEY-----..."}}}}
//   POST $VAULT_ADDR/v1/MOUNT/sign/NAME
//        {"input": BASE64(digest), "prehashed": true, "hash_algorithm": "sha2-256",
//         "signature_algorithm": "pss", "salt_length": "hash",
//         "marshaling_algorithm": "asn1", "key_version": 2}
//        -> {"data": {"signature": "vault:v2:BASE64", "key_version": 2}}
//   POST $VAULT_ADDR/v1/auth/jwt/login {"role": ROLE, "jwt": TOKEN}
//        -> {"auth": {"client_token": "...", "lease_duration": 3600}}
//
// PSS is requested with salt_length "hash" (salt = digest length, the
// convention every other signer and verifier here uses): Vault's default
// "auto" makes the salt as long as possible.
// References: Vault API docs, "Transit secrets engine (API)" (read key,
// sign data) and "JWT/OIDC auth method (API)" (login).
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/secret.h"
#include "crypto/algorithm.h"
#include "crypto/public_key.h"
#include "net/http_client.h"

namespace signet::vault {

inline constexpr std::string_view kService = "Vault";

// hashivault://NAME[?mount=PATH][&version=N]
struct KeyUri {
  std::string name;
  std::string mount = "transit";
  std::optional<int> version;  // nullopt: the latest (pinned by Open)

  [[nodiscard]] std::string ToString() const;
};

Result<KeyUri> ParseKeyUri(std::string_view uri);

struct KeyInfo {
  std::string type;  // "rsa-3072", "ecdsa-p256", "ed25519", ...
  int version = 0;   // the version every sign request names
  PublicKey public_key;
};

// Parses a read-key answer for `uri`: the key must support signing and have
// the version asked for (else its latest_version); kFailedPrecondition for
// key types signet cannot use.
Result<KeyInfo> ParseKeyResponse(std::string_view body, const KeyUri& uri);

// "sha2-256", "sha2-384", "sha2-512".
std::string_view HashAlgorithmName(DigestAlgorithm alg);

// The sign request body; kFailedPrecondition when `alg` does not fit the key
// (Vault's ed25519 keys sign messages, not digests).
Result<std::string> SignRequestBody(const KeyInfo& key, const SignatureAlgorithm& alg,
                                    ByteView digest);

// The signature of a sign answer: "vault:vN:BASE64" with N the key's version.
Result<Bytes> ParseSignResponse(std::string_view body, const KeyInfo& key);

// The body of a JWT auth login.
Secret JwtLoginBody(std::string_view role, const Secret& jwt);
// The client token of a login answer.
Result<Secret> ParseLoginResponse(std::string body);

// The error of a non-2xx Vault answer: its "errors" list.
Error ServiceError(std::string_view service, const net::HttpResponse& response);

}  // namespace signet::vault
