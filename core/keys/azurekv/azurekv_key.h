// azurekv: key backend — keys in Azure Key Vault or Azure Managed HSM,
// signing digests with the vault's "sign" operation (REST api-version 7.4).
//
//   azurekv://myvault.vault.azure.net/keys/codesign           current version
//   azurekv://myvault.vault.azure.net/keys/codesign/0123abcd  a pinned version
//   azurekv://myhsm.managedhsm.azure.net/keys/codesign
//
// Open() gets a token (azure_credentials.h), fetches the key once (JWK ->
// public key) and pins its version: every signature is made by that version
// and checked against its public key before it is returned. RSA keys sign
// RS256/384/512 (PKCS#1 v1.5) and PS256/384/512 (PSS); EC P-256 keys ES256
// and P-384 keys ES384. Key Vault keys carry no certificate: pass --cert.
//
// Environment: the credential variables of azure_credentials.h;
// SIGNET_AZUREKV_ENDPOINT=URL replaces https://HOST for the vault calls
// (tests point it at a loopback contract server; the URI keeps the real
// vault name, which the answers' key ids must match); the SIGNET_HTTP_* and
// SIGNET_CA_BUNDLE variables of net/http_client.h.
#pragma once

#include <memory>

#include "keys/cloud/cloud_http.h"
#include "keys/key_signer.h"

namespace signet {

std::unique_ptr<KeyBackend> MakeAzureKvKeyBackend();
// With the HTTP client of `http_factory` (tests inject fakes).
std::unique_ptr<KeyBackend> MakeAzureKvKeyBackend(cloud::HttpClientFactory http_factory);

}  // namespace signet
