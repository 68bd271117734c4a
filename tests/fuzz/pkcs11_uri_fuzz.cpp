// Fuzz target for the RFC 7512 PKCS#11 URI parser (keys/pkcs11/pkcs11_uri.h).
//
// The parser is pure, so the target does no I/O. Besides memory safety it
// checks the parser's own promises and aborts when one breaks:
//   - Redacted() of a parsed URI parses again, to the same Redacted() text;
//   - Redacted() never carries a pin-value (parsing it gives none);
//   - error messages never contain the text of a pin-value given in the input.
// Seed corpus: tests/fuzz/corpus/pkcs11_uri/ (one URI per file).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "keys/pkcs11/pkcs11_uri.h"

namespace {

// The raw text after "pin-value=" up to the next '&' (or the end), when the
// input has one of at least 4 bytes (shorter ones may appear by chance).
std::string_view RawPinValue(std::string_view input) {
  constexpr std::string_view kKey = "pin-value=";
  auto at = input.find(kKey);
  if (at == std::string_view::npos) return {};
  std::string_view value = input.substr(at + kKey.size());
  value = value.substr(0, value.find_first_of("&#"));
  return value.size() >= 4 ? value : std::string_view();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto uri = signet::ParsePkcs11Uri(input);
  if (!uri) {
    std::string_view pin = RawPinValue(input);
    // Messages are fixed text plus attribute names, so a PIN made only of
    // such characters may appear by chance. These characters are legal in a
    // query value but occur in no message and no attribute name: a PIN with
    // one of them must never show up.
    if (!pin.empty() && pin.find_first_of("~!$*[]@+|") != std::string_view::npos &&
        uri.error().message.find(pin) != std::string::npos) {
      std::abort();
    }
    return 0;
  }
  const std::string redacted = uri->Redacted();
  auto again = signet::ParsePkcs11Uri(redacted);
  if (!again) std::abort();
  if (again->Redacted() != redacted) std::abort();
  if (again->pin_value) std::abort();
  return 0;
}
