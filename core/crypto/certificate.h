// Certificate: an immutable X.509 certificate, and chain loading.
#pragma once

#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/public_key.h"

namespace signet {

class Certificate {
 public:
  static Result<Certificate> FromDer(ByteView der);
  // Takes a reference on `cert`.
  static Certificate FromX509(X509* cert);

  [[nodiscard]] X509* x509() const { return cert_.get(); }
  [[nodiscard]] Bytes Der() const;
  [[nodiscard]] std::string Pem() const;
  [[nodiscard]] std::string Subject() const;  // RFC 2253 one line
  [[nodiscard]] std::string Issuer() const;
  [[nodiscard]] Bytes IssuerNameDer() const;
  [[nodiscard]] Bytes SerialNumberDer() const;  // the full INTEGER TLV
  [[nodiscard]] std::string SerialHex() const;
  [[nodiscard]] std::time_t NotBefore() const;
  [[nodiscard]] std::time_t NotAfter() const;
  Result<PublicKey> GetPublicKey() const;

 private:
  explicit Certificate(std::shared_ptr<X509> cert) : cert_(std::move(cert)) {}
  std::shared_ptr<X509> cert_;
};

using CertificateChain = std::vector<Certificate>;  // leaf first

// Reads every certificate in a PEM file (leaf first, as written). Fails when
// the file holds none.
Result<CertificateChain> LoadCertificateChain(const std::string& path);
Result<CertificateChain> ParseCertificateChainPem(ByteView pem);

// Puts the certificate whose public key equals `key` first. Fails when none
// matches (the chain belongs to another key).
Result<CertificateChain> OrderChainForKey(CertificateChain chain, const PublicKey& key);

// Formats a time as ISO 8601 UTC ("2026-11-27T22:35:28Z").
std::string FormatTime(std::time_t t);

}  // namespace signet
