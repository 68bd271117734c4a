// cms: a detached CMS/PKCS#7 SignedData (RFC 5652) beside the file, FILE.p7s
// (DER, or PEM with --pem), with signed attributes contentType (id-data),
// signingTime and messageDigest, and the signer's certificate chain.
//
// Peer check: openssl cms -verify -binary -inform DER -in FILE.p7s
//             -content FILE -CAfile ca.pem -purpose any
#pragma once

#include <memory>

#include "formats/format.h"

namespace signet {

std::unique_ptr<Format> MakeCmsFormat();

}  // namespace signet
