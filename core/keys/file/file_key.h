// file: key backend — a private key in a PEM file (PKCS#8, traditional
// "RSA/EC PRIVATE KEY", encrypted or not). For development and tests; in
// production keys belong in an HSM, a KMS or behind a Signet server.
//
//   file:/path/to/key.pem     file:relative/key.pem     file:///abs/key.pem
//
// The passphrase of an encrypted key comes from KeyOptions::passphrase
// (SIGNET_KEY_PASSPHRASE or --passphrase-file); never from the URI or argv.
#pragma once

#include <memory>

#include "keys/key_signer.h"

namespace signet {

std::unique_ptr<KeyBackend> MakeFileKeyBackend();

}  // namespace signet
