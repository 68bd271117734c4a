// API tokens (identity/api_token.h): create, load, authenticate, file mode.
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/digest.h"
#include "identity/api_token.h"
#include "test_keys.h"

namespace signet::identity {
namespace {

using signet::testing::ReadFileBytes;
using signet::testing::TempDir;

unsigned Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(ApiTokenTest, CreateLoadAuthenticate) {
  TempDir dir;
  std::string path = dir.File("tokens.json");
  auto token = ApiTokenStore::Create(path, "release-bot", {"prod-ev", "test"});
  ASSERT_TRUE(token) << token.error().message;
  std::string_view t = token->Reveal();
  EXPECT_TRUE(t.starts_with("sgt_"));
  EXPECT_EQ(t.size(), 4u + 43u);
  EXPECT_TRUE(IsApiToken(t));
  EXPECT_EQ(Mode(path), 0600u);

  // Only the hash is stored.
  std::string file = ToString(ReadFileBytes(path));
  EXPECT_EQ(file.find(t.substr(4)), std::string::npos);
  EXPECT_NE(file.find(HexEncode(Digest(DigestAlgorithm::kSha256, AsBytes(t)))), std::string::npos);

  auto store = ApiTokenStore::Load(path);
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_EQ(store->entries().size(), 1u);
  EXPECT_EQ(store->entries()[0].name, "release-bot");
  EXPECT_FALSE(store->entries()[0].created.empty());

  auto id = store->Authenticate(t);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->issuer, kApiTokenIssuer);
  EXPECT_EQ(id->subject, "release-bot");
  EXPECT_EQ(id->scopes, (std::vector<std::string>{"prod-ev", "test"}));
  EXPECT_EQ(id->Claim("ci"), "api-token");
  EXPECT_EQ(id->expires, 0);
}

TEST(ApiTokenTest, WrongTokensAreDenied) {
  TempDir dir;
  std::string path = dir.File("tokens.json");
  auto token = ApiTokenStore::Create(path, "bot", {"*"});
  ASSERT_TRUE(token);
  auto store = ApiTokenStore::Load(path);
  ASSERT_TRUE(store);
  std::string wrong(token->Reveal());
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad : {wrong, std::string("sgt_"), std::string(token->Reveal().substr(4)),
                                 std::string(), std::string(token->Reveal()) + "x"}) {
    auto id = store->Authenticate(bad);
    ASSERT_FALSE(id) << bad;
    EXPECT_EQ(id.error().code, ErrorCode::kPermissionDenied);
    EXPECT_EQ(id.error().message, "unknown API token");
  }
}

TEST(ApiTokenTest, SeveralTokensEachMapToTheirName) {
  TempDir dir;
  std::string path = dir.File("tokens.json");
  auto a = ApiTokenStore::Create(path, "a", {"k1"});
  auto b = ApiTokenStore::Create(path, "b.bot_2-x", {"k2"});
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->Reveal(), b->Reveal());
  auto store = ApiTokenStore::Load(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->entries().size(), 2u);
  EXPECT_EQ(store->Authenticate(a->Reveal())->subject, "a");
  EXPECT_EQ(store->Authenticate(b->Reveal())->subject, "b.bot_2-x");
  EXPECT_EQ(store->Authenticate(b->Reveal())->scopes, std::vector<std::string>{"k2"});
}

TEST(ApiTokenTest, RefusesDuplicateOrBadNamesAndEmptyScopes) {
  TempDir dir;
  std::string path = dir.File("tokens.json");
  ASSERT_TRUE(ApiTokenStore::Create(path, "bot", {"k"}));
  auto dup = ApiTokenStore::Create(path, "bot", {"k"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidArgument);
  for (const char* bad : {"", "a b", "a/b", "ünï", "x\n"}) {
    auto r = ApiTokenStore::Create(path, bad, {"k"});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(ApiTokenStore::Create(path, "noscope", {}));
  EXPECT_EQ(ApiTokenStore::Load(path)->entries().size(), 1u);
}

TEST(ApiTokenTest, ExistingLooseFileBecomesOwnerOnly) {
  TempDir dir;
  std::string path = dir.Write("tokens.json", R"({"tokens": []})");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(ApiTokenStore::Create(path, "bot", {"k"}));
  EXPECT_EQ(Mode(path), 0600u);
  // Nothing but the target is left in the directory (no temp files).
  EXPECT_EQ(dir.List(), std::vector<std::string>{"tokens.json"});
}

TEST(ApiTokenTest, MissingFileIsEmptyMalformedFileIsAnError) {
  TempDir dir;
  auto empty = ApiTokenStore::Load(dir.File("none.json"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->entries().empty());
  EXPECT_FALSE(empty->Authenticate("sgt_AAAA"));

  std::string bad = dir.Write("bad.json", R"({"tokens": [{"name": "x", "sha256": "12"}]})");
  auto r = ApiTokenStore::Load(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find(bad), std::string::npos);
  EXPECT_FALSE(ApiTokenStore::Load(dir.Write("notjson.json", "{")));
  // A broken file is never overwritten by Create.
  EXPECT_FALSE(ApiTokenStore::Create(bad, "bot", {"k"}));
}

}  // namespace
}  // namespace signet::identity
