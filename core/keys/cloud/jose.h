// JOSE helpers for the cloud credential flows: base64url (RFC 4648 section 5,
// unpadded as RFC 7515 section 2 requires), RS256-signed JWTs (RFC 7519,
// RFC 7518 section 3.3) used as OAuth client assertions (Azure AD client
// certificates, Google service accounts), and PEM private keys held in a
// Secret.
//
//   SIGNET_ASSIGN_OR_RETURN(EvpPkeyPtr key, PrivateKeyFromPem(pem, "service account key"));
//   SIGNET_ASSIGN_OR_RETURN(Secret jwt, SignJwtRs256(R"({"alg":"RS256","typ":"JWT"})",
//                                                    claims_json, key.get()));
//
// Pure functions over their arguments; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/error.h"
#include "base/secret.h"
#include "crypto/openssl_util.h"

namespace signet::cloud {

// The compact serialisation BASE64URL(header).BASE64URL(claims).BASE64URL(sig)
// of a JWS signed with RSASSA-PKCS1-v1_5 SHA-256 by `key`. The caller writes
// the JSON (its "alg" must say RS256). Returned as a Secret: an assertion is a
// credential for as long as it is valid.
// REQUIRES: `key` is an RSA private key.
Result<Secret> SignJwtRs256(std::string_view header_json, std::string_view claims_json,
                            EVP_PKEY* key);

// An unencrypted private key (PKCS#8 or traditional PEM) from `pem`. Errors
// name `what`, never the content.
Result<EvpPkeyPtr> PrivateKeyFromPem(const Secret& pem, std::string_view what);

// A random version-4 UUID (RFC 9562 section 5.4), for JWT "jti" claims.
Result<std::string> RandomUuid();

}  // namespace signet::cloud
