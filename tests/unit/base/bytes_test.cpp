// Hex (RFC 4648 section 8, base16) and base64 (RFC 4648 section 4) codecs.
#include "base/bytes.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <utility>
#include <vector>

namespace signet {
namespace {

// RFC 4648 section 10 test vectors.
const std::vector<std::pair<std::string, std::string>> kBase64Vectors = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
const std::vector<std::pair<std::string, std::string>> kBase16Vectors = {
    {"", ""},
    {"f", "66"},
    {"fo", "666F"},
    {"foo", "666F6F"},
    {"foob", "666F6F62"},
    {"fooba", "666F6F6261"},
    {"foobar", "666F6F626172"},
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(Base64, EncodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kBase64Vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded) << "input '" << plain << "'";
  }
}

TEST(Base64, DecodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kBase64Vectors) {
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded << ": " << decoded.error().message;
    EXPECT_EQ(ToString(*decoded), plain);
  }
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::uint8_t>(i));
  for (std::size_t len = 0; len <= all.size(); len += 1) {
    ByteView part(all.data(), len);
    auto back = Base64Decode(Base64Encode(part));
    ASSERT_TRUE(back.has_value()) << "length " << len;
    ASSERT_EQ(*back, Bytes(part.begin(), part.end())) << "length " << len;
  }
}

TEST(Base64, UsesStandardAlphabetNotUrlSafe) {
  const Bytes data = {0xfb, 0xff, 0xfe};
  EXPECT_EQ(Base64Encode(data), "+//+");
  auto back = Base64Decode("+//+");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, data);
}

TEST(Base64, RejectsMalformedInput) {
  const std::vector<std::string> bad = {
      "Zg",         // unpadded
      "Zg=",        // length not a multiple of 4
      "Z===",       // padding in the second position
      "====",       // only padding
      "Zg=a",       // data after padding
      "Zg==Zg==",   // padding before the last group
      "Zm9v!A==",   // not in the alphabet
      "Zm9v YmFy",  // whitespace
      "-_-_",       // URL-safe alphabet
      "Zm9\nv",     // newline
      "Zh==",       // non-zero bits after the last byte (canonical: "Zg==")
      "Zm9=",       // same, one padding character (canonical: "Zm8=")
  };
  for (const std::string& text : bad) {
    auto r = Base64Decode(text);
    EXPECT_FALSE(r.has_value()) << "accepted '" << text << "'";
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

TEST(Hex, EncodesRfc4648Base16VectorsInLowerCase) {
  for (const auto& [plain, encoded] : kBase16Vectors) {
    EXPECT_EQ(HexEncode(AsBytes(plain)), Lower(encoded));
  }
}

TEST(Hex, DecodesUpperAndLowerCase) {
  for (const auto& [plain, encoded] : kBase16Vectors) {
    auto upper = HexDecode(encoded);
    auto lower = HexDecode(Lower(encoded));
    ASSERT_TRUE(upper.has_value());
    ASSERT_TRUE(lower.has_value());
    EXPECT_EQ(ToString(*upper), plain);
    EXPECT_EQ(ToString(*lower), plain);
  }
  auto mixed = HexDecode("aBcD");
  ASSERT_TRUE(mixed.has_value());
  EXPECT_EQ(*mixed, (Bytes{0xab, 0xcd}));
}

TEST(Hex, RoundTripsEveryByteValue) {
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::uint8_t>(i));
  std::string hex = HexEncode(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 6), "000102");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  auto back = HexDecode(hex);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, all);
}

TEST(Hex, RejectsOddLengthAndNonHex) {
  for (std::string text : {"abc", "0", "zz", "0x12", "12 34", "g0", "1-"}) {
    auto r = HexDecode(text);
    EXPECT_FALSE(r.has_value()) << "accepted '" << text << "'";
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

TEST(Bytes, StringConversionsKeepEveryByte) {
  std::string s("a\0b\xff", 4);
  Bytes b = ToBytes(s);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[1], 0);
  EXPECT_EQ(b[3], 0xff);
  EXPECT_EQ(ToString(b), s);
  EXPECT_EQ(AsBytes(s).size(), 4u);
}

}  // namespace
}  // namespace signet
