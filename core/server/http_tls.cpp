// The server's TLS context: TLS 1.2 and 1.3 only, forward-secret AEAD
// cipher suites for TLS 1.2, no renegotiation, no compression; the
// certificate chain and key loaded and checked here so a bad file is a
// clear start-up error rather than failed handshakes.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <boost/asio/ssl/context.hpp>

#include "server/http_internal.h"

namespace signet::server::internal {
namespace {

// The most recent OpenSSL error, for messages; clears the queue.
std::string OpenSslReason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "no OpenSSL detail";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof(buf));
  return buf;
}

// Never prompt on the terminal for an encrypted key's passphrase.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return 0; }

Status CheckReadable(const std::string& path, std::string_view what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return InvalidArgument("cannot read TLS " + std::string(what) + " file " + path + ": " +
                           std::strerror(errno));
  }
  std::fclose(f);
  return {};
}

}  // namespace

Result<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const HttpServerOptions& options) {
  const std::string& cert_path = options.tls_certificate_path;
  const std::string& key_path = options.tls_key_path;
  if (cert_path.empty() || key_path.empty()) {
    return InvalidArgument(
        "HTTPS needs a TLS certificate file and a key file (plain HTTP must be enabled "
        "explicitly, for loopback tests only)");
  }
  SIGNET_RETURN_IF_ERROR(CheckReadable(cert_path, "certificate"));
  SIGNET_RETURN_IF_ERROR(CheckReadable(key_path, "key"));

  std::unique_ptr<boost::asio::ssl::context> tls;
  try {
    tls = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  } catch (const std::exception& e) {
    return Internal(std::string("cannot create a TLS context: ") + e.what());
  }
  SSL_CTX* ctx = tls->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return Internal("cannot set the TLS 1.2 cipher suites: " + OpenSslReason());
  }
  SSL_CTX_set_default_passwd_cb(ctx, &NoPassphrase);

  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1) {
    return InvalidArgument(
        "TLS certificate file " + cert_path +
        " holds no usable PEM certificate chain (leaf first): " + OpenSslReason());
  }

  BIO* bio = BIO_new_file(key_path.c_str(), "rb");
  if (bio == nullptr) {
    return InvalidArgument("cannot open TLS key file " + key_path + ": " + OpenSslReason());
  }
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, &NoPassphrase, nullptr);
  BIO_free(bio);
  if (key == nullptr) {
    return InvalidArgument("TLS key file " + key_path +
                           " holds no usable PEM private key (encrypted keys are not "
                           "supported): " +
                           OpenSslReason());
  }
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  const bool matches = leaf != nullptr && X509_check_private_key(leaf, key) == 1;
  ERR_clear_error();
  if (!matches) {
    EVP_PKEY_free(key);
    return InvalidArgument("TLS key file " + key_path +
                           " does not match the first certificate in " + cert_path);
  }
  const int used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (used != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return InvalidArgument("TLS key file " + key_path + " cannot be used with " + cert_path + ": " +
                           OpenSslReason());
  }
  return tls;
}

}  // namespace signet::server::internal
