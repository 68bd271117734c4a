#include "formats/pe/pe_image.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

namespace signet::pe {
namespace {

// PE/COFF spec offsets.
constexpr std::uint64_t kDosHeaderSize = 64;
constexpr std::uint64_t kLfanewOffset = 0x3c;
constexpr std::uint64_t kCoffHeaderSize = 20;
constexpr std::uint64_t kSectionHeaderSize = 40;
constexpr std::uint16_t kMagicPe32 = 0x10b;
constexpr std::uint16_t kMagicPe32Plus = 0x20b;
constexpr std::uint64_t kChecksumField = 64;     // in the optional header, both kinds
constexpr std::uint64_t kDataDirPe32 = 96;       // first data directory, PE32
constexpr std::uint64_t kDataDirPe32Plus = 112;  // first data directory, PE32+
constexpr std::uint64_t kCertDirIndex = 4;       // IMAGE_DIRECTORY_ENTRY_SECURITY
constexpr std::uint64_t kDataDirEntrySize = 8;

std::string Hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::uint64_t Align8(std::uint64_t v) { return (v + 7) & ~std::uint64_t{7}; }

bool AllZero(ByteView b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c == 0; });
}

}  // namespace

std::uint16_t ReadLe16(ByteView b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8));
}

std::uint32_t ReadLe32(ByteView b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | (static_cast<std::uint32_t>(b[at + 1]) << 8) |
         (static_cast<std::uint32_t>(b[at + 2]) << 16) |
         (static_cast<std::uint32_t>(b[at + 3]) << 24);
}

void WriteLe32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

bool LooksLikePe(ByteView head) {
  if (head.size() < kDosHeaderSize || head[0] != 'M' || head[1] != 'Z') return false;
  std::uint64_t lfanew = ReadLe32(head, kLfanewOffset);
  if (lfanew > head.size() || head.size() - lfanew < 4 + kCoffHeaderSize + 2) return false;
  if (std::memcmp(head.data() + lfanew, "PE\0\0", 4) != 0) return false;
  std::uint16_t magic = ReadLe16(head, static_cast<std::size_t>(lfanew + 4 + kCoffHeaderSize));
  return magic == kMagicPe32 || magic == kMagicPe32Plus;
}

Result<Layout> ParseLayout(const ReadFn& read, std::uint64_t file_size, const std::string& name) {
  auto bad = [&name](const std::string& what) { return InvalidArgument(name + ": " + what); };
  const std::string size_note = " (the file has " + std::to_string(file_size) + " bytes)";
  if (file_size < kDosHeaderSize)
    return bad("not a PE file: too short for a DOS header" + size_note);
  SIGNET_ASSIGN_OR_RETURN(Bytes dos, read(0, kDosHeaderSize));
  if (dos[0] != 'M' || dos[1] != 'Z') return bad("not a PE file: no MZ signature");

  Layout l;
  l.file_size = file_size;
  l.pe_offset = ReadLe32(dos, kLfanewOffset);
  if (l.pe_offset > file_size || file_size - l.pe_offset < 4 + kCoffHeaderSize) {
    return bad("e_lfanew " + Hex(l.pe_offset) + " points outside the file" + size_note);
  }
  SIGNET_ASSIGN_OR_RETURN(Bytes coff, read(l.pe_offset, 4 + kCoffHeaderSize));
  if (std::memcmp(coff.data(), "PE\0\0", 4) != 0) {
    return bad("not a PE file: no PE signature at e_lfanew " + Hex(l.pe_offset));
  }
  std::uint64_t section_count = ReadLe16(coff, 4 + 2);
  std::uint64_t optional_size = ReadLe16(coff, 4 + 16);
  std::uint64_t optional_offset = l.pe_offset + 4 + kCoffHeaderSize;
  if (optional_size < 2 || optional_size > file_size - optional_offset) {
    return bad("the optional header (" + std::to_string(optional_size) + " bytes at " +
               Hex(optional_offset) + ") runs past the end of the file" + size_note);
  }
  SIGNET_ASSIGN_OR_RETURN(Bytes opt,
                          read(optional_offset, static_cast<std::size_t>(optional_size)));
  std::uint16_t magic = ReadLe16(opt, 0);
  std::uint64_t data_dir;
  if (magic == kMagicPe32) {
    data_dir = kDataDirPe32;
  } else if (magic == kMagicPe32Plus) {
    data_dir = kDataDirPe32Plus;
    l.pe32_plus = true;
  } else {
    return bad("not a PE image: optional header magic " + Hex(magic) +
               " is neither PE32 (0x10b) nor PE32+ (0x20b)");
  }
  if (optional_size < data_dir + (kCertDirIndex + 1) * kDataDirEntrySize) {
    return bad("the optional header (" + std::to_string(optional_size) +
               " bytes) is too small to hold the certificate table entry");
  }
  std::uint32_t rva_count = ReadLe32(opt, static_cast<std::size_t>(data_dir - 4));
  if (rva_count <= kCertDirIndex) {
    return bad("the optional header has no certificate table entry (NumberOfRvaAndSizes = " +
               std::to_string(rva_count) + ")");
  }
  l.checksum_offset = optional_offset + kChecksumField;
  l.checksum = ReadLe32(opt, kChecksumField);
  std::uint64_t cert_dir = data_dir + kCertDirIndex * kDataDirEntrySize;
  l.cert_dir_offset = optional_offset + cert_dir;
  std::uint64_t cert_offset = ReadLe32(opt, static_cast<std::size_t>(cert_dir));
  std::uint64_t cert_size = ReadLe32(opt, static_cast<std::size_t>(cert_dir + 4));

  std::uint64_t sections_offset = optional_offset + optional_size;
  std::uint64_t sections_bytes = section_count * kSectionHeaderSize;
  if (sections_bytes > file_size - sections_offset) {
    return bad("the section table (" + std::to_string(section_count) + " entries at " +
               Hex(sections_offset) + ") runs past the end of the file" + size_note);
  }
  l.headers_end = sections_offset + sections_bytes;

  if (cert_offset != 0 || cert_size != 0) {
    if (cert_offset == 0 || cert_size < kWinCertHeaderSize) {
      return bad("the certificate table entry is malformed (offset " + Hex(cert_offset) +
                 ", size " + std::to_string(cert_size) + ")");
    }
    if (cert_offset > file_size || cert_size > file_size - cert_offset) {
      return bad("the certificate table (" + std::to_string(cert_size) + " bytes at " +
                 Hex(cert_offset) + ") points outside the file" + size_note);
    }
    if (cert_offset < l.headers_end) {
      return bad("the certificate table at " + Hex(cert_offset) + " overlaps the PE headers");
    }
    if (cert_offset + cert_size != file_size) {
      return bad("the certificate table does not end at the end of the file (" +
                 std::to_string(file_size - cert_offset - cert_size) + " bytes follow it)");
    }
    if (cert_size > kMaxCertTableSize) {
      return bad("the certificate table is too large (" + std::to_string(cert_size) + " bytes)");
    }
    l.cert_table_offset = cert_offset;
    l.cert_table_size = cert_size;
  }

  if (section_count > 0) {
    SIGNET_ASSIGN_OR_RETURN(Bytes table,
                            read(sections_offset, static_cast<std::size_t>(sections_bytes)));
    const std::uint64_t end = l.image_end();
    for (std::uint64_t i = 0; i < section_count; ++i) {
      ByteView h(table.data() + i * kSectionHeaderSize, kSectionHeaderSize);
      SectionRange s;
      for (std::size_t c = 0; c < 8 && h[c] != 0; ++c) {
        char ch = static_cast<char>(h[c]);
        s.name.push_back(ch >= 0x20 && ch < 0x7f ? ch : '?');
      }
      s.size = ReadLe32(h, 16);
      s.offset = ReadLe32(h, 20);
      if (s.size != 0 && (s.offset > end || s.size > end - s.offset)) {
        return bad("section " + std::to_string(i + 1) + " (" + s.name + ") raw data [" +
                   Hex(s.offset) + ", " + Hex(s.offset + s.size) + ") lies outside the " +
                   (l.has_signature()
                        ? "image (before the certificate table at " + Hex(l.cert_table_offset) + ")"
                        : "file" + size_note));
      }
      l.sections.push_back(std::move(s));
    }
  }
  return l;
}

Result<std::vector<WinCertificate>> ParseCertificateTable(ByteView table) {
  std::vector<WinCertificate> out;
  std::size_t pos = 0;
  while (pos < table.size()) {
    ByteView rest = table.subspan(pos);
    if (rest.size() < kWinCertHeaderSize || ReadLe32(rest, 0) == 0) {
      if (AllZero(rest) && !out.empty()) break;  // padding after the last entry
      return InvalidArgument("certificate table: garbage at offset " + std::to_string(pos));
    }
    std::uint32_t length = ReadLe32(rest, 0);
    if (length < kWinCertHeaderSize || length > rest.size()) {
      return InvalidArgument("certificate table: WIN_CERTIFICATE at offset " + std::to_string(pos) +
                             " has length " + std::to_string(length) + ", outside the table (" +
                             std::to_string(table.size()) + " bytes)");
    }
    WinCertificate c;
    c.revision = ReadLe16(rest, 4);
    c.type = ReadLe16(rest, 6);
    c.data.assign(rest.begin() + kWinCertHeaderSize, rest.begin() + length);
    out.push_back(std::move(c));
    pos += static_cast<std::size_t>(std::min<std::uint64_t>(Align8(length), rest.size()));
  }
  if (out.empty()) return InvalidArgument("certificate table is empty");
  return out;
}

Bytes BuildCertificateTable(ByteView signed_data) {
  std::uint64_t length = Align8(kWinCertHeaderSize + signed_data.size());
  Bytes out(static_cast<std::size_t>(length), 0);
  WriteLe32(out, 0, static_cast<std::uint32_t>(length));
  out[4] = kWinCertRevision2 & 0xff;
  out[5] = kWinCertRevision2 >> 8;
  out[6] = kWinCertTypePkcsSignedData & 0xff;
  out[7] = kWinCertTypePkcsSignedData >> 8;
  std::copy(signed_data.begin(), signed_data.end(), out.begin() + kWinCertHeaderSize);
  return out;
}

std::uint64_t Checksum::Sum(ByteView data, std::uint64_t offset) {
  std::uint64_t sum = 0;
  std::size_t i = 0;
  if ((offset & 1) != 0 && !data.empty()) {
    sum += static_cast<std::uint64_t>(data[0]) << 8;  // high byte of a word begun earlier
    i = 1;
  }
  const std::uint8_t* p = data.data();
  const std::size_t n = data.size();
  if constexpr (std::endian::native == std::endian::little) {
    // Four 16-bit words per 8-byte load, summed in two 32-bit lanes; the
    // lanes are flushed before they can overflow (16384 * 2 * 0xffff < 2^32).
    constexpr std::uint64_t kMask = 0x0000ffff0000ffffULL;
    while (n - i >= 8) {
      std::size_t block = std::min<std::size_t>((n - i) / 8, 16384);
      std::uint64_t lanes = 0;
      for (std::size_t k = 0; k < block; ++k, i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        lanes += (w & kMask) + ((w >> 16) & kMask);
      }
      sum += (lanes & 0xffffffffULL) + (lanes >> 32);
    }
  }
  for (; i + 1 < n; i += 2) sum += static_cast<std::uint64_t>(p[i] | (p[i + 1] << 8));
  if (i < n) sum += p[i];
  return sum;
}

void Checksum::Add(ByteView data, std::uint64_t offset) { sum_ += Sum(data, offset); }

void Checksum::Subtract(ByteView data, std::uint64_t offset) { sum_ -= Sum(data, offset); }

std::uint32_t Checksum::Finish(std::uint64_t file_length) const {
  std::uint64_t s = sum_;
  while ((s >> 16) != 0) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint32_t>(s + file_length);
}

}  // namespace signet::pe
