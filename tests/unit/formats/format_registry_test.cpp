// FormatRegistry: choosing a format for signing (by name or magic bytes) and
// for verifying (by the signature file found beside the artifact).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "formats/format.h"
#include "test_keys.h"

namespace signet {
namespace {

using signet::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// An embedded format that claims files starting with "FAKE!" (magic bytes no
// built-in format uses), like a PE handler claims "MZ".
class FakeEmbeddedFormat final : public Format {
 public:
  std::string_view name() const override { return "fake"; }
  std::string_view description() const override { return "test format"; }
  bool detached() const override { return false; }
  bool Detect(ByteView head) const override { return ToString(head).starts_with("FAKE!"); }
  Result<SigningPlan> Prepare(const InputFile&, const PrepareOptions&) const override {
    return Internal("not used");
  }
  Result<std::string> Finish(const InputFile&, const SigningPlan&, ByteView,
                             const FinishOptions&) const override {
    return Internal("not used");
  }
  Result<VerifyReport> Verify(const InputFile&, const VerifyOptions&) const override {
    return Internal("not used");
  }
};

class FormatRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterBuiltinFormats(registry_);
    artifact_path_ = dir_.Write("file.txt", "plain text");
  }
  InputFile Open(const std::string& path) const { return InputFile::Open(path).value(); }
  InputFile Artifact() const { return Open(artifact_path_); }

  FormatRegistry registry_;
  TempDir dir_;
  std::string artifact_path_;
};

TEST_F(FormatRegistryTest, BuiltinsArePeCmsAndRaw) {
  // Embedded formats (detected by content) first, detached ones after.
  EXPECT_THAT(registry_.names(), ElementsAre("pe", "cms", "raw"));
  ASSERT_NE(registry_.Find("cms"), nullptr);
  EXPECT_EQ(registry_.Find("cms")->name(), "cms");
  EXPECT_EQ(registry_.Find("raw")->signature_suffix(), ".sig");
  ASSERT_NE(registry_.Find("pe"), nullptr);
  EXPECT_FALSE(registry_.Find("pe")->detached());
}

TEST_F(FormatRegistryTest, ForSigningByName) {
  auto raw = registry_.ForSigning(Artifact(), "raw");
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ((*raw)->name(), "raw");
}

TEST_F(FormatRegistryTest, ForSigningAutoFallsBackToCms) {
  for (std::string_view name : {"auto", ""}) {
    auto f = registry_.ForSigning(Artifact(), name);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ((*f)->name(), "cms");
  }
  // An empty file too.
  auto empty = registry_.ForSigning(Open(dir_.Write("empty", "")), "auto");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ((*empty)->name(), "cms");
}

TEST_F(FormatRegistryTest, ForSigningUnknownNameListsTheKnownOnes) {
  auto f = registry_.ForSigning(Artifact(), "authenticode");
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(f.error().message, HasSubstr("'authenticode'"));
  EXPECT_THAT(f.error().message, HasSubstr("auto, pe, cms, raw"));
}

TEST_F(FormatRegistryTest, ForSigningDetectsEmbeddedFormatsByMagic) {
  registry_.Register(std::make_unique<FakeEmbeddedFormat>());
  auto pe = registry_.ForSigning(Open(dir_.Write("app.bin", "FAKE!\x90")), "auto");
  ASSERT_TRUE(pe.has_value());
  EXPECT_EQ((*pe)->name(), "fake");
  auto text = registry_.ForSigning(Artifact(), "auto");
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ((*text)->name(), "cms");
  // An explicit name overrides detection.
  auto forced = registry_.ForSigning(Open(dir_.File("app.bin")), "raw");
  ASSERT_TRUE(forced.has_value());
  EXPECT_EQ((*forced)->name(), "raw");
}

TEST_F(FormatRegistryTest, ForVerifyFindsFileP7s) {
  dir_.Write("file.txt.p7s", "x");
  auto f = registry_.ForVerify(Artifact(), "auto", "");
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ((*f)->name(), "cms");
}

TEST_F(FormatRegistryTest, ForVerifyFindsFileSig) {
  dir_.Write("file.txt.sig", "x");
  auto f = registry_.ForVerify(Artifact(), "auto", "");
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ((*f)->name(), "raw");
}

TEST_F(FormatRegistryTest, ForVerifyPrefersP7sWhenBothExist) {
  dir_.Write("file.txt.sig", "x");
  dir_.Write("file.txt.p7s", "x");
  auto f = registry_.ForVerify(Artifact(), "auto", "");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ((*f)->name(), "cms");
}

TEST_F(FormatRegistryTest, ForVerifyWithoutASignatureNamesWhatItLookedFor) {
  auto f = registry_.ForVerify(Artifact(), "auto", "");
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(f.error().message, HasSubstr(artifact_path_ + ".p7s"));
  EXPECT_THAT(f.error().message, HasSubstr(artifact_path_ + ".sig"));
}

TEST_F(FormatRegistryTest, ForVerifyByTheSignaturePathsSuffix) {
  auto sig = registry_.ForVerify(Artifact(), "auto", "/elsewhere/x.sig");
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ((*sig)->name(), "raw");
  auto p7s = registry_.ForVerify(Artifact(), "", "/elsewhere/x.p7s");
  ASSERT_TRUE(p7s.has_value());
  EXPECT_EQ((*p7s)->name(), "cms");
  auto unknown = registry_.ForVerify(Artifact(), "auto", "/elsewhere/x.bin");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message, HasSubstr("give --format"));
  auto named = registry_.ForVerify(Artifact(), "raw", "/elsewhere/x.bin");
  ASSERT_TRUE(named.has_value());
  EXPECT_EQ((*named)->name(), "raw");
}

TEST_F(FormatRegistryTest, ForVerifyDetectsEmbeddedFormatsFirst) {
  registry_.Register(std::make_unique<FakeEmbeddedFormat>());
  std::string exe = dir_.Write("app.bin", "FAKE!...");
  dir_.Write("app.bin.p7s", "x");
  auto f = registry_.ForVerify(Open(exe), "auto", "");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ((*f)->name(), "fake");
}

TEST(DetachedSignaturePath, DefaultsBesideTheArtifact) {
  TempDir dir;
  InputFile in = InputFile::Open(dir.Write("a.bin", "x")).value();
  EXPECT_EQ(DetachedSignaturePath(in, ".p7s", ""), dir.File("a.bin.p7s"));
  EXPECT_EQ(DetachedSignaturePath(in, ".p7s", "/out/sig"), "/out/sig");
}

}  // namespace
}  // namespace signet
