#include "keys/file/file_key.h"

#include <openssl/pem.h>

#include <cstring>

#include "base/file.h"
#include "crypto/openssl_util.h"

namespace signet {
namespace {

struct PassphraseState {
  const Secret* passphrase = nullptr;
  bool asked = false;
};

// OpenSSL's pem_password_cb: records that the key is encrypted and hands over
// the passphrase if there is one. Never throws (C callback).
int PassphraseCallback(char* buf, int size, int /*rwflag*/, void* user) noexcept {
  auto* state = static_cast<PassphraseState*>(user);
  state->asked = true;
  if (state->passphrase == nullptr || state->passphrase->empty()) return 0;
  std::string_view p = state->passphrase->Reveal();
  if (p.size() > static_cast<std::size_t>(size)) return 0;
  std::memcpy(buf, p.data(), p.size());
  return static_cast<int>(p.size());
}

std::string PathFromUri(std::string_view uri) {
  std::string_view rest = uri.substr(5);  // after "file:"
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    // file://localhost/abs or file:///abs
    if (rest.starts_with("localhost/")) rest.remove_prefix(9);
  }
  return std::string(rest);
}

class FileKeySigner final : public KeySigner {
 public:
  FileKeySigner(std::string uri, EvpPkeyPtr key, PublicKey pub, CertificateChain chain)
      : uri_(std::move(uri)),
        key_(std::move(key)),
        pub_(std::move(pub)),
        chain_(std::move(chain)) {}

  std::string uri() const override { return uri_; }
  const PublicKey& public_key() const override { return pub_; }
  const CertificateChain& certificate_chain() const override { return chain_; }

  Result<Bytes> Sign(const SignRequest& request) override {
    if (!SchemeFitsKey(request.algorithm.scheme, pub_.type())) {
      return FailedPrecondition("key " + uri_ + " (" + pub_.Description() + ") cannot sign " +
                                SignatureAlgorithmName(request.algorithm));
    }
    if (request.algorithm.scheme == SignatureScheme::kEd25519) return SignMessage(request.message);
    if (request.digest.size() != DigestSize(request.algorithm.digest)) {
      return InvalidArgument("digest length does not match " +
                             SignatureAlgorithmName(request.algorithm));
    }
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) {
      return Internal("cannot initialise signing with " + uri_ + ": " + OpenSslErrors());
    }
    SIGNET_RETURN_IF_ERROR(ConfigureSignatureContext(ctx.get(), request.algorithm));
    std::size_t len = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &len, request.digest.data(), request.digest.size()) !=
        1) {
      return Internal("signing with " + uri_ + " failed: " + OpenSslErrors());
    }
    Bytes sig(len);
    if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, request.digest.data(), request.digest.size()) !=
        1) {
      return Internal("signing with " + uri_ + " failed: " + OpenSslErrors());
    }
    sig.resize(len);
    return sig;
  }

 private:
  Result<Bytes> SignMessage(ByteView message) {
    if (message.empty()) {
      return FailedPrecondition("Ed25519 key " + uri_ +
                                " signs whole messages, and this format only offers a digest "
                                "(use --format cms, or an RSA or EC key)");
    }
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
      return Internal("cannot initialise Ed25519 signing: " + OpenSslErrors());
    }
    std::size_t len = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
      return Internal("Ed25519 signing failed: " + OpenSslErrors());
    }
    Bytes sig(len);
    if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) {
      return Internal("Ed25519 signing failed: " + OpenSslErrors());
    }
    sig.resize(len);
    return sig;
  }

  std::string uri_;
  EvpPkeyPtr key_;
  PublicKey pub_;
  CertificateChain chain_;
};

class FileKeyBackend final : public KeyBackend {
 public:
  std::string_view scheme() const override { return "file"; }

  Result<std::unique_ptr<KeySigner>> Open(std::string_view uri,
                                          const KeyOptions& options) override {
    std::string path = PathFromUri(uri);
    if (path.empty()) return InvalidArgument("key URI '" + std::string(uri) + "' names no file");
    SIGNET_ASSIGN_OR_RETURN(Bytes pem, ReadSmallFile(path, 1 << 20));
    BioPtr bio = MemBio(pem);
    PassphraseState state;
    if (options.passphrase) state.passphrase = &*options.passphrase;
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, PassphraseCallback, &state));
    OPENSSL_cleanse(pem.data(), pem.size());
    if (!key) {
      std::string detail = OpenSslErrors();
      if (state.asked && state.passphrase == nullptr) {
        return InvalidArgument("key file " + path +
                               " is encrypted: set SIGNET_KEY_PASSPHRASE or use --passphrase-file");
      }
      if (state.asked) return InvalidArgument("wrong passphrase for key file " + path);
      return InvalidArgument(path + " does not contain a PEM private key");
    }
    auto pub = PublicKey::FromEvp(key.get());
    if (!pub) return std::unexpected(pub.error().WithContext("key file " + path));
    SIGNET_ASSIGN_OR_RETURN(CertificateChain chain, ResolveCertificateChain({}, options, *pub));
    return std::make_unique<FileKeySigner>("file:" + path, std::move(key), std::move(*pub),
                                           std::move(chain));
  }
};

}  // namespace

std::unique_ptr<KeyBackend> MakeFileKeyBackend() { return std::make_unique<FileKeyBackend>(); }

}  // namespace signet
