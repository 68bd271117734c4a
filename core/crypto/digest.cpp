#include "crypto/digest.h"

namespace signet {

const EVP_MD* EvpMd(DigestAlgorithm alg) {
  switch (alg) {
    case DigestAlgorithm::kSha256:
      return EVP_sha256();
    case DigestAlgorithm::kSha384:
      return EVP_sha384();
    case DigestAlgorithm::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

Result<Hasher> Hasher::Create(DigestAlgorithm alg) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EvpMd(alg), nullptr) != 1) {
    return Internal("cannot initialise " + std::string(DigestName(alg)) + ": " + OpenSslErrors());
  }
  return Hasher(alg, std::move(ctx));
}

void Hasher::Update(ByteView data) { EVP_DigestUpdate(ctx_.get(), data.data(), data.size()); }

Bytes Hasher::Finish() {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), out.data(), &len);
  out.resize(len);
  EVP_DigestInit_ex(ctx_.get(), EvpMd(alg_), nullptr);
  return out;
}

Bytes Digest(DigestAlgorithm alg, ByteView data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EvpMd(alg), nullptr);
  out.resize(len);
  return out;
}

Result<Bytes> DigestFile(const InputFile& file, DigestAlgorithm alg) {
  SIGNET_ASSIGN_OR_RETURN(Hasher hasher, Hasher::Create(alg));
  SIGNET_RETURN_IF_ERROR(file.Stream([&hasher](ByteView chunk) -> Status {
    hasher.Update(chunk);
    return {};
  }));
  return hasher.Finish();
}

}  // namespace signet
