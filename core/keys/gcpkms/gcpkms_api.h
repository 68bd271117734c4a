// The Google Cloud KMS REST API (v1) as pure functions: key URIs, key
// version algorithms, getPublicKey and asymmetricSign with their CRC-32C
// integrity checks, and Google API errors. The backend (gcpkms_key.cpp) adds
// HTTP and credentials.
//
//   GET  https://cloudkms.googleapis.com/v1/{name}/publicKey
//        -> {"pem", "algorithm", "pemCrc32c", "name", ...}
//   POST https://cloudkms.googleapis.com/v1/{name}:asymmetricSign
//        {"digest": {"sha256": BASE64}, "digestCrc32c": "N"}
//        -> {"signature", "signatureCrc32c", "verifiedDigestCrc32c", "name", ...}
//
// The int64 CRC fields travel as decimal strings (proto3 JSON mapping).
// References: Cloud KMS REST reference (cryptoKeyVersions.getPublicKey,
// .asymmetricSign; CryptoKeyVersionAlgorithm), "Verifying end-to-end data
// integrity" (CRC32C).
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "crypto/algorithm.h"
#include "crypto/public_key.h"
#include "net/http_client.h"

namespace signet::gcpkms {

inline constexpr std::string_view kService = "Google Cloud KMS";

// gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V
// -> the resource name "projects/P/.../cryptoKeyVersions/V".
Result<std::string> ParseKeyUri(std::string_view uri);

// What a CryptoKeyVersionAlgorithm signs with.
struct KeyAlgorithm {
  SignatureAlgorithm signature;
  KeyType key_type = KeyType::kRsa;
  int rsa_bits = 0;  // RSA modulus size; 0 for EC
};

// RSA_SIGN_PKCS1_<bits>_SHA<n>, RSA_SIGN_PSS_<bits>_SHA<n>, EC_SIGN_P256_SHA256,
// EC_SIGN_P384_SHA384; nullopt for the algorithms signet cannot use over a
// digest (RSA_SIGN_RAW_*, EC_SIGN_SECP256K1_*, EC_SIGN_ED25519, non-signing).
std::optional<KeyAlgorithm> ParseAlgorithm(std::string_view name);

struct KeyVersion {
  PublicKey public_key;
  std::string algorithm;  // as the service names it
};

// Parses a getPublicKey answer: the name must be `resource`, pemCrc32c must
// match the PEM, and the key must have the algorithm's type.
Result<KeyVersion> ParsePublicKeyResponse(std::string_view body, std::string_view resource);

// Checks that `requested` is what the key version signs with;
// kFailedPrecondition naming the options to use otherwise.
Status CheckAlgorithm(const KeyVersion& key, const SignatureAlgorithm& requested);

// The body of an asymmetricSign request for `digest`.
std::string SignRequestBody(DigestAlgorithm alg, ByteView digest);

// The signature of an asymmetricSign answer, after its checks: the name is
// `resource`, verifiedDigestCrc32c is true, signatureCrc32c matches.
Result<Bytes> ParseSignResponse(std::string_view body, std::string_view resource);

// The error of a non-2xx Google API answer: error.status and error.message.
Error ServiceError(std::string_view service, const net::HttpResponse& response);

}  // namespace signet::gcpkms
