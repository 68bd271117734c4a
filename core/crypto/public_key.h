// PublicKey: a verified-to-be-supported public key (RSA 2048-4096, EC P-256/
// P-384, Ed25519) and the signature checks signet performs locally.
//
// Immutable and cheap to copy (shared OpenSSL object); thread-safe for reads.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "base/bytes.h"
#include "crypto/algorithm.h"

namespace signet {

class PublicKey {
 public:
  // Takes a reference on `pkey`. Fails for unsupported key types or sizes.
  static Result<PublicKey> FromEvp(EVP_PKEY* pkey);
  static Result<PublicKey> FromSpkiDer(ByteView der);
  static Result<PublicKey> FromPem(ByteView pem);  // "PUBLIC KEY" or a certificate
  static Result<PublicKey> FromPemFile(const std::string& path);

  [[nodiscard]] KeyType type() const { return type_; }
  [[nodiscard]] int bits() const { return bits_; }
  [[nodiscard]] EVP_PKEY* evp() const { return pkey_.get(); }
  [[nodiscard]] Bytes SpkiDer() const;
  [[nodiscard]] std::string Pem() const;
  // SHA-256 of the SubjectPublicKeyInfo DER, hex.
  [[nodiscard]] std::string Fingerprint() const;
  // "RSA-3072", "EC P-256", "Ed25519".
  [[nodiscard]] std::string Description() const;

  // Checks `signature` over a precomputed `digest` (RSA, ECDSA with DER
  // signature). For Ed25519 use VerifyMessage.
  Status VerifyDigest(const SignatureAlgorithm& alg, ByteView digest, ByteView signature) const;
  // Checks `signature` over `message` (hashing it with alg.digest first for
  // RSA/ECDSA; pure Ed25519 for Ed25519 keys).
  Status VerifyMessage(const SignatureAlgorithm& alg, ByteView message, ByteView signature) const;

  friend bool operator==(const PublicKey& a, const PublicKey& b);

 private:
  PublicKey(std::shared_ptr<EVP_PKEY> pkey, KeyType type, int bits)
      : pkey_(std::move(pkey)), type_(type), bits_(bits) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  KeyType type_;
  int bits_;
};

// Sets RSA padding (PKCS#1 v1.5 or PSS with salt = digest length, MGF1 =
// digest) and the digest on a sign/verify context. Shared with key backends
// that sign with OpenSSL so both sides agree on the PSS parameters.
Status ConfigureSignatureContext(EVP_PKEY_CTX* ctx, const SignatureAlgorithm& alg);

// Converts an ECDSA signature from raw r||s (PKCS#11, JOSE) to DER.
Result<Bytes> EcdsaRawToDer(ByteView raw);
// The DER DigestInfo (RFC 8017 9.2) that PKCS#1 v1.5 signs for `digest`.
Bytes DigestInfo(DigestAlgorithm alg, ByteView digest);

}  // namespace signet
