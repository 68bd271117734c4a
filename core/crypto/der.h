// Minimal DER (ITU-T X.690) writer and reader for the small structures
// signet builds and checks itself: CMS signed attributes and SignedData
// (RFC 5652), Authenticode SpcIndirectDataContent, RFC 3161 requests.
//
// The writer builds values bottom-up as byte strings:
//   Bytes attr = der::Sequence({der::Oid("1.2.840.113549.1.9.3"),
//                               der::Set({der::Oid("1.2.840.113549.1.7.1")})});
// The reader walks untrusted input strictly: definite lengths only, minimal
// length encoding, no read past the enclosing element. It never allocates
// from lengths it has not checked against the input size.
#pragma once

#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace signet::der {

// Universal tags and class bits.
inline constexpr std::uint8_t kBoolean = 0x01;
inline constexpr std::uint8_t kInteger = 0x02;
inline constexpr std::uint8_t kBitString = 0x03;
inline constexpr std::uint8_t kOctetString = 0x04;
inline constexpr std::uint8_t kNull = 0x05;
inline constexpr std::uint8_t kOid = 0x06;
inline constexpr std::uint8_t kUtf8String = 0x0c;
inline constexpr std::uint8_t kPrintableString = 0x13;
inline constexpr std::uint8_t kIa5String = 0x16;
inline constexpr std::uint8_t kUtcTime = 0x17;
inline constexpr std::uint8_t kGeneralizedTime = 0x18;
inline constexpr std::uint8_t kBmpString = 0x1e;
inline constexpr std::uint8_t kSequence = 0x30;
inline constexpr std::uint8_t kSet = 0x31;
inline constexpr std::uint8_t kContextConstructed = 0xa0;  // | tag number
inline constexpr std::uint8_t kContextPrimitive = 0x80;    // | tag number

// ---- writer ----
Bytes Tlv(std::uint8_t tag, ByteView content);
Bytes Concat(std::initializer_list<ByteView> parts);
Bytes Sequence(std::initializer_list<ByteView> items);
Bytes Sequence(const std::vector<Bytes>& items);
// SET OF: elements sorted by their encodings (X.690 11.6).
Bytes SetOf(std::vector<Bytes> items);
Bytes Set(std::initializer_list<ByteView> items);  // also sorted
Bytes Oid(std::string_view dotted);                // "1.2.840.113549.1.7.2"
Bytes Integer(std::int64_t value);
Bytes IntegerFromUnsigned(ByteView big_endian);  // adds a leading 0 when needed
Bytes OctetString(ByteView data);
Bytes BitString(ByteView data);  // no unused bits
Bytes Null();
Bytes Boolean(bool value);
Bytes Utf8String(std::string_view s);
Bytes BmpString(std::string_view ascii);
Bytes Ia5String(std::string_view s);
// UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5).
Bytes Time(std::time_t t);
Bytes ContextExplicit(int number, ByteView inner);
Bytes ContextImplicitConstructed(int number, ByteView content);
Bytes ContextImplicitPrimitive(int number, ByteView content);

// ---- reader ----
struct Element {
  std::uint8_t tag = 0;
  ByteView content;  // value bytes
  ByteView whole;    // tag + length + value
};

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  [[nodiscard]] bool empty() const { return pos_ >= data_.size(); }
  [[nodiscard]] std::size_t position() const { return pos_; }
  // Reads the next element; fails on truncation or non-DER length.
  Result<Element> Next();
  // Reads the next element and checks its tag.
  Result<Element> Expect(std::uint8_t tag, std::string_view what);
  // Peeks at the next tag without consuming (0 when empty).
  [[nodiscard]] std::uint8_t PeekTag() const { return empty() ? 0 : data_[pos_]; }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

// Parses exactly one element spanning all of `data`.
Result<Element> ParseSingle(ByteView data, std::string_view what);
// Decodes an OBJECT IDENTIFIER's content to dotted form.
Result<std::string> DecodeOid(ByteView content);
// Decodes a non-negative INTEGER that fits in 64 bits.
Result<std::uint64_t> DecodeUnsigned(ByteView content);

}  // namespace signet::der
