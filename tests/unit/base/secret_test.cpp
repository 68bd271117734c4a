// Secret: the only carrier of PINs and passphrases. It must not leak through
// conversions, error messages or memory left behind.
#include "base/secret.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

#include "test_keys.h"

namespace signet {
namespace {

using signet::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

template <typename T>
concept Streamable = requires(std::ostream& os, const T& v) {
  os << v;
};

// A secret must be read explicitly through Reveal(): no implicit way into a
// string, a string_view or a stream.
static_assert(!Streamable<Secret>);
static_assert(!std::is_convertible_v<Secret, std::string>);
static_assert(!std::is_convertible_v<Secret, std::string_view>);
static_assert(!std::is_convertible_v<std::string, Secret>);  // explicit construction only

// Short enough for the small-string buffer, so the bytes live inside the
// object and can be inspected after it is gone.
constexpr std::string_view kShortSecret = "hunter2-pin";
static_assert(kShortSecret.size() < 15);

// The probe skips the first two characters: clearing a string writes a NUL
// over the first, and an assignment of one character overwrites the first.
bool Contains(const unsigned char* storage, std::size_t size, std::string_view needle) {
  std::string_view hay(reinterpret_cast<const char*>(storage), size);
  return hay.find(needle) != std::string_view::npos;
}

TEST(Secret, RevealReturnsTheValue) {
  Secret s(std::string("s3cret"));
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.Reveal(), "s3cret");
  EXPECT_TRUE(Secret().empty());
}

TEST(Secret, MovedFromIsEmpty) {
  Secret a(std::string("s3cret"));
  Secret b(std::move(a));
  EXPECT_EQ(b.Reveal(), "s3cret");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  Secret c;
  c = std::move(b);
  EXPECT_EQ(c.Reveal(), "s3cret");
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(Secret, CopyIsIndependent) {
  Secret a(std::string("one"));
  Secret b = a;
  EXPECT_EQ(b.Reveal(), "one");
  b = Secret(std::string("a much longer value that needs the heap"));
  EXPECT_EQ(a.Reveal(), "one");
  EXPECT_EQ(b.Reveal(), "a much longer value that needs the heap");
}

TEST(Secret, DestructorWipesTheBytes) {
  alignas(Secret) unsigned char storage[sizeof(Secret)];
  auto* s = new (storage) Secret(std::string(kShortSecret));
  ASSERT_TRUE(Contains(storage, sizeof storage, kShortSecret));  // the probe works
  s->~Secret();
  EXPECT_FALSE(Contains(storage, sizeof storage, kShortSecret.substr(2)));
}

TEST(Secret, MoveLeavesNoCopyInTheSource) {
  alignas(Secret) unsigned char storage[sizeof(Secret)];
  auto* source = new (storage) Secret(std::string(kShortSecret));
  Secret target(std::move(*source));
  EXPECT_EQ(target.Reveal(), kShortSecret);
  // The moved-from object still exists; none of the secret's bytes may remain in it.
  EXPECT_FALSE(Contains(storage, sizeof storage, kShortSecret.substr(2)));
  source->~Secret();
}

TEST(Secret, MoveAssignLeavesNoCopyInTheSource) {
  alignas(Secret) unsigned char storage[sizeof(Secret)];
  auto* source = new (storage) Secret(std::string(kShortSecret));
  Secret target(std::string("old"));
  target = std::move(*source);
  EXPECT_EQ(target.Reveal(), kShortSecret);
  EXPECT_FALSE(Contains(storage, sizeof storage, kShortSecret.substr(2)));
  source->~Secret();
}

TEST(Secret, AssignOverWipesThePreviousValue) {
  alignas(Secret) unsigned char storage[sizeof(Secret)];
  auto* s = new (storage) Secret(std::string(kShortSecret));
  Secret other(std::string("x"));
  *s = other;
  EXPECT_EQ(s->Reveal(), "x");
  EXPECT_FALSE(Contains(storage, sizeof storage, kShortSecret.substr(2)));
  s->~Secret();
}

TEST(ReadSecretFile, StripsTheTrailingNewline) {
  TempDir dir;
  auto s = ReadSecretFile(dir.Write("pin", "1234\n"));
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->Reveal(), "1234");
}

TEST(ReadSecretFile, StripsCrLfAndKeepsOnlyTheFirstLine) {
  TempDir dir;
  auto crlf = ReadSecretFile(dir.Write("crlf", "pass word\r\n"));
  ASSERT_TRUE(crlf.has_value());
  EXPECT_EQ(crlf->Reveal(), "pass word");  // inner spaces are part of it
  auto two = ReadSecretFile(dir.Write("two", "first\nsecond\n"));
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->Reveal(), "first");
}

TEST(ReadSecretFile, KeepsAValueWithoutNewline) {
  TempDir dir;
  auto s = ReadSecretFile(dir.Write("pin", "  spaced  "));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->Reveal(), "  spaced  ");
}

TEST(ReadSecretFile, EmptyFileGivesAnEmptySecret) {
  TempDir dir;
  auto s = ReadSecretFile(dir.Write("pin", ""));
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->empty());
}

TEST(ReadSecretFile, MissingFileErrorNamesThePath) {
  TempDir dir;
  std::string path = dir.File("no-such-pin-file");
  auto s = ReadSecretFile(path);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(s.error().message, HasSubstr(path));
}

TEST(ReadSecretFile, TooLargeFileErrorNamesThePathNotTheContent) {
  TempDir dir;
  std::string content = "TOPSECRET" + std::string(70 * 1024, 'x');
  std::string path = dir.Write("big", content);
  auto s = ReadSecretFile(path);
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error().message, HasSubstr(path));
  EXPECT_THAT(s.error().message, Not(HasSubstr("TOPSECRET")));
}

TEST(SecretFromEnv, ReadsSetVariableAndIsEmptyWhenUnset) {
  ::setenv("SIGNET_TEST_SECRET_VAR", "from-env", 1);
  EXPECT_EQ(SecretFromEnv("SIGNET_TEST_SECRET_VAR").Reveal(), "from-env");
  ::unsetenv("SIGNET_TEST_SECRET_VAR");
  EXPECT_TRUE(SecretFromEnv("SIGNET_TEST_SECRET_VAR").empty());
}

}  // namespace
}  // namespace signet
