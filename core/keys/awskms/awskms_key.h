// awskms: key backend — an asymmetric AWS KMS key (KeyUsage SIGN_VERIFY).
//
//   awskms:///arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
//   awskms:///alias/release-signing          (region from AWS_REGION / the profile)
//   awskms:///1234abcd-12ab-34cd-56ef-1234567890ab
//   awskms://127.0.0.1:4566/alias/test       (a custom endpoint: an emulator, a VPC endpoint)
//
// Only the digest leaves the machine: TrentService.Sign with
// MessageType=DIGEST and RSASSA_PKCS1_V1_5_SHA_256/384/512,
// RSASSA_PSS_SHA_256/384/512 or ECDSA_SHA_256/384. The public key comes from
// TrentService.GetPublicKey once per process (cached per endpoint and key)
// and every signature KMS returns is verified against it before it is used.
// KMS keys carry no certificate: give one with --cert.
//
// Endpoint, first that applies: the URI's host (http:// for loopback hosts,
// https:// otherwise), AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL (http:// only
// to loopback), https://kms.REGION.amazonaws.com. Region: the key ARN's
// region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, or the
// region in a kms.REGION.amazonaws.com endpoint. Credentials: see
// keys/awskms/aws_config.h. HTTP timeouts and retries: net::HttpOptionsFromEnv
// (SIGNET_HTTP_TIMEOUT_MS, ...).
//
// Errors carry KMS's own error type and message, e.g. "AWS KMS Sign:
// AccessDeniedException: User ... is not authorized ... (HTTP 400)":
// access errors are kPermissionDenied (exit 1), throttling and 5xx
// kUnavailable (exit 3, after bounded retries), a disabled key or a key that
// cannot sign the requested algorithm kFailedPrecondition (exit 2), a
// malformed answer or a signature that does not verify kUnavailable (exit 3).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "keys/awskms/aws_config.h"
#include "keys/key_signer.h"

namespace signet {

std::unique_ptr<KeyBackend> MakeAwsKmsKeyBackend();
// With an environment other than the process's (tests).
std::unique_ptr<KeyBackend> MakeAwsKmsKeyBackend(aws::EnvLookup env);

namespace aws {

struct KmsKeyUri {
  std::string host;    // "host[:port]" or "" (endpoint from the environment)
  std::string key_id;  // key id, key ARN, alias/NAME or alias ARN
};
// Parses awskms://[HOST[:PORT]]/KEY. kInvalidArgument names the problem.
Result<KmsKeyUri> ParseKmsKeyUri(std::string_view uri);

// The region in "arn:aws:kms:REGION:ACCOUNT:..." ("" for a non-ARN key id).
std::string RegionFromArn(std::string_view key_id);

// KMS's name for an algorithm ("RSASSA_PSS_SHA_256"); "" when KMS has none.
std::string KmsSigningAlgorithm(const SignatureAlgorithm& alg);

}  // namespace aws
}  // namespace signet
