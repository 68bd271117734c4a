// raw: the bare signature over the file's digest (SHA-256 by default) in
// FILE.sig — RSA (PKCS#1 v1.5 or PSS) or ECDSA (DER). No certificate.
//
// Peer check: openssl dgst -sha256 -verify pub.pem -signature FILE.sig FILE
// Ed25519 keys cannot make such a signature (they sign messages, not
// digests): use the cms format for them.
#pragma once

#include <memory>

#include "formats/format.h"

namespace signet {

std::unique_ptr<Format> MakeRawFormat();

}  // namespace signet
