// Fuzz target for the pe format's parsers of untrusted input (formats/pe/):
// the PE layout (pe_image.h), the Authenticode image digest pass
// (pe_digest.h), the certificate table, the SignedData / SignerInfo /
// attribute readers and the SpcIndirectDataContent reader (authenticode.h),
// and Authenticode verification itself (authenticode_verify.h) up to the
// chain check -- everything `signet sign|verify|unsign|timestamp` runs on a
// file before it trusts it. The input is a whole file.
//
// Besides memory safety it checks invariants and aborts when one breaks:
//   - an accepted layout keeps every section and the certificate table inside
//     the file, and the digest pass reads exactly the image, once, in order;
//   - whatever ParseSignedData accepts survives ReplaceUnsignedAttributes
//     with its own unsigned attributes: the result parses to the same
//     signers, content and attributes.
// Seed corpus: tests/fuzz/corpus/pe_parser/ (tests/fuzz/make_pe_seeds.sh).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "formats/pe/authenticode.h"
#include "formats/pe/authenticode_verify.h"
#include "formats/pe/pe_digest.h"
#include "formats/pe/pe_image.h"

namespace {

namespace pe = signet::pe;
using signet::Bytes;
using signet::ByteView;

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckSignedData(ByteView der, const std::map<std::string, Bytes>& digests) {
  auto sd = pe::ParseSignedData(der);
  if (!sd) return;
  Check(!sd->signers.empty());
  if (!sd->content.empty()) (void)pe::ParseSpcIndirectData(sd->content);
  for (const pe::SignerInfoView& si : sd->signers) {
    if (!si.signed_attrs.empty()) (void)pe::ParseAttributes(si.signed_attrs);
  }
  std::set<std::string> names;
  pe::CollectDigestNames(*sd, names);

  auto again = pe::ReplaceUnsignedAttributes(der, pe::OwnUnsignedAttributes(*sd));
  Check(again.has_value());
  auto reparsed = pe::ParseSignedData(*again);
  Check(reparsed.has_value());
  Check(reparsed->signers.size() == sd->signers.size());
  Check(reparsed->content_type == sd->content_type);
  Check(Bytes(reparsed->content.begin(), reparsed->content.end()) ==
        Bytes(sd->content.begin(), sd->content.end()));
  Check(reparsed->signers.front().unsigned_attrs.size() ==
        sd->signers.front().unsigned_attrs.size());
  Check(Bytes(reparsed->signers.front().signature.begin(),
              reparsed->signers.front().signature.end()) ==
        Bytes(sd->signers.front().signature.begin(), sd->signers.front().signature.end()));

  // Verification with no trust anchors fails, but walks every check before
  // the chain (digests, attributes, signature, timestamp, nesting).
  pe::TrustAnchors none;
  none.now = 1767323045;
  (void)pe::VerifyAuthenticode(*sd, digests, none, "fuzz");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView file(data, size);
  (void)pe::LooksLikePe(file);
  auto read = [file](std::uint64_t offset, std::size_t length) -> signet::Result<Bytes> {
    if (offset > file.size() || length > file.size() - offset) {
      return signet::InvalidArgument("read past the end");
    }
    return Bytes(file.begin() + static_cast<std::ptrdiff_t>(offset),
                 file.begin() + static_cast<std::ptrdiff_t>(offset + length));
  };
  auto layout = pe::ParseLayout(read, size, "fuzz");
  if (!layout) {
    // Whatever is in the input, a signature blob may be fuzzed on its own too.
    CheckSignedData(file, {});
    return 0;
  }
  Check(layout->image_end() <= size);
  Check(layout->checksum_offset + 4 <= layout->headers_end);
  Check(layout->cert_dir_offset + 8 <= layout->headers_end);
  for (const pe::SectionRange& s : layout->sections) {
    Check(s.size == 0 ||
          (s.offset <= layout->image_end() && s.size <= layout->image_end() - s.offset));
  }
  if (layout->has_signature()) {
    Check(layout->cert_table_offset + layout->cert_table_size == size);
  }

  std::uint64_t streamed = 0;
  pe::ReadIntoFn counting_read = [file, &streamed](std::uint64_t offset,
                                                   std::span<std::uint8_t> out) -> signet::Status {
    Check(offset == streamed);  // one pass, in order
    Check(offset <= file.size() && out.size() <= file.size() - offset);
    std::copy_n(file.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
    streamed += out.size();
    return {};
  };
  // Odd-sized chunks, so the fields Authenticode skips straddle chunk edges.
  auto pass = pe::HashImage(counting_read, *layout, {"sha1", "sha256"}, true, nullptr, 61);
  Check(pass.has_value());
  Check(streamed == layout->image_end());

  if (layout->has_signature()) {
    auto table =
        pe::ParseCertificateTable(file.subspan(static_cast<std::size_t>(layout->cert_table_offset),
                                               static_cast<std::size_t>(layout->cert_table_size)));
    if (table) {
      for (const pe::WinCertificate& c : *table) CheckSignedData(c.data, pass->digests);
    }
  }
  return 0;
}
