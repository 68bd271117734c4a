#ifdef SIGNET_WITH_AWSKMS
#include "keys/awskms/awskms_key.h"
#endif
#include "keys/file/file_key.h"
#include "keys/key_signer.h"
#ifdef SIGNET_WITH_PKCS11
#include "keys/pkcs11/pkcs11_key.h"
#endif
#ifdef SIGNET_WITH_CLOUD_KMS
#include "keys/azurekv/azurekv_key.h"
#include "keys/gcpkms/gcpkms_key.h"
#include "keys/vault/vault_key.h"
#endif

namespace signet {

void RegisterBuiltinKeyBackends(KeyRegistry& registry) {
  registry.Register(MakeFileKeyBackend());
#ifdef SIGNET_WITH_PKCS11
  registry.Register(MakePkcs11KeyBackend());
#endif
#ifdef SIGNET_WITH_AWSKMS
  registry.Register(MakeAwsKmsKeyBackend());
#endif
#ifdef SIGNET_WITH_CLOUD_KMS
  registry.Register(MakeAzureKvKeyBackend());
  registry.Register(MakeGcpKmsKeyBackend());
  registry.Register(MakeVaultKeyBackend());
#endif
}

}  // namespace signet
