#include "base/secret.h"

#include <cstdlib>
#include <cstring>

#include "base/file.h"

namespace signet {

namespace {

// Grows `s` to its capacity (no reallocation) so every byte of its buffer is
// ours to overwrite, zeroes it with a volatile loop the compiler cannot drop,
// and empties it.
void WipeString(std::string& s) {
  s.resize(s.capacity());
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

}  // namespace

Secret::Secret(std::string value) : value_(std::move(value)) {
  WipeString(value);  // NOLINT(bugprone-use-after-move): wiping what the move left behind
}

void Secret::Wipe() { WipeString(value_); }

Result<Secret> ReadSecretFile(const std::string& path) {
  SIGNET_ASSIGN_OR_RETURN(Bytes content, ReadSmallFile(path, 64 * 1024));
  std::string value(content.begin(), content.end());
  volatile char* p = reinterpret_cast<volatile char*>(content.data());
  for (std::size_t i = 0; i < content.size(); ++i) p[i] = 0;
  auto newline = value.find_first_of("\r\n");
  if (newline != std::string::npos) value.resize(newline);
  Secret secret(std::move(value));
  WipeString(value);  // NOLINT(bugprone-use-after-move): a short value was copied, not moved
  return secret;
}

Secret SecretFromEnv(const char* name) {
  const char* v = std::getenv(name);
  return v ? Secret(std::string(v)) : Secret();
}

}  // namespace signet
