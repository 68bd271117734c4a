// Where AWS clients get their settings: the environment, the shared
// config/credentials files and their profiles, and the standard credential
// chain (as the AWS SDKs and CLI resolve them).
//
// Credential sources, first that yields credentials wins:
//   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY [, AWS_SESSION_TOKEN]
//   2. the profile (AWS_PROFILE, else "default") in AWS_SHARED_CREDENTIALS_FILE
//      (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config):
//      aws_access_key_id/aws_secret_access_key[/aws_session_token], or
//      role_arn + web_identity_token_file [+ role_session_name]
//   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//      [+ AWS_ROLE_SESSION_NAME], exchanged with STS AssumeRoleWithWebIdentity
//      (an unsigned call; endpoint AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or
//      https://sts.REGION.amazonaws.com)
//   4. ECS/EKS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
//      (http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
//      AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE] as the Authorization header
//   5. EC2 instance metadata, IMDSv2 only (token PUT, then GET; 1 s timeouts;
//      AWS_EC2_METADATA_DISABLED=true turns it off;
//      AWS_EC2_METADATA_SERVICE_ENDPOINT overrides http://169.254.169.254)
//
// Secrets (secret keys, session and web identity tokens) travel only in
// Secret and never appear in errors.
//
// Thread-safety: CredentialChain is used from one thread at a time.
#pragma once

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "keys/awskms/sigv4.h"
#include "net/http_client.h"

namespace signet::aws {

// Reads an environment variable; "" when unset. Tests pass their own.
using EnvLookup = std::function<std::string(const char* name)>;
std::string ProcessEnv(const char* name);

// An INI file as the AWS config files use it: section -> key -> value
// (keys lower-cased; indented sub-settings are skipped).
using IniSections = std::map<std::string, std::map<std::string, std::string>>;
IniSections ParseIni(std::string_view text);

// The active profile's settings, merged from the config file and the
// credentials file (the latter wins).
struct Profile {
  std::string name;
  std::map<std::string, std::string> values;
  std::string files;  // where it was looked up, for messages
  bool found = false;

  [[nodiscard]] std::string Get(const std::string& key) const;
};

// Loads the profile named by AWS_PROFILE (else "default"). A profile named
// explicitly in AWS_PROFILE that neither file has is an error
// (kFailedPrecondition); a missing "default" is not.
Result<Profile> LoadProfile(const EnvLookup& env);

// AWS_REGION, AWS_DEFAULT_REGION, then the profile's "region"; "" when none.
std::string RegionFromEnvOrProfile(const EnvLookup& env, const Profile& profile);
// True for names like "us-east-1", "eu-central-2", "cn-north-1".
bool IsValidRegion(std::string_view region);

// The endpoint the SDKs would use for `service_env` ("KMS", "STS"):
// AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL (both ignored when
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true); "" when neither is set.
std::string EndpointFromEnv(const EnvLookup& env, std::string_view service_env);

struct CredentialContext {
  EnvLookup env = ProcessEnv;
  Profile profile;
  std::string region;  // for the regional STS endpoint; may be empty
  // Options for STS calls; ECS and IMDS calls derive short-timeout options
  // from these.
  net::HttpOptions http;
  std::function<std::time_t()> now = [] { return std::time(nullptr); };
};

// Walks the chain once. kFailedPrecondition when no source has credentials
// (the message lists what was tried); a source that is configured but
// fails reports its own error (kUnavailable for an unreachable endpoint,
// kPermissionDenied for a refused token, ...).
Result<AwsCredentials> ResolveCredentials(const CredentialContext& context);

// Credentials resolved once and refreshed (the whole chain again) when they
// expire within five minutes.
class CredentialChain {
 public:
  explicit CredentialChain(CredentialContext context) : context_(std::move(context)) {}
  Result<const AwsCredentials*> Get();

 private:
  CredentialContext context_;
  std::unique_ptr<AwsCredentials> current_;
};

// Parses "2019-11-09T13:34:41Z" (also with fractional seconds); 0 on failure.
std::time_t ParseIso8601(std::string_view text);

}  // namespace signet::aws
