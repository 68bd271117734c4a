// Test support: an in-process RFC 3161 timestamp authority (OpenSSL's
// TS_RESP_CTX), with its own CA, that answers TimeStampReqs -- correctly or
// with a chosen fault -- so unit tests need neither a network nor openssl(1).
//
//   signet::testing::TestTsa tsa;
//   Bytes response = tsa.Respond(request);          // a valid TimeStampResp
//   Bytes bad = tsa.Respond(request, TestTsa::Fault::kWrongNonce);
//
// Not thread-safe.
#pragma once

#include <ctime>
#include <string>

#include "base/bytes.h"
#include "crypto/certificate.h"
#include "crypto/openssl_util.h"

namespace signet::testing {

class TestTsa {
 public:
  enum class Fault {
    kNone,
    kWrongImprint,  // a token for another digest
    kWrongNonce,    // a token with another nonce
    kRejection,     // PKIStatus rejection, no token
  };

  TestTsa();

  // A DER TimeStampResp for the DER TimeStampReq `request`. `gen_time` (when
  // not 0) is the token's genTime instead of now.
  Bytes Respond(ByteView request, Fault fault = Fault::kNone, std::time_t gen_time = 0) const;

  // The TSA's CA (what a verifier trusts) and the TSA certificate.
  [[nodiscard]] const CertificateChain& Anchors() const { return anchors_; }
  [[nodiscard]] std::string CaPem() const;

 private:
  EvpPkeyPtr ca_key_;
  X509Ptr ca_cert_;
  EvpPkeyPtr tsa_key_;
  X509Ptr tsa_cert_;
  CertificateChain anchors_;
};

}  // namespace signet::testing
