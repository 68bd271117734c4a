// Secret: the one type that carries PINs, passphrases and tokens.
//
// It has no stream operator and no implicit conversion, so a secret cannot end
// up in a log line or an error message by accident: reading it means calling
// Reveal(), which is easy to grep for. The buffer is wiped on destruction.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace signet {

class Secret {
 public:
  Secret() = default;
  // Takes the value; the argument's buffer is wiped too (a short string is
  // copied out of it, not moved).
  explicit Secret(std::string value);
  Secret(const Secret&) = default;
  // Wipes the old value first: assigning may reuse or free its buffer.
  Secret& operator=(const Secret& other) {
    if (this != &other) {
      Wipe();
      value_ = other.value_;
    }
    return *this;
  }
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.Wipe(); }
  Secret& operator=(Secret&& other) noexcept {
    Wipe();
    value_ = std::move(other.value_);
    other.Wipe();
    return *this;
  }
  ~Secret() { Wipe(); }

  [[nodiscard]] bool empty() const { return value_.empty(); }
  // The only way to read the secret. Never log or format the result.
  [[nodiscard]] std::string_view Reveal() const { return value_; }

 private:
  // Zeroes the whole buffer (capacity, not just size: a moved-from short
  // string keeps its old characters in its inline buffer) and empties it.
  void Wipe();
  std::string value_;
};

// Reads a secret from a file (first line, trailing CR/LF stripped).
// Errors name the file, never the content.
Result<Secret> ReadSecretFile(const std::string& path);

// Reads a secret from the environment variable `name`; nullopt-like empty
// Secret when unset.
Secret SecretFromEnv(const char* name);

}  // namespace signet
