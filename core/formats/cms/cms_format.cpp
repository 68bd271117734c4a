#include "formats/cms/cms_format.h"

#include <openssl/pem.h>  // before cms.h, which declares PEM_*_CMS only then

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <ctime>

#include "crypto/cms_signed_data.h"
#include "crypto/digest.h"
#include "crypto/openssl_util.h"

namespace signet {
namespace {

constexpr std::size_t kMaxSignatureFileSize = 16 << 20;
constexpr std::string_view kOidTimeStampToken = "1.2.840.113549.1.9.16.2.14";

Result<X509StorePtr> LoadTrustStore(const std::string& path) {
  SIGNET_ASSIGN_OR_RETURN(CertificateChain anchors, LoadCertificateChain(path));
  X509StorePtr store(X509_STORE_new());
  for (const Certificate& c : anchors) X509_STORE_add_cert(store.get(), c.x509());
  // Code-signing CAs are not TLS CAs; the openssl peer uses -purpose any too.
  X509_STORE_set_purpose(store.get(), X509_PURPOSE_ANY);
  return store;
}

std::string DigestNameOf(const X509_ALGOR* alg) {
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  return OBJ_nid2sn(OBJ_obj2nid(obj));
}

class CmsFormat final : public Format {
 public:
  std::string_view name() const override { return "cms"; }
  std::string_view description() const override {
    return "detached CMS/PKCS#7 SignedData (FILE.p7s)";
  }
  bool detached() const override { return true; }
  std::string_view signature_suffix() const override { return ".p7s"; }
  bool Detect(ByteView) const override { return false; }
  bool embeds_timestamps() const override { return true; }

  Result<SigningPlan> Prepare(const InputFile& artifact,
                              const PrepareOptions& options) const override {
    if (options.signature_algorithm.scheme == SignatureScheme::kEd25519) {
      // RFC 8419 defines it, but OpenSSL 3.0 -- the verifier on Debian 12 --
      // can neither make nor check it: see docs/decisions/0004-ed25519.md.
      return FailedPrecondition("Ed25519 keys cannot make cms signatures of " + artifact.path() +
                                " that OpenSSL 3.0 verifiers accept: use an RSA or EC key");
    }
    SigningPlan plan;
    plan.format = std::string(name());
    plan.artifact = artifact.path();
    plan.artifact_size = artifact.size();
    plan.signature_algorithm = options.signature_algorithm;
    plan.content_digest_algorithm = options.signature_algorithm.digest;
    SIGNET_ASSIGN_OR_RETURN(plan.content_digest,
                            DigestFile(artifact, plan.content_digest_algorithm));
    std::time_t now = options.signing_time != 0 ? options.signing_time : std::time(nullptr);
    plan.to_be_signed = cms::SignedAttributesDer(
        cms::StandardSignedAttributes(cms::kOidData, plan.content_digest, now));
    plan.to_be_signed_digest = Digest(plan.signature_algorithm.digest, plan.to_be_signed);
    return plan;
  }

  Status ValidatePlan(const SigningPlan& plan) const override {
    SIGNET_RETURN_IF_ERROR(CheckPlan(plan, name()));
    if (plan.content_digest_algorithm != plan.signature_algorithm.digest) {
      return InvalidArgument("signing plan: cms content digest and signature digest differ");
    }
    SIGNET_ASSIGN_OR_RETURN(cms::ParsedSignedAttributes attrs,
                            cms::ParseSignedAttributes(plan.to_be_signed));
    // RFC 5652 section 5.4: the signature covers the signed attributes, whose
    // messageDigest is the digest of the (detached) content.
    if (attrs.content_type_oid != cms::kOidData || attrs.message_digest != plan.content_digest) {
      return InvalidArgument("signing plan: signed attributes do not commit to the content digest");
    }
    return {};
  }

  Result<std::string> Finish(const InputFile& artifact, const SigningPlan& plan, ByteView signature,
                             const FinishOptions& options) const override {
    SIGNET_RETURN_IF_ERROR(ValidatePlan(plan));
    SIGNET_RETURN_IF_ERROR(RequireSignerCertificate(options.chain, "a cms signature"));
    cms::SignerInfoInput si;
    si.signer = &options.chain.front();
    si.algorithm = plan.signature_algorithm;
    si.signed_attributes = plan.to_be_signed;
    si.signature.assign(signature.begin(), signature.end());
    if (options.timestamp_token) {
      // id-aa-timeStampToken (RFC 3161 appendix A) over the signature value.
      si.unsigned_attributes.push_back(
          {std::string(kOidTimeStampToken), {*options.timestamp_token}});
    }
    cms::SignedDataInput sd;
    sd.digest_algorithms = {plan.signature_algorithm.digest};
    sd.certificates = &options.chain;
    sd.signer_infos = {cms::BuildSignerInfo(si)};
    Bytes der = cms::BuildSignedData(sd);

    Bytes out = der;
    if (options.pem) {
      const unsigned char* p = der.data();
      CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
      BioPtr bio(BIO_new(BIO_s_mem()));
      if (!cms || PEM_write_bio_CMS(bio.get(), cms.get()) != 1) {
        return Internal("cannot encode the CMS signature as PEM: " + OpenSslErrors());
      }
      out = BioBytes(bio.get());
    }
    std::string path = DetachedSignaturePath(artifact, signature_suffix(), options.output_path);
    SIGNET_RETURN_IF_ERROR(WriteFileAtomically(path, out));
    return path;
  }

  Result<VerifyReport> Verify(const InputFile& artifact,
                              const VerifyOptions& options) const override {
    std::string sig_path =
        DetachedSignaturePath(artifact, signature_suffix(), options.signature_path);
    SIGNET_ASSIGN_OR_RETURN(Bytes sig, ReadSmallFile(sig_path, kMaxSignatureFileSize));
    if (options.trust_path.empty() && options.public_key_path.empty()) {
      return InvalidArgument("verifying " + sig_path +
                             " needs --trust CA.pem or --public-key PUB.pem");
    }
    BioPtr sig_bio = MemBio(sig);
    CmsPtr cms;
    std::string_view head(reinterpret_cast<const char*>(sig.data()),
                          std::min<std::size_t>(sig.size(), 11));
    if (head == "-----BEGIN ") {
      cms.reset(PEM_read_bio_CMS(sig_bio.get(), nullptr, nullptr, nullptr));
    } else {
      cms.reset(d2i_CMS_bio(sig_bio.get(), nullptr));
    }
    if (!cms || OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
      OpenSslErrors();
      return InvalidArgument(sig_path + " is not a CMS SignedData signature");
    }
    STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms.get());
    if (signers == nullptr || sk_CMS_SignerInfo_num(signers) != 1) {
      return InvalidArgument(sig_path + " must hold exactly one signer");
    }

    X509StorePtr store;
    unsigned int flags = CMS_BINARY;
    if (!options.trust_path.empty()) {
      SIGNET_ASSIGN_OR_RETURN(store, LoadTrustStore(options.trust_path));
    } else {
      flags |= CMS_NO_SIGNER_CERT_VERIFY;
    }
    BioPtr content(BIO_new_file(artifact.path().c_str(), "rb"));
    if (!content) return InvalidArgument("cannot open " + artifact.path());
    int ok = CMS_verify(cms.get(), nullptr, store.get(), content.get(), nullptr, flags);
    if (ok != 1) {
      std::string why = OpenSslErrors();
      return VerificationFailed(artifact.path() + ": CMS signature " + sig_path +
                                " does not verify: " + why);
    }

    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(signers, 0);
    X509* signer_cert = nullptr;
    X509_ALGOR* dig_alg = nullptr;
    X509_ALGOR* sig_alg = nullptr;
    EVP_PKEY* pk = nullptr;
    CMS_SignerInfo_get0_algs(si, &pk, &signer_cert, &dig_alg, &sig_alg);
    STACK_OF(X509)* signer_certs = CMS_get0_signers(cms.get());
    if (signer_cert == nullptr && signer_certs != nullptr && sk_X509_num(signer_certs) > 0) {
      signer_cert = sk_X509_value(signer_certs, 0);
    }
    if (signer_cert == nullptr) {
      sk_X509_free(signer_certs);
      return VerificationFailed(sig_path + ": signer certificate not found");
    }
    Certificate leaf = Certificate::FromX509(signer_cert);
    sk_X509_free(signer_certs);
    SIGNET_ASSIGN_OR_RETURN(PublicKey leaf_key, leaf.GetPublicKey());
    if (!options.public_key_path.empty()) {
      SIGNET_ASSIGN_OR_RETURN(PublicKey expected, PublicKey::FromPemFile(options.public_key_path));
      if (!(expected == leaf_key)) {
        return VerificationFailed(artifact.path() + ": signed by another key than " +
                                  options.public_key_path);
      }
    }

    VerifyReport report;
    report.format = std::string(name());
    report.artifact = artifact.path();
    report.signature_path = sig_path;
    report.digest_algorithm = DigestNameOf(dig_alg);
    report.signature_algorithm = DigestNameOf(sig_alg);
    report.signer_subject = leaf.Subject();
    report.key = leaf_key.Description();
    int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
    if (idx >= 0) {
      X509_ATTRIBUTE* attr = CMS_signed_get_attr(si, idx);
      ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(attr, 0);
      if (t != nullptr && (t->type == V_ASN1_UTCTIME || t->type == V_ASN1_GENERALIZEDTIME)) {
        std::tm tm{};
        if (ASN1_TIME_to_tm(reinterpret_cast<ASN1_TIME*>(t->value.asn1_string), &tm) == 1) {
          report.signing_time = timegm(&tm);
        }
      }
    }
    return report;
  }
};

}  // namespace

std::unique_ptr<Format> MakeCmsFormat() { return std::make_unique<CmsFormat>(); }

}  // namespace signet
