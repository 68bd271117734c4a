#include "base/secret.h"

#include <cstdlib>
#include <cstring>

#include "base/file.h"

namespace signet {

void Secret::Wipe() {
  // volatile write loop so the compiler cannot drop the wipe.
  volatile char* p = value_.data();
  for (std::size_t i = 0; i < value_.size(); ++i) p[i] = 0;
  value_.clear();
}

Result<Secret> ReadSecretFile(const std::string& path) {
  SIGNET_ASSIGN_OR_RETURN(Bytes content, ReadSmallFile(path, 64 * 1024));
  std::string value(content.begin(), content.end());
  volatile char* p = reinterpret_cast<volatile char*>(content.data());
  for (std::size_t i = 0; i < content.size(); ++i) p[i] = 0;
  auto newline = value.find_first_of("\r\n");
  if (newline != std::string::npos) value.resize(newline);
  return Secret(std::move(value));
}

Secret SecretFromEnv(const char* name) {
  const char* v = std::getenv(name);
  return v ? Secret(std::string(v)) : Secret();
}

}  // namespace signet
