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
#ifndef SIGNET_WITH_PKCS11
namespace {

// Stands in for pkcs11: in a build without it (the static release binary):
// a pkcs11: URI then fails with one line saying why, instead of "no backend".
class Pkcs11Unavailable final : public KeyBackend {
 public:
  [[nodiscard]] std::string_view scheme() const override { return "pkcs11"; }
  Result<std::unique_ptr<KeySigner>> Open(std::string_view /*uri*/,
                                          const KeyOptions& /*options*/) override {
    return Unsupported();
  }
  Result<std::vector<KeyListing>> List(std::string_view /*uri*/,
                                       const KeyOptions& /*options*/) override {
    return Unsupported();
  }
  [[nodiscard]] bool built_in() const override { return false; }

 private:
  static std::unexpected<Error> Unsupported() {
    return FailedPrecondition(
        "pkcs11: keys need the dynamic build of signet (a static binary cannot load PKCS#11 "
        "modules)");
  }
};

}  // namespace
#endif

void RegisterBuiltinKeyBackends(KeyRegistry& registry) {
  registry.Register(MakeFileKeyBackend());
#ifdef SIGNET_WITH_PKCS11
  registry.Register(MakePkcs11KeyBackend());
#else
  registry.Register(std::make_unique<Pkcs11Unavailable>());
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
