#include "crypto/csr.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "crypto/cms_signed_data.h"
#include "crypto/der.h"
#include "crypto/digest.h"

namespace signet {
namespace {

enum class StringKind { kUtf8, kPrintable, kIa5 };

struct AttributeType {
  std::string_view name;
  std::string_view oid;
  StringKind kind;
};

// X.520 / RFC 4519 attribute types (RFC 4514 section 3 names first).
constexpr AttributeType kTypes[] = {
    {"CN", "2.5.4.3", StringKind::kUtf8},
    {"O", "2.5.4.10", StringKind::kUtf8},
    {"OU", "2.5.4.11", StringKind::kUtf8},
    {"C", "2.5.4.6", StringKind::kPrintable},
    {"ST", "2.5.4.8", StringKind::kUtf8},
    {"S", "2.5.4.8", StringKind::kUtf8},
    {"L", "2.5.4.7", StringKind::kUtf8},
    {"STREET", "2.5.4.9", StringKind::kUtf8},
    {"DC", "0.9.2342.19200300.100.1.25", StringKind::kIa5},
    {"UID", "0.9.2342.19200300.100.1.1", StringKind::kUtf8},
    {"SERIALNUMBER", "2.5.4.5", StringKind::kPrintable},
    {"EMAILADDRESS", "1.2.840.113549.1.9.1", StringKind::kIa5},
    {"E", "1.2.840.113549.1.9.1", StringKind::kIa5},
    {"TITLE", "2.5.4.12", StringKind::kUtf8},
    {"GN", "2.5.4.42", StringKind::kUtf8},
    {"GIVENNAME", "2.5.4.42", StringKind::kUtf8},
    {"SN", "2.5.4.4", StringKind::kUtf8},
    {"SURNAME", "2.5.4.4", StringKind::kUtf8},
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ' && !(s.size() >= 2 && s[s.size() - 2] == '\\')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits at unescaped `sep` (a backslash escapes the next character).
std::vector<std::string_view> SplitUnescaped(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

Result<std::string> Unescape(std::string_view v, std::string_view whole) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\') {
      out += v[i];
      continue;
    }
    if (i + 1 >= v.size()) {
      return InvalidArgument("subject '" + std::string(whole) + "' ends with a lone backslash");
    }
    char next = v[i + 1];
    if (std::isxdigit(static_cast<unsigned char>(next)) && i + 2 < v.size() &&
        std::isxdigit(static_cast<unsigned char>(v[i + 2]))) {
      auto byte = HexDecode(v.substr(i + 1, 2));
      out += static_cast<char>((*byte)[0]);
      i += 2;
      continue;
    }
    out += next;
    ++i;
  }
  return out;
}

bool IsPrintableString(std::string_view s) {
  for (char c : s) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '\'' || c == '(' ||
              c == ')' || c == '+' || c == ',' || c == '-' || c == '.' || c == '/' || c == ':' ||
              c == '=' || c == '?';
    if (!ok) return false;
  }
  return true;
}

bool IsDottedOid(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots >= 1;
}

Result<Bytes> EncodeAva(std::string_view ava, std::string_view whole) {
  auto parts = SplitUnescaped(ava, '=');
  if (parts.size() < 2) {
    return InvalidArgument("subject '" + std::string(whole) + "': '" + std::string(ava) +
                           "' is not TYPE=VALUE");
  }
  std::string type = Upper(TrimSpaces(parts[0]));
  // The value is everything after the first '=' (an '=' inside needs no escape).
  std::string_view raw_value = TrimSpaces(ava.substr(parts[0].size() + 1));
  if (raw_value.starts_with('#')) {
    return InvalidArgument("subject '" + std::string(whole) +
                           "': hex-encoded (#...) values are not supported");
  }
  SIGNET_ASSIGN_OR_RETURN(std::string value, Unescape(raw_value, whole));
  if (value.empty()) {
    return InvalidArgument("subject '" + std::string(whole) + "': " + type + " has an empty value");
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgument("subject '" + std::string(whole) + "': control character in " + type);
    }
  }
  std::string oid;
  StringKind kind = StringKind::kUtf8;
  for (const auto& t : kTypes) {
    if (t.name == type) {
      oid = std::string(t.oid);
      kind = t.kind;
    }
  }
  if (oid.empty()) {
    if (!IsDottedOid(type)) {
      return InvalidArgument("subject '" + std::string(whole) + "': unknown attribute type '" +
                             type + "' (use CN, O, OU, C, ST, L, DC, emailAddress, ... or an OID)");
    }
    oid = type;
  }
  Bytes encoded;
  switch (kind) {
    case StringKind::kPrintable:
      if (!IsPrintableString(value) || (oid == "2.5.4.6" && value.size() != 2)) {
        return InvalidArgument(
            "subject '" + std::string(whole) + "': " + type + "=" + value +
            (oid == "2.5.4.6" ? " is not a two-letter country code" : " is not a PrintableString"));
      }
      encoded = der::Tlv(der::kPrintableString, AsBytes(value));
      break;
    case StringKind::kIa5:
      for (char c : value) {
        if (static_cast<unsigned char>(c) >= 0x80) {
          return InvalidArgument("subject '" + std::string(whole) + "': " + type +
                                 " must be ASCII");
        }
      }
      encoded = der::Ia5String(value);
      break;
    case StringKind::kUtf8:
      encoded = der::Utf8String(value);
      break;
  }
  return der::Sequence({der::Oid(oid), encoded});
}

}  // namespace

Result<Bytes> ParseDistinguishedName(std::string_view text) {
  std::string_view whole = text;
  std::vector<std::string_view> rdns;
  bool slash_form = text.starts_with('/');
  if (slash_form) {
    // OpenSSL's "/CN=x/O=y" (in DER order).
    rdns = SplitUnescaped(text.substr(1), '/');
  } else {
    // RFC 4514: most specific first, so reverse to DER order.
    rdns = SplitUnescaped(text, ',');
    std::reverse(rdns.begin(), rdns.end());
  }
  std::vector<Bytes> sequence;
  for (std::string_view rdn : rdns) {
    rdn = TrimSpaces(rdn);
    if (rdn.empty()) {
      return InvalidArgument("subject '" + std::string(whole) +
                             "' has an empty component (expected e.g. \"CN=Name,O=Org,C=DE\")");
    }
    std::vector<Bytes> avas;
    for (std::string_view ava : SplitUnescaped(rdn, '+')) {
      SIGNET_ASSIGN_OR_RETURN(Bytes encoded, EncodeAva(TrimSpaces(ava), whole));
      avas.push_back(std::move(encoded));
    }
    sequence.push_back(der::SetOf(std::move(avas)));
  }
  return der::Sequence(sequence);
}

Bytes X509SignatureAlgorithmIdentifier(const SignatureAlgorithm& alg) {
  if (alg.scheme == SignatureScheme::kRsaPkcs1v15) {
    std::string_view oid = "1.2.840.113549.1.1.11";  // sha256WithRSAEncryption
    if (alg.digest == DigestAlgorithm::kSha384) oid = "1.2.840.113549.1.1.12";
    if (alg.digest == DigestAlgorithm::kSha512) oid = "1.2.840.113549.1.1.13";
    return der::Sequence({der::Oid(oid), der::Null()});
  }
  // RSASSA-PSS with parameters, ecdsa-with-SHAnnn and Ed25519 are written the
  // same in CMS and X.509.
  return cms::SignatureAlgorithmIdentifier(alg);
}

Result<Bytes> BuildCsr(const PublicKey& key, ByteView subject_name_der,
                       const SignatureAlgorithm& alg, const CsrSignCallback& sign) {
  if (!SchemeFitsKey(alg.scheme, key.type())) {
    return FailedPrecondition("a " + key.Description() + " key cannot sign " +
                              SignatureAlgorithmName(alg));
  }
  // RFC 2986 section 4.1: version 0, subject, subjectPKInfo, attributes [0] (empty).
  Bytes info = der::Sequence(
      {der::Integer(0), subject_name_der, key.SpkiDer(), der::ContextImplicitConstructed(0, {})});
  Bytes digest = Digest(alg.digest, info);
  SIGNET_ASSIGN_OR_RETURN(Bytes signature, sign(digest, info));
  Status check = alg.scheme == SignatureScheme::kEd25519 ? key.VerifyMessage(alg, info, signature)
                                                         : key.VerifyDigest(alg, digest, signature);
  if (!check) {
    return Unavailable("the signature over the certification request does not verify with the " +
                       key.Description() + " public key; no request was written");
  }
  // RFC 2986 section 4.2.
  return der::Sequence({info, X509SignatureAlgorithmIdentifier(alg), der::BitString(signature)});
}

std::string CsrPem(ByteView der) {
  std::string b64 = Base64Encode(der);
  std::string out = "-----BEGIN CERTIFICATE REQUEST-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  out += "-----END CERTIFICATE REQUEST-----\n";
  return out;
}

}  // namespace signet
