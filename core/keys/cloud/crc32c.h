// CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78; RFC 3720
// appendix B.4): the checksum Google Cloud KMS uses to protect digests and
// signatures in transit (digestCrc32c, signatureCrc32c, pemCrc32c).
//
//   std::uint32_t c = Crc32c(AsBytes("123456789"));  // 0xE3069283
//   c = Crc32c(more, c);                              // continues a running CRC
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>

#include "base/bytes.h"

namespace signet::cloud {

// The CRC-32C of `data`; pass a previous result as `crc` to continue it over
// data that follows.
std::uint32_t Crc32c(ByteView data, std::uint32_t crc = 0);

}  // namespace signet::cloud
