// Tests of the RFC 7512 PKCS#11 URI parser (pure: no token needed).
#include "keys/pkcs11/pkcs11_uri.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace signet {
namespace {

constexpr std::string_view kPin = "S3cr3t-PIN-7788";

Pkcs11Uri MustParse(std::string_view text) {
  auto uri = ParsePkcs11Uri(text);
  EXPECT_TRUE(uri.has_value()) << text << ": " << (uri ? "" : uri.error().message);
  return uri ? std::move(*uri) : Pkcs11Uri{};
}

std::string ErrorOf(std::string_view text) {
  auto uri = ParsePkcs11Uri(text);
  EXPECT_FALSE(uri.has_value()) << text << " should be refused";
  if (uri) return "";
  EXPECT_EQ(uri.error().code, ErrorCode::kInvalidArgument) << text;
  return uri.error().message;
}

TEST(Pkcs11UriTest, ParsesEveryStandardAttribute) {
  Pkcs11Uri uri = MustParse(
      "pkcs11:token=ci;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=4be4;"
      "slot-description=SoftHSM%20slot%20ID%200x1;slot-manufacturer=SoftHSM%20project;"
      "slot-id=1474058044;library-manufacturer=SoftHSM;library-description=Implementation%20of%"
      "20PKCS11;library-version=2.6;object=code%20signing;id=%01%a0;type=private"
      "?module-name=softhsm2&module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin");
  EXPECT_EQ(uri.token, "ci");
  EXPECT_EQ(uri.manufacturer, "SoftHSM project");
  EXPECT_EQ(uri.model, "SoftHSM v2");
  EXPECT_EQ(uri.serial, "4be4");
  EXPECT_EQ(uri.slot_description, "SoftHSM slot ID 0x1");
  EXPECT_EQ(uri.slot_manufacturer, "SoftHSM project");
  EXPECT_EQ(uri.slot_id, 1474058044UL);
  EXPECT_EQ(uri.library_manufacturer, "SoftHSM");
  EXPECT_EQ(uri.library_description, "Implementation of PKCS11");
  ASSERT_TRUE(uri.library_version.has_value());
  EXPECT_EQ(uri.library_version->major, 2);
  EXPECT_EQ(uri.library_version->minor, 6);
  EXPECT_EQ(uri.object, "code signing");
  EXPECT_EQ(uri.id, (Bytes{0x01, 0xa0}));
  EXPECT_EQ(uri.type, Pkcs11ObjectType::kPrivate);
  EXPECT_EQ(uri.module_name, "softhsm2");
  EXPECT_EQ(uri.module_path, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(uri.pin_source, "file:/run/pin");
  EXPECT_FALSE(uri.pin_value.has_value());
  EXPECT_TRUE(uri.unknown_path_attributes.empty());
}

TEST(Pkcs11UriTest, EmptyPathAndQueryMatchEverything) {
  for (std::string_view text : {"pkcs11:", "pkcs11:?", "PKCS11:", "Pkcs11:?"}) {
    Pkcs11Uri uri = MustParse(text);
    EXPECT_FALSE(uri.token || uri.object || uri.id || uri.type || uri.module_path) << text;
    EXPECT_EQ(uri.Redacted(), "pkcs11:") << text;
  }
}

TEST(Pkcs11UriTest, TypeValues) {
  EXPECT_EQ(MustParse("pkcs11:type=public").type, Pkcs11ObjectType::kPublic);
  EXPECT_EQ(MustParse("pkcs11:type=private").type, Pkcs11ObjectType::kPrivate);
  EXPECT_EQ(MustParse("pkcs11:type=cert").type, Pkcs11ObjectType::kCert);
  EXPECT_EQ(MustParse("pkcs11:type=secret-key").type, Pkcs11ObjectType::kSecretKey);
  EXPECT_EQ(MustParse("pkcs11:type=data").type, Pkcs11ObjectType::kData);
  // ABNF string literals are case-insensitive (RFC 5234 section 2.3).
  EXPECT_EQ(MustParse("pkcs11:type=PRIVATE").type, Pkcs11ObjectType::kPrivate);
  EXPECT_EQ(MustParse("pkcs11:TYPE=cert").type, Pkcs11ObjectType::kCert);
  EXPECT_NE(ErrorOf("pkcs11:type=privkey").find("'type'"), std::string::npos);
  ErrorOf("pkcs11:type=");
}

TEST(Pkcs11UriTest, AttributeNamesAreCaseInsensitiveForStandardOnes) {
  Pkcs11Uri uri = MustParse("pkcs11:Token=ci;OBJECT=rsa?Module-Path=/m.so");
  EXPECT_EQ(uri.token, "ci");
  EXPECT_EQ(uri.object, "rsa");
  EXPECT_EQ(uri.module_path, "/m.so");
  EXPECT_NE(ErrorOf("pkcs11:token=a;TOKEN=b").find("more than once"), std::string::npos);
}

TEST(Pkcs11UriTest, PercentDecodingIsStrict) {
  EXPECT_EQ(MustParse("pkcs11:object=a%2fb%2Fc").object, "a/b/c");
  EXPECT_EQ(MustParse("pkcs11:object=%e2%82%ac").object, "\xe2\x82\xac");  // UTF-8 euro sign
  EXPECT_EQ(MustParse("pkcs11:id=abc").id, (Bytes{'a', 'b', 'c'}));
  EXPECT_EQ(MustParse("pkcs11:id=%00%ff").id, (Bytes{0x00, 0xff}));
  EXPECT_EQ(MustParse("pkcs11:object=").object, "");
  for (std::string_view bad : {"pkcs11:object=%", "pkcs11:object=%4", "pkcs11:object=%zz",
                               "pkcs11:object=a%g1", "pkcs11:id=%0", "pkcs11:object=%%41"}) {
    EXPECT_NE(ErrorOf(bad).find("percent-encoding"), std::string::npos) << bad;
  }
}

TEST(Pkcs11UriTest, RefusesCharactersTheGrammarDoesNotAllow) {
  const std::vector<std::string> bad = {
      "pkcs11:object=a b",
      "pkcs11:object=a\"b",
      "pkcs11:object=a<b",
      "pkcs11:object=a>b",
      "pkcs11:object=a\\b",
      "pkcs11:object=a^b",
      "pkcs11:object=a`b",
      "pkcs11:object=a{b",
      "pkcs11:object=a}b",
      "pkcs11:object=a|b",
      "pkcs11:object=a/b",
      "pkcs11:object=\xe2\x82\xac",
      std::string("pkcs11:object=a\0b", 17),
      "pkcs11:object=a\tb",
      "pkcs11:object=a\nb",
      "pkcs11:?module-path=/a b",
      "pkcs11:?module-path=/a;b",
      "pkcs11:?pin-source=/a\"b",
  };
  for (const std::string& text : bad) {
    std::string message = ErrorOf(text);
    EXPECT_NE(message.find("must be percent-encoded"), std::string::npos)
        << text << ": " << message;
  }
  // What RFC 7512 section 2.3 does allow literally.
  EXPECT_EQ(MustParse("pkcs11:object=a:b[c]@!$'()*+,=&-._~").object, "a:b[c]@!$'()*+,=&-._~");
  EXPECT_EQ(MustParse("pkcs11:?pin-source=file:/a/b?c|d").pin_source, "file:/a/b?c|d");
}

TEST(Pkcs11UriTest, RefusesAFragment) {
  EXPECT_NE(ErrorOf("pkcs11:token=ci#frag").find("fragment"), std::string::npos);
}

TEST(Pkcs11UriTest, RefusesMissingScheme) {
  for (std::string_view text : {"", "pkcs11", "pkcs1:token=a", "file:/x", "token=ci"}) {
    EXPECT_NE(ErrorOf(text).find("pkcs11:"), std::string::npos) << text;
  }
}

TEST(Pkcs11UriTest, RefusesDuplicateAttributes) {
  EXPECT_NE(ErrorOf("pkcs11:token=a;token=a").find("'token' appears more than once"),
            std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:id=%01;object=x;id=%02").find("'id'"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:?module-path=/a&module-path=/b").find("'module-path'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:x-vendor=1;x-vendor=2").find("'x-vendor'"), std::string::npos);
  // Unknown query attributes are ignored, repeated or not.
  MustParse("pkcs11:?x-a=1&x-a=2");
}

TEST(Pkcs11UriTest, RefusesEmptyAttributesAndMissingEquals) {
  EXPECT_NE(ErrorOf("pkcs11:;token=a").find("empty"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:token=a;").find("attribute #2 of the path is empty"),
            std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:token=a;;object=b").find("empty"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:?module-path=/a&").find("attribute #2 of the query"),
            std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:token").find("no '='"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:=ci").find("empty name"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:to.ken=ci").find("letters, digits"), std::string::npos);
}

TEST(Pkcs11UriTest, RefusesAttributesInTheWrongComponent) {
  EXPECT_NE(ErrorOf("pkcs11:module-path=/m.so").find("belongs in the query"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:?token=ci").find("belongs in the path"), std::string::npos);
}

TEST(Pkcs11UriTest, SlotIdAndLibraryVersion) {
  EXPECT_EQ(MustParse("pkcs11:slot-id=0").slot_id, 0UL);
  EXPECT_NE(ErrorOf("pkcs11:slot-id=").find("slot-id"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:slot-id=-1").find("slot-id"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:slot-id=0x10").find("slot-id"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:slot-id=99999999999999999999999").find("slot-id"), std::string::npos);
  Pkcs11Uri major_only = MustParse("pkcs11:library-version=3");
  ASSERT_TRUE(major_only.library_version.has_value());
  EXPECT_EQ(major_only.library_version->major, 3);
  EXPECT_FALSE(major_only.library_version->minor.has_value());
  for (std::string_view bad :
       {"pkcs11:library-version=", "pkcs11:library-version=1.", "pkcs11:library-version=.1",
        "pkcs11:library-version=1.2.3", "pkcs11:library-version=256", "pkcs11:library-version=a"}) {
    EXPECT_NE(ErrorOf(bad).find("library-version"), std::string::npos) << bad;
  }
}

TEST(Pkcs11UriTest, QueryAttributeChecks) {
  EXPECT_NE(ErrorOf("pkcs11:?module-path=relative/lib.so").find("absolute"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:?module-path=").find("absolute"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:?module-name=/usr/lib/x.so").find("module-name"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:?pin-source=").find("pin-source"), std::string::npos);
  // RFC 7512 section 2.3: both at once SHOULD be refused.
  EXPECT_NE(ErrorOf("pkcs11:?pin-source=/p&pin-value=1234").find("not both"), std::string::npos);
}

TEST(Pkcs11UriTest, NulIsOnlyAllowedInId) {
  EXPECT_NE(ErrorOf("pkcs11:object=a%00b").find("%00"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:token=%00").find("%00"), std::string::npos);
  EXPECT_NE(ErrorOf("pkcs11:?pin-value=12%0034").find("%00"), std::string::npos);
}

TEST(Pkcs11UriTest, UnknownAttributes) {
  Pkcs11Uri uri = MustParse("pkcs11:token=ci;x-vendor=a%20b;Foo_2=?x-q=secret&x-r=");
  ASSERT_EQ(uri.unknown_path_attributes.size(), 2u);
  EXPECT_EQ(uri.unknown_path_attributes[0].first, "x-vendor");
  EXPECT_EQ(uri.unknown_path_attributes[0].second, "a b");
  EXPECT_EQ(uri.unknown_path_attributes[1].first, "Foo_2");
  // Unknown path attributes stay (they change what matches), unknown query
  // attributes are dropped (they might be vendor secrets).
  EXPECT_EQ(uri.Redacted(), "pkcs11:token=ci;x-vendor=a%20b;Foo_2=");
  ErrorOf("pkcs11:x-vendor=a b");  // still syntax-checked
  ErrorOf("pkcs11:?x-q=a b");
}

TEST(Pkcs11UriTest, PinValueIsKeptAsSecretAndNeverPrinted) {
  Pkcs11Uri uri = MustParse("pkcs11:token=ci;object=rsa?pin-value=" + std::string(kPin) +
                            "&module-path=/usr/lib/softhsm/libsofthsm2.so");
  ASSERT_TRUE(uri.pin_value.has_value());
  EXPECT_EQ(uri.pin_value->Reveal(), kPin);
  EXPECT_EQ(uri.Redacted(),
            "pkcs11:token=ci;object=rsa?module-path=/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(uri.ToString(), uri.Redacted());
  EXPECT_EQ(MustParse("pkcs11:?pin-value=a%26b%3Dc").pin_value->Reveal(), "a&b=c");
}

TEST(Pkcs11UriTest, ErrorMessagesNeverContainThePin) {
  const std::string pin(kPin);
  const std::vector<std::string> bad = {
      "pkcs11:token=ci?pin-value=" + pin + "%zz",
      "pkcs11:token=ci?pin-value=" + pin + " x",
      "pkcs11:token=ci?pin-value=" + pin + "#",
      "pkcs11:token=ci?pin-value=" + pin + "&pin-value=" + pin,
      "pkcs11:token=ci?pin-value=" + pin + "&pin-source=/p",
      "pkcs11:token=ci;pin-value=" + pin,
      "pkcs11:token=ci?" + pin,
      "pkcs11:token=ci?" + pin + "+=1",
      "pkcs11:token=ci?pin-value=" + pin + "%00",
      "pkcs11:token=ci?pin-value=" + pin + "&module-path=rel",
      "pkcs11:token=ci?pin-value=" + pin + "&&",
      "pkcs11:" + pin,
      "pkcs11:" + pin + ";" + pin,
      "pkcs11:type=" + pin,
      "pkcs11:slot-id=" + pin,
      "pkcs11:library-version=" + pin,
      "pkcs11:token=" + pin + "\x01",
      "pkcs11:token=ci?pin-value=" + pin + std::string(70000, 'a'),
  };
  for (const std::string& text : bad) {
    std::string message = ErrorOf(text);
    EXPECT_FALSE(message.empty()) << text;
    EXPECT_EQ(message.find("S3cr3t"), std::string::npos) << text << " -> " << message;
  }
}

TEST(Pkcs11UriTest, RedactedIsCanonicalAndEncodesWhatItMust) {
  Pkcs11Uri uri = MustParse(
      "pkcs11:type=private;id=%01;object=a%20b%3Bc&d;token=my%2Ftoken;serial=0001"
      "?pin-source=/run/p%26in&module-path=/usr/lib/p11/x%20y.so");
  EXPECT_EQ(uri.Redacted(),
            "pkcs11:token=my%2Ftoken;serial=0001;object=a%20b%3Bc&d;id=%01;type=private"
            "?module-path=/usr/lib/p11/x%20y.so&pin-source=/run/p%26in");
  Pkcs11Uri again = MustParse(uri.Redacted());
  EXPECT_EQ(again.Redacted(), uri.Redacted());
  EXPECT_EQ(again.object, "a b;c&d");
  EXPECT_EQ(again.token, "my/token");
  EXPECT_EQ(again.pin_source, "/run/p&in");
}

TEST(Pkcs11UriTest, RedactedRoundTrips) {
  for (std::string_view text : {
           "pkcs11:",
           "pkcs11:token=ci;object=rsa;id=%01;type=private?module-path=/usr/lib/softhsm/"
           "libsofthsm2.so",
           "pkcs11:slot-id=7;library-version=1;library-manufacturer=OpenSC%20Project",
           "pkcs11:object=x?module-name=opensc-pkcs11",
           "pkcs11:id=%00%ff%7e;x-a=%e2%82%ac",
           "pkcs11:object=:[]@!$'()*+,=&?pin-source=file:///run/pin?x|y",
       }) {
    Pkcs11Uri first = MustParse(text);
    Pkcs11Uri second = MustParse(first.Redacted());
    EXPECT_EQ(second.Redacted(), first.Redacted()) << text;
    EXPECT_EQ(second.id, first.id);
    EXPECT_EQ(second.object, first.object);
    EXPECT_EQ(second.slot_id, first.slot_id);
    EXPECT_EQ(second.library_version, first.library_version);
    EXPECT_EQ(second.unknown_path_attributes, first.unknown_path_attributes);
    EXPECT_EQ(second.pin_source, first.pin_source);
  }
}

TEST(Pkcs11UriTest, PercentEncoders) {
  EXPECT_EQ(Pkcs11PercentEncodeAll(Bytes{0x01, 0xab, 0x00}), "%01%AB%00");
  EXPECT_EQ(Pkcs11PercentEncodeAll(Bytes{}), "");
  EXPECT_EQ(Pkcs11PercentEncode("a b/c;d&e?f|g", false), "a%20b%2Fc%3Bd&e%3Ff%7Cg");
  EXPECT_EQ(Pkcs11PercentEncode("a b/c;d&e?f|g", true), "a%20b/c%3Bd%26e?f|g");
  EXPECT_EQ(Pkcs11PercentEncode("%", false), "%25");
}

TEST(Pkcs11UriTest, RefusesHugeInput) {
  std::string huge = "pkcs11:object=" + std::string(100000, 'a');
  EXPECT_NE(ErrorOf(huge).find("longer than"), std::string::npos);
}

TEST(Pkcs11UriTest, ObjectTypeNames) {
  EXPECT_EQ(Pkcs11ObjectTypeName(Pkcs11ObjectType::kSecretKey), "secret-key");
  EXPECT_EQ(Pkcs11ObjectTypeName(Pkcs11ObjectType::kCert), "cert");
}

}  // namespace
}  // namespace signet
