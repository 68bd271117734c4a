// Verifying an Authenticode signature ("Authenticode Signature Verification"
// in the Authenticode PE specification) given the image digests:
//   - the SpcIndirectDataContent's digest equals the image digest;
//   - the signed attributes carry contentType SPC_INDIRECT_DATA and a
//     messageDigest over the SpcIndirectDataContent's content octets;
//   - the signature over the signed attributes verifies with the signer's
//     certificate, which chains to a trust anchor and has the codeSigning
//     extended key usage;
//   - an RFC 3161 timestamp (unsigned attribute 1.3.6.1.4.1.311.3.3.1), when
//     present, verifies against the TSA anchors, and the chain is then
//     checked at the timestamp's time (so a signature made while the
//     certificate was valid stays valid after it expires);
//   - every nested signature (1.3.6.1.4.1.311.2.4.1) verifies the same way.
#pragma once

#include <ctime>
#include <map>
#include <set>
#include <string>

#include "base/error.h"
#include "crypto/certificate.h"
#include "formats/format.h"
#include "formats/pe/authenticode.h"

namespace signet::pe {

// Nested signatures inside nested signatures are allowed this deep.
inline constexpr int kMaxNestingDepth = 4;

struct TrustAnchors {
  CertificateChain code_signing;  // --trust
  CertificateChain timestamping;  // --tsa-trust (or --trust)
  std::time_t now = 0;
};

// The digest names (OpenSSL names: "sha256", "sha1") that `sd` and its
// nested signatures need the image digested with. Unreadable parts are
// skipped: verification reports them.
void CollectDigestNames(const SignedDataView& sd, std::set<std::string>& names, int depth = 0);

// Verifies `sd` and its nested signatures against `image_digests` (by digest
// name). kVerificationFailed naming `file` and the first thing that does not
// hold; kInvalidArgument for a nested signature that is not DER.
Result<VerifyReport> VerifyAuthenticode(const SignedDataView& sd,
                                        const std::map<std::string, Bytes>& image_digests,
                                        const TrustAnchors& trust, const std::string& file,
                                        int depth = 0);

}  // namespace signet::pe
