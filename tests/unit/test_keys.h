// Test support: keys, certificates and temp directories made in memory with
// OpenSSL, so unit tests need no fixture files and no openssl(1) binary.
//
//   EVP_PKEY* key = signet::testing::SharedKey(signet::testing::KeyKind::kEcP256);
//   signet::testing::TestPki pki = signet::testing::MakePki(key);
//   signet::testing::TempDir dir;
//   std::string chain = dir.Write("chain.pem", pki.ChainPem());
//
// The CA is an EC P-256 key with CA:TRUE; the leaf carries keyUsage
// digitalSignature and extendedKeyUsage codeSigning, like a real code-signing
// certificate (osslsigncode refuses leaves without that EKU).
//
// Not thread-safe (SharedKey caches keys in a function-local map); gtest runs
// the tests of one executable on one thread.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/openssl_util.h"

namespace signet::testing {

enum class KeyKind { kRsa2048, kRsa1024, kEcP256, kEcP384, kEcSecp256k1, kEd25519 };

std::string_view KeyKindName(KeyKind kind);

// A fresh key. REQUIRES: OpenSSL can generate `kind` (always true on OpenSSL 3).
EvpPkeyPtr GenerateKey(KeyKind kind);
// One key per kind per process (RSA generation is slow under sanitizers).
// The map owns the key; do not free it.
EVP_PKEY* SharedKey(KeyKind kind);

// PEM encodings.
std::string PrivateKeyPkcs8Pem(EVP_PKEY* key);
// "-----BEGIN RSA PRIVATE KEY-----" / "EC PRIVATE KEY" (RFC 8017 / RFC 5915).
std::string PrivateKeyTraditionalPem(EVP_PKEY* key);
// "-----BEGIN ENCRYPTED PRIVATE KEY-----" (PKCS#8, AES-256-CBC, PBKDF2).
std::string EncryptedPkcs8Pem(EVP_PKEY* key, std::string_view passphrase);
std::string PublicKeyPem(EVP_PKEY* key);
std::string CertificatePem(X509* cert);

// Signs `digest` with `key` the way a KeySigner would (RSA PKCS#1 v1.5 or
// PSS with salt = digest length, ECDSA DER). `digest_name`: "sha256", ...
Bytes SignDigest(EVP_PKEY* key, std::string_view digest_name, ByteView digest, bool pss = false);
// Pure Ed25519 over `message`.
Bytes SignMessageEd25519(EVP_PKEY* key, ByteView message);

struct CertOptions {
  std::string common_name = "Signet Test";
  bool is_ca = false;
  bool code_signing = true;  // extendedKeyUsage codeSigning (leaves only)
  long serial = 1;
  int days = 30;
};

// A certificate for `subject_key` issued by `issuer_key`/`issuer_cert`
// (self-signed when issuer_cert is null; then issuer_key must be subject_key).
X509Ptr MakeCertificate(EVP_PKEY* subject_key, EVP_PKEY* issuer_key, X509* issuer_cert,
                        const CertOptions& options);

// The key of every TestPki's CA: an EC P-256 key of its own, never one of the
// SharedKey() keys, so a leaf key never matches the CA certificate.
EVP_PKEY* CaKey();

// A CA and one leaf certificate for a given leaf key.
struct TestPki {
  EVP_PKEY* ca_key = nullptr;  // CaKey(): not owned
  X509Ptr ca_cert;
  EVP_PKEY* leaf_key = nullptr;  // not owned
  X509Ptr leaf_cert;

  [[nodiscard]] std::string CaPem() const { return CertificatePem(ca_cert.get()); }
  [[nodiscard]] std::string LeafPem() const { return CertificatePem(leaf_cert.get()); }
  // Leaf first, then the CA (what --cert takes).
  [[nodiscard]] std::string ChainPem() const { return LeafPem() + CaPem(); }
};

TestPki MakePki(EVP_PKEY* leaf_key, const std::string& leaf_name = "Signet Test Leaf");

// A fresh directory under $TMPDIR (or /tmp), removed with its content on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  // path()/name
  [[nodiscard]] std::string File(std::string_view name) const;
  // Writes `content` to path()/name (mode 0644) and returns the path.
  std::string Write(std::string_view name, std::string_view content) const;
  std::string Write(std::string_view name, ByteView content) const;
  // Names of the entries in the directory (hidden ones included), sorted.
  [[nodiscard]] std::vector<std::string> List() const;

 private:
  std::string path_;
};

// The whole content of a file ("" when it cannot be read).
Bytes ReadFileBytes(const std::string& path);

}  // namespace signet::testing
