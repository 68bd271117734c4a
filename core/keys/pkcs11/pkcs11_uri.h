// PKCS#11 URIs (RFC 7512): the names of tokens and keys on an HSM.
//
//   pkcs11:token=ci;object=codesign;id=%01;type=private
//       ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin
//
// ParsePkcs11Uri() is a pure function (no I/O, no environment): it checks the
// syntax of RFC 7512 section 2.3 strictly and decodes the attribute values.
// Opening the module, reading pin-source and matching tokens and objects is
// the backend's job (pkcs11_module.h, pkcs11_key.cpp).
//
// What the parser accepts, and the choices RFC 7512 leaves open:
//   - The scheme (RFC 3986 section 3.1), the standard attribute names and
//     the type values (ABNF literals, RFC 5234 section 2.3) are ASCII
//     case-insensitive: "PKCS11:TOKEN=ci;type=PRIVATE" is accepted and
//     re-encoded in lower case. Vendor attribute names are kept as written.
//   - Path attributes (section 2.3): token, manufacturer, serial, model,
//     library-manufacturer, library-description, library-version, object,
//     type, id, slot-description, slot-manufacturer, slot-id. Each may appear
//     once (section 2.3: "MUST NOT contain duplicate attributes of the same
//     name in the URI path component").
//   - Unknown path attributes (vendor ones included) are syntax-checked and
//     kept in `unknown_path_attributes`. The matching rules (section 2.4)
//     make such a URI match nothing; the backend therefore refuses it with an
//     error naming the attribute rather than searching and finding nothing.
//   - Query attributes (section 2.3): pin-source, pin-value, module-name,
//     module-path. Each may appear once; pin-source and pin-value together are
//     refused (section 2.3: such a URI "SHOULD be refused as invalid").
//     module-path must be absolute; module-name may not contain '/'.
//     Unknown query attributes are syntax-checked and ignored (they are not
//     kept, so an unknown vendor secret can never be printed).
//   - Values are strictly percent-decoded (section 2.3, RFC 3986 section
//     2.1): every '%' is followed by two hex digits, and every literal
//     character must be one the grammar allows in that component (pk11-pchar
//     in the path, pk11-qchar in the query). Whitespace, '"', '<', '>', '\',
//     '^', '`', '{', '}', control and non-ASCII bytes may appear only as %XX,
//     and '#' (a fragment) not at all. A value may decode to any bytes (UTF-8
//     labels), but %00 is refused outside `id`: PKCS#11 text fields cannot
//     hold NUL. Inputs over 64 KiB are refused.
//   - An empty path/query ("pkcs11:", "pkcs11:?") is valid and matches
//     everything; an empty attribute (";;", trailing ';' or '&') is not.
//   - type is one of public, private, cert, secret-key, data; slot-id is a
//     decimal CK_SLOT_ID; library-version is "M" or "M.N" (0..255 each).
//
// Error messages (kInvalidArgument) name the attribute and the problem but
// never echo a value: a malformed pin-value, or a PIN pasted where a name
// should be, must not reach a log.
//
// Thread-safety: a Pkcs11Uri is a plain value; const methods may be called
// concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "base/secret.h"

namespace signet {

// Object classes of the "type" attribute (RFC 7512 section 2.3, CKA_CLASS).
enum class Pkcs11ObjectType { kPublic, kPrivate, kCert, kSecretKey, kData };

// "public", "private", "cert", "secret-key", "data".
std::string_view Pkcs11ObjectTypeName(Pkcs11ObjectType type);

struct Pkcs11LibraryVersion {
  std::uint8_t major = 0;
  std::optional<std::uint8_t> minor;  // "library-version=3" leaves it open

  friend bool operator==(const Pkcs11LibraryVersion&, const Pkcs11LibraryVersion&) = default;
};

// A parsed PKCS#11 URI. An unset attribute does not constrain matching.
struct Pkcs11Uri {
  // Path attributes (RFC 7512 section 2.3), percent-decoded.
  std::optional<std::string> token;                     // CK_TOKEN_INFO.label
  std::optional<std::string> manufacturer;              // CK_TOKEN_INFO.manufacturerID
  std::optional<std::string> model;                     // CK_TOKEN_INFO.model
  std::optional<std::string> serial;                    // CK_TOKEN_INFO.serialNumber
  std::optional<std::string> object;                    // CKA_LABEL
  std::optional<Bytes> id;                              // CKA_ID
  std::optional<Pkcs11ObjectType> type;                 // CKA_CLASS
  std::optional<std::string> slot_description;          // CK_SLOT_INFO.slotDescription
  std::optional<std::string> slot_manufacturer;         // CK_SLOT_INFO.manufacturerID
  std::optional<unsigned long> slot_id;                 // CK_SLOT_ID
  std::optional<std::string> library_manufacturer;      // CK_INFO.manufacturerID
  std::optional<std::string> library_description;       // CK_INFO.libraryDescription
  std::optional<Pkcs11LibraryVersion> library_version;  // CK_INFO.libraryVersion
  // Path attributes this parser does not know (name, decoded value), in URI
  // order. Per section 2.4 a URI carrying any of them matches nothing.
  std::vector<std::pair<std::string, std::string>> unknown_path_attributes;

  // Query attributes (RFC 7512 section 2.3), percent-decoded.
  std::optional<std::string> module_name;
  std::optional<std::string> module_path;
  std::optional<std::string> pin_source;  // a path or a file: URI
  std::optional<Secret> pin_value;

  // Re-encodes the URI without pin-value: safe to print, log and list.
  // Canonical form: path attributes in the order token, manufacturer, model,
  // serial, slot-description, slot-manufacturer, slot-id,
  // library-manufacturer, library-description, library-version, object, id,
  // type, then unknown ones; query attributes module-name, module-path,
  // pin-source. id is always fully percent-encoded ("%01%02"), other values
  // only where the grammar requires it. ParsePkcs11Uri(Redacted()) gives back
  // the same URI minus pin-value and unknown query attributes.
  [[nodiscard]] std::string Redacted() const;
  // Same as Redacted(): a Pkcs11Uri never prints its PIN.
  [[nodiscard]] std::string ToString() const { return Redacted(); }
};

// Parses `uri` ("pkcs11:..."). Errors are kInvalidArgument and never contain
// attribute values.
Result<Pkcs11Uri> ParsePkcs11Uri(std::string_view uri);

// Percent-encodes `value` for a path (query == false) or query attribute
// value: unreserved and the pk11-res-avail characters allowed in that
// component stay literal, every other byte becomes %XX (upper-case hex).
std::string Pkcs11PercentEncode(std::string_view value, bool query);
// Percent-encodes every byte ("%01%a0" style, upper-case): how ids are shown.
std::string Pkcs11PercentEncodeAll(ByteView value);

}  // namespace signet
