// DER writer against known encodings (X.690) and the strict reader's rejects.
#include "crypto/der.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace signet {
namespace {

using ::testing::HasSubstr;

Bytes H(std::string_view hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(Bytes{});
}

TEST(DerWriter, OidOfSignedData) {
  EXPECT_EQ(HexEncode(der::Oid("1.2.840.113549.1.7.2")), "06092a864886f70d010702");
}

TEST(DerWriter, OidsWithLargeAndSmallArcs) {
  EXPECT_EQ(HexEncode(der::Oid("2.16.840.1.101.3.4.2.1")), "0609608648016503040201");  // sha256
  EXPECT_EQ(HexEncode(der::Oid("1.3.101.112")), "06032b6570");                         // Ed25519
  EXPECT_EQ(HexEncode(der::Oid("2.999.3")), "0603883703");  // X.690 8.19.5 example
  EXPECT_EQ(HexEncode(der::Oid("0.0")), "060100");
}

TEST(DerWriter, Integers) {
  EXPECT_EQ(HexEncode(der::Integer(0)), "020100");
  EXPECT_EQ(HexEncode(der::Integer(1)), "020101");
  EXPECT_EQ(HexEncode(der::Integer(127)), "02017f");
  EXPECT_EQ(HexEncode(der::Integer(128)), "02020080");
  EXPECT_EQ(HexEncode(der::Integer(256)), "02020100");
  EXPECT_EQ(HexEncode(der::Integer(-1)), "0201ff");
  EXPECT_EQ(HexEncode(der::Integer(-128)), "020180");
  EXPECT_EQ(HexEncode(der::Integer(-129)), "0202ff7f");
  EXPECT_EQ(HexEncode(der::Integer(INT64_MAX)), "02087fffffffffffffff");
  EXPECT_EQ(HexEncode(der::Integer(INT64_MIN)), "02088000000000000000");
}

TEST(DerWriter, IntegerFromUnsignedAddsAndStripsZeros) {
  EXPECT_EQ(HexEncode(der::IntegerFromUnsigned(H("80"))), "02020080");
  EXPECT_EQ(HexEncode(der::IntegerFromUnsigned(H("00007f"))), "02017f");
  EXPECT_EQ(HexEncode(der::IntegerFromUnsigned(H("000000"))), "020100");
  EXPECT_EQ(HexEncode(der::IntegerFromUnsigned(H(""))), "020100");
  EXPECT_EQ(HexEncode(der::IntegerFromUnsigned(H("0000ff01"))), "020300ff01");
}

TEST(DerWriter, LengthForms) {
  EXPECT_EQ(HexEncode(der::OctetString(Bytes(127, 0xab))).substr(0, 4), "047f");
  Bytes l128 = der::OctetString(Bytes(128, 0xab));
  EXPECT_EQ(HexEncode(l128).substr(0, 6), "048180");
  EXPECT_EQ(l128.size(), 3u + 128u);
  Bytes l256 = der::OctetString(Bytes(256, 0xab));
  EXPECT_EQ(HexEncode(l256).substr(0, 8), "04820100");
  EXPECT_EQ(l256.size(), 4u + 256u);
  Bytes l65536 = der::OctetString(Bytes(65536, 0));
  EXPECT_EQ(HexEncode(l65536).substr(0, 10), "0483010000");
  EXPECT_EQ(HexEncode(der::OctetString({})), "0400");
}

TEST(DerWriter, SetOfSortsByEncoding) {
  Bytes set = der::SetOf({der::Integer(2), der::Integer(1), der::Integer(256)});
  // 02 01 01 < 02 01 02 < 02 02 01 00
  EXPECT_EQ(HexEncode(set),
            "310a020101020102020201"
            "00");
  EXPECT_EQ(HexEncode(der::Set({der::Oid("1.2.3"), der::Null()})),
            "3106"
            "0500"
            "06022a03");
  // Same elements in any order give the same bytes.
  EXPECT_EQ(der::SetOf({der::Utf8String("b"), der::Utf8String("a"), der::Utf8String("ab")}),
            der::SetOf({der::Utf8String("ab"), der::Utf8String("b"), der::Utf8String("a")}));
}

TEST(DerWriter, SequenceKeepsOrder) {
  EXPECT_EQ(HexEncode(der::Sequence({der::Integer(2), der::Integer(1)})), "3006020102020101");
  std::vector<Bytes> items = {der::Null(), der::Boolean(true)};
  EXPECT_EQ(HexEncode(der::Sequence(items)),
            "30050500"
            "0101ff");
}

TEST(DerWriter, Primitives) {
  EXPECT_EQ(HexEncode(der::Null()), "0500");
  EXPECT_EQ(HexEncode(der::Boolean(true)), "0101ff");
  EXPECT_EQ(HexEncode(der::Boolean(false)), "010100");
  EXPECT_EQ(HexEncode(der::BitString(H("0a0b"))), "0303000a0b");
  EXPECT_EQ(HexEncode(der::Utf8String("hi")), "0c026869");
  EXPECT_EQ(HexEncode(der::Ia5String("hi")), "16026869");
  EXPECT_EQ(HexEncode(der::BmpString("hi")), "1e0400680069");
  EXPECT_EQ(HexEncode(der::ContextExplicit(0, der::Null())), "a0020500");
  EXPECT_EQ(HexEncode(der::ContextImplicitPrimitive(2, H("01"))), "820101");
  EXPECT_EQ(HexEncode(der::ContextImplicitConstructed(1, H("0500"))), "a1020500");
}

TEST(DerWriter, TimeUsesUtcTimeUntil2049) {
  // 2026-01-02T03:04:05Z
  EXPECT_EQ(ToString(der::ParseSingle(der::Time(1767323045), "t")->content), "260102030405Z");
  EXPECT_EQ(der::Time(1767323045)[0], der::kUtcTime);
  // 2050-01-01T00:00:00Z: GeneralizedTime
  Bytes g = der::Time(2524608000);
  EXPECT_EQ(g[0], der::kGeneralizedTime);
  EXPECT_EQ(ToString(der::ParseSingle(g, "t")->content), "20500101000000Z");
}

TEST(DerReader, WalksNestedElements) {
  Bytes data = der::Sequence({der::Integer(5), der::OctetString(H("aabb"))});
  auto outer = der::ParseSingle(data, "test");
  ASSERT_TRUE(outer.has_value());
  EXPECT_EQ(outer->tag, der::kSequence);
  EXPECT_EQ(outer->whole.size(), data.size());
  der::Reader r(outer->content);
  EXPECT_EQ(r.PeekTag(), der::kInteger);
  auto i = r.Expect(der::kInteger, "int");
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(der::DecodeUnsigned(i->content).value(), 5u);
  EXPECT_EQ(r.position(), 3u);
  auto o = r.Expect(der::kOctetString, "octets");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(HexEncode(o->content), "aabb");
  EXPECT_EQ(HexEncode(o->whole), "0402aabb");
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.PeekTag(), 0);
  EXPECT_FALSE(r.Next().has_value());
}

TEST(DerReader, ReadsLongFormLengths) {
  for (std::size_t n : {127u, 128u, 255u, 256u, 70000u}) {
    Bytes data = der::OctetString(Bytes(n, 0x5a));
    auto e = der::ParseSingle(data, "octets");
    ASSERT_TRUE(e.has_value()) << n << ": " << e.error().message;
    EXPECT_EQ(e->content.size(), n);
  }
}

TEST(DerReader, RejectsIndefiniteLength) {
  auto e = der::ParseSingle(H("3080020101"
                              "0000"),
                            "x");
  ASSERT_FALSE(e.has_value());
  EXPECT_THAT(e.error().message, HasSubstr("indefinite"));
}

TEST(DerReader, RejectsNonMinimalLengths) {
  for (std::string_view hex : {"04810100",  // 1 in long form
                               "04817f"
                               "00",               // 127 in long form (content irrelevant)
                               "0482007f",         // leading zero length octet
                               "048200800000"}) {  // 128 with two octets
    auto e = der::ParseSingle(H(hex), "x");
    ASSERT_FALSE(e.has_value()) << hex;
    EXPECT_THAT(e.error().message, HasSubstr("non-minimal")) << hex;
  }
}

TEST(DerReader, RejectsTruncation) {
  for (std::string_view hex : {"", "04", "0405010203", "0482", "048201", "30030201"}) {
    auto e = der::ParseSingle(H(hex), "x");
    EXPECT_FALSE(e.has_value()) << "'" << hex << "'";
    if (!e) {
      EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
    }
  }
  // An element that claims 16 MiB in 4 length bytes, with none of it present.
  EXPECT_FALSE(der::ParseSingle(H("048401000000"), "x").has_value());
}

TEST(DerReader, RejectsOversizedLengthFieldsAndMultiByteTags) {
  EXPECT_FALSE(der::ParseSingle(H("0485010000000000"), "x").has_value());
  auto tag = der::ParseSingle(H("1f8101"
                                "00"),
                              "x");
  ASSERT_FALSE(tag.has_value());
  EXPECT_THAT(tag.error().message, HasSubstr("multi-byte tags"));
}

TEST(DerReader, RejectsTrailingBytes) {
  auto e = der::ParseSingle(H("020101"
                              "00"),
                            "the integer");
  ASSERT_FALSE(e.has_value());
  EXPECT_THAT(e.error().message, HasSubstr("trailing bytes after the integer"));
}

TEST(DerReader, ExpectNamesTheUnexpectedTag) {
  Bytes data = der::Null();
  der::Reader r(data);
  auto e = r.Expect(der::kSequence, "SignedData");
  ASSERT_FALSE(e.has_value());
  EXPECT_THAT(e.error().message, HasSubstr("SignedData"));
  EXPECT_THAT(e.error().message, HasSubstr("tag 0x05, expected 0x30"));
}

TEST(DecodeOid, RoundTripsWithTheWriter) {
  for (std::string dotted :
       {"1.2.840.113549.1.7.2", "1.2.840.113549.1.9.4", "2.16.840.1.101.3.4.2.3", "1.3.101.112",
        "0.9.2342.19200300.100.1.25", "2.999.3", "1.3.6.1.4.1.311.2.1.4", "2.5.4.3",
        "1.39.18446744073709551615"}) {
    Bytes enc = der::Oid(dotted);
    auto e = der::ParseSingle(enc, "oid");
    ASSERT_TRUE(e.has_value()) << dotted;
    auto back = der::DecodeOid(e->content);
    ASSERT_TRUE(back.has_value()) << dotted << ": " << back.error().message;
    EXPECT_EQ(*back, dotted);
  }
}

TEST(DecodeOid, RejectsMalformedContent) {
  EXPECT_FALSE(der::DecodeOid(H("")).has_value());      // empty
  EXPECT_FALSE(der::DecodeOid(H("2a86")).has_value());  // last arc has the continuation bit
  // X.690 8.19.2: no leading 0x80 padding octets in a subidentifier.
  EXPECT_FALSE(der::DecodeOid(H("2a8001")).has_value());
  EXPECT_FALSE(der::DecodeOid(H("802a")).has_value());
  // An arc that does not fit in 64 bits.
  EXPECT_FALSE(der::DecodeOid(H("2a"
                                "8280808080808080808000"))
                   .has_value());
}

TEST(DecodeUnsigned, ValuesAndRejects) {
  EXPECT_EQ(der::DecodeUnsigned(H("00")).value(), 0u);
  EXPECT_EQ(der::DecodeUnsigned(H("7f")).value(), 127u);
  EXPECT_EQ(der::DecodeUnsigned(H("0080")).value(), 128u);
  EXPECT_EQ(der::DecodeUnsigned(H("00ffffffffffffffff")).value(), UINT64_MAX);
  EXPECT_FALSE(der::DecodeUnsigned(H("")).has_value());
  EXPECT_FALSE(der::DecodeUnsigned(H("ff")).has_value());                  // negative
  EXPECT_FALSE(der::DecodeUnsigned(H("010000000000000000")).has_value());  // 2^64
}

}  // namespace
}  // namespace signet
