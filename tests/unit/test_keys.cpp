#include "test_keys.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

namespace signet::testing {
namespace {

// Test infrastructure failures are not test results: stop loudly.
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "test_keys: %s failed: %s\n", what, OpenSslErrors().c_str());
  std::abort();
}

std::string BioString(BIO* bio) { return ToString(BioBytes(bio)); }

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Require(ext != nullptr, "X509V3_EXT_conf_nid");
  Require(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

}  // namespace

std::string_view KeyKindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kRsa2048:
      return "rsa2048";
    case KeyKind::kRsa1024:
      return "rsa1024";
    case KeyKind::kEcP256:
      return "ecp256";
    case KeyKind::kEcP384:
      return "ecp384";
    case KeyKind::kEcSecp256k1:
      return "secp256k1";
    case KeyKind::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

EvpPkeyPtr GenerateKey(KeyKind kind) {
  EVP_PKEY* key = nullptr;
  switch (kind) {
    case KeyKind::kRsa2048:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case KeyKind::kRsa1024:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
      break;
    case KeyKind::kEcP256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyKind::kEcP384:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case KeyKind::kEcSecp256k1:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1");
      break;
    case KeyKind::kEd25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  Require(key != nullptr, "key generation");
  return EvpPkeyPtr(key);
}

EVP_PKEY* SharedKey(KeyKind kind) {
  static std::map<KeyKind, EvpPkeyPtr> cache;
  auto it = cache.find(kind);
  if (it == cache.end()) it = cache.emplace(kind, GenerateKey(kind)).first;
  return it->second.get();
}

EVP_PKEY* CaKey() {
  static EvpPkeyPtr key = GenerateKey(KeyKind::kEcP256);
  return key.get();
}

std::string PrivateKeyPkcs8Pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Require(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PKCS8PrivateKey");
  return BioString(bio.get());
}

std::string PrivateKeyTraditionalPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Require(PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                               nullptr) == 1,
          "PEM_write_bio_PrivateKey_traditional");
  return BioString(bio.get());
}

std::string EncryptedPkcs8Pem(EVP_PKEY* key, std::string_view passphrase) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  std::string pass(passphrase);
  Require(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), pass.data(),
                                        static_cast<int>(pass.size()), nullptr, nullptr) == 1,
          "PEM_write_bio_PKCS8PrivateKey (encrypted)");
  return BioString(bio.get());
}

std::string PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Require(PEM_write_bio_PUBKEY(bio.get(), key) == 1, "PEM_write_bio_PUBKEY");
  return BioString(bio.get());
}

std::string CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Require(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  return BioString(bio.get());
}

Bytes SignDigest(EVP_PKEY* key, std::string_view digest_name, ByteView digest, bool pss) {
  const EVP_MD* md = EVP_get_digestbyname(std::string(digest_name).c_str());
  Require(md != nullptr, "EVP_get_digestbyname");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  Require(ctx && EVP_PKEY_sign_init(ctx.get()) == 1, "EVP_PKEY_sign_init");
  Require(EVP_PKEY_CTX_set_signature_md(ctx.get(), md) == 1, "EVP_PKEY_CTX_set_signature_md");
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    if (pss) {
      Require(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) == 1 &&
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), EVP_MD_get_size(md)) == 1 &&
                  EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1,
              "RSA-PSS parameters");
    } else {
      Require(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1, "RSA padding");
    }
  }
  std::size_t len = 0;
  Require(EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) == 1,
          "EVP_PKEY_sign (size)");
  Bytes sig(len);
  Require(EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()) == 1,
          "EVP_PKEY_sign");
  sig.resize(len);
  return sig;
}

Bytes SignMessageEd25519(EVP_PKEY* key, ByteView message) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  Require(ctx && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) == 1,
          "EVP_DigestSignInit");
  std::size_t len = 0;
  Require(EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) == 1,
          "EVP_DigestSign (size)");
  Bytes sig(len);
  Require(EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) == 1,
          "EVP_DigestSign");
  sig.resize(len);
  return sig;
}

X509Ptr MakeCertificate(EVP_PKEY* subject_key, EVP_PKEY* issuer_key, X509* issuer_cert,
                        const CertOptions& options) {
  X509Ptr cert(X509_new());
  Require(cert != nullptr, "X509_new");
  Require(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
  Require(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), options.serial) == 1, "serial");
  Require(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
  Require(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * options.days) != nullptr,
          "notAfter");
  Require(X509_set_pubkey(cert.get(), subject_key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  Require(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("Signet Tests"), -1, -1,
                                     0) == 1,
          "subject O");
  Require(X509_NAME_add_entry_by_txt(
              name, "CN", MBSTRING_ASC,
              reinterpret_cast<const unsigned char*>(options.common_name.c_str()), -1, -1, 0) == 1,
          "subject CN");
  X509* issuer = issuer_cert != nullptr ? issuer_cert : cert.get();
  Require(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) == 1, "issuer name");
  if (options.is_ca) {
    AddExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
    if (options.code_signing) AddExtension(cert.get(), issuer, NID_ext_key_usage, "codeSigning");
  }
  AddExtension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (issuer_cert != nullptr) {
    AddExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  }
  // Ed25519 signs without a separate digest.
  const EVP_MD* md = EVP_PKEY_get_base_id(issuer_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  Require(X509_sign(cert.get(), issuer_key, md) > 0, "X509_sign");
  return cert;
}

TestPki MakePki(EVP_PKEY* leaf_key, const std::string& leaf_name) {
  TestPki pki;
  pki.ca_key = CaKey();
  CertOptions ca_options;
  ca_options.common_name = "Signet Test CA";
  ca_options.is_ca = true;
  ca_options.serial = 1000;
  pki.ca_cert = MakeCertificate(pki.ca_key, pki.ca_key, nullptr, ca_options);
  pki.leaf_key = leaf_key;
  CertOptions leaf_options;
  leaf_options.common_name = leaf_name;
  leaf_options.serial = 2000;
  pki.leaf_cert = MakeCertificate(leaf_key, pki.ca_key, pki.ca_cert.get(), leaf_options);
  return pki;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && base[0] != '\0' ? base : "/tmp") + "/signet-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::File(std::string_view name) const { return path_ + "/" + std::string(name); }

std::string TempDir::Write(std::string_view name, std::string_view content) const {
  return Write(name,
               ByteView(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
}

std::string TempDir::Write(std::string_view name, ByteView content) const {
  std::string p = File(name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(content.data()),
            static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "test_keys: cannot write %s\n", p.c_str());
    std::abort();
  }
  return p;
}

std::vector<std::string> TempDir::List() const {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(path_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Bytes ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace signet::testing
