// KeySigner: a signing key wherever it lives (file, PKCS#11 token, KMS,
// Signet server), and the registry that opens one from a key URI.
//
// A signer signs a digest it is given; it never sees the artifact. Formats do
// not include this header (see docs/architecture.md): the CLI or the server
// passes a SigningPlan's to-be-signed digest to Sign() and the result back to
// the format.
//
// Backends are registered explicitly by RegisterBuiltinKeyBackends(); there is
// no static-initializer self-registration (it is dropped by static linking).
//
// Thread-safety: a KeySigner is used from one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "base/secret.h"
#include "crypto/algorithm.h"
#include "crypto/certificate.h"
#include "crypto/public_key.h"

namespace signet {

struct SignRequest {
  SignatureAlgorithm algorithm;
  // The digest of the to-be-signed bytes by algorithm.digest (RSA, ECDSA).
  ByteView digest;
  // The to-be-signed bytes themselves, when the format has them (CMS signed
  // attributes). Required by Ed25519, which signs messages, not digests.
  ByteView message;
};

class KeySigner {
 public:
  virtual ~KeySigner() = default;

  // The key's URI with secrets (pin-value) removed: safe to print.
  [[nodiscard]] virtual std::string uri() const = 0;
  [[nodiscard]] virtual const PublicKey& public_key() const = 0;
  // Leaf first; empty when the backend has no certificate and none was given.
  [[nodiscard]] virtual const CertificateChain& certificate_chain() const = 0;

  // Returns the signature as the formats embed it: RSA raw bytes, ECDSA as a
  // DER Ecdsa-Sig-Value, Ed25519 raw 64 bytes.
  virtual Result<Bytes> Sign(const SignRequest& request) = 0;
};

// Options shared by every backend. Secrets arrive resolved (from env, file or
// prompt), never from argv.
struct KeyOptions {
  std::string cert_path;             // --cert: certificate chain PEM, leaf first
  std::optional<Secret> passphrase;  // for encrypted key files
  std::optional<Secret> pin;         // PKCS#11 PIN (overrides URI/env)
};

// One key a backend can list (signet key list).
struct KeyListing {
  std::string uri;  // full URI, without secrets
  std::string label;
  std::string type;  // "RSA-3072", "EC P-256", ...
  bool has_certificate = false;
};

class KeyBackend {
 public:
  virtual ~KeyBackend() = default;
  // URI scheme without colon: "file", "pkcs11".
  [[nodiscard]] virtual std::string_view scheme() const = 0;
  // Opens the key; prefetches its public key and certificate chain.
  virtual Result<std::unique_ptr<KeySigner>> Open(std::string_view uri,
                                                  const KeyOptions& options) = 0;
  // Lists the keys the URI matches (a token, a directory...).
  virtual Result<std::vector<KeyListing>> List(std::string_view uri, const KeyOptions& options);
  // False for a placeholder that only explains why this build lacks the
  // scheme (pkcs11: in the static binary); KeyRegistry::schemes() skips it.
  [[nodiscard]] virtual bool built_in() const { return true; }
};

class KeyRegistry {
 public:
  void Register(std::unique_ptr<KeyBackend> backend);
  // The backend whose scheme prefixes `uri` ("scheme:"), or a kInvalidArgument
  // error naming the URI and the known schemes.
  Result<KeyBackend*> Find(std::string_view uri) const;
  Result<std::unique_ptr<KeySigner>> Open(std::string_view uri, const KeyOptions& options) const;
  Result<std::vector<KeyListing>> List(std::string_view uri, const KeyOptions& options) const;
  // The schemes this build can open (placeholders left out).
  [[nodiscard]] std::vector<std::string> schemes() const;

 private:
  std::vector<std::unique_ptr<KeyBackend>> backends_;
};

// Registers file: and, when built in, pkcs11:, awskms:, azurekv:, gcpkms: and
// hashivault: (CMake options SIGNET_WITH_PKCS11, SIGNET_WITH_CLOUD_KMS).
void RegisterBuiltinKeyBackends(KeyRegistry& registry);

// Applies the certificate policy shared by backends: the backend's own chain
// when it has one, else the --cert file; the leaf must match `key`.
Result<CertificateChain> ResolveCertificateChain(CertificateChain backend_chain,
                                                 const KeyOptions& options, const PublicKey& key);

}  // namespace signet
