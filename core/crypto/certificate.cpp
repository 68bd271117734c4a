#include "crypto/certificate.h"

#include <openssl/asn1.h>
#include <openssl/pem.h>

#include "base/file.h"
#include "crypto/openssl_util.h"

namespace signet {
namespace {

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return ToString(BioBytes(bio.get()));
}

std::time_t AsnTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

}  // namespace

Result<Certificate> Certificate::FromDer(ByteView der) {
  const unsigned char* p = der.data();
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (cert == nullptr) return InvalidArgument("not a DER X.509 certificate: " + OpenSslErrors());
  return Certificate(std::shared_ptr<X509>(cert, X509_free));
}

Certificate Certificate::FromX509(X509* cert) {
  X509_up_ref(cert);
  return Certificate(std::shared_ptr<X509>(cert, X509_free));
}

Bytes Certificate::Der() const {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert_.get(), &der);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string Certificate::Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert_.get());
  return ToString(BioBytes(bio.get()));
}

std::string Certificate::Subject() const {
  return NameToString(X509_get_subject_name(cert_.get()));
}
std::string Certificate::Issuer() const { return NameToString(X509_get_issuer_name(cert_.get())); }

Bytes Certificate::IssuerNameDer() const {
  unsigned char* der = nullptr;
  int len = i2d_X509_NAME(X509_get_issuer_name(cert_.get()), &der);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Bytes Certificate::SerialNumberDer() const {
  unsigned char* der = nullptr;
  int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert_.get()), &der);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string Certificate::SerialHex() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert_.get());
  return HexEncode(ByteView(ASN1_STRING_get0_data(serial),
                            static_cast<std::size_t>(ASN1_STRING_length(serial))));
}

std::time_t Certificate::NotBefore() const { return AsnTime(X509_get0_notBefore(cert_.get())); }
std::time_t Certificate::NotAfter() const { return AsnTime(X509_get0_notAfter(cert_.get())); }

Result<PublicKey> Certificate::GetPublicKey() const {
  return PublicKey::FromEvp(X509_get0_pubkey(cert_.get()));
}

Result<CertificateChain> ParseCertificateChainPem(ByteView pem) {
  BioPtr bio = MemBio(pem);
  CertificateChain chain;
  while (true) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    chain.push_back(Certificate::FromX509(cert));
    X509_free(cert);
  }
  OpenSslErrors();  // the final read always fails with "no start line"
  if (chain.empty()) return InvalidArgument("no PEM certificate found");
  return chain;
}

Result<CertificateChain> LoadCertificateChain(const std::string& path) {
  SIGNET_ASSIGN_OR_RETURN(Bytes pem, ReadSmallFile(path, 4 << 20));
  auto chain = ParseCertificateChainPem(pem);
  if (!chain) return std::unexpected(chain.error().WithContext(path));
  return chain;
}

Result<CertificateChain> OrderChainForKey(CertificateChain chain, const PublicKey& key) {
  for (std::size_t i = 0; i < chain.size(); ++i) {
    auto pub = chain[i].GetPublicKey();
    if (pub && *pub == key) {
      if (i != 0) std::swap(chain[0], chain[i]);
      return chain;
    }
  }
  return FailedPrecondition("no certificate in the chain matches the signing key (" +
                            key.Description() + ", SHA-256 " + key.Fingerprint().substr(0, 16) +
                            "...)");
}

std::string FormatTime(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace signet
