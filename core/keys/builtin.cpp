#include "keys/file/file_key.h"
#include "keys/key_signer.h"
#ifdef SIGNET_WITH_PKCS11
#include "keys/pkcs11/pkcs11_key.h"
#endif

namespace signet {

void RegisterBuiltinKeyBackends(KeyRegistry& registry) {
  registry.Register(MakeFileKeyBackend());
#ifdef SIGNET_WITH_PKCS11
  registry.Register(MakePkcs11KeyBackend());
#endif
}

}  // namespace signet
