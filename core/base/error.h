// Errors as values: every fallible function returns Result<T> (std::expected).
//
// The code says what the caller should do, not where the failure happened:
//   kInvalidArgument    fix your input (bad file, bad URI, wrong PIN, malformed artifact)
//   kFailedPrecondition fix the setup (PIN locked, key type the format cannot use)
//   kUnavailable        retry later (token absent, network down, backend busy)
//   kVerificationFailed the signature or its chain does not hold
//   kPermissionDenied   a policy refused the operation
//   kInternal           a bug in signet
// Messages are one line, name the file/key/URI concerned and never contain a
// secret (PIN, passphrase, token). The CLI maps codes to exit codes in one
// place: ExitCodeFor().
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace signet {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kFailedPrecondition,
  kUnavailable,
  kVerificationFailed,
  kPermissionDenied,
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Returns a copy whose message is prefixed with `context: `.
  [[nodiscard]] Error WithContext(std::string_view context) const {
    return Error{code, std::string(context) + ": " + message};
  }
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}
inline std::unexpected<Error> InvalidArgument(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}
inline std::unexpected<Error> NotFound(std::string message) {
  return MakeError(ErrorCode::kNotFound, std::move(message));
}
inline std::unexpected<Error> FailedPrecondition(std::string message) {
  return MakeError(ErrorCode::kFailedPrecondition, std::move(message));
}
inline std::unexpected<Error> Unavailable(std::string message) {
  return MakeError(ErrorCode::kUnavailable, std::move(message));
}
inline std::unexpected<Error> VerificationFailed(std::string message) {
  return MakeError(ErrorCode::kVerificationFailed, std::move(message));
}
inline std::unexpected<Error> PermissionDenied(std::string message) {
  return MakeError(ErrorCode::kPermissionDenied, std::move(message));
}
inline std::unexpected<Error> Internal(std::string message) {
  return MakeError(ErrorCode::kInternal, std::move(message));
}

// Process exit codes, the same for every command (documented in README and --help):
//   0 success; 1 verification failed or signing refused; 2 usage error or bad
//   input; 3 backend unavailable (retryable); 4 internal error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitVerifyFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitUnavailable = 3;
inline constexpr int kExitInternal = 4;

inline int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kVerificationFailed:
    case ErrorCode::kPermissionDenied:
      return kExitVerifyFailed;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kFailedPrecondition:
      return kExitBadInput;
    case ErrorCode::kUnavailable:
      return kExitUnavailable;
    case ErrorCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

std::string_view ErrorCodeName(ErrorCode code);

// Propagates the error of a Result/Status expression out of the enclosing function.
#define SIGNET_RETURN_IF_ERROR(expr)                             \
  do {                                                           \
    if (auto signet_status_ = (expr); !signet_status_) {         \
      return std::unexpected(std::move(signet_status_).error()); \
    }                                                            \
  } while (0)

#define SIGNET_CONCAT_INNER_(a, b) a##b
#define SIGNET_CONCAT_(a, b) SIGNET_CONCAT_INNER_(a, b)
// Assigns the value of a Result expression to `lhs`, or returns its error.
#define SIGNET_ASSIGN_OR_RETURN(lhs, expr) \
  SIGNET_ASSIGN_OR_RETURN_IMPL_(SIGNET_CONCAT_(signet_result_, __LINE__), lhs, expr)
// NOLINTBEGIN(bugprone-macro-parentheses): lhs may be a declaration.
#define SIGNET_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)       \
  auto tmp = (expr);                                        \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)
// NOLINTEND(bugprone-macro-parentheses)

}  // namespace signet
