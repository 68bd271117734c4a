#!/usr/bin/env python3
"""PE byte surgery and checks for the pe interop tests (independent of signet).

    pe_tool.py checksum FILE          exit 0 when the header CheckSum is the PE
                                      checksum of the file (CheckSumMappedFile's
                                      algorithm), else print both and exit 1
    pe_tool.py text-offset FILE       print the file offset of a byte inside .text
    pe_tool.py cert-table FILE        print "OFFSET SIZE" of the certificate table
    pe_tool.py mutate FILE KIND OUT   write a malformed variant of FILE:
        truncate:N          the first N bytes (N may be negative: from the end)
        truncate-last-section  cut in the middle of the last section's raw data
        lfanew-outside      e_lfanew pointing past the end of the file
        sections-outside    NumberOfSections so large the table runs past the end
        section-data-outside the last section's raw data running past the end
        certtable-outside   a certificate table entry pointing past the end
        garbage-signature   a well-formed WIN_CERTIFICATE holding garbage, not PKCS#7
        overlay:N           N bytes of trailing data after the image
"""
import os
import struct
import sys


def headers(d):
    pe = struct.unpack_from("<I", d, 0x3C)[0]
    nsec = struct.unpack_from("<H", d, pe + 6)[0]
    opt_size = struct.unpack_from("<H", d, pe + 20)[0]
    opt = pe + 24
    magic = struct.unpack_from("<H", d, opt)[0]
    dd = opt + (96 if magic == 0x10B else 112)
    return {
        "pe": pe,
        "nsec": nsec,
        "opt": opt,
        "checksum": opt + 64,
        "certdir": dd + 4 * 8,
        "sections": opt + opt_size,
    }


def sections(d):
    h = headers(d)
    out = []
    for i in range(h["nsec"]):
        s = h["sections"] + 40 * i
        name = d[s:s + 8].rstrip(b"\0").decode("ascii", "replace")
        size, ptr = struct.unpack_from("<II", d, s + 16)
        out.append((name, ptr, size, s))
    return out


def pe_checksum(d, field):
    total = 0
    for i in range(0, len(d), 2):
        if field <= i < field + 4:
            continue
        word = d[i] | ((d[i + 1] << 8) if i + 1 < len(d) else 0)
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return (total + len(d)) & 0xFFFFFFFF


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    d = bytearray(open(path, "rb").read())
    h = headers(d)
    if cmd == "checksum":
        have = struct.unpack_from("<I", d, h["checksum"])[0]
        want = pe_checksum(d, h["checksum"])
        if have != want:
            print(f"header CheckSum {have:08X}, computed {want:08X}")
            return 1
        return 0
    if cmd == "text-offset":
        name, ptr, size, _ = next(s for s in sections(d) if s[0] == ".text")
        print(ptr + size // 3)
        return 0
    if cmd == "cert-table":
        print(*struct.unpack_from("<II", d, h["certdir"]))
        return 0
    if cmd != "mutate":
        sys.exit(f"unknown command {cmd}")
    kind, out = sys.argv[3], sys.argv[4]
    if kind.startswith("truncate:"):
        n = int(kind.split(":")[1])
        d = d[:n] if n >= 0 else d[:len(d) + n]
    elif kind == "truncate-last-section":
        name, ptr, size, _ = max(sections(d), key=lambda s: s[1] + s[2])
        d = d[:ptr + size // 2]
    elif kind == "lfanew-outside":
        struct.pack_into("<I", d, 0x3C, len(d) + 64)
    elif kind == "sections-outside":
        struct.pack_into("<H", d, h["pe"] + 6, 0xFFFF)
    elif kind == "section-data-outside":
        name, ptr, size, s = sections(d)[-1]
        struct.pack_into("<I", d, s + 16, len(d) - ptr + 0x1000)
    elif kind == "certtable-outside":
        struct.pack_into("<II", d, h["certdir"], len(d) - 16, 4096)
    elif kind == "garbage-signature":
        d += b"\0" * ((8 - len(d) % 8) % 8)
        blob = b"not a PKCS#7 SignedData, just garbage bytes!!" + os.urandom(19)
        entry = struct.pack("<IHH", 8 + len(blob), 0x0200, 0x0002) + blob
        struct.pack_into("<II", d, h["certdir"], len(d), len(entry))
        d += entry
    elif kind.startswith("overlay:"):
        n = int(kind.split(":")[1])
        d += bytes((i * 7 + 3) & 0xFF for i in range(n))
    else:
        sys.exit(f"unknown mutation {kind}")
    open(out, "wb").write(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
