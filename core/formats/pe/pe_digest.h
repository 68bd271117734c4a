// The Authenticode image digest ("Calculating the PE Image Hash" in the
// Authenticode PE specification) and the PE checksum, in one streaming pass.
//
// The digest covers the file from offset 0 to the certificate table (or the
// end of the file when there is none), minus the CheckSum field and the
// certificate-table data-directory entry. That is the specification's
// "headers, then each section in file order, then the remaining data" for
// every image whose sections follow one another (what linkers write); for an
// image with gaps between sections it also covers the gap bytes, as
// osslsigncode does (see docs/decisions/0008-pe-image-digest.md).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "base/file.h"
#include "formats/pe/pe_image.h"

namespace signet::pe {

// Reads `out.size()` bytes at `offset` into `out` (InputFile::ReadInto, or
// an in-memory buffer in tests and fuzzing).
using ReadIntoFn = std::function<Status(std::uint64_t offset, std::span<std::uint8_t> out)>;

// Reads the image in chunks of this size (each read once).
inline constexpr std::size_t kImageChunk = 1 << 20;

struct ImagePass {
  std::map<std::string, Bytes> digests;  // by OpenSSL digest name ("sha256", "sha1")
  // The raw checksum sum (Checksum::raw()) of [0, image_end) with the CheckSum
  // field and the certificate-table entry counted as zero.
  std::uint64_t checksum_sum = 0;
};

// One pass over [0, layout.image_end()), reading each byte once with `read`
// (`chunk_size` at a time; tests and fuzzing use odd sizes). `pad_to_8`:
// also digest the zero bytes that signing inserts to align the certificate
// table to 8 bytes (for an image that is not yet signed that way).
// `copy_to`: also append the bytes read, unchanged, to that file, on a
// second thread: chunks go round a pool of kCopyBuffers buffers, so the
// writing overlaps the hashing and memory stays bounded.
inline constexpr std::size_t kCopyBuffers = 8;
Result<ImagePass> HashImage(const ReadIntoFn& read, const Layout& layout,
                            const std::vector<std::string>& digest_names, bool pad_to_8,
                            AtomicFile* copy_to = nullptr, std::size_t chunk_size = kImageChunk);

// The zero bytes that align `image_end` to 8.
inline std::uint64_t PaddingFor(std::uint64_t image_end) { return (8 - image_end % 8) % 8; }

}  // namespace signet::pe
