#include "http_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace signet::testing {
namespace {

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) throw std::runtime_error("X509 ext");
  X509_EXTENSION_free(ext);
}

X509Ptr MakeServerCert(EVP_PKEY* key, EVP_PKEY* ca_key, X509* ca_cert) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert));
  AddExt(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature");
  AddExt(cert.get(), ca_cert, NID_ext_key_usage, "serverAuth");
  AddExt(cert.get(), ca_cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  AddExt(cert.get(), ca_cert, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), ca_key, EVP_sha256()) <= 0) throw std::runtime_error("X509_sign");
  return cert;
}

}  // namespace

TlsFiles MakeTlsFiles(const TempDir& dir) {
  CertOptions ca_options;
  ca_options.common_name = "Signet Test TLS CA";
  ca_options.is_ca = true;
  ca_options.serial = 77;
  X509Ptr ca = MakeCertificate(CaKey(), CaKey(), nullptr, ca_options);
  EVP_PKEY* key = SharedKey(KeyKind::kEcP256);
  X509Ptr leaf = MakeServerCert(key, CaKey(), ca.get());
  TlsFiles files;
  files.ca_path = dir.Write("ca.pem", CertificatePem(ca.get()));
  files.chain_path = dir.Write("chain.pem", CertificatePem(leaf.get()) + CertificatePem(ca.get()));
  files.key_path = dir.Write("key.pem", PrivateKeyPkcs8Pem(key));
  files.other_key_path = dir.Write("other.pem", PrivateKeyPkcs8Pem(SharedKey(KeyKind::kEcP384)));
  return files;
}

RawClient::RawClient(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawClient::Send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawClient::Fill(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char tmp[16384];
  const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

std::optional<RawClient::Response> RawClient::ReadResponse(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  Response r;
  r.head = buf_.substr(0, end + 2);
  buf_.erase(0, end + 4);
  if (r.head.size() < 12) return std::nullopt;
  r.status = std::atoi(r.head.substr(9, 3).c_str());
  const std::string cl = r.Header("content-length");
  const std::size_t length = cl.empty() ? 0 : std::strtoul(cl.c_str(), nullptr, 10);
  while (buf_.size() < length) {
    if (!Fill(deadline)) return std::nullopt;
  }
  r.body = buf_.substr(0, length);
  buf_.erase(0, length);
  return r;
}

bool RawClient::WaitClosed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[4096];
    if (::recv(fd_, tmp, sizeof(tmp), 0) <= 0) return true;
  }
}

std::string RawClient::ReadAll(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Fill(deadline)) {
  }
  std::string out = std::move(buf_);
  buf_.clear();
  return out;
}

std::string RawClient::Response::Header(std::string_view name) const {
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t eol = head.find("\r\n", start);
    const std::string line = head.substr(start, eol - start);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos && colon == name.size() &&
        std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      std::size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      return line.substr(v);
    }
    pos = eol;
  }
  return "";
}

}  // namespace signet::testing
