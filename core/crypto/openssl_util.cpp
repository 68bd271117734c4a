#include "crypto/openssl_util.h"

#include <openssl/err.h>

namespace signet {

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

BioPtr MemBio(ByteView data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

Bytes BioBytes(BIO* bio) {
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  if (n <= 0 || p == nullptr) return {};
  return Bytes(reinterpret_cast<std::uint8_t*>(p), reinterpret_cast<std::uint8_t*>(p) + n);
}

}  // namespace signet
