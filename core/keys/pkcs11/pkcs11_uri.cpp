#include "keys/pkcs11/pkcs11_uri.h"

#include <array>
#include <charconv>
#include <cstddef>
#include <limits>

namespace signet {
namespace {

constexpr std::string_view kScheme = "pkcs11:";
// Generous bound for one URI (module paths, long labels); refuses megabyte inputs early.
constexpr std::size_t kMaxUriSize = std::size_t{64} * 1024;
// Attribute names are echoed in errors; longer ones are cut.
constexpr std::size_t kMaxEchoedName = 40;

// unreserved (RFC 3986 section 2.3).
bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// pk11-res-avail (RFC 7512 section 2.3).
bool IsResAvail(unsigned char c) {
  switch (c) {
    case ':':
    case '[':
    case ']':
    case '@':
    case '!':
    case '$':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case '=':
      return true;
    default:
      return false;
  }
}

// pk11-pchar / pk11-qchar without pct-encoded: the literal characters a path
// (resp. query) attribute value may contain.
bool IsLiteralValueChar(unsigned char c, bool query) {
  if (IsUnreserved(c) || IsResAvail(c)) return true;
  if (query) return c == '/' || c == '?' || c == '|';
  return c == '&';
}

// pk11-v-attr-nm-char (RFC 7512 section 2.3); standard names are made of it too.
bool IsNameChar(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

int HexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool AsciiEqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

// A name for error messages. Callers only pass names that passed IsNameChar,
// so this never echoes a value.
std::string EchoName(std::string_view name) {
  if (name.size() <= kMaxEchoedName) return "'" + std::string(name) + "'";
  return "'" + std::string(name.substr(0, kMaxEchoedName)) + "...'";
}

std::string_view ComponentName(bool query) { return query ? "query" : "path"; }

// Strict percent-decoding of one attribute value (RFC 3986 section 2.1):
// literal characters must be allowed in the component, '%' must introduce two
// hex digits. `what` names the attribute for errors; the value is never echoed.
Result<std::string> DecodeValue(std::string_view raw, bool query, std::string_view what) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto c = static_cast<unsigned char>(raw[i]);
    if (c == '%') {
      int hi = i + 1 < raw.size() ? HexValue(static_cast<unsigned char>(raw[i + 1])) : -1;
      int lo = i + 2 < raw.size() ? HexValue(static_cast<unsigned char>(raw[i + 2])) : -1;
      if (hi < 0 || lo < 0) {
        return InvalidArgument("PKCS#11 URI: bad percent-encoding in the value of " +
                               std::string(what) + " ('%' must be followed by two hex digits)");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (IsLiteralValueChar(c, query)) {
      out.push_back(static_cast<char>(c));
    } else {
      std::string shown;
      if (c < 0x20 || c >= 0x7f) {
        shown = "a control or non-ASCII byte";
      } else if (c == ' ') {
        shown = "a space";
      } else {
        shown = std::string("'") + static_cast<char>(c) + "'";
      }
      return InvalidArgument("PKCS#11 URI: the value of " + std::string(what) + " contains " +
                             shown + ", which must be percent-encoded in the " +
                             std::string(ComponentName(query)) + " (RFC 7512 section 2.3)");
    }
  }
  return out;
}

// Text attributes map to fixed-size, blank-padded PKCS#11 fields or CKA_LABEL:
// a NUL byte cannot be part of them.
Status RejectNul(std::string_view value, std::string_view what) {
  if (value.find('\0') != std::string_view::npos) {
    return InvalidArgument("PKCS#11 URI: the value of " + std::string(what) +
                           " contains %00, which no PKCS#11 text field can hold");
  }
  return {};
}

Result<Pkcs11ObjectType> ParseType(std::string_view value) {
  static constexpr std::array<Pkcs11ObjectType, 5> kTypes = {
      Pkcs11ObjectType::kPublic, Pkcs11ObjectType::kPrivate, Pkcs11ObjectType::kCert,
      Pkcs11ObjectType::kSecretKey, Pkcs11ObjectType::kData};
  for (Pkcs11ObjectType t : kTypes) {
    // ABNF literals are case-insensitive (RFC 5234 section 2.3).
    if (AsciiEqualsIgnoreCase(value, Pkcs11ObjectTypeName(t))) return t;
  }
  return InvalidArgument(
      "PKCS#11 URI: attribute 'type' must be one of public, private, cert, secret-key, data");
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

template <typename T>
bool ParseDecimal(std::string_view s, T& out) {
  if (!AllDigits(s)) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

Result<unsigned long> ParseSlotId(std::string_view value) {
  unsigned long id = 0;
  if (!ParseDecimal(value, id)) {
    return InvalidArgument(
        "PKCS#11 URI: attribute 'slot-id' must be a decimal number that fits a CK_SLOT_ID");
  }
  return id;
}

Result<Pkcs11LibraryVersion> ParseLibraryVersion(std::string_view value) {
  auto bad = [] {
    return InvalidArgument(
        "PKCS#11 URI: attribute 'library-version' must be MAJOR or MAJOR.MINOR (0-255 each)");
  };
  Pkcs11LibraryVersion version;
  std::string_view major = value;
  std::string_view minor;
  bool has_minor = false;
  if (auto dot = value.find('.'); dot != std::string_view::npos) {
    major = value.substr(0, dot);
    minor = value.substr(dot + 1);
    has_minor = true;
  }
  unsigned number = 0;
  if (!ParseDecimal(major, number) || number > 255) return bad();
  version.major = static_cast<std::uint8_t>(number);
  if (has_minor) {
    if (!ParseDecimal(minor, number) || number > 255) return bad();
    version.minor = static_cast<std::uint8_t>(number);
  }
  return version;
}

// Where a standard attribute's decoded value goes.
enum class Attr {
  kToken,
  kManufacturer,
  kModel,
  kSerial,
  kObject,
  kId,
  kType,
  kSlotDescription,
  kSlotManufacturer,
  kSlotId,
  kLibraryManufacturer,
  kLibraryDescription,
  kLibraryVersion,
  kModuleName,
  kModulePath,
  kPinSource,
  kPinValue,
};

struct AttrSpec {
  std::string_view name;
  Attr attr;
  bool query;
};

constexpr std::array<AttrSpec, 17> kAttrs = {{
    {"token", Attr::kToken, false},
    {"manufacturer", Attr::kManufacturer, false},
    {"model", Attr::kModel, false},
    {"serial", Attr::kSerial, false},
    {"object", Attr::kObject, false},
    {"id", Attr::kId, false},
    {"type", Attr::kType, false},
    {"slot-description", Attr::kSlotDescription, false},
    {"slot-manufacturer", Attr::kSlotManufacturer, false},
    {"slot-id", Attr::kSlotId, false},
    {"library-manufacturer", Attr::kLibraryManufacturer, false},
    {"library-description", Attr::kLibraryDescription, false},
    {"library-version", Attr::kLibraryVersion, false},
    {"module-name", Attr::kModuleName, true},
    {"module-path", Attr::kModulePath, true},
    {"pin-source", Attr::kPinSource, true},
    {"pin-value", Attr::kPinValue, true},
}};

const AttrSpec* FindSpec(std::string_view name) {
  for (const AttrSpec& spec : kAttrs) {
    // ABNF literals are case-insensitive (RFC 5234 section 2.3): "TOKEN=" is "token=".
    if (AsciiEqualsIgnoreCase(name, spec.name)) return &spec;
  }
  return nullptr;
}

// Checks and stores the decoded value of one standard attribute.
Status Store(Pkcs11Uri& uri, const AttrSpec& spec, std::string value) {
  const std::string what = "attribute '" + std::string(spec.name) + "'";
  if (spec.attr != Attr::kId) SIGNET_RETURN_IF_ERROR(RejectNul(value, what));
  switch (spec.attr) {
    case Attr::kToken:
      uri.token = std::move(value);
      break;
    case Attr::kManufacturer:
      uri.manufacturer = std::move(value);
      break;
    case Attr::kModel:
      uri.model = std::move(value);
      break;
    case Attr::kSerial:
      uri.serial = std::move(value);
      break;
    case Attr::kObject:
      uri.object = std::move(value);
      break;
    case Attr::kId:
      uri.id = Bytes(value.begin(), value.end());
      break;
    case Attr::kType: {
      SIGNET_ASSIGN_OR_RETURN(uri.type, ParseType(value));
      break;
    }
    case Attr::kSlotDescription:
      uri.slot_description = std::move(value);
      break;
    case Attr::kSlotManufacturer:
      uri.slot_manufacturer = std::move(value);
      break;
    case Attr::kSlotId: {
      SIGNET_ASSIGN_OR_RETURN(uri.slot_id, ParseSlotId(value));
      break;
    }
    case Attr::kLibraryManufacturer:
      uri.library_manufacturer = std::move(value);
      break;
    case Attr::kLibraryDescription:
      uri.library_description = std::move(value);
      break;
    case Attr::kLibraryVersion: {
      SIGNET_ASSIGN_OR_RETURN(uri.library_version, ParseLibraryVersion(value));
      break;
    }
    case Attr::kModuleName:
      if (value.empty() || value.find('/') != std::string::npos) {
        return InvalidArgument(
            "PKCS#11 URI: attribute 'module-name' must be a module name without a path (use "
            "module-path for a path)");
      }
      uri.module_name = std::move(value);
      break;
    case Attr::kModulePath:
      if (value.empty() || value.front() != '/') {
        return InvalidArgument("PKCS#11 URI: attribute 'module-path' must be an absolute path");
      }
      uri.module_path = std::move(value);
      break;
    case Attr::kPinSource:
      if (value.empty()) {
        return InvalidArgument("PKCS#11 URI: attribute 'pin-source' is empty");
      }
      uri.pin_source = std::move(value);
      break;
    case Attr::kPinValue:
      uri.pin_value = Secret(std::move(value));
      break;
  }
  return {};
}

// Splits `component` at `separator` and parses each "name=value" attribute.
Status ParseComponent(std::string_view component, bool query, Pkcs11Uri& uri,
                      std::array<bool, kAttrs.size()>& seen) {
  if (component.empty()) return {};  // an empty path or query matches everything
  const char separator = query ? '&' : ';';
  std::size_t index = 0;
  std::size_t start = 0;
  while (true) {
    ++index;
    std::size_t end = component.find(separator, start);
    std::string_view attribute = component.substr(
        start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const std::string where =
        "attribute #" + std::to_string(index) + " of the " + std::string(ComponentName(query));
    if (attribute.empty()) {
      return InvalidArgument("PKCS#11 URI: " + where + " is empty (stray '" +
                             std::string(1, separator) + "')");
    }
    std::size_t eq = attribute.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument("PKCS#11 URI: " + where + " has no '=' (expected name=value)");
    }
    std::string_view name = attribute.substr(0, eq);
    if (name.empty()) {
      return InvalidArgument("PKCS#11 URI: " + where + " has an empty name");
    }
    for (char c : name) {
      if (!IsNameChar(static_cast<unsigned char>(c))) {
        return InvalidArgument("PKCS#11 URI: the name of " + where +
                               " may only contain letters, digits, '-' and '_'");
      }
    }
    std::string_view raw_value = attribute.substr(eq + 1);
    const AttrSpec* spec = FindSpec(name);
    if (spec != nullptr && spec->query != query) {
      return InvalidArgument("PKCS#11 URI: attribute " + EchoName(spec->name) + " belongs in the " +
                             std::string(ComponentName(spec->query)) +
                             (spec->query ? " (after '?')" : " (before '?')"));
    }
    if (spec != nullptr) {
      auto slot = static_cast<std::size_t>(spec - kAttrs.data());
      if (seen[slot]) {
        return InvalidArgument("PKCS#11 URI: attribute " + EchoName(spec->name) +
                               " appears more than once");
      }
      seen[slot] = true;
      SIGNET_ASSIGN_OR_RETURN(std::string value,
                              DecodeValue(raw_value, query, "attribute " + EchoName(spec->name)));
      SIGNET_RETURN_IF_ERROR(Store(uri, *spec, std::move(value)));
    } else {
      // Unknown (e.g. vendor "x-...") attribute: syntax-checked; kept in the
      // path (it makes the URI match nothing, section 2.4), dropped from the query.
      SIGNET_ASSIGN_OR_RETURN(std::string value,
                              DecodeValue(raw_value, query, "attribute " + EchoName(name)));
      if (!query) {
        for (const auto& known : uri.unknown_path_attributes) {
          if (known.first == name) {
            return InvalidArgument("PKCS#11 URI: attribute " + EchoName(name) +
                                   " appears more than once");
          }
        }
        uri.unknown_path_attributes.emplace_back(std::string(name), std::move(value));
      }
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return {};
}

void AppendAttribute(std::string& out, bool& first, std::string_view name,
                     const std::string& encoded_value) {
  if (!first) out += ';';
  first = false;
  out += name;
  out += '=';
  out += encoded_value;
}

}  // namespace

std::string_view Pkcs11ObjectTypeName(Pkcs11ObjectType type) {
  switch (type) {
    case Pkcs11ObjectType::kPublic:
      return "public";
    case Pkcs11ObjectType::kPrivate:
      return "private";
    case Pkcs11ObjectType::kCert:
      return "cert";
    case Pkcs11ObjectType::kSecretKey:
      return "secret-key";
    case Pkcs11ObjectType::kData:
      return "data";
  }
  return "data";
}

std::string Pkcs11PercentEncode(std::string_view value, bool query) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    // '&' is literal-safe in the path and '/', '?', '|' in the query, but ';'
    // and '&' are always encoded where they would end the attribute.
    if (IsLiteralValueChar(c, query)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

std::string Pkcs11PercentEncodeAll(ByteView value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (std::uint8_t c : value) {
    out.push_back('%');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0f]);
  }
  return out;
}

std::string Pkcs11Uri::Redacted() const {
  std::string out(kScheme);
  bool first = true;
  auto text = [&](std::string_view name, const std::optional<std::string>& value) {
    if (value) AppendAttribute(out, first, name, Pkcs11PercentEncode(*value, false));
  };
  text("token", token);
  text("manufacturer", manufacturer);
  text("model", model);
  text("serial", serial);
  text("slot-description", slot_description);
  text("slot-manufacturer", slot_manufacturer);
  if (slot_id) AppendAttribute(out, first, "slot-id", std::to_string(*slot_id));
  text("library-manufacturer", library_manufacturer);
  text("library-description", library_description);
  if (library_version) {
    std::string v = std::to_string(library_version->major);
    if (library_version->minor) v += "." + std::to_string(*library_version->minor);
    AppendAttribute(out, first, "library-version", v);
  }
  text("object", object);
  if (id) AppendAttribute(out, first, "id", Pkcs11PercentEncodeAll(*id));
  if (type) AppendAttribute(out, first, "type", std::string(Pkcs11ObjectTypeName(*type)));
  for (const auto& [name, value] : unknown_path_attributes) {
    AppendAttribute(out, first, name, Pkcs11PercentEncode(value, false));
  }

  std::string query;
  auto qtext = [&](std::string_view name, const std::optional<std::string>& value) {
    if (!value) return;
    if (!query.empty()) query += '&';
    query += name;
    query += '=';
    query += Pkcs11PercentEncode(*value, true);
  };
  qtext("module-name", module_name);
  qtext("module-path", module_path);
  qtext("pin-source", pin_source);
  if (!query.empty()) out += "?" + query;
  return out;
}

Result<Pkcs11Uri> ParsePkcs11Uri(std::string_view uri) {
  if (uri.size() > kMaxUriSize) {
    return InvalidArgument("PKCS#11 URI is longer than " + std::to_string(kMaxUriSize) + " bytes");
  }
  // The scheme is case-insensitive (RFC 3986 section 3.1).
  if (uri.size() < kScheme.size() ||
      !AsciiEqualsIgnoreCase(uri.substr(0, kScheme.size()), kScheme)) {
    return InvalidArgument("not a PKCS#11 URI: it must start with 'pkcs11:' (RFC 7512)");
  }
  std::string_view rest = uri.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) {
    return InvalidArgument("PKCS#11 URI: a fragment ('#') is not allowed (RFC 7512 section 2.3)");
  }
  // '?' cannot occur in a path value (pk11-pchar), so the first one starts the query.
  std::string_view path = rest;
  std::string_view query;
  bool has_query = false;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
    has_query = true;
  }
  Pkcs11Uri parsed;
  std::array<bool, kAttrs.size()> seen{};
  SIGNET_RETURN_IF_ERROR(ParseComponent(path, false, parsed, seen));
  if (has_query) SIGNET_RETURN_IF_ERROR(ParseComponent(query, true, parsed, seen));
  if (parsed.pin_source && parsed.pin_value) {
    // RFC 7512 section 2.3: such a URI "SHOULD be refused as invalid".
    return InvalidArgument(
        "PKCS#11 URI: give either pin-source or pin-value, not both (RFC 7512 section 2.3)");
  }
  return parsed;
}

}  // namespace signet
