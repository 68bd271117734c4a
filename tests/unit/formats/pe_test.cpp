// pe format: the PE layout parser (and every malformed header it must
// refuse), the PE checksum, WIN_CERTIFICATE tables, the Authenticode
// structures, and Prepare -> sign -> Finish -> Verify on synthetic PE32 and
// PE32+ images, including nested signatures, unsign, timestamps and the
// staged (single-read) output. Real mingw-built files and osslsigncode are
// in tests/interop/pe/.
#include "formats/pe/pe_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <ctime>
#include <string>

#include "crypto/der.h"
#include "crypto/digest.h"
#include "formats/pe/authenticode.h"
#include "formats/pe/pe_digest.h"
#include "formats/pe/pe_image.h"
#include "test_keys.h"
#include "timestamp/rfc3161.h"
#include "timestamp/test_tsa.h"

namespace signet {
namespace {

using signet::testing::KeyKind;
using signet::testing::ReadFileBytes;
using signet::testing::SharedKey;
using signet::testing::TempDir;
using ::testing::HasSubstr;

constexpr std::time_t kSigningTime = 1767323045;  // 2026-01-02T03:04:05Z

// ---- synthetic images --------------------------------------------------------

void Le16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void Le32(Bytes& b, std::size_t at, std::uint32_t v) { pe::WriteLe32(b, at, v); }

struct ImageSpec {
  bool pe32_plus = true;
  int sections = 2;
  std::uint32_t section_size = 0x400;
  std::size_t overlay = 0;  // bytes after the last section
};

constexpr std::uint32_t kLfanew = 0x80;

std::size_t OptionalOffset() { return kLfanew + 24; }
std::size_t SectionTableOffset(const ImageSpec& s) {
  return OptionalOffset() + (s.pe32_plus ? 240 : 224);
}

// A PE image as a linker lays it out: headers padded to 0x200, then each
// section's raw data in turn, then the overlay.
Bytes MakeImage(const ImageSpec& s) {
  const std::uint16_t opt_size = s.pe32_plus ? 240 : 224;
  const std::size_t headers_end = SectionTableOffset(s) + 40 * static_cast<std::size_t>(s.sections);
  const std::uint32_t size_of_headers = static_cast<std::uint32_t>((headers_end + 0x1ff) & ~0x1ffu);
  Bytes f(size_of_headers + static_cast<std::size_t>(s.sections) * s.section_size + s.overlay, 0);
  f[0] = 'M';
  f[1] = 'Z';
  Le32(f, 0x3c, kLfanew);
  std::memcpy(f.data() + kLfanew, "PE\0\0", 4);
  Le16(f, kLfanew + 4, s.pe32_plus ? 0x8664 : 0x14c);
  Le16(f, kLfanew + 6, static_cast<std::uint16_t>(s.sections));
  Le16(f, kLfanew + 20, opt_size);
  Le16(f, kLfanew + 22, 0x0022);
  const std::size_t opt = OptionalOffset();
  Le16(f, opt, s.pe32_plus ? 0x20b : 0x10b);
  Le32(f, opt + 60, size_of_headers);
  Le32(f, opt + (s.pe32_plus ? 108 : 92), 16);  // NumberOfRvaAndSizes
  for (int i = 0; i < s.sections; ++i) {
    std::size_t h = SectionTableOffset(s) + 40 * static_cast<std::size_t>(i);
    std::memcpy(f.data() + h, i == 0 ? ".text" : ".data", 5);
    Le32(f, h + 8, s.section_size);                               // VirtualSize
    Le32(f, h + 12, 0x1000 * static_cast<std::uint32_t>(i + 1));  // VirtualAddress
    Le32(f, h + 16, s.section_size);                              // SizeOfRawData
    Le32(f, h + 20, size_of_headers + static_cast<std::uint32_t>(i) * s.section_size);
  }
  for (std::size_t i = size_of_headers; i < f.size(); ++i) {
    f[i] = static_cast<std::uint8_t>((i * 131) ^ (i >> 7));
  }
  return f;
}

// The section with index `i`'s first byte.
std::size_t SectionData(const Bytes& image, const ImageSpec& s, int i) {
  return pe::ReadLe32(image, SectionTableOffset(s) + 40 * static_cast<std::size_t>(i) + 20);
}

Result<pe::Layout> Parse(const Bytes& image) {
  return pe::ParseLayout(
      [&image](std::uint64_t off, std::size_t len) -> Result<Bytes> {
        if (off > image.size() || len > image.size() - off) return InvalidArgument("short read");
        return Bytes(image.begin() + static_cast<std::ptrdiff_t>(off),
                     image.begin() + static_cast<std::ptrdiff_t>(off + len));
      },
      image.size(), "img");
}

// The PE checksum as Windows computes it: 16-bit words folded after every
// addition, the CheckSum field skipped, the file length added. Independent
// of pe::Checksum's lane arithmetic.
std::uint32_t ReferenceChecksum(const Bytes& file, std::size_t checksum_offset) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < file.size(); i += 2) {
    if (i >= checksum_offset && i < checksum_offset + 4) continue;
    std::uint32_t word = file[i] | (i + 1 < file.size() ? file[i + 1] << 8 : 0);
    sum += word;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint32_t>(sum + file.size());
}

// ---- layout ------------------------------------------------------------------

TEST(PeLayout, DetectsPeImagesOnly) {
  Bytes image = MakeImage({});
  EXPECT_TRUE(pe::LooksLikePe(image));
  EXPECT_TRUE(pe::LooksLikePe(MakeImage({.pe32_plus = false})));
  EXPECT_FALSE(pe::LooksLikePe(ToBytes("MZ but nothing else")));
  Bytes no_pe = image;
  no_pe[kLfanew] = 'X';
  EXPECT_FALSE(pe::LooksLikePe(no_pe));
  Bytes far = image;
  Le32(far, 0x3c, 0x7fffffff);
  EXPECT_FALSE(pe::LooksLikePe(far));
}

TEST(PeLayout, FindsTheFieldsAuthenticodeSkips) {
  for (bool plus : {true, false}) {
    ImageSpec spec{.pe32_plus = plus, .overlay = 123};
    Bytes image = MakeImage(spec);
    auto l = Parse(image);
    ASSERT_TRUE(l.has_value()) << l.error().message;
    EXPECT_EQ(l->pe32_plus, plus);
    EXPECT_EQ(l->checksum_offset, OptionalOffset() + 64);
    EXPECT_EQ(l->cert_dir_offset, OptionalOffset() + (plus ? 112 : 96) + 32);
    EXPECT_FALSE(l->has_signature());
    EXPECT_EQ(l->image_end(), image.size());
    ASSERT_EQ(l->sections.size(), 2u);
    EXPECT_EQ(l->sections[0].name, ".text");
  }
}

TEST(PeLayout, TruncatedFilesAreInvalidArgument) {
  ImageSpec spec;
  Bytes image = MakeImage(spec);
  for (std::size_t size :
       {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{kLfanew + 2},
        OptionalOffset() + 10, SectionTableOffset(spec) + 20, image.size() - 1}) {
    Bytes cut(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(size));
    auto l = Parse(cut);
    ASSERT_FALSE(l.has_value()) << "size " << size;
    EXPECT_EQ(l.error().code, ErrorCode::kInvalidArgument) << size;
    EXPECT_THAT(l.error().message, HasSubstr("img")) << size;
  }
}

TEST(PeLayout, ELfanewOutsideTheFile) {
  Bytes image = MakeImage({});
  Le32(image, 0x3c, static_cast<std::uint32_t>(image.size() + 16));
  auto l = Parse(image);
  ASSERT_FALSE(l.has_value());
  EXPECT_THAT(l.error().message, HasSubstr("e_lfanew"));
  EXPECT_THAT(l.error().message, HasSubstr("outside the file"));
}

TEST(PeLayout, SectionTableOutsideTheFile) {
  Bytes image = MakeImage({});
  Le16(image, kLfanew + 6, 0xfff0);  // NumberOfSections
  auto l = Parse(image);
  ASSERT_FALSE(l.has_value());
  EXPECT_THAT(l.error().message, HasSubstr("section table"));
}

TEST(PeLayout, SectionDataOutsideTheFile) {
  ImageSpec spec;
  Bytes image = MakeImage(spec);
  Le32(image, SectionTableOffset(spec) + 40 + 20, static_cast<std::uint32_t>(image.size() - 16));
  auto l = Parse(image);
  ASSERT_FALSE(l.has_value());
  EXPECT_THAT(l.error().message, HasSubstr(".data"));
  EXPECT_THAT(l.error().message, HasSubstr("outside"));
}

TEST(PeLayout, CertificateTableOutsideTheFileOrMalformed) {
  ImageSpec spec{.pe32_plus = true};
  Bytes image = MakeImage(spec);
  const std::size_t dir = OptionalOffset() + 112 + 32;
  struct Case {
    std::uint32_t offset, size;
    const char* says;
  };
  const auto n = static_cast<std::uint32_t>(image.size());
  for (Case c : {Case{n - 8, 64, "outside the file"}, Case{n + 8, 8, "outside the file"},
                 Case{0, 16, "malformed"}, Case{n - 64, 0, "malformed"},
                 Case{n - 64, 32, "does not end at the end"}, Case{0x100, n - 0x100, "overlaps"}}) {
    Bytes bad = image;
    Le32(bad, dir, c.offset);
    Le32(bad, dir + 4, c.size);
    auto l = Parse(bad);
    ASSERT_FALSE(l.has_value()) << c.says;
    EXPECT_EQ(l.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(l.error().message, HasSubstr(c.says));
  }
}

// ---- checksum and certificate table -------------------------------------------

TEST(PeChecksum, MatchesTheReferenceWhateverTheSplit) {
  Bytes file = MakeImage({.overlay = 1001});  // odd length
  const std::size_t field = OptionalOffset() + 64;
  file[field] = 0xaa;  // the field's own value must not count
  for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1024},
                            file.size() / 2 + 1, file.size() - 1, file.size()}) {
    pe::Checksum c;
    c.Add(ByteView(file).subspan(0, split), 0);
    c.Add(ByteView(file).subspan(split), split);
    c.Subtract(ByteView(file).subspan(field, 4), field);
    EXPECT_EQ(c.Finish(file.size()), ReferenceChecksum(file, field)) << "split " << split;
  }
}

TEST(PeDigest, IsTheImageWithoutTheTwoFieldsWhateverTheChunkSize) {
  Bytes image = MakeImage({.overlay = 77});
  auto l = Parse(image);
  ASSERT_TRUE(l.has_value());
  // Independently: the image with the CheckSum field and the certificate
  // entry cut out, plus the zero padding to 8 bytes.
  Bytes expected_input;
  for (std::size_t i = 0; i < image.size(); ++i) {
    if ((i >= l->checksum_offset && i < l->checksum_offset + 4) ||
        (i >= l->cert_dir_offset && i < l->cert_dir_offset + 8)) {
      continue;
    }
    expected_input.push_back(image[i]);
  }
  expected_input.resize(expected_input.size() + pe::PaddingFor(image.size()), 0);
  const Bytes expected = Digest(DigestAlgorithm::kSha256, expected_input);
  pe::ReadIntoFn read = [&image](std::uint64_t off, std::span<std::uint8_t> out) -> Status {
    std::copy_n(image.begin() + static_cast<std::ptrdiff_t>(off), out.size(), out.begin());
    return {};
  };
  std::optional<std::uint64_t> sum;
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{61}, pe::kImageChunk}) {
    auto pass = pe::HashImage(read, *l, {"sha256", "sha1"}, true, nullptr, chunk);
    ASSERT_TRUE(pass.has_value()) << pass.error().message;
    EXPECT_EQ(pass->digests["sha256"], expected) << "chunk " << chunk;
    EXPECT_EQ(pass->digests["sha1"].size(), 20u);
    if (sum) {
      EXPECT_EQ(pass->checksum_sum, *sum) << "chunk " << chunk;
    }
    sum = pass->checksum_sum;
  }
}

TEST(PeCertificateTable, RoundTripsWithPaddingTo8Bytes) {
  Bytes sd = ToBytes("0123456789abc");  // 13 bytes
  Bytes table = pe::BuildCertificateTable(sd);
  EXPECT_EQ(table.size() % 8, 0u);
  EXPECT_EQ(pe::ReadLe32(table, 0), table.size());  // dwLength counts the padding
  EXPECT_EQ(pe::ReadLe16(table, 4), 0x0200);
  EXPECT_EQ(pe::ReadLe16(table, 6), 0x0002);
  auto entries = pe::ParseCertificateTable(table);
  ASSERT_TRUE(entries.has_value()) << entries.error().message;
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(Bytes(entries->front().data.begin(), entries->front().data.begin() + 13), sd);
}

TEST(PeCertificateTable, GarbageIsRefused) {
  for (Bytes bad : {Bytes{}, Bytes(16, 0), Bytes{0xff, 0xff, 0xff, 0x7f, 0, 2, 2, 0},
                    Bytes{4, 0, 0, 0, 0, 2, 2, 0}}) {
    EXPECT_FALSE(pe::ParseCertificateTable(bad).has_value());
  }
}

// ---- Authenticode structures --------------------------------------------------

TEST(Authenticode, SpcIndirectDataContentIsDeterministicAndParses) {
  Bytes digest = Digest(DigestAlgorithm::kSha256, ToBytes("image"));
  Bytes a = pe::SpcIndirectDataContent(DigestAlgorithm::kSha256, digest);
  EXPECT_EQ(a, pe::SpcIndirectDataContent(DigestAlgorithm::kSha256, digest));
  auto info = pe::ParseSpcIndirectData(a);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->type_oid, pe::kOidSpcPeImageData);
  EXPECT_EQ(pe::DigestNameForOid(info->digest_oid), "sha256");
  EXPECT_EQ(Bytes(info->digest.begin(), info->digest.end()), digest);
}

TEST(Authenticode, SignedAttributesCommitToTheSpcContentOctets) {
  Bytes spc = pe::SpcIndirectDataContent(DigestAlgorithm::kSha384,
                                         Digest(DigestAlgorithm::kSha384, ToBytes("x")));
  pe::SignedAttributeOptions options{kSigningTime, "Signet \xc3\xa9\xe2\x82\xac test",
                                     "https://example.com/"};
  auto attrs = pe::SignedAttributes(DigestAlgorithm::kSha384, spc, options);
  ASSERT_TRUE(attrs.has_value()) << attrs.error().message;
  auto parsed = cms::ParseSignedAttributes(*attrs);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->content_type_oid, pe::kOidSpcIndirectData);
  EXPECT_EQ(parsed->signing_time, kSigningTime);
  // messageDigest covers the SEQUENCE's content octets, not its tag and length.
  Bytes content(spc.begin() + 2, spc.end());
  ASSERT_LT(spc[1], 0x80);
  EXPECT_EQ(parsed->message_digest, Digest(DigestAlgorithm::kSha384, content));
  auto list = pe::ParseAttributes(*attrs);
  ASSERT_TRUE(list.has_value());
  EXPECT_NE(pe::FindAttribute(*list, pe::kOidSpcStatementType), nullptr);
  const pe::AttributeView* opus = pe::FindAttribute(*list, pe::kOidSpcSpOpusInfo);
  ASSERT_NE(opus, nullptr);
  std::string text(opus->values[0].begin(), opus->values[0].end());
  EXPECT_THAT(text, HasSubstr("https://example.com/"));
  // Non-ASCII description: BMPString (UTF-16BE) "\x00\xe9 \x20\xac".
  EXPECT_THAT(text, HasSubstr(std::string("\x00\xe9\x20\xac", 4)));
}

TEST(Authenticode, RefusesBadDescriptionAndUrl) {
  Bytes spc = pe::SpcIndirectDataContent(DigestAlgorithm::kSha256, Bytes(32, 1));
  EXPECT_FALSE(
      pe::SignedAttributes(DigestAlgorithm::kSha256, spc, {0, "bad \xff utf8", ""}).has_value());
  EXPECT_FALSE(
      pe::SignedAttributes(DigestAlgorithm::kSha256, spc, {0, "", "https://\xc3\xa9.example/"})
          .has_value());
}

// ---- the format ---------------------------------------------------------------

PrepareOptions Options(const SignatureAlgorithm& alg, bool append = false) {
  PrepareOptions o;
  o.signature_algorithm = alg;
  o.append = append;
  return o;
}

Bytes SignPlan(const SigningPlan& plan, EVP_PKEY* key) {
  return testing::SignDigest(key, DigestName(plan.signature_algorithm.digest),
                             plan.to_be_signed_digest);
}

class PeFormatTest : public ::testing::Test {
 protected:
  void SetUp() override { UseKey(KeyKind::kEcP256); }

  void UseKey(KeyKind kind, bool code_signing = true) {
    key_ = SharedKey(kind);
    testing::CertOptions ca_options;
    ca_options.is_ca = true;
    ca_options.common_name = "Signet PE Test CA";
    ca_key_ = SharedKey(KeyKind::kEcP384);
    ca_cert_ = testing::MakeCertificate(ca_key_, ca_key_, nullptr, ca_options);
    testing::CertOptions leaf_options;
    leaf_options.common_name = "Signet PE Test Leaf";
    leaf_options.code_signing = code_signing;
    leaf_options.serial = ++serial_;
    leaf_cert_ = testing::MakeCertificate(key_, ca_key_, ca_cert_.get(), leaf_options);
    SetChain();
  }

  void SetChain() {
    chain_ = {Certificate::FromX509(leaf_cert_.get()), Certificate::FromX509(ca_cert_.get())};
    ca_path_ = dir_.Write("ca.pem", testing::CertificatePem(ca_cert_.get()));
  }

  std::string WriteImage(const ImageSpec& spec, const std::string& name = "app.exe") {
    image_ = MakeImage(spec);
    return dir_.Write(name, image_);
  }

  SignatureAlgorithm Alg(DigestAlgorithm d = DigestAlgorithm::kSha256) const {
    return {EVP_PKEY_get_base_id(key_) == EVP_PKEY_RSA ? SignatureScheme::kRsaPkcs1v15
                                                       : SignatureScheme::kEcdsa,
            d};
  }

  Result<SigningPlan> Prepare(const std::string& path, PrepareOptions options) {
    if (options.signing_time == 0) options.signing_time = kSigningTime;
    SIGNET_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(path));
    return format_->Prepare(in, options);
  }

  // Prepare -> sign -> Finish, staged (as the CLI does) or not (as a remote
  // signer would: the plan through JSON, Finish copying the file itself).
  Result<std::string> Sign(const std::string& path, bool staged = true, bool append = false,
                           std::optional<Bytes> token = std::nullopt,
                           const std::string& output = "") {
    PrepareOptions prepare;
    prepare.signature_algorithm = Alg();
    prepare.append = append;
    std::unique_ptr<StagedOutput> stage;
    if (staged) {
      prepare.stage = &stage;
      prepare.output_path = output;
    }
    SIGNET_ASSIGN_OR_RETURN(SigningPlan plan, Prepare(path, prepare));
    if (!staged) {
      SIGNET_ASSIGN_OR_RETURN(plan, SigningPlan::FromJson(plan.ToJson()));
    }
    FinishOptions finish;
    finish.chain = chain_;
    finish.append = append;
    finish.stage = stage.get();
    finish.timestamp_token = std::move(token);
    finish.output_path = output;
    SIGNET_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(path));
    return format_->Finish(in, plan, SignPlan(plan, key_), finish);
  }

  Result<VerifyReport> Verify(const std::string& path, const std::string& tsa_trust = "") {
    VerifyOptions options;
    options.trust_path = ca_path_;
    options.tsa_trust_path = tsa_trust;
    SIGNET_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(path));
    return format_->Verify(in, options);
  }

  Bytes Hash(const std::string& path) {
    return format_->ContentDigest(InputFile::Open(path).value(), DigestAlgorithm::kSha256).value();
  }

  std::unique_ptr<Format> format_ = MakePeFormat();
  TempDir dir_;
  EVP_PKEY* key_ = nullptr;
  EVP_PKEY* ca_key_ = nullptr;
  X509Ptr ca_cert_;
  X509Ptr leaf_cert_;
  CertificateChain chain_;
  std::string ca_path_;
  Bytes image_;
  long serial_ = 100;
};

TEST_F(PeFormatTest, SignsAndVerifiesPe32AndPe32Plus) {
  for (bool plus : {true, false}) {
    std::string path = WriteImage({.pe32_plus = plus}, plus ? "a64.exe" : "a32.exe");
    auto written = Sign(path);
    ASSERT_TRUE(written.has_value()) << written.error().message;
    EXPECT_EQ(*written, path);
    auto report = Verify(path);
    ASSERT_TRUE(report.has_value()) << report.error().message;
    EXPECT_EQ(report->format, "pe");
    EXPECT_EQ(report->digest_algorithm, "sha256");
    EXPECT_EQ(report->signature_algorithm, "ecdsa-sha256");
    EXPECT_THAT(report->signer_subject, HasSubstr("Signet PE Test Leaf"));
    EXPECT_EQ(report->signing_time, kSigningTime);
    EXPECT_FALSE(report->timestamp_time.has_value());
  }
}

TEST_F(PeFormatTest, OutputLayoutChecksumAndDigest) {
  std::string path = WriteImage({.overlay = 13});  // size not a multiple of 8
  Bytes before = Hash(path);
  ASSERT_TRUE(Sign(path).has_value());
  Bytes out = ReadFileBytes(path);
  auto l = Parse(out);
  ASSERT_TRUE(l.has_value()) << l.error().message;
  ASSERT_TRUE(l->has_signature());
  EXPECT_EQ(l->cert_table_offset % 8, 0u);
  EXPECT_EQ(l->cert_table_offset, (image_.size() + 7) / 8 * 8);  // zero padding before it
  EXPECT_EQ(l->cert_table_offset + l->cert_table_size, out.size());
  EXPECT_EQ(out.size() % 8, 0u);
  // The image is kept byte for byte except the checksum and the directory entry.
  for (std::size_t i = 0; i < image_.size(); ++i) {
    if ((i >= l->checksum_offset && i < l->checksum_offset + 4) ||
        (i >= l->cert_dir_offset && i < l->cert_dir_offset + 8)) {
      continue;
    }
    ASSERT_EQ(out[i], image_[i]) << "offset " << i;
  }
  EXPECT_EQ(l->checksum, ReferenceChecksum(out, l->checksum_offset));
  // The digest ignores the signature: same before and after.
  EXPECT_EQ(Hash(path), before);
  auto table = pe::ParseCertificateTable(ByteView(out).subspan(l->cert_table_offset));
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->size(), 1u);
}

TEST_F(PeFormatTest, StagedAndUnstagedOutputsAreIdentical) {
  UseKey(KeyKind::kRsa2048);  // PKCS#1 v1.5 is deterministic
  std::string a = WriteImage({.overlay = 5000}, "a.exe");
  std::string b = dir_.Write("b.exe", image_);
  ASSERT_TRUE(Sign(a, true).has_value());
  ASSERT_TRUE(Sign(b, false).has_value());
  EXPECT_EQ(ReadFileBytes(a), ReadFileBytes(b));
  ASSERT_TRUE(Verify(b).has_value());
}

TEST_F(PeFormatTest, WritesToOutputAndLeavesTheInputAlone) {
  std::string path = WriteImage({});
  std::string out = dir_.File("signed.exe");
  for (bool staged : {true, false}) {
    auto written = Sign(path, staged, false, std::nullopt, out);
    ASSERT_TRUE(written.has_value()) << written.error().message;
    EXPECT_EQ(*written, out);
    EXPECT_EQ(ReadFileBytes(path), image_);
    EXPECT_TRUE(Verify(out).has_value());
  }
}

TEST_F(PeFormatTest, ResigningReplacesTheSignature) {
  UseKey(KeyKind::kRsa2048);  // fixed-size signatures, so sizes compare
  std::string path = WriteImage({.overlay = 3});
  ASSERT_TRUE(Sign(path).has_value());
  std::size_t once = ReadFileBytes(path).size();
  ASSERT_TRUE(Sign(path).has_value());
  EXPECT_EQ(ReadFileBytes(path).size(), once);
  auto report = Verify(path);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_TRUE(report->nested.empty());
}

TEST_F(PeFormatTest, TamperedSectionOrOverlayFailsVerification) {
  ImageSpec spec{.overlay = 100};
  std::string path = WriteImage(spec);
  ASSERT_TRUE(Sign(path).has_value());
  Bytes signed_image = ReadFileBytes(path);
  for (std::size_t at : {SectionData(image_, spec, 0) + 10, image_.size() - 50}) {
    Bytes bad = signed_image;
    bad[at] ^= 1;
    std::string bad_path = dir_.Write("bad.exe", bad);
    auto report = Verify(bad_path);
    ASSERT_FALSE(report.has_value());
    EXPECT_EQ(report.error().code, ErrorCode::kVerificationFailed);
    EXPECT_THAT(report.error().message, HasSubstr("modified after signing"));
  }
}

TEST_F(PeFormatTest, VerificationNeedsTheRightAnchorAndTheCodeSigningUsage) {
  std::string path = WriteImage({});
  ASSERT_TRUE(Sign(path).has_value());
  auto other = testing::MakePki(SharedKey(KeyKind::kEcP256), "Other");
  ca_path_ = dir_.Write("other-ca.pem", other.CaPem());
  auto wrong = Verify(path);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kVerificationFailed);
  EXPECT_THAT(wrong.error().message, HasSubstr("chain"));

  // A leaf whose extendedKeyUsage does not include codeSigning is refused
  // (as osslsigncode refuses it); one with no extendedKeyUsage at all may be
  // used for any purpose (RFC 5280 4.2.1.12) and is accepted, as there.
  UseKey(KeyKind::kEcP256, /*code_signing=*/false);
  std::string no_eku = WriteImage({}, "noeku.exe");
  ASSERT_TRUE(Sign(no_eku).has_value());
  EXPECT_TRUE(Verify(no_eku).has_value());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert_.get(), leaf_cert_.get(), nullptr, nullptr, 0);
  X509_EXTENSION* eku = X509V3_EXT_conf_nid(nullptr, &ctx, NID_ext_key_usage, "serverAuth");
  ASSERT_NE(eku, nullptr);
  X509_add_ext(leaf_cert_.get(), eku, -1);
  X509_EXTENSION_free(eku);
  ASSERT_GT(X509_sign(leaf_cert_.get(), ca_key_, EVP_sha256()), 0);
  SetChain();
  std::string server_auth = WriteImage({}, "serverauth.exe");
  ASSERT_TRUE(Sign(server_auth).has_value());
  auto refused = Verify(server_auth);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kVerificationFailed);
  EXPECT_THAT(refused.error().message, HasSubstr("codeSigning"));
}

TEST_F(PeFormatTest, UnsignedFileFailsVerification) {
  std::string path = WriteImage({});
  auto report = Verify(path);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kVerificationFailed);
  EXPECT_THAT(report.error().message, HasSubstr("not signed"));
}

TEST_F(PeFormatTest, GarbageSignatureIsBadInputForEveryOperation) {
  ImageSpec spec;
  Bytes image = MakeImage(spec);
  Bytes garbage(64, 0x41);
  Bytes table = pe::BuildCertificateTable(garbage);
  std::size_t at = image.size();
  image.insert(image.end(), table.begin(), table.end());
  Le32(image, OptionalOffset() + 112 + 32, static_cast<std::uint32_t>(at));
  Le32(image, OptionalOffset() + 112 + 36, static_cast<std::uint32_t>(table.size()));
  std::string path = dir_.Write("garbage.exe", image);
  auto prepared = Prepare(path, Options(Alg()));
  ASSERT_FALSE(prepared.has_value());
  EXPECT_EQ(prepared.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(prepared.error().message, HasSubstr("garbage"));
  auto verified = Verify(path);
  ASSERT_FALSE(verified.has_value());
  EXPECT_EQ(verified.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ReadFileBytes(path), image);
  // unsign does not need to understand what it removes.
  auto unsigned_path = format_->Unsign(InputFile::Open(path).value(), "");
  ASSERT_TRUE(unsigned_path.has_value()) << unsigned_path.error().message;
  EXPECT_FALSE(Parse(ReadFileBytes(path))->has_signature());
}

TEST_F(PeFormatTest, RefusesKeysAuthenticodeCannotUse) {
  std::string path = WriteImage({});
  auto ed = Prepare(path, Options({SignatureScheme::kEd25519, DigestAlgorithm::kSha512}));
  ASSERT_FALSE(ed.has_value());
  EXPECT_EQ(ed.error().code, ErrorCode::kFailedPrecondition);
  auto pss = Prepare(path, Options({SignatureScheme::kRsaPss, DigestAlgorithm::kSha256}));
  ASSERT_FALSE(pss.has_value());
  EXPECT_EQ(pss.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(ReadFileBytes(path), image_);
}

TEST_F(PeFormatTest, NonPeFileIsBadInput) {
  std::string path = dir_.Write("text.txt",
                                "just some text, not a PE file at all, long enough to "
                                "hold a DOS header if it were one............");
  auto prepared = Prepare(path, Options(Alg()));
  ASSERT_FALSE(prepared.has_value());
  EXPECT_EQ(prepared.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(prepared.error().message, HasSubstr("not a PE file"));
}

TEST_F(PeFormatTest, FinishRefusesAFileThatChangedSincePrepare) {
  std::string path = WriteImage({});
  auto plan = Prepare(path, Options(Alg()));
  ASSERT_TRUE(plan.has_value());
  Bytes changed = image_;
  changed[SectionData(image_, {}, 1) + 3] ^= 0xff;
  dir_.Write("app.exe", changed);
  FinishOptions finish;
  finish.chain = chain_;
  auto written =
      format_->Finish(InputFile::Open(path).value(), *plan, SignPlan(*plan, key_), finish);
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(written.error().message, HasSubstr("changed"));
  EXPECT_EQ(ReadFileBytes(path), changed);
  EXPECT_EQ(dir_.List().size(), 2u);  // app.exe, ca.pem: no temp file left
}

TEST_F(PeFormatTest, FinishRefusesAPlanWhoseAttributesDoNotCommitToTheDigest) {
  std::string path = WriteImage({});
  auto plan = Prepare(path, Options(Alg()));
  ASSERT_TRUE(plan.has_value());
  plan->content_digest[0] ^= 1;  // the digest the plan claims is not the one signed
  FinishOptions finish;
  finish.chain = chain_;
  auto written =
      format_->Finish(InputFile::Open(path).value(), *plan, SignPlan(*plan, key_), finish);
  ASSERT_FALSE(written.has_value());
  EXPECT_THAT(written.error().message, HasSubstr("commit"));
  EXPECT_EQ(ReadFileBytes(path), image_);
}

TEST_F(PeFormatTest, FailingFinishDiscardsTheStagedOutput) {
  std::string path = WriteImage({.overlay = 100000});
  PrepareOptions prepare;
  prepare.signature_algorithm = Alg();
  std::unique_ptr<StagedOutput> stage;
  prepare.stage = &stage;
  auto plan = Prepare(path, prepare);
  ASSERT_TRUE(plan.has_value());
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(dir_.List().size(), 3u);  // the temp file exists while staged
  FinishOptions finish;               // no chain: Finish must fail
  finish.stage = stage.get();
  auto written =
      format_->Finish(InputFile::Open(path).value(), *plan, SignPlan(*plan, key_), finish);
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, ErrorCode::kFailedPrecondition);
  stage.reset();
  EXPECT_EQ(dir_.List().size(), 2u);
  EXPECT_EQ(ReadFileBytes(path), image_);
}

TEST_F(PeFormatTest, AppendedSignaturesVerifyAgainstOneCa) {
  std::string path = WriteImage({.overlay = 7});
  ASSERT_TRUE(Sign(path).has_value());
  // A second leaf from the same CA, another key.
  EVP_PKEY* second = SharedKey(KeyKind::kRsa2048);
  testing::CertOptions leaf;
  leaf.common_name = "Second Signer";
  leaf.serial = 999;
  X509Ptr second_cert = testing::MakeCertificate(second, ca_key_, ca_cert_.get(), leaf);
  key_ = second;
  leaf_cert_ = std::move(second_cert);
  SetChain();
  ASSERT_TRUE(Sign(path, true, true).has_value());
  ASSERT_TRUE(Sign(path, false, true).has_value());
  auto report = Verify(path);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->signature_algorithm, "ecdsa-sha256");
  ASSERT_EQ(report->nested.size(), 2u);
  EXPECT_THAT(report->nested[0].signer_subject, HasSubstr("Second Signer"));
  EXPECT_EQ(report->nested[1].signature_algorithm, "rsa-pkcs1-sha256");

  // A tampered nested signature fails the whole file.
  Bytes out = ReadFileBytes(path);
  auto l = Parse(out).value();
  Bytes bad = out;
  bad[l.cert_table_offset + l.cert_table_size - 40] ^= 1;  // in the last nested signature
  auto bad_report = Verify(dir_.Write("bad.exe", bad));
  ASSERT_FALSE(bad_report.has_value());
  EXPECT_THAT(bad_report.error().message, HasSubstr("nested signature 2"));
}

TEST_F(PeFormatTest, AppendNeedsASignedFile) {
  std::string path = WriteImage({});
  auto prepared = Prepare(path, Options(Alg(), true));
  ASSERT_FALSE(prepared.has_value());
  EXPECT_EQ(prepared.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(PeFormatTest, UnsignRemovesEverySignatureAndKeepsTheDigest) {
  std::string path = WriteImage({.overlay = 9});
  Bytes digest = Hash(path);
  ASSERT_TRUE(Sign(path).has_value());
  ASSERT_TRUE(Sign(path, true, true).has_value());
  std::string out = dir_.File("unsigned.exe");
  auto written = format_->Unsign(InputFile::Open(path).value(), out);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  Bytes u = ReadFileBytes(out);
  auto l = Parse(u);
  ASSERT_TRUE(l.has_value());
  EXPECT_FALSE(l->has_signature());
  EXPECT_EQ(l->checksum, ReferenceChecksum(u, l->checksum_offset));
  EXPECT_EQ(Hash(out), digest);
  auto again = format_->Unsign(InputFile::Open(out).value(), "");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(PeFormatTest, Sha384AndSha512ImageDigests) {
  for (DigestAlgorithm d : {DigestAlgorithm::kSha384, DigestAlgorithm::kSha512}) {
    std::string path = WriteImage({}, std::string(DigestName(d)) + ".exe");
    PrepareOptions prepare;
    prepare.signature_algorithm = Alg(d);
    auto plan = Prepare(path, prepare);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->content_digest.size(), DigestSize(d));
    FinishOptions finish;
    finish.chain = chain_;
    ASSERT_TRUE(format_->Finish(InputFile::Open(path).value(), *plan, SignPlan(*plan, key_), finish)
                    .has_value());
    auto report = Verify(path);
    ASSERT_TRUE(report.has_value()) << report.error().message;
    EXPECT_EQ(report->digest_algorithm, DigestName(d));
  }
}

// A TimestampFn backed by the in-process TSA.
TimestampFn Stamp(const testing::TestTsa& tsa, std::time_t gen_time = 0, int* calls = nullptr) {
  return [&tsa, gen_time, calls](DigestAlgorithm alg, ByteView data) -> Result<Bytes> {
    if (calls != nullptr) ++*calls;
    std::uint64_t nonce = timestamp::NewNonce();
    Bytes response = tsa.Respond(timestamp::BuildRequest(alg, data, nonce),
                                 testing::TestTsa::Fault::kNone, gen_time);
    return timestamp::CheckResponse(response, alg, data, nonce);
  };
}

TEST_F(PeFormatTest, TimestampedSignatureVerifiesWithTheTsaAnchor) {
  testing::TestTsa tsa;
  std::string tsa_ca = dir_.Write("tsaca.pem", tsa.CaPem());
  std::string path = WriteImage({});
  // The token is over the signature value, which exists only after signing:
  // sign, read the signature back, and re-finish with a token (what the
  // pipeline does in one go).
  PrepareOptions prepare;
  prepare.signature_algorithm = Alg();
  auto plan = Prepare(path, prepare);
  ASSERT_TRUE(plan.has_value());
  Bytes signature = SignPlan(*plan, key_);
  FinishOptions finish;
  finish.chain = chain_;
  finish.timestamp_token = Stamp(tsa)(plan->signature_algorithm.digest, signature).value();
  ASSERT_TRUE(format_->Finish(InputFile::Open(path).value(), *plan, signature, finish).has_value());
  auto report = Verify(path, tsa_ca);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  ASSERT_TRUE(report->timestamp_time.has_value());
  EXPECT_THAT(report->timestamp_authority, HasSubstr("Signet Unit Test TSA"));
  // Without the TSA's CA the timestamp (and so the file) does not verify.
  auto untrusted = Verify(path);
  ASSERT_FALSE(untrusted.has_value());
  EXPECT_THAT(untrusted.error().message, HasSubstr("timestamp"));
}

TEST_F(PeFormatTest, ExpiredCertificateIsValidWhenTimestampedWhileValid) {
  testing::TestTsa tsa;
  std::string tsa_ca = dir_.Write("tsaca.pem", tsa.CaPem());
  // A leaf that was valid from 3 days ago until 1 hour ago (its CA too).
  X509_gmtime_adj(X509_getm_notBefore(ca_cert_.get()), -4 * 24 * 3600);
  ASSERT_GT(X509_sign(ca_cert_.get(), ca_key_, EVP_sha256()), 0);
  X509_gmtime_adj(X509_getm_notBefore(leaf_cert_.get()), -3 * 24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(leaf_cert_.get()), -3600);
  ASSERT_GT(X509_sign(leaf_cert_.get(), ca_key_, EVP_sha256()), 0);
  SetChain();
  std::string stamped = WriteImage({}, "stamped.exe");
  std::string plain = dir_.Write("plain.exe", image_);
  ASSERT_TRUE(Sign(plain).has_value());
  ASSERT_TRUE(Sign(stamped).has_value());
  TimestampOutcome outcome = format_
                                 ->AddTimestamp(InputFile::Open(stamped).value(),
                                                Stamp(tsa, std::time(nullptr) - 24 * 3600), "")
                                 .value();
  EXPECT_EQ(outcome.added, 1);
  auto report = Verify(stamped, tsa_ca);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  auto expired = Verify(plain, tsa_ca);
  ASSERT_FALSE(expired.has_value());
  EXPECT_THAT(expired.error().message, HasSubstr("expired"));
  // Timestamped after the certificate expired: not valid.
  std::string late = dir_.Write("late.exe", image_);
  ASSERT_TRUE(Sign(late).has_value());
  ASSERT_TRUE(format_->AddTimestamp(InputFile::Open(late).value(), Stamp(tsa), "").has_value());
  EXPECT_FALSE(Verify(late, tsa_ca).has_value());
}

TEST_F(PeFormatTest, AddTimestampStampsPrimaryAndNestedOnce) {
  testing::TestTsa tsa;
  std::string tsa_ca = dir_.Write("tsaca.pem", tsa.CaPem());
  std::string path = WriteImage({});
  ASSERT_TRUE(Sign(path).has_value());
  ASSERT_TRUE(Sign(path, true, true).has_value());
  int calls = 0;
  auto outcome = format_->AddTimestamp(InputFile::Open(path).value(), Stamp(tsa, 0, &calls), "");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->added, 2);
  EXPECT_EQ(calls, 2);
  auto report = Verify(path, tsa_ca);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_TRUE(report->timestamp_time.has_value());
  ASSERT_EQ(report->nested.size(), 1u);
  EXPECT_TRUE(report->nested[0].timestamp_time.has_value());
  Bytes before = ReadFileBytes(path);
  auto again = format_->AddTimestamp(InputFile::Open(path).value(), Stamp(tsa, 0, &calls), "");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->added, 0);
  EXPECT_EQ(again->already, 2);
  EXPECT_EQ(ReadFileBytes(path), before);
}

TEST_F(PeFormatTest, FailingTimestampLeavesTheFileAlone) {
  std::string path = WriteImage({});
  ASSERT_TRUE(Sign(path).has_value());
  Bytes before = ReadFileBytes(path);
  TimestampFn failing = [](DigestAlgorithm, ByteView) -> Result<Bytes> {
    return Unavailable("TSA unreachable");
  };
  auto outcome = format_->AddTimestamp(InputFile::Open(path).value(), failing, "");
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(ReadFileBytes(path), before);
}

TEST_F(PeFormatTest, PlanIsSmallAndSurvivesJson) {
  std::string path = WriteImage({.overlay = 1 << 20});
  PrepareOptions options = Options(Alg());
  options.description = "A program";
  options.url = "https://example.com/";
  auto plan = Prepare(path, options);
  ASSERT_TRUE(plan.has_value());
  std::string json = plan->ToJson().dump();
  EXPECT_LT(json.size(), 16u * 1024);
  auto back = SigningPlan::FromJson(nlohmann::json::parse(json));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->format_data, plan->format_data);
  EXPECT_EQ(back->to_be_signed, plan->to_be_signed);
}

}  // namespace
}  // namespace signet
