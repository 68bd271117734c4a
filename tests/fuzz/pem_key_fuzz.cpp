// Fuzz target for PEM input (crypto/public_key.h, crypto/certificate.h):
// PublicKey::FromPem (--public-key files, keys in plans and configs) and
// ParseCertificateChainPem (--cert and --trust files).
//
// Besides memory safety it checks round trips and aborts when one breaks: an
// accepted key re-encodes (SPKI DER and PEM) to an equal key with the same
// fingerprint; every certificate of an accepted chain re-parses from its DER
// to the same DER.
// Seed corpus: tests/fuzz/corpus/pem_key/.
#include <openssl/err.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/certificate.h"
#include "crypto/public_key.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  signet::ByteView input(data, size);

  auto key = signet::PublicKey::FromPem(input);
  if (key) {
    Check(key->Fingerprint().size() == 64);
    Check(key->Description() != "unknown");
    auto from_der = signet::PublicKey::FromSpkiDer(key->SpkiDer());
    Check(from_der.has_value() && *from_der == *key);
    auto from_pem = signet::PublicKey::FromPem(signet::AsBytes(key->Pem()));
    Check(from_pem.has_value() && *from_pem == *key);
    Check(from_pem->Fingerprint() == key->Fingerprint());
  }

  auto chain = signet::ParseCertificateChainPem(input);
  if (chain) {
    Check(!chain->empty());
    for (const signet::Certificate& cert : *chain) {
      signet::Bytes der = cert.Der();
      Check(!der.empty());
      auto again = signet::Certificate::FromDer(der);
      Check(again.has_value() && again->Der() == der);
      (void)cert.Subject();
      (void)cert.Issuer();
      (void)cert.SerialHex();
      (void)cert.NotAfter();
      (void)cert.GetPublicKey();
    }
  }
  ERR_clear_error();
  return 0;
}
