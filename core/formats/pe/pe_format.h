// pe: Windows Authenticode signatures embedded in PE/COFF images (PE32 and
// PE32+: .exe, .dll, .sys, .efi), detected by content ("MZ" and a PE header).
//
// Prepare hashes the image once (Authenticode digest and PE checksum in the
// same streaming pass) and yields the signed attributes (contentType
// SPC_INDIRECT_DATA, signingTime, SpcStatementType, SpcSpOpusInfo from
// --description/--url, messageDigest over the SpcIndirectDataContent) as the
// bytes to sign. Finish rebuilds the SpcIndirectDataContent from the plan's
// image digest, builds the SignedData (RFC 5652 / PKCS #7 with the signer's
// chain and, when given, the RFC 3161 token as unsigned attribute
// 1.3.6.1.4.1.311.3.3.1), and writes the image with a WIN_CERTIFICATE
// (revision 2.0, PKCS_SIGNED_DATA) aligned to 8 bytes, the certificate-table
// entry and the PE checksum updated -- atomically, in place or to --output.
// With --append the new signature is nested (1.3.6.1.4.1.311.2.4.1) in the
// existing one instead of replacing it.
//
// Peer check: osslsigncode verify -in FILE -CAfile ca.pem [-TSA-CAfile tsaca.pem]
#pragma once

#include <memory>

#include "formats/format.h"

namespace signet {

std::unique_ptr<Format> MakePeFormat();

}  // namespace signet
