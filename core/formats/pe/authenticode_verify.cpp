#include "formats/pe/authenticode_verify.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "crypto/openssl_util.h"
#include "timestamp/rfc3161.h"

namespace signet::pe {
namespace {

constexpr std::string_view kOidRsaPss = "1.2.840.113549.1.1.10";
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

std::string KeyDescription(EVP_PKEY* pkey) {
  if (auto pub = PublicKey::FromEvp(pkey)) return pub->Description();
  OpenSslErrors();
  return std::string(EVP_PKEY_get0_type_name(pkey) != nullptr ? EVP_PKEY_get0_type_name(pkey)
                                                              : "key") +
         "-" + std::to_string(EVP_PKEY_get_bits(pkey));
}

// Checks `signature` over `message` (the signed attributes, tag 0x31) with
// the signer's key: RSA PKCS#1 v1.5 or PSS (from the signatureAlgorithm
// OID), or ECDSA, with the SignerInfo's digest.
Status VerifySignerSignature(EVP_PKEY* pkey, const std::string& digest_name,
                             const SignerInfoView& si, ByteView message, std::string* scheme) {
  const EVP_MD* md = EVP_get_digestbyname(digest_name.c_str());
  if (md == nullptr) return VerificationFailed("unsupported digest algorithm " + digest_name);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, pkey) != 1) {
    return VerificationFailed("cannot use the signer's key: " + OpenSslErrors());
  }
  int type = EVP_PKEY_get_base_id(pkey);
  if (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS) {
    if (si.signature_oid == kOidRsaPss) {
      *scheme = "rsa-pss";
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
        return VerificationFailed("cannot set up RSA-PSS: " + OpenSslErrors());
      }
    } else {
      *scheme = "rsa-pkcs1";
    }
  } else if (type == EVP_PKEY_EC) {
    *scheme = "ecdsa";
  } else {
    return VerificationFailed(
        std::string("unsupported signer key type ") +
        (EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?"));
  }
  *scheme += "-" + digest_name;
  if (EVP_DigestVerify(ctx.get(), si.signature.data(), si.signature.size(), message.data(),
                       message.size()) != 1) {
    OpenSslErrors();
    return VerificationFailed("the signature does not verify with the signer's certificate");
  }
  return {};
}

// The chain from `leaf` to an anchor, checked at `when`, and the leaf's
// codeSigning usage. (OpenSSL 3.0 has no code-signing purpose: the EKU is
// checked here, as osslsigncode does.)
Status VerifyChain(const Certificate& leaf, const std::vector<Certificate>& untrusted,
                   const CertificateChain& anchors, std::time_t when) {
  X509StorePtr store(X509_STORE_new());
  for (const Certificate& c : anchors) X509_STORE_add_cert(store.get(), c.x509());
  X509StackPtr chain(sk_X509_new_null());
  for (const Certificate& c : untrusted) sk_X509_push(chain.get(), c.x509());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !chain || !ctx ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf.x509(), chain.get()) != 1) {
    return Internal("cannot set up certificate verification: " + OpenSslErrors());
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), when);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    OpenSslErrors();
    return VerificationFailed("the signer's certificate chain does not verify at " +
                              FormatTime(when) + ": " + X509_verify_cert_error_string(err));
  }
  std::uint32_t xku = X509_get_extended_key_usage(leaf.x509());
  if ((xku & XKU_CODE_SIGN) == 0) {
    return VerificationFailed("the signer's certificate lacks the codeSigning extended key usage");
  }
  return {};
}

}  // namespace

void CollectDigestNames(const SignedDataView& sd, std::set<std::string>& names, int depth) {
  if (!sd.content.empty()) {
    if (auto spc = ParseSpcIndirectData(sd.content)) {
      std::string name = DigestNameForOid(spc->digest_oid);
      if (!name.empty()) names.insert(name);
    }
  }
  if (depth >= kMaxNestingDepth || sd.signers.empty()) return;
  if (const AttributeView* nested =
          FindAttribute(sd.signers.front().unsigned_attrs, kOidNestedSignature)) {
    for (ByteView v : nested->values) {
      if (auto inner = ParseSignedData(v)) CollectDigestNames(*inner, names, depth + 1);
    }
  }
}

Result<VerifyReport> VerifyAuthenticode(const SignedDataView& sd,
                                        const std::map<std::string, Bytes>& image_digests,
                                        const TrustAnchors& trust, const std::string& file,
                                        int depth) {
  auto fail = [&file](const std::string& why) { return VerificationFailed(file + ": " + why); };
  if (sd.content_type != kOidSpcIndirectData || sd.content.empty()) {
    return fail("the signature is not Authenticode (content type " + sd.content_type + ")");
  }
  auto spc = ParseSpcIndirectData(sd.content);
  if (!spc) return fail("unreadable SpcIndirectDataContent: " + spc.error().message);
  if (spc->type_oid != kOidSpcPeImageData) {
    return fail("the signature is not for a PE image (SpcIndirectDataContent type " +
                spc->type_oid + ")");
  }
  std::string image_digest_name = DigestNameForOid(spc->digest_oid);
  auto computed = image_digests.find(image_digest_name);
  if (image_digest_name.empty() || computed == image_digests.end()) {
    return fail("unsupported image digest algorithm " + spc->digest_oid);
  }
  if (!std::equal(spc->digest.begin(), spc->digest.end(), computed->second.begin(),
                  computed->second.end())) {
    return fail("the " + image_digest_name +
                " image digest does not match the signed one: the file was modified after signing");
  }
  if (sd.signers.size() != 1) {
    return fail("an Authenticode signature has exactly one SignerInfo, this one has " +
                std::to_string(sd.signers.size()));
  }
  const SignerInfoView& si = sd.signers.front();

  std::vector<Certificate> certs;
  for (ByteView der : sd.certificates) {
    auto c = Certificate::FromDer(der);
    if (!c) return fail("unreadable certificate in the signature: " + c.error().message);
    certs.push_back(std::move(*c));
  }
  const Certificate* signer = nullptr;
  for (const Certificate& c : certs) {
    Bytes issuer = c.IssuerNameDer();
    Bytes serial = c.SerialNumberDer();
    if (std::equal(issuer.begin(), issuer.end(), si.issuer_name.begin(), si.issuer_name.end()) &&
        std::equal(serial.begin(), serial.end(), si.serial.begin(), si.serial.end())) {
      signer = &c;
      break;
    }
  }
  if (signer == nullptr) return fail("the signer's certificate is not in the signature");

  // Signed attributes: contentType and messageDigest (over the
  // SpcIndirectDataContent's content octets).
  if (si.signed_attrs.empty()) return fail("the SignerInfo has no signed attributes");
  Bytes attrs(si.signed_attrs.begin(), si.signed_attrs.end());
  attrs[0] = 0x31;  // [0] IMPLICIT -> the SET OF that was signed (RFC 5652 5.4)
  auto parsed = cms::ParseSignedAttributes(attrs);
  if (!parsed) return fail("unreadable signed attributes: " + parsed.error().message);
  if (parsed->content_type_oid != kOidSpcIndirectData) {
    return fail("the signed contentType is " + parsed->content_type_oid +
                ", not SPC_INDIRECT_DATA");
  }
  std::string si_digest = DigestNameForOid(si.digest_oid);
  if (si_digest.empty()) return fail("unsupported SignerInfo digest algorithm " + si.digest_oid);
  auto content = ContentOctets(sd.content);
  if (!content) return fail(content.error().message);
  const EVP_MD* md = EVP_get_digestbyname(si_digest.c_str());
  Bytes content_digest(EVP_MAX_MD_SIZE);
  unsigned int content_digest_len = 0;
  if (md == nullptr || EVP_Digest(content->data(), content->size(), content_digest.data(),
                                  &content_digest_len, md, nullptr) != 1) {
    return Internal("cannot digest with " + si_digest + ": " + OpenSslErrors());
  }
  content_digest.resize(content_digest_len);
  if (parsed->message_digest != content_digest) {
    return fail("the signed messageDigest does not match the SpcIndirectDataContent");
  }

  EVP_PKEY* pkey = X509_get0_pubkey(signer->x509());
  if (pkey == nullptr) return fail("the signer's certificate has an unreadable public key");
  std::string scheme;
  if (auto st = VerifySignerSignature(pkey, si_digest, si, attrs, &scheme); !st) {
    return fail(st.error().message);
  }

  VerifyReport report;
  report.format = "pe";
  report.artifact = file;
  report.digest_algorithm = image_digest_name;
  report.signature_algorithm = scheme;
  report.signer_subject = signer->Subject();
  report.key = KeyDescription(pkey);
  report.signing_time = parsed->signing_time;

  const AttributeView* ts = FindAttribute(si.unsigned_attrs, kOidRfc3161Timestamp);
  if (ts == nullptr) ts = FindAttribute(si.unsigned_attrs, timestamp::kOidTimeStampToken);
  if (ts != nullptr) {
    if (ts->values.size() != 1) return fail("the timestamp attribute must hold one token");
    auto info = timestamp::VerifyToken(ts->values.front(), si.signature, trust.timestamping);
    if (!info) return fail("timestamp: " + info.error().message);
    report.timestamp_time = info->gen_time;
    report.timestamp_authority = info->tsa_subject;
  }
  std::time_t when = report.timestamp_time.value_or(trust.now);
  if (auto st = VerifyChain(*signer, certs, trust.code_signing, when); !st) {
    return fail(st.error().message);
  }

  if (const AttributeView* nested = FindAttribute(si.unsigned_attrs, kOidNestedSignature)) {
    if (depth >= kMaxNestingDepth) {
      return InvalidArgument(file + ": nested signatures deeper than " +
                             std::to_string(kMaxNestingDepth) + " levels");
    }
    int index = 0;
    for (ByteView v : nested->values) {
      ++index;
      auto inner = ParseSignedData(v);
      if (!inner) {
        std::string why = file;
        why += ": nested signature ";
        why += std::to_string(index);
        why += " is not a DER SignedData: ";
        why += inner.error().message;
        return InvalidArgument(std::move(why));
      }
      auto inner_report = VerifyAuthenticode(*inner, image_digests, trust, file, depth + 1);
      if (!inner_report) {
        Error e = inner_report.error();
        std::string prefix = file + ": ";
        std::string msg =
            e.message.starts_with(prefix) ? e.message.substr(prefix.size()) : e.message;
        std::string why = file;
        why += ": nested signature ";
        why += std::to_string(index);
        why += ": ";
        why += msg;
        return MakeError(e.code, std::move(why));
      }
      report.nested.push_back(std::move(*inner_report));
    }
  }
  return report;
}

}  // namespace signet::pe
