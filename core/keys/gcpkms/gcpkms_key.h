// gcpkms: key backend — asymmetric signing keys in Google Cloud KMS.
//
//   gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V
//
// Open() gets a token (gcp_credentials.h) and fetches the version's public
// key once (getPublicKey; pemCrc32c checked). A key version signs with
// exactly one algorithm (its CryptoKeyVersionAlgorithm): a request for
// another digest or padding is refused with kFailedPrecondition naming the
// options to use. Sign() sends the digest with its CRC32C, checks
// verifiedDigestCrc32c and signatureCrc32c in the answer, and verifies the
// signature with the public key before returning it. Cloud KMS keys carry no
// certificate: pass --cert.
//
// Environment: the credential variables of gcp_credentials.h;
// SIGNET_GCPKMS_ENDPOINT=URL replaces https://cloudkms.googleapis.com (tests
// point it at a loopback contract server); the SIGNET_HTTP_* and
// SIGNET_CA_BUNDLE variables of net/http_client.h.
#pragma once

#include <memory>

#include "keys/cloud/cloud_http.h"
#include "keys/key_signer.h"

namespace signet {

std::unique_ptr<KeyBackend> MakeGcpKmsKeyBackend();
// With the HTTP client of `http_factory` (tests inject fakes).
std::unique_ptr<KeyBackend> MakeGcpKmsKeyBackend(cloud::HttpClientFactory http_factory);

}  // namespace signet
