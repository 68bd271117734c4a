#!/usr/bin/env bash
# Writes the seed corpus of pe_parser_fuzz under tests/fuzz/corpus/pe_parser/.
#
# Usage: tests/fuzz/make_pe_seeds.sh [path/to/signet]   (default build/core/cli/signet)
# Needs python3, openssl, osslsigncode.
#
# The seeds are small synthetic PE images (a few KiB, so the fuzzer runs
# fast): PE32 and PE32+ unsigned; signed by signet (ECDSA), with a nested
# signature and RFC 3161 timestamps (a loopback TSA, tests/tools/tsa_server.py);
# signed by osslsigncode (RSA); and one-defect variants made by
# tests/interop/pe/pe_tool.py (truncated, e_lfanew / section table /
# section data / certificate table outside the file, garbage signature).
# Keys are generated afresh on each run; no private key is written to the
# corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
signet=$(realpath "${1:-build/core/cli/signet}")
out=tests/fuzz/corpus/pe_parser
tool="python3 tests/interop/pe/pe_tool.py"
tmp=$(mktemp -d)
tsa_pid=
trap '[ -n "$tsa_pid" ] && kill "$tsa_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$out"

# A minimal image laid out as a linker would: headers, .text, .data.
python3 - "$tmp" <<'PY'
import struct, sys
def image(plus):
    opt_size = 240 if plus else 224
    lfanew = 0x80
    sections = lfanew + 24 + opt_size
    f = bytearray(0x200 + 2 * 0x200)
    f[0:2] = b"MZ"
    struct.pack_into("<I", f, 0x3C, lfanew)
    f[lfanew:lfanew + 4] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", f, lfanew + 4, 0x8664 if plus else 0x14C, 2, 0, 0, 0, opt_size, 0x22)
    opt = lfanew + 24
    struct.pack_into("<H", f, opt, 0x20B if plus else 0x10B)
    struct.pack_into("<I", f, opt + 32, 0x1000)  # SectionAlignment
    struct.pack_into("<I", f, opt + 36, 0x200)   # FileAlignment
    struct.pack_into("<I", f, opt + 56, 0x3000)  # SizeOfImage
    struct.pack_into("<I", f, opt + 60, 0x200)   # SizeOfHeaders
    struct.pack_into("<H", f, opt + 68, 3)       # Subsystem: console
    struct.pack_into("<I", f, opt + (108 if plus else 92), 16)
    for i, name in enumerate((b".text", b".data")):
        h = sections + 40 * i
        f[h:h + 8] = name.ljust(8, b"\0")
        struct.pack_into("<IIII", f, h + 8, 0x200, 0x1000 * (i + 1), 0x200, 0x200 * (i + 1))
        struct.pack_into("<I", f, h + 36, 0x60000020 if i == 0 else 0xC0000040)
    for i in range(0x200, len(f)):
        f[i] = (i * 131 ^ i >> 3) & 0xFF
    return f
open(sys.argv[1] + "/pe64.exe", "wb").write(image(True))
open(sys.argv[1] + "/pe32.exe", "wb").write(image(False))
PY
cp "$tmp/pe64.exe" "$out/valid_pe64_unsigned"
cp "$tmp/pe32.exe" "$out/valid_pe32_unsigned"
$tool mutate "$tmp/pe64.exe" overlay:13 "$out/valid_pe64_overlay"

# Keys, a CA and a TSA.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key" 2>/dev/null
openssl req -x509 -new -key "$tmp/ca.key" -subj "/CN=Seed CA" -days 3650 \
  -addext basicConstraints=critical,CA:TRUE -out "$tmp/ca.pem" 2>/dev/null
for kt in ec rsa; do
  if [ "$kt" = ec ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$kt.key" 2>/dev/null
  else
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/$kt.key" 2>/dev/null
  fi
  openssl req -new -key "$tmp/$kt.key" -subj "/CN=Seed $kt" -out "$tmp/$kt.csr" 2>/dev/null
  printf 'extendedKeyUsage=codeSigning\n' >"$tmp/ext"
  openssl x509 -req -in "$tmp/$kt.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 7 \
    -days 3650 -extfile "$tmp/ext" -out "$tmp/$kt.crt" 2>/dev/null
done
python3 tests/tools/tsa_server.py --dir "$tmp/tsa" --port-file "$tmp/port" >/dev/null 2>&1 &
tsa_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
tsa="http://127.0.0.1:$(cat "$tmp/port")/"

cp "$tmp/pe64.exe" "$tmp/signed.exe"
"$signet" -q sign --key "file:$tmp/ec.key" --cert "$tmp/ec.crt" "$tmp/signed.exe"
cp "$tmp/signed.exe" "$out/valid_signet_ecdsa"
cp "$tmp/pe32.exe" "$tmp/nested.exe"
"$signet" -q sign --key "file:$tmp/ec.key" --cert "$tmp/ec.crt" --tsa "$tsa" \
  --description "seed" --url "https://example.com/" "$tmp/nested.exe"
"$signet" -q sign --append --key "file:$tmp/rsa.key" --cert "$tmp/rsa.crt" --tsa "$tsa" "$tmp/nested.exe"
cp "$tmp/nested.exe" "$out/valid_signet_nested_timestamped"
osslsigncode sign -certs "$tmp/rsa.crt" -key "$tmp/rsa.key" -in "$tmp/pe64.exe" \
  -out "$out/valid_osslsigncode_rsa" >/dev/null

$tool mutate "$tmp/pe64.exe" truncate:100 "$out/invalid_truncated_headers"
$tool mutate "$tmp/pe64.exe" truncate-last-section "$out/invalid_truncated_section"
$tool mutate "$tmp/pe64.exe" lfanew-outside "$out/invalid_lfanew_outside"
$tool mutate "$tmp/pe64.exe" sections-outside "$out/invalid_sections_outside"
$tool mutate "$tmp/pe32.exe" section-data-outside "$out/invalid_section_data_outside"
$tool mutate "$tmp/pe64.exe" certtable-outside "$out/invalid_certtable_outside"
$tool mutate "$tmp/pe32.exe" garbage-signature "$out/invalid_garbage_signature"
echo "wrote $(ls "$out" | wc -l) seeds to $out"
