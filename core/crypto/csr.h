// PKCS#10 certification requests (RFC 2986) signed by a key held elsewhere
// (file, HSM, KMS): what a CA needs to issue a certificate for that key.
//
//   SIGNET_ASSIGN_OR_RETURN(Bytes name, ParseDistinguishedName("CN=Release,O=Example,C=DE"));
//   SIGNET_ASSIGN_OR_RETURN(Bytes csr, BuildCsr(key, name, alg,
//       [&](ByteView digest, ByteView message) { return signer.Sign(...); }));
//   std::string pem = CsrPem(csr);
//
// The builder is pure: it encodes the CertificationRequestInfo (version 0,
// subject, the key's SubjectPublicKeyInfo, no attributes), hands its digest
// (and the bytes themselves, for Ed25519) to the callback, checks the
// returned signature with the public key and assembles the request.
//
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/error.h"
#include "crypto/algorithm.h"
#include "crypto/public_key.h"

namespace signet {

// Parses a distinguished name written as RFC 4514 strings are ("CN=Example
// Release,O=Example Ltd,C=DE": the most specific RDN first, so the DER
// sequence is in reverse) into a DER Name. Attribute types: CN, O, OU, C, ST
// (or S), L, STREET, DC, UID, SERIALNUMBER, EMAILADDRESS (or E), TITLE, GN,
// SN, or a dotted OID. Escapes: \, \+ \" \\ \< \> \; \= \# and \XX (hex).
// '+' joins attributes into one multi-valued RDN. C is a 2-letter
// PrintableString, DC/emailAddress IA5String, the rest UTF8String.
Result<Bytes> ParseDistinguishedName(std::string_view text);

// Signs the digest of `to_be_signed` by alg.digest (RSA, ECDSA) or, for
// Ed25519, `to_be_signed` itself. Returns the signature as KeySigner::Sign
// does (RSA raw, ECDSA DER, Ed25519 raw 64 bytes).
using CsrSignCallback = std::function<Result<Bytes>(ByteView digest, ByteView to_be_signed)>;

// A DER CertificationRequest. Fails if the callback fails or its signature
// does not verify with `key` (kUnavailable, like a key backend's bad answer).
// REQUIRES: SchemeFitsKey(alg.scheme, key.type()).
Result<Bytes> BuildCsr(const PublicKey& key, ByteView subject_name_der,
                       const SignatureAlgorithm& alg, const CsrSignCallback& sign);

// "-----BEGIN CERTIFICATE REQUEST-----" PEM of a DER request (64-column base64).
std::string CsrPem(ByteView der);

// The signatureAlgorithm of X.509 structures (RFC 4055, RFC 5758, RFC 8410):
// shaNNNWithRSAEncryption (NULL parameters), RSASSA-PSS with its parameters,
// ecdsa-with-SHANNN, Ed25519.
Bytes X509SignatureAlgorithmIdentifier(const SignatureAlgorithm& alg);

}  // namespace signet
