// PKCS#11 key backend: keys on an HSM or token, named by RFC 7512 URIs.
//
//   pkcs11:token=ci;object=codesign?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin
//
// The module is dlopen()ed once per process and C_Initialize called once; a
// session is opened and logged into once per token and reused.
#pragma once

#include <memory>

#include "keys/key_signer.h"

namespace signet {

std::unique_ptr<KeyBackend> MakePkcs11KeyBackend();

}  // namespace signet
