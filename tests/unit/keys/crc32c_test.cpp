// CRC-32C (core/keys/cloud/crc32c.h): the standard check value and the
// RFC 3720 appendix B.4 vectors, and that a running CRC continues correctly.
#include "keys/cloud/crc32c.h"

#include <gtest/gtest.h>

#include <string_view>

namespace signet::cloud {
namespace {

TEST(Crc32cTest, CheckValue) {
  // The "check" of the CRC catalogue (CRC-32/ISCSI) over "123456789".
  EXPECT_EQ(Crc32c(AsBytes("123456789")), 0xE3069283U);
}

TEST(Crc32cTest, EmptyInputIsZero) { EXPECT_EQ(Crc32c(ByteView()), 0U); }

TEST(Crc32cTest, Rfc3720Vectors) {
  Bytes zeros(32, 0x00);
  Bytes ones(32, 0xFF);
  Bytes up(32);
  Bytes down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<std::uint8_t>(i);
    down[i] = static_cast<std::uint8_t>(31 - i);
  }
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAU);
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43U);
  EXPECT_EQ(Crc32c(up), 0x46DD794EU);
  EXPECT_EQ(Crc32c(down), 0x113FDB5CU);
}

TEST(Crc32cTest, ContinuesARunningCrc) {
  std::string_view text = "The quick brown fox jumps over the lazy dog";
  const std::uint32_t whole = Crc32c(AsBytes(text));
  for (std::size_t split = 0; split <= text.size(); ++split) {
    std::uint32_t first = Crc32c(AsBytes(text.substr(0, split)));
    EXPECT_EQ(Crc32c(AsBytes(text.substr(split)), first), whole) << "split at " << split;
  }
  EXPECT_EQ(whole, 0x22620404U);
}

TEST(Crc32cTest, DetectsASingleBitFlip) {
  Bytes data(1000, 0x5A);
  const std::uint32_t crc = Crc32c(data);
  for (std::size_t i = 0; i < data.size(); i += 97) {
    data[i] ^= 0x01;
    EXPECT_NE(Crc32c(data), crc);
    data[i] ^= 0x01;
  }
}

}  // namespace
}  // namespace signet::cloud
