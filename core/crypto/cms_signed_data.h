// Building CMS SignedData (RFC 5652) around an externally made signature.
//
// The signature comes from elsewhere (HSM, KMS, a Signet server), so the
// structure is built in two steps:
//   1. SignedAttributesDer(...) -> the DER SET OF Attribute that the key signs
//      (RFC 5652 5.4: the EXPLICIT SET OF tag 0x31 is what is digested);
//   2. BuildSignedData(...)     -> ContentInfo DER, with the same attributes
//      re-tagged [0] IMPLICIT inside the SignerInfo, the signature and chain.
// The same builder serves detached CMS and Authenticode (encapsulated
// SpcIndirectDataContent) and, later, JAR signature blocks.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/algorithm.h"
#include "crypto/certificate.h"

namespace signet::cms {

inline constexpr std::string_view kOidData = "1.2.840.113549.1.7.1";
inline constexpr std::string_view kOidSignedData = "1.2.840.113549.1.7.2";
inline constexpr std::string_view kOidContentType = "1.2.840.113549.1.9.3";
inline constexpr std::string_view kOidMessageDigest = "1.2.840.113549.1.9.4";
inline constexpr std::string_view kOidSigningTime = "1.2.840.113549.1.9.5";

struct Attribute {
  std::string oid;
  std::vector<Bytes> values;  // each a complete DER value
};

// contentType, signingTime (when signing_time != 0) and messageDigest.
std::vector<Attribute> StandardSignedAttributes(std::string_view content_type_oid,
                                                ByteView message_digest, std::time_t signing_time);

// DER SET OF Attribute (tag 0x31), sorted as DER requires: the bytes a key signs.
Bytes SignedAttributesDer(const std::vector<Attribute>& attributes);

// The OID of a digest algorithm (NIST, 2.16.840.1.101.3.4.2.x).
std::string_view DigestOid(DigestAlgorithm alg);
// AlgorithmIdentifier for a digest (parameters NULL, as most signers write).
Bytes DigestAlgorithmIdentifier(DigestAlgorithm alg);
// AlgorithmIdentifier for the SignerInfo's signatureAlgorithm: rsaEncryption
// for PKCS#1 v1.5 (RFC 3370 3.2), RSASSA-PSS with parameters (RFC 4056),
// ecdsa-with-SHAx (RFC 5753 2.1.1), id-Ed25519 (RFC 8419).
Bytes SignatureAlgorithmIdentifier(const SignatureAlgorithm& alg);

struct SignerInfoInput {
  const Certificate* signer = nullptr;  // issuerAndSerialNumber comes from it
  SignatureAlgorithm algorithm;
  Bytes signed_attributes;  // as returned by SignedAttributesDer (tag 0x31)
  Bytes signature;
  std::vector<Attribute> unsigned_attributes;  // e.g. a timestamp token
};

Bytes BuildSignerInfo(const SignerInfoInput& input);

struct SignedDataInput {
  std::string content_type_oid{kOidData};
  std::optional<Bytes> content;  // encapsulated content value DER; absent = detached
  std::vector<DigestAlgorithm> digest_algorithms;
  const CertificateChain* certificates = nullptr;
  std::vector<Bytes> signer_infos;
};

// The complete ContentInfo { id-signedData, [0] SignedData } in DER.
Bytes BuildSignedData(const SignedDataInput& input);

// Reads the messageDigest and contentType values out of signed attributes
// (tag 0x31 form). Used by the server to check that what it signs commits to
// the digest the plan declares, and by fuzzing.
struct ParsedSignedAttributes {
  std::string content_type_oid;
  Bytes message_digest;
  std::optional<std::time_t> signing_time;
};
Result<ParsedSignedAttributes> ParseSignedAttributes(ByteView der);

}  // namespace signet::cms
