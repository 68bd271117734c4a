#include "crypto/public_key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

#include "base/file.h"
#include "crypto/der.h"
#include "crypto/digest.h"
#include "crypto/openssl_util.h"

namespace signet {

Result<PublicKey> PublicKey::FromEvp(EVP_PKEY* pkey) {
  if (pkey == nullptr) return InvalidArgument("no public key");
  int id = EVP_PKEY_get_base_id(pkey);
  int bits = EVP_PKEY_get_bits(pkey);
  KeyType type;
  if (id == EVP_PKEY_RSA) {
    if (bits < 2048 || bits > 4096) {
      return FailedPrecondition("RSA-" + std::to_string(bits) +
                                " keys are not supported (use 2048 to 4096 bits)");
    }
    type = KeyType::kRsa;
  } else if (id == EVP_PKEY_EC) {
    char curve[64] = {0};
    std::size_t len = 0;
    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve, &len);
    if (std::strcmp(curve, "prime256v1") == 0) {
      type = KeyType::kEcP256;
    } else if (std::strcmp(curve, "secp384r1") == 0) {
      type = KeyType::kEcP384;
    } else {
      return FailedPrecondition(std::string("EC curve ") + (curve[0] ? curve : "(unknown)") +
                                " is not supported (use P-256 or P-384)");
    }
  } else if (id == EVP_PKEY_ED25519) {
    type = KeyType::kEd25519;
  } else {
    return FailedPrecondition("unsupported key type (use RSA, EC P-256/P-384 or Ed25519)");
  }
  EVP_PKEY_up_ref(pkey);
  return PublicKey(std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free), type, bits);
}

Result<PublicKey> PublicKey::FromSpkiDer(ByteView der) {
  const unsigned char* p = der.data();
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!pkey) return InvalidArgument("not a DER SubjectPublicKeyInfo: " + OpenSslErrors());
  return FromEvp(pkey.get());
}

Result<PublicKey> PublicKey::FromPem(ByteView pem) {
  BioPtr bio = MemBio(pem);
  EvpPkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    OpenSslErrors();
    bio = MemBio(pem);
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      OpenSslErrors();
      return InvalidArgument("no PEM public key or certificate found");
    }
    return FromEvp(X509_get0_pubkey(cert.get()));
  }
  return FromEvp(pkey.get());
}

Result<PublicKey> PublicKey::FromPemFile(const std::string& path) {
  SIGNET_ASSIGN_OR_RETURN(Bytes pem, ReadSmallFile(path));
  auto key = FromPem(pem);
  if (!key) return std::unexpected(key.error().WithContext(path));
  return key;
}

Bytes PublicKey::SpkiDer() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey_.get(), &der);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string PublicKey::Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), pkey_.get());
  return ToString(BioBytes(bio.get()));
}

std::string PublicKey::Fingerprint() const {
  return HexEncode(Digest(DigestAlgorithm::kSha256, SpkiDer()));
}

std::string PublicKey::Description() const {
  switch (type_) {
    case KeyType::kRsa:
      return "RSA-" + std::to_string(bits_);
    case KeyType::kEcP256:
      return "EC P-256";
    case KeyType::kEcP384:
      return "EC P-384";
    case KeyType::kEd25519:
      return "Ed25519";
  }
  return "unknown";
}

bool operator==(const PublicKey& a, const PublicKey& b) {
  return EVP_PKEY_eq(a.pkey_.get(), b.pkey_.get()) == 1;
}

Status ConfigureSignatureContext(EVP_PKEY_CTX* ctx, const SignatureAlgorithm& alg) {
  if (alg.scheme == SignatureScheme::kEd25519) return {};
  if (EVP_PKEY_CTX_set_signature_md(ctx, EvpMd(alg.digest)) != 1) {
    return Internal("cannot set signature digest: " + OpenSslErrors());
  }
  if (alg.scheme == SignatureScheme::kRsaPkcs1v15) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) {
      return Internal("cannot set RSA padding: " + OpenSslErrors());
    }
  } else if (alg.scheme == SignatureScheme::kRsaPss) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EvpMd(alg.digest)) != 1) {
      return Internal("cannot set RSA-PSS parameters: " + OpenSslErrors());
    }
  }
  return {};
}

Status PublicKey::VerifyDigest(const SignatureAlgorithm& alg, ByteView digest,
                               ByteView signature) const {
  if (!SchemeFitsKey(alg.scheme, type_)) {
    return FailedPrecondition(SignatureAlgorithmName(alg) + " cannot be used with a " +
                              Description() + " key");
  }
  if (alg.scheme == SignatureScheme::kEd25519) {
    return Internal("Ed25519 signs messages, not digests");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(pkey_.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return Internal("cannot initialise verification: " + OpenSslErrors());
  }
  SIGNET_RETURN_IF_ERROR(ConfigureSignatureContext(ctx.get(), alg));
  int rc =
      EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(), digest.size());
  OpenSslErrors();
  if (rc != 1)
    return VerificationFailed("signature does not match (" + SignatureAlgorithmName(alg) + ")");
  return {};
}

Status PublicKey::VerifyMessage(const SignatureAlgorithm& alg, ByteView message,
                                ByteView signature) const {
  if (alg.scheme != SignatureScheme::kEd25519) {
    return VerifyDigest(alg, Digest(alg.digest, message), signature);
  }
  if (type_ != KeyType::kEd25519) {
    return FailedPrecondition("Ed25519 signature cannot be checked with a " + Description() +
                              " key");
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1) {
    return Internal("cannot initialise verification: " + OpenSslErrors());
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size());
  OpenSslErrors();
  if (rc != 1) return VerificationFailed("signature does not match (ed25519)");
  return {};
}

Result<Bytes> EcdsaRawToDer(ByteView raw) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 132) {
    return InvalidArgument("ECDSA signature of " + std::to_string(raw.size()) +
                           " bytes is not a raw r||s pair");
  }
  std::size_t half = raw.size() / 2;
  return der::Sequence({der::IntegerFromUnsigned(raw.subspan(0, half)),
                        der::IntegerFromUnsigned(raw.subspan(half))});
}

Bytes DigestInfo(DigestAlgorithm alg, ByteView digest) {
  std::string_view oid;
  switch (alg) {
    case DigestAlgorithm::kSha256:
      oid = "2.16.840.1.101.3.4.2.1";
      break;
    case DigestAlgorithm::kSha384:
      oid = "2.16.840.1.101.3.4.2.2";
      break;
    case DigestAlgorithm::kSha512:
      oid = "2.16.840.1.101.3.4.2.3";
      break;
  }
  return der::Sequence({der::Sequence({der::Oid(oid), der::Null()}), der::OctetString(digest)});
}

}  // namespace signet
