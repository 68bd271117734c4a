#include "keys/cloud/jose.h"

#include <openssl/pem.h>
#include <openssl/rand.h>

#include <array>

namespace signet::cloud {

Result<Secret> SignJwtRs256(std::string_view header_json, std::string_view claims_json,
                            EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return InvalidArgument("an RS256 assertion needs an RSA private key");
  }
  std::string input =
      Base64UrlEncode(AsBytes(header_json)) + "." + Base64UrlEncode(AsBytes(claims_json));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return Internal("cannot initialise RS256 signing: " + OpenSslErrors());
  }
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1) {
    return Internal("RS256 signing failed: " + OpenSslErrors());
  }
  Bytes signature(len);
  if (EVP_DigestSign(ctx.get(), signature.data(), &len, data, input.size()) != 1) {
    return Internal("RS256 signing failed: " + OpenSslErrors());
  }
  signature.resize(len);
  input += "." + Base64UrlEncode(signature);
  return Secret(std::move(input));
}

Result<EvpPkeyPtr> PrivateKeyFromPem(const Secret& pem, std::string_view what) {
  BioPtr bio = MemBio(AsBytes(pem.Reveal()));
  // No passphrase callback: an encrypted key fails instead of prompting.
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) noexcept { return 0; }, nullptr));
  if (!key) {
    OpenSslErrors();  // drained: the queue may quote the input
    return InvalidArgument(std::string(what) + " does not contain an unencrypted PEM private key");
  }
  return key;
}

Result<std::string> RandomUuid() {
  std::array<std::uint8_t, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    return Internal("no random bytes for a JWT id: " + OpenSslErrors());
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // variant 10
  std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace signet::cloud
