// hashivault: key backend — keys in the transit secrets engine of HashiCorp
// Vault or OpenBao.
//
//   hashivault://codesign                          mount "transit", latest version
//   hashivault://codesign?mount=ci/transit&version=3
//
// Environment (the Vault CLI's names where it has them):
//   VAULT_ADDR         the server, https://HOST:8200 (required; http only to loopback)
//   VAULT_TOKEN        the token; else JWT auth (below); else ~/.vault-token
//   VAULT_NAMESPACE    sent as X-Vault-Namespace (Vault Enterprise, HCP Vault)
//   VAULT_CACERT       CA file (PEM) for the server's certificate
//   VAULT_ROLE + SIGNET_VAULT_JWT_FILE
//                      JWT auth login with a CI OIDC token read from the file
//                      (POST /v1/auth/MOUNT/login {"role", "jwt"}), MOUNT from
//                      SIGNET_VAULT_AUTH_MOUNT (default "jwt")
//   and the SIGNET_HTTP_* variables of net/http_client.h. TLS verification is
//   always on (VAULT_SKIP_VERIFY is not honoured).
//
// Open() reads the key once (type, public key of the version the URI names or
// the latest one) and pins that version: every sign request names it, and
// every signature ("vault:vN:...", ASN.1 marshaling) is checked against its
// public key before it is returned. RSA keys sign PKCS#1 v1.5 or PSS (salt =
// digest length), ECDSA P-256/P-384 keys ECDSA, over SHA-256/384/512
// digests (prehashed). Transit keys carry no certificate: pass --cert.
#pragma once

#include <memory>

#include "keys/cloud/cloud_http.h"
#include "keys/key_signer.h"

namespace signet {

std::unique_ptr<KeyBackend> MakeVaultKeyBackend();
// With the HTTP client of `http_factory` (tests inject fakes).
std::unique_ptr<KeyBackend> MakeVaultKeyBackend(cloud::HttpClientFactory http_factory);

}  // namespace signet
