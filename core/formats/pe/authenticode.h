// Authenticode's PKCS#7 profile ("Windows Authenticode Portable Executable
// Signature Format", the sections "Authenticode Profile of PKCS #7
// SignedData" and "Authenticode-Specific Structures"): building the
// SpcIndirectDataContent and the signed attributes, and reading SignedData
// back (strict DER) to verify it, nest another signature in it or add a
// timestamp to it.
//
// Views (ByteView members) point into the buffer that was parsed: keep it
// alive while using them. Thread-safe (no state).
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "crypto/algorithm.h"
#include "crypto/cms_signed_data.h"

namespace signet::pe {

inline constexpr std::string_view kOidSpcIndirectData = "1.3.6.1.4.1.311.2.1.4";
inline constexpr std::string_view kOidSpcPeImageData = "1.3.6.1.4.1.311.2.1.15";
inline constexpr std::string_view kOidSpcStatementType = "1.3.6.1.4.1.311.2.1.11";
inline constexpr std::string_view kOidSpcIndividualCodeSigning = "1.3.6.1.4.1.311.2.1.21";
inline constexpr std::string_view kOidSpcSpOpusInfo = "1.3.6.1.4.1.311.2.1.12";
// Unsigned attributes of the SignerInfo.
inline constexpr std::string_view kOidNestedSignature = "1.3.6.1.4.1.311.2.4.1";
inline constexpr std::string_view kOidRfc3161Timestamp = "1.3.6.1.4.1.311.3.3.1";
inline constexpr std::string_view kOidCounterSignature = "1.2.840.113549.1.9.6";

// SpcIndirectDataContent { SpcAttributeTypeAndOptionalValue { SPC_PE_IMAGE_DATA,
// SpcPeImageData { flags {}, file [0] { [2] SpcString "<<<Obsolete>>>" } } },
// DigestInfo { alg, image_digest } } as DER. Deterministic: the same digest
// gives the same bytes, so Finish rebuilds it from the plan.
Bytes SpcIndirectDataContent(DigestAlgorithm alg, ByteView image_digest);

// What an SpcIndirectDataContent says: the kind of data it covers
// (SPC_PE_IMAGE_DATA for PE files) and the digest of it.
struct SpcInfo {
  std::string type_oid;
  std::string digest_oid;
  ByteView digest;
};
Result<SpcInfo> ParseSpcIndirectData(ByteView der);

// The content octets of a DER element (its value without tag and length):
// what Authenticode's messageDigest attribute is computed over (PKCS #7
// section 9.3, as for any content type other than id-data).
Result<ByteView> ContentOctets(ByteView der_element);

struct SignedAttributeOptions {
  std::time_t signing_time = 0;  // 0: no signingTime attribute
  std::string description;       // SpcSpOpusInfo.programName (UTF-8), empty: absent
  std::string url;               // SpcSpOpusInfo.moreInfo (ASCII URL), empty: absent
};

// The DER SET OF signed attributes a key signs: contentType
// (SPC_INDIRECT_DATA), signingTime, SpcStatementType (individual code
// signing), SpcSpOpusInfo and messageDigest = digest(alg, content octets of
// `spc_indirect_data`). Fails for a description that is not UTF-8 or a URL
// that is not ASCII.
Result<Bytes> SignedAttributes(DigestAlgorithm alg, ByteView spc_indirect_data,
                               const SignedAttributeOptions& options);

// ---- reading ----

struct AttributeView {
  std::string oid;
  std::vector<ByteView> values;  // each a whole DER element
};

struct SignerInfoView {
  ByteView issuer_name;       // the Name SEQUENCE of issuerAndSerialNumber
  ByteView serial;            // the whole INTEGER
  std::string digest_oid;     // digestAlgorithm
  ByteView signed_attrs;      // the whole [0] element (empty when absent)
  std::string signature_oid;  // signatureAlgorithm
  ByteView signature_params;  // its parameters element (empty when absent)
  ByteView signature;         // the OCTET STRING's value
  ByteView before_unsigned;   // SignerInfo content up to (excluding) unsignedAttrs
  std::vector<AttributeView> unsigned_attrs;
};

struct SignedDataView {
  std::string content_type;  // encapContentInfo.eContentType
  ByteView content;          // the whole element inside eContent [0] (empty when absent)
  std::vector<ByteView> certificates;
  ByteView before_signers;  // SignedData content up to (excluding) signerInfos
  std::vector<SignerInfoView> signers;
};

// Parses a ContentInfo holding SignedData (RFC 5652 section 5, PKCS #7
// section 9). DER only; kInvalidArgument with a reason otherwise.
Result<SignedDataView> ParseSignedData(ByteView content_info);
// Parses a SET OF Attribute given as its whole element (tag 0x31 or [0]/[1]).
Result<std::vector<AttributeView>> ParseAttributes(ByteView set_element);
// The first attribute with `oid`, or nullptr.
const AttributeView* FindAttribute(const std::vector<AttributeView>& attrs, std::string_view oid);

// The digest algorithm an AlgorithmIdentifier OID names (also SHA-1, which
// signet verifies but never signs with): "sha1", "sha256", ... ; empty when
// unknown.
std::string DigestNameForOid(std::string_view oid);

// An attribute as owned bytes, for rewriting unsigned attributes.
struct OwnedAttribute {
  std::string oid;
  std::vector<Bytes> values;
};

// Re-encodes `content_info` with the first SignerInfo's unsigned attributes
// replaced by `attrs` (empty: none). Everything else is kept byte for byte,
// so the signature still verifies.
Result<Bytes> ReplaceUnsignedAttributes(ByteView content_info,
                                        const std::vector<OwnedAttribute>& attrs);
// The first SignerInfo's unsigned attributes as owned bytes.
std::vector<OwnedAttribute> OwnUnsignedAttributes(const SignedDataView& sd);

}  // namespace signet::pe
