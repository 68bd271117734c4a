// Byte buffers and their text encodings (hex, base64).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace signet {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string ToString(ByteView b) { return std::string(b.begin(), b.end()); }

// Lower-case hex, no separators.
std::string HexEncode(ByteView data);
// Accepts upper or lower case; rejects odd length and non-hex characters.
Result<Bytes> HexDecode(std::string_view hex);

// Standard base64 (RFC 4648 section 4) with padding.
std::string Base64Encode(ByteView data);
// Accepts padded standard base64; rejects anything else.
Result<Bytes> Base64Decode(std::string_view text);

// Base64url (RFC 4648 section 5) without padding, as JOSE uses it (RFC 7515
// section 2).
std::string Base64UrlEncode(ByteView data);
// Accepts unpadded base64url only (no '=', no '+' or '/', no whitespace).
Result<Bytes> Base64UrlDecode(std::string_view text);

}  // namespace signet
