// Fuzz target for the strict DER reader (crypto/der.h).
//
// Walks the input as a sequence of elements and descends into every
// constructed element (tag bit 0x20), to a depth of kMaxDepth. Besides memory
// safety it checks the reader's promises and aborts when one breaks:
//   - an element lies inside its parent, and the reader advances past it;
//   - what the reader accepts is DER: re-encoding tag and content with the
//     writer gives back exactly the bytes read (minimal lengths);
//   - DecodeOid accepts only minimal OIDs: the writer re-encodes its dotted
//     form to the same bytes;
//   - DecodeUnsigned round-trips through the writer's IntegerFromUnsigned;
//   - ParseSingle succeeds exactly when one element spans the whole input.
// Seed corpus: tests/fuzz/corpus/der_reader/.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/der.h"

namespace {

using signet::Bytes;
using signet::ByteView;
namespace der = signet::der;

constexpr int kMaxDepth = 32;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool SameBytes(const Bytes& a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

void CheckElement(const der::Element& e) {
  Check(SameBytes(der::Tlv(e.tag, e.content), e.whole));
  if (e.tag == der::kOid) {
    auto dotted = der::DecodeOid(e.content);
    if (dotted) Check(SameBytes(der::Oid(*dotted), e.whole));
  }
  if (e.tag == der::kInteger) {
    auto value = der::DecodeUnsigned(e.content);
    if (value) {
      std::uint8_t be[8];
      for (int i = 0; i < 8; ++i) be[i] = static_cast<std::uint8_t>(*value >> (56 - 8 * i));
      Bytes again = der::IntegerFromUnsigned(ByteView(be, sizeof be));
      auto reparsed = der::ParseSingle(again, "integer");
      Check(reparsed.has_value());
      auto back = der::DecodeUnsigned(reparsed->content);
      Check(back.has_value() && *back == *value);
    }
  }
}

void Walk(ByteView data, int depth) {
  der::Reader reader(data);
  while (!reader.empty()) {
    const std::size_t start = reader.position();
    const std::uint8_t peeked = reader.PeekTag();
    auto e = reader.Next();
    if (!e) return;
    Check(e->tag == peeked);
    Check(e->whole.data() == data.data() + start);
    Check(reader.position() == start + e->whole.size());
    Check(reader.position() <= data.size());
    Check(e->content.data() >= e->whole.data());
    Check(e->content.data() + e->content.size() == e->whole.data() + e->whole.size());
    CheckElement(*e);
    if ((e->tag & 0x20) != 0 && depth < kMaxDepth) Walk(e->content, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView input(data, size);
  auto single = der::ParseSingle(input, "input");
  der::Reader reader(input);
  auto first = reader.Next();
  Check(single.has_value() == (first.has_value() && reader.empty()));
  if (single) Check(single->whole.size() == size);
  Walk(input, 0);
  return 0;
}
