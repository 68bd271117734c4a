// Names of digest and signature algorithms shared by formats, keys and the CLI.
//
// A SignatureAlgorithm is what a format asks a key to do: the scheme follows
// from the key type (and, for RSA, the padding the user chose); the digest
// from the format (CMS with Ed25519 uses SHA-512, RFC 8419 section 3).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.h"

namespace signet {

enum class DigestAlgorithm { kSha256, kSha384, kSha512 };

std::string_view DigestName(DigestAlgorithm alg);  // "sha256"
std::size_t DigestSize(DigestAlgorithm alg);       // bytes
// Accepts "sha256", "SHA-256", "sha-256" and the like.
Result<DigestAlgorithm> ParseDigestAlgorithm(std::string_view name);

enum class KeyType { kRsa, kEcP256, kEcP384, kEd25519 };
std::string_view KeyTypeName(KeyType type);  // "rsa", "ec-p256", "ec-p384", "ed25519"

enum class SignatureScheme { kRsaPkcs1v15, kRsaPss, kEcdsa, kEd25519 };

// For kRsaPss: MGF1 with the same digest, salt length = digest length.
struct SignatureAlgorithm {
  SignatureScheme scheme = SignatureScheme::kRsaPkcs1v15;
  DigestAlgorithm digest = DigestAlgorithm::kSha256;

  friend bool operator==(const SignatureAlgorithm&, const SignatureAlgorithm&) = default;
};

// "rsa-pkcs1-sha256", "rsa-pss-sha384", "ecdsa-sha256", "ed25519-sha512"
// (for Ed25519 the digest is the one the format hashes the content with).
std::string SignatureAlgorithmName(const SignatureAlgorithm& alg);
Result<SignatureAlgorithm> ParseSignatureAlgorithm(std::string_view name);

// The scheme a key of `type` signs with; `rsa_pss` picks PSS over PKCS#1 v1.5.
SignatureScheme DefaultScheme(KeyType type, bool rsa_pss);

// True when the scheme can be used with a key of `type`.
bool SchemeFitsKey(SignatureScheme scheme, KeyType type);

}  // namespace signet
