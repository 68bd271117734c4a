// RFC 3161 time-stamp protocol messages: the request signet sends, the checks
// on the answer before its token is used, and the verification of a token
// embedded in a signature. No network here (see timestamper.h): formats link
// this target to verify embedded tokens without pulling in libcurl.
//
// The message imprint is always digest(alg, data) where `data` is the
// signature value being timestamped (RFC 3161 appendix A; Authenticode's
// 1.3.6.1.4.1.311.3.3.1 attribute uses the same imprint).
//
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/error.h"
#include "crypto/algorithm.h"
#include "crypto/certificate.h"

namespace signet::timestamp {

// id-aa-timeStampToken (RFC 3161 appendix A): the CMS unsigned attribute.
inline constexpr std::string_view kOidTimeStampToken = "1.2.840.113549.1.9.16.2.14";

// TimeStampReq (RFC 3161 section 2.4.1): version 1, messageImprint
// { alg, digest(alg, data) }, nonce, certReq TRUE (the token then carries
// the TSA certificate, which verifiers need).
Bytes BuildRequest(DigestAlgorithm alg, ByteView data, std::uint64_t nonce);

// A fresh random nonce (63 bits, never 0).
std::uint64_t NewNonce();

// Checks a TimeStampResp (RFC 3161 section 2.4.2) for the request made with
// (alg, data, nonce): status granted (or grantedWithMods), a token whose
// messageImprint is digest(alg, data), the same nonce, and a token signature
// that verifies with the TSA certificate the token carries, that certificate
// having the critical timeStamping extended key usage. Returns the
// TimeStampToken (a DER ContentInfo). Every failure is kVerificationFailed:
// the TSA answered, but not with something signet may embed.
Result<Bytes> CheckResponse(ByteView response, DigestAlgorithm alg, ByteView data,
                            std::uint64_t nonce);

struct TokenInfo {
  std::time_t gen_time = 0;
  std::string tsa_subject;       // the signing TSA certificate's subject
  std::string digest_algorithm;  // of the message imprint ("sha256")
};

// Verifies an embedded TimeStampToken over `data`: its signature, its
// imprint, the TSA certificate's timeStamping usage, and -- when `anchors` is
// not empty -- the TSA certificate's chain to one of them (at the current
// time). With empty `anchors` only the token's self-consistency is checked.
// kVerificationFailed with OpenSSL's reason otherwise.
Result<TokenInfo> VerifyToken(ByteView token, ByteView data, const CertificateChain& anchors);

}  // namespace signet::timestamp
