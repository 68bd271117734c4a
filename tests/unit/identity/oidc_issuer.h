// Test support: runs tests/tools/oidc_issuer.py (a loopback HTTPS OIDC
// issuer) in a temp directory for the life of the object, and mints tokens
// with it.
//
//   std::string error;
//   auto issuer = OidcIssuer::Start(&error);   // null + error when python3 fails
//   std::string jwt = issuer->Mint({"--shape", "github", "--alg", "ES256"});
//
// Not thread-safe; one per test suite.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "net/http_client.h"
#include "test_keys.h"

namespace signet::testing {

class OidcIssuer {
 public:
  static std::unique_ptr<OidcIssuer> Start(std::string* error);
  ~OidcIssuer();
  OidcIssuer(const OidcIssuer&) = delete;
  OidcIssuer& operator=(const OidcIssuer&) = delete;

  [[nodiscard]] const std::string& url() const { return url_; }  // https://127.0.0.1:PORT
  [[nodiscard]] std::string dir() const { return dir_.path(); }
  [[nodiscard]] std::string ca_pem() const { return dir_.File("ca.pem"); }
  // The CI runners' request credential the /github and /azure endpoints want.
  [[nodiscard]] std::string RequestToken() const;
  // A token minted with the `mint` options `args`, through the issuer's
  // POST /mint (no process per token); "" when it failed.
  [[nodiscard]] std::string Mint(const std::vector<std::string>& args) const;
  // The same through the command line, `oidc_issuer.py mint --dir DIR ARGS...`.
  [[nodiscard]] std::string MintCli(const std::vector<std::string>& args) const;
  // Requests served on /jwks so far.
  [[nodiscard]] int JwksHits() const;

 private:
  OidcIssuer() = default;
  TempDir dir_;
  pid_t pid_ = -1;
  std::string url_;
  std::unique_ptr<net::HttpClient> http_;
};

}  // namespace signet::testing
