// PE/COFF image layout as Authenticode needs it: where the checksum field,
// the certificate-table data-directory entry and the certificate table
// (attribute certificates, PE/COFF spec "The Attribute Certificate Table")
// are, and whether every section's raw data lies inside the file.
//
// Pure functions over bytes handed in by a reader callback, so the same code
// parses files (InputFile::ReadAt) and fuzz inputs. Nothing here allocates
// from an unchecked length: every offset is checked against the file size
// before it is read.
//
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"

namespace signet::pe {

// WIN_CERTIFICATE (PE/COFF spec, "The Attribute Certificate Table").
inline constexpr std::uint16_t kWinCertRevision2 = 0x0200;
inline constexpr std::uint16_t kWinCertTypePkcsSignedData = 0x0002;
inline constexpr std::size_t kWinCertHeaderSize = 8;
// Signet refuses larger certificate tables (real ones are a few KiB; even a
// dozen nested signatures with timestamps stay far below this).
inline constexpr std::uint64_t kMaxCertTableSize = 16u << 20;

struct SectionRange {
  std::string name;  // up to 8 characters, as in the section header
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

struct Layout {
  std::uint64_t file_size = 0;
  bool pe32_plus = false;
  std::uint64_t pe_offset = 0;          // e_lfanew
  std::uint64_t checksum_offset = 0;    // OptionalHeader.CheckSum (4 bytes)
  std::uint32_t checksum = 0;           // its current value
  std::uint64_t cert_dir_offset = 0;    // DataDirectory[4] (8 bytes: offset, size)
  std::uint64_t cert_table_offset = 0;  // file offset of the table; 0 when unsigned
  std::uint64_t cert_table_size = 0;
  std::uint64_t headers_end = 0;  // end of the section table
  std::vector<SectionRange> sections;

  [[nodiscard]] bool has_signature() const { return cert_table_size != 0; }
  // Where the image (headers, sections, overlay) ends: the certificate
  // table's offset when there is one, else the end of the file. Everything
  // before it is kept when signing; the table is replaced.
  [[nodiscard]] std::uint64_t image_end() const {
    return has_signature() ? cert_table_offset : file_size;
  }
};

// Reads `length` bytes at `offset`; fails when they are not in the file.
using ReadFn = std::function<Result<Bytes>(std::uint64_t offset, std::size_t length)>;

// True when `head` (the file's first bytes) starts like a PE image: "MZ", an
// e_lfanew inside `head` pointing at "PE\0\0". Used by Format::Detect.
bool LooksLikePe(ByteView head);

// Parses and validates the layout. Errors are kInvalidArgument and say what
// is wrong ("e_lfanew 0x... points outside the file (N bytes)"); `name`
// (the file's path) starts each message.
Result<Layout> ParseLayout(const ReadFn& read, std::uint64_t file_size, const std::string& name);

// One WIN_CERTIFICATE entry of the certificate table.
struct WinCertificate {
  std::uint16_t revision = 0;
  std::uint16_t type = 0;
  Bytes data;  // bCertificate (for PKCS_SIGNED_DATA: a DER ContentInfo, maybe zero-padded)
};

// Splits a certificate table into its entries (each 8-byte aligned; zero
// padding after the last one is allowed).
Result<std::vector<WinCertificate>> ParseCertificateTable(ByteView table);
// One WIN_CERTIFICATE { dwLength, revision 2.0, PKCS_SIGNED_DATA } holding
// `signed_data`, zero-padded to a multiple of 8 bytes (dwLength counts the
// padding, as Windows' ImageAddCertificate writes it).
Bytes BuildCertificateTable(ByteView signed_data);

// The PE checksum (the algorithm of Windows' CheckSumMappedFile): the
// one's-complement sum of the file's little-endian 16-bit words, the
// CheckSum field counted as zero, folded to 16 bits, plus the file length.
//
// Accumulates a raw (unfolded) sum so that pieces can be added separately
// and in any order: Add(data, offset) counts `data` as lying at absolute file
// offset `offset` (odd offsets make its first byte a high byte).
class Checksum {
 public:
  void Add(ByteView data, std::uint64_t offset);
  // Removes bytes that Add counted (e.g. the CheckSum field itself).
  void Subtract(ByteView data, std::uint64_t offset);
  void AddRaw(std::uint64_t sum) { sum_ += sum; }
  [[nodiscard]] std::uint64_t raw() const { return sum_; }
  // The value to store in the CheckSum field of a file of `file_length` bytes.
  [[nodiscard]] std::uint32_t Finish(std::uint64_t file_length) const;

  // Raw sum of `data` at `offset` (what Add would add).
  static std::uint64_t Sum(ByteView data, std::uint64_t offset);

 private:
  std::uint64_t sum_ = 0;
};

// Little-endian helpers over a byte buffer (REQUIRES: in bounds).
std::uint16_t ReadLe16(ByteView b, std::size_t at);
std::uint32_t ReadLe32(ByteView b, std::size_t at);
void WriteLe32(Bytes& b, std::size_t at, std::uint32_t v);

}  // namespace signet::pe
