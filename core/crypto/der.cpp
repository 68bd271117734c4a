#include "crypto/der.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>

namespace signet::der {
namespace {

void AppendLength(Bytes& out, std::size_t len) {
  if (len < 0x80) {
    out.push_back(static_cast<std::uint8_t>(len));
    return;
  }
  std::uint8_t buf[8];
  int n = 0;
  while (len > 0) {
    buf[n++] = static_cast<std::uint8_t>(len & 0xff);
    len >>= 8;
  }
  out.push_back(static_cast<std::uint8_t>(0x80 | n));
  while (n > 0) out.push_back(buf[--n]);
}

void AppendBase128(Bytes& out, std::uint64_t v) {
  std::uint8_t buf[10];
  int n = 0;
  do {
    buf[n++] = static_cast<std::uint8_t>(v & 0x7f);
    v >>= 7;
  } while (v > 0);
  while (n > 1) out.push_back(static_cast<std::uint8_t>(buf[--n] | 0x80));
  out.push_back(buf[0]);
}

}  // namespace

Bytes Tlv(std::uint8_t tag, ByteView content) {
  Bytes out;
  out.reserve(content.size() + 6);
  out.push_back(tag);
  AppendLength(out, content.size());
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

Bytes Concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes Sequence(std::initializer_list<ByteView> items) { return Tlv(kSequence, Concat(items)); }

Bytes Sequence(const std::vector<Bytes>& items) {
  Bytes content;
  for (const Bytes& b : items) content.insert(content.end(), b.begin(), b.end());
  return Tlv(kSequence, content);
}

Bytes SetOf(std::vector<Bytes> items) {
  std::sort(items.begin(), items.end());  // lexicographic on encodings = DER order
  Bytes content;
  for (const Bytes& b : items) content.insert(content.end(), b.begin(), b.end());
  return Tlv(kSet, content);
}

Bytes Set(std::initializer_list<ByteView> items) {
  std::vector<Bytes> v;
  for (ByteView b : items) v.emplace_back(b.begin(), b.end());
  return SetOf(std::move(v));
}

Bytes Oid(std::string_view dotted) {
  std::vector<std::uint64_t> arcs;
  std::size_t pos = 0;
  while (pos <= dotted.size()) {
    std::size_t dot = dotted.find('.', pos);
    if (dot == std::string_view::npos) dot = dotted.size();
    std::uint64_t v = 0;
    std::from_chars(dotted.data() + pos, dotted.data() + dot, v);
    arcs.push_back(v);
    pos = dot + 1;
  }
  Bytes content;
  if (arcs.size() >= 2) {
    AppendBase128(content, arcs[0] * 40 + arcs[1]);
    for (std::size_t i = 2; i < arcs.size(); ++i) AppendBase128(content, arcs[i]);
  }
  return Tlv(kOid, content);
}

Bytes Integer(std::int64_t value) {
  Bytes content;
  bool more = true;
  std::uint8_t buf[9];
  int n = 0;
  while (more) {
    std::uint8_t byte = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;  // arithmetic shift keeps the sign
    buf[n++] = byte;
    bool sign_bit = (byte & 0x80) != 0;
    more = !((value == 0 && !sign_bit) || (value == -1 && sign_bit));
  }
  while (n > 0) content.push_back(buf[--n]);
  return Tlv(kInteger, content);
}

Bytes IntegerFromUnsigned(ByteView big_endian) {
  std::size_t start = 0;
  while (start + 1 < big_endian.size() && big_endian[start] == 0) ++start;
  Bytes content;
  if (big_endian.empty()) {
    content.push_back(0);
  } else {
    if (big_endian[start] & 0x80) content.push_back(0);
    content.insert(content.end(), big_endian.begin() + static_cast<std::ptrdiff_t>(start),
                   big_endian.end());
  }
  return Tlv(kInteger, content);
}

Bytes OctetString(ByteView data) { return Tlv(kOctetString, data); }

Bytes BitString(ByteView data) {
  Bytes content;
  content.reserve(data.size() + 1);
  content.push_back(0);
  content.insert(content.end(), data.begin(), data.end());
  return Tlv(kBitString, content);
}

Bytes Null() { return Bytes{kNull, 0x00}; }

Bytes Boolean(bool value) {
  return Bytes{kBoolean, 0x01, static_cast<std::uint8_t>(value ? 0xff : 0)};
}

Bytes Utf8String(std::string_view s) { return Tlv(kUtf8String, AsBytes(s)); }

Bytes BmpString(std::string_view ascii) {
  Bytes content;
  for (char c : ascii) {
    content.push_back(0);
    content.push_back(static_cast<std::uint8_t>(c));
  }
  return Tlv(kBmpString, content);
}

Bytes Ia5String(std::string_view s) { return Tlv(kIa5String, AsBytes(s)); }

Bytes Time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  int year = tm.tm_year + 1900;
  char buf[32];
  if (year >= 1950 && year < 2050) {
    std::snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return Tlv(kUtcTime, AsBytes(buf));
  }
  std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return Tlv(kGeneralizedTime, AsBytes(buf));
}

Bytes ContextExplicit(int number, ByteView inner) {
  return Tlv(static_cast<std::uint8_t>(kContextConstructed | number), inner);
}

Bytes ContextImplicitConstructed(int number, ByteView content) {
  return Tlv(static_cast<std::uint8_t>(kContextConstructed | number), content);
}

Bytes ContextImplicitPrimitive(int number, ByteView content) {
  return Tlv(static_cast<std::uint8_t>(kContextPrimitive | number), content);
}

Result<Element> Reader::Next() {
  if (pos_ >= data_.size()) return InvalidArgument("DER: unexpected end of data");
  std::size_t start = pos_;
  std::uint8_t tag = data_[pos_++];
  if ((tag & 0x1f) == 0x1f) return InvalidArgument("DER: multi-byte tags are not supported");
  if (pos_ >= data_.size()) return InvalidArgument("DER: truncated length");
  std::uint8_t first = data_[pos_++];
  std::size_t len = 0;
  if (first < 0x80) {
    len = first;
  } else {
    int n = first & 0x7f;
    if (n == 0) return InvalidArgument("DER: indefinite length is not DER");
    if (n > 4) return InvalidArgument("DER: length field too large");
    if (data_.size() - pos_ < static_cast<std::size_t>(n)) {
      return InvalidArgument("DER: truncated length");
    }
    if (data_[pos_] == 0) return InvalidArgument("DER: non-minimal length");
    for (int i = 0; i < n; ++i) len = (len << 8) | data_[pos_++];
    if (len < 0x80) return InvalidArgument("DER: non-minimal length");
  }
  if (len > data_.size() - pos_) return InvalidArgument("DER: element runs past the end of data");
  Element e;
  e.tag = tag;
  e.content = data_.subspan(pos_, len);
  pos_ += len;
  e.whole = data_.subspan(start, pos_ - start);
  return e;
}

Result<Element> Reader::Expect(std::uint8_t tag, std::string_view what) {
  SIGNET_ASSIGN_OR_RETURN(Element e, Next());
  if (e.tag != tag) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " (tag 0x%02x, expected 0x%02x)", e.tag, tag);
    return InvalidArgument("DER: unexpected element for " + std::string(what) + buf);
  }
  return e;
}

Result<Element> ParseSingle(ByteView data, std::string_view what) {
  Reader r(data);
  SIGNET_ASSIGN_OR_RETURN(Element e, r.Next());
  if (!r.empty()) return InvalidArgument("DER: trailing bytes after " + std::string(what));
  return e;
}

Result<std::string> DecodeOid(ByteView content) {
  if (content.empty()) return InvalidArgument("DER: empty OID");
  std::string out;
  std::uint64_t v = 0;
  bool first = true;
  bool arc_start = true;
  for (std::size_t i = 0; i < content.size(); ++i) {
    // X.690 8.19.2: each subidentifier in as few octets as possible, so it
    // never starts with 0x80 (two encodings of one OID would compare unequal).
    if (arc_start && content[i] == 0x80) return InvalidArgument("DER: non-minimal OID arc");
    arc_start = (content[i] & 0x80) == 0;
    if (v > (UINT64_MAX >> 7)) return InvalidArgument("DER: OID arc too large");
    v = (v << 7) | (content[i] & 0x7f);
    if (content[i] & 0x80) {
      if (i + 1 == content.size()) return InvalidArgument("DER: truncated OID");
      continue;
    }
    if (first) {
      std::uint64_t a = v < 80 ? v / 40 : 2;
      out = std::to_string(a) + "." + std::to_string(v - a * 40);
      first = false;
    } else {
      out += "." + std::to_string(v);
    }
    v = 0;
  }
  return out;
}

Result<std::uint64_t> DecodeUnsigned(ByteView content) {
  if (content.empty()) return InvalidArgument("DER: empty INTEGER");
  if (content[0] & 0x80) return InvalidArgument("DER: negative INTEGER");
  std::size_t start = content[0] == 0 ? 1 : 0;
  if (content.size() - start > 8) return InvalidArgument("DER: INTEGER too large");
  std::uint64_t v = 0;
  for (std::size_t i = start; i < content.size(); ++i) v = (v << 8) | content[i];
  return v;
}

}  // namespace signet::der
