// Error codes, their names and the one error-code -> exit-code mapping.
#include "base/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace signet {
namespace {

constexpr ErrorCode kAllCodes[] = {
    ErrorCode::kInvalidArgument, ErrorCode::kNotFound,           ErrorCode::kFailedPrecondition,
    ErrorCode::kUnavailable,     ErrorCode::kVerificationFailed, ErrorCode::kPermissionDenied,
    ErrorCode::kInternal,
};

TEST(ExitCodeFor, MapsEveryCodeAsDocumented) {
  EXPECT_EQ(ExitCodeFor(ErrorCode::kVerificationFailed), 1);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kPermissionDenied), 1);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInvalidArgument), 2);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kNotFound), 2);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kFailedPrecondition), 2);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kUnavailable), 3);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInternal), 4);
}

TEST(ExitCodeFor, NamedConstantsMatchTheNumbers) {
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(kExitVerifyFailed, 1);
  EXPECT_EQ(kExitBadInput, 2);
  EXPECT_EQ(kExitUnavailable, 3);
  EXPECT_EQ(kExitInternal, 4);
}

TEST(ExitCodeFor, NeverReturnsSuccessForAnError) {
  for (ErrorCode code : kAllCodes) {
    int exit_code = ExitCodeFor(code);
    EXPECT_GE(exit_code, 1) << ErrorCodeName(code);
    EXPECT_LE(exit_code, 4) << ErrorCodeName(code);
  }
}

TEST(ErrorCodeName, IsDistinctForEveryCode) {
  std::set<std::string> names;
  for (ErrorCode code : kAllCodes) names.emplace(ErrorCodeName(code));
  EXPECT_EQ(names.size(), std::size(kAllCodes));
  EXPECT_EQ(ErrorCodeName(ErrorCode::kUnavailable), "unavailable");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kVerificationFailed), "verification_failed");
}

TEST(Error, WithContextPrefixesAndKeepsTheCode) {
  Error e{ErrorCode::kUnavailable, "token absent"};
  Error wrapped = e.WithContext("pkcs11:token=ci");
  EXPECT_EQ(wrapped.code, ErrorCode::kUnavailable);
  EXPECT_EQ(wrapped.message, "pkcs11:token=ci: token absent");
  EXPECT_EQ(e.message, "token absent");
}

TEST(Error, HelpersSetTheirCode) {
  EXPECT_EQ(InvalidArgument("x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(NotFound("x").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(FailedPrecondition("x").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Unavailable("x").error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(VerificationFailed("x").error().code, ErrorCode::kVerificationFailed);
  EXPECT_EQ(PermissionDenied("x").error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(Internal("boom").error().message, "boom");
}

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgument(std::to_string(v) + " is odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  SIGNET_ASSIGN_OR_RETURN(int h, Half(v));
  SIGNET_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int v) {
  SIGNET_RETURN_IF_ERROR(Half(v));
  return {};
}

TEST(ErrorMacros, PropagateTheFirstError) {
  auto ok = Quarter(12);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 3);
  auto bad = Quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "3 is odd");
  EXPECT_TRUE(CheckEven(4).has_value());
  EXPECT_EQ(CheckEven(5).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace signet
