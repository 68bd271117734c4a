// Azure AD (Microsoft Entra ID) access tokens for Key Vault, from the
// environment, tried in the order of the Azure SDKs' DefaultAzureCredential:
//
//   1. client secret       AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
//   2. client certificate  AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH
//                          (PEM: the private key and its certificate)
//   3. workload identity   AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE
//                          (federation: the file's token is the client assertion)
//   4. managed identity    IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service, Functions,
//                          Container Apps), else the instance metadata service (IMDS) at
//                          http://169.254.169.254 or AZURE_POD_IDENTITY_AUTHORITY_HOST;
//                          AZURE_CLIENT_ID picks a user-assigned identity.
//
// 1-3 use the OAuth 2.0 client credentials grant at
// AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com)/TENANT/oauth2/v2.0/token
// with scope RESOURCE/.default; a certificate or federated token is sent as
// a client assertion (urn:ietf:params:oauth:client-assertion-type:jwt-bearer).
//
// Secrets (client secret, certificate key, federated token, IDENTITY_HEADER,
// tokens) stay in Secret and are never part of an error.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/certificate.h"
#include "keys/cloud/cloud_http.h"

namespace signet::azurekv {

inline constexpr std::string_view kDefaultAuthorityHost = "https://login.microsoftonline.com";
inline constexpr std::string_view kImdsAddress = "169.254.169.254";  // link-local, plain http
inline constexpr std::string_view kDefaultImdsHost = "http://169.254.169.254";

// AUTHORITY/TENANT/oauth2/v2.0/token; the tenant must be a GUID or domain name.
Result<std::string> TokenEndpoint(std::string_view authority_host, std::string_view tenant);

// The client assertion of a certificate credential: a JWT signed RS256 by
// the certificate's key, header "x5t" = base64url of the certificate's SHA-1
// thumbprint, claims aud = the token endpoint, iss = sub = the client id,
// jti, nbf = iat = now, exp = now + 10 minutes.
Result<Secret> CertificateAssertion(const Certificate& certificate, EVP_PKEY* key,
                                    std::string_view client_id, std::string_view token_endpoint,
                                    std::time_t now, std::string_view jti);

// The token source the environment configures, for tokens to `resource`
// ("https://vault.azure.net"). `http_factory` makes the short-timeout client
// used to probe IMDS.
Result<std::unique_ptr<cloud::TokenSource>> CredentialFromEnvironment(
    const std::string& resource, const cloud::HttpClientFactory& http_factory);

}  // namespace signet::azurekv
