// Streaming message digests (SHA-256/384/512) over OpenSSL's EVP.
//
//   SIGNET_ASSIGN_OR_RETURN(auto in, InputFile::Open(path));
//   SIGNET_ASSIGN_OR_RETURN(Bytes d, DigestFile(in, DigestAlgorithm::kSha256));
//
// DigestFile reads the file once in 1 MiB chunks: constant memory.
#pragma once

#include <openssl/evp.h>

#include "base/bytes.h"
#include "base/file.h"
#include "crypto/algorithm.h"
#include "crypto/openssl_util.h"

namespace signet {

const EVP_MD* EvpMd(DigestAlgorithm alg);

class Hasher {
 public:
  static Result<Hasher> Create(DigestAlgorithm alg);
  void Update(ByteView data);
  // Returns the digest; the hasher is then reset for reuse.
  Bytes Finish();
  [[nodiscard]] DigestAlgorithm algorithm() const { return alg_; }

 private:
  Hasher(DigestAlgorithm alg, EvpMdCtxPtr ctx) : alg_(alg), ctx_(std::move(ctx)) {}
  DigestAlgorithm alg_;
  EvpMdCtxPtr ctx_;
};

Bytes Digest(DigestAlgorithm alg, ByteView data);
Result<Bytes> DigestFile(const InputFile& file, DigestAlgorithm alg);

}  // namespace signet
