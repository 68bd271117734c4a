#include "keys/cloud/crc32c.h"

#include <array>

namespace signet::cloud {
namespace {

// Byte-at-a-time table for the reflected polynomial, built at compile time.
constexpr std::array<std::uint32_t, 256> MakeTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1U) ? (c >> 1) ^ 0x82F63B78U : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kTable = MakeTable();

}  // namespace

std::uint32_t Crc32c(ByteView data, std::uint32_t crc) {
  // Initial value and final XOR 0xFFFFFFFF (RFC 3720 B.4), undone first so
  // that a previous result can be continued.
  std::uint32_t c = ~crc;
  for (std::uint8_t byte : data) c = kTable[(c ^ byte) & 0xFFU] ^ (c >> 8);
  return ~c;
}

}  // namespace signet::cloud
