// The remote signer: a PlanSigner backed by a Signet server. It finds the
// caller's token by itself (identity/token_source.h), fetches the key's
// public key and chain once, then sends SigningPlans -- never the artifact
// -- in batches of up to the server's limit per request.
//
// Thread-safety: used from one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "identity/token_source.h"
#include "net/http_client.h"
#include "remote/plan_signer.h"

namespace signet::remote {

struct RemoteOptions {
  // https://HOST[:PORT] (http:// only to loopback, for tests) and the key's
  // name on the server; from signet://HOST[:PORT]/KEYNAME or --server/--key.
  std::string base_url;
  std::string key;
  // Where the token comes from; an empty audience means the server's
  // default audience (GET /v1/info).
  identity::TokenSourceOptions token;
  net::HttpOptions http;
};

// Connects, authenticates and fetches the key. Errors name the server and
// the key: kPermissionDenied (token refused, key not allowed), kNotFound
// (no such key), kUnavailable (server unreachable), kFailedPrecondition (no
// token found anywhere).
Result<std::unique_ptr<PlanSigner>> OpenRemoteSigner(const RemoteOptions& options,
                                                     std::unique_ptr<net::HttpClient> http = {});

}  // namespace signet::remote
