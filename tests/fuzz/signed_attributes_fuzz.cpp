// Fuzz target for cms::ParseSignedAttributes (crypto/cms_signed_data.h): the
// parser the server runs on to-be-signed bytes from a signing plan, to check
// they commit to the content digest the plan declares.
//
// Besides memory safety it checks that whatever the parser accepts survives a
// round trip through the builder: the values it returns, encoded again with
// SignedAttributesDer, parse to the same values. Aborts otherwise.
// Seed corpus: tests/fuzz/corpus/signed_attributes/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "crypto/cms_signed_data.h"
#include "crypto/der.h"

namespace {

namespace cms = signet::cms;
namespace der = signet::der;

void Check(bool ok) {
  if (!ok) std::abort();
}

// der::Time writes 1950..2049 as UTCTime and other years as 4-digit
// GeneralizedTime: the range it can write and the parser can read back.
constexpr std::time_t kLatestWritable = 253402300799;  // 9999-12-31T23:59:59Z

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = cms::ParseSignedAttributes(signet::ByteView(data, size));
  if (!parsed) return 0;
  Check(!parsed->content_type_oid.empty());

  std::vector<cms::Attribute> attrs;
  attrs.push_back({std::string(cms::kOidContentType), {der::Oid(parsed->content_type_oid)}});
  attrs.push_back(
      {std::string(cms::kOidMessageDigest), {der::OctetString(parsed->message_digest)}});
  const bool time_writable = parsed->signing_time && *parsed->signing_time >= 0 &&
                             *parsed->signing_time <= kLatestWritable;
  if (time_writable) {
    attrs.push_back({std::string(cms::kOidSigningTime), {der::Time(*parsed->signing_time)}});
  }
  auto again = cms::ParseSignedAttributes(cms::SignedAttributesDer(attrs));
  Check(again.has_value());
  Check(again->content_type_oid == parsed->content_type_oid);
  Check(again->message_digest == parsed->message_digest);
  if (time_writable) Check(again->signing_time == parsed->signing_time);
  return 0;
}
