#include "crypto/cms_signed_data.h"

#include <algorithm>

#include "crypto/der.h"

namespace signet::cms {
namespace {

std::string_view EcdsaOid(DigestAlgorithm alg) {
  switch (alg) {
    case DigestAlgorithm::kSha256:
      return "1.2.840.10045.4.3.2";
    case DigestAlgorithm::kSha384:
      return "1.2.840.10045.4.3.3";
    case DigestAlgorithm::kSha512:
      return "1.2.840.10045.4.3.4";
  }
  return "1.2.840.10045.4.3.2";
}

Bytes EncodeAttribute(const Attribute& a) {
  return der::Sequence({der::Oid(a.oid), der::SetOf(a.values)});
}

Result<std::time_t> ParseTime(const der::Element& e) {
  std::string s(e.content.begin(), e.content.end());
  if (s.empty() || s.back() != 'Z') return InvalidArgument("signingTime is not in UTC");
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return InvalidArgument("signingTime has a non-digit");
  }
  std::tm tm{};
  int year = 0;
  std::size_t pos = 0;
  if (e.tag == der::kUtcTime && s.size() == 13) {
    year = std::stoi(s.substr(0, 2));
    year += year < 50 ? 2000 : 1900;
    pos = 2;
  } else if (e.tag == der::kGeneralizedTime && s.size() == 15) {
    year = std::stoi(s.substr(0, 4));
    pos = 4;
  } else {
    return InvalidArgument("signingTime is not a UTCTime or GeneralizedTime in Z form");
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = std::stoi(s.substr(pos, 2)) - 1;
  tm.tm_mday = std::stoi(s.substr(pos + 2, 2));
  tm.tm_hour = std::stoi(s.substr(pos + 4, 2));
  tm.tm_min = std::stoi(s.substr(pos + 6, 2));
  tm.tm_sec = std::stoi(s.substr(pos + 8, 2));
  return timegm(&tm);
}

}  // namespace

std::string_view DigestOid(DigestAlgorithm alg) {
  switch (alg) {
    case DigestAlgorithm::kSha256:
      return "2.16.840.1.101.3.4.2.1";
    case DigestAlgorithm::kSha384:
      return "2.16.840.1.101.3.4.2.2";
    case DigestAlgorithm::kSha512:
      return "2.16.840.1.101.3.4.2.3";
  }
  return "2.16.840.1.101.3.4.2.1";
}

std::vector<Attribute> StandardSignedAttributes(std::string_view content_type_oid,
                                                ByteView message_digest, std::time_t signing_time) {
  std::vector<Attribute> attrs;
  attrs.push_back({std::string(kOidContentType), {der::Oid(content_type_oid)}});
  if (signing_time != 0) attrs.push_back({std::string(kOidSigningTime), {der::Time(signing_time)}});
  attrs.push_back({std::string(kOidMessageDigest), {der::OctetString(message_digest)}});
  return attrs;
}

Bytes SignedAttributesDer(const std::vector<Attribute>& attributes) {
  std::vector<Bytes> encoded;
  encoded.reserve(attributes.size());
  for (const auto& a : attributes) encoded.push_back(EncodeAttribute(a));
  return der::SetOf(std::move(encoded));
}

Bytes DigestAlgorithmIdentifier(DigestAlgorithm alg) {
  return der::Sequence({der::Oid(DigestOid(alg)), der::Null()});
}

Bytes SignatureAlgorithmIdentifier(const SignatureAlgorithm& alg) {
  switch (alg.scheme) {
    case SignatureScheme::kRsaPkcs1v15:
      return der::Sequence({der::Oid("1.2.840.113549.1.1.1"), der::Null()});
    case SignatureScheme::kRsaPss: {
      Bytes hash = DigestAlgorithmIdentifier(alg.digest);
      Bytes mgf = der::Sequence({der::Oid("1.2.840.113549.1.1.8"), hash});
      Bytes params =
          der::Sequence({der::ContextExplicit(0, hash), der::ContextExplicit(1, mgf),
                         der::ContextExplicit(
                             2, der::Integer(static_cast<std::int64_t>(DigestSize(alg.digest))))});
      return der::Sequence({der::Oid("1.2.840.113549.1.1.10"), params});
    }
    case SignatureScheme::kEcdsa:
      return der::Sequence({der::Oid(EcdsaOid(alg.digest))});
    case SignatureScheme::kEd25519:
      return der::Sequence({der::Oid("1.3.101.112")});
  }
  return {};
}

Bytes BuildSignerInfo(const SignerInfoInput& input) {
  Bytes issuer_and_serial =
      der::Sequence({input.signer->IssuerNameDer(), input.signer->SerialNumberDer()});
  // [0] IMPLICIT SET OF Attribute: same content, tag 0xA0 instead of 0x31.
  Bytes signed_attrs = input.signed_attributes;
  if (!signed_attrs.empty()) signed_attrs[0] = der::kContextConstructed | 0;
  std::vector<Bytes> items = {der::Integer(1),
                              issuer_and_serial,
                              DigestAlgorithmIdentifier(input.algorithm.digest),
                              signed_attrs,
                              SignatureAlgorithmIdentifier(input.algorithm),
                              der::OctetString(input.signature)};
  if (!input.unsigned_attributes.empty()) {
    Bytes set = SignedAttributesDer(input.unsigned_attributes);
    set[0] = der::kContextConstructed | 1;
    items.push_back(set);
  }
  return der::Sequence(items);
}

Bytes BuildSignedData(const SignedDataInput& input) {
  std::vector<Bytes> digest_algs;
  for (DigestAlgorithm alg : input.digest_algorithms) {
    Bytes id = DigestAlgorithmIdentifier(alg);
    if (std::find(digest_algs.begin(), digest_algs.end(), id) == digest_algs.end()) {
      digest_algs.push_back(id);
    }
  }
  Bytes encap = input.content ? der::Sequence({der::Oid(input.content_type_oid),
                                               der::ContextExplicit(0, *input.content)})
                              : der::Sequence({der::Oid(input.content_type_oid)});
  std::vector<Bytes> items = {der::Integer(1), der::SetOf(digest_algs), encap};
  if (input.certificates != nullptr && !input.certificates->empty()) {
    Bytes certs;
    for (const Certificate& c : *input.certificates) {
      Bytes d = c.Der();
      certs.insert(certs.end(), d.begin(), d.end());
    }
    items.push_back(der::ContextImplicitConstructed(0, certs));
  }
  Bytes signer_infos;
  for (const Bytes& si : input.signer_infos)
    signer_infos.insert(signer_infos.end(), si.begin(), si.end());
  items.push_back(der::Tlv(der::kSet, signer_infos));
  Bytes signed_data = der::Sequence(items);
  return der::Sequence({der::Oid(kOidSignedData), der::ContextExplicit(0, signed_data)});
}

Result<ParsedSignedAttributes> ParseSignedAttributes(ByteView data) {
  SIGNET_ASSIGN_OR_RETURN(der::Element set, der::ParseSingle(data, "signed attributes"));
  if (set.tag != der::kSet) return InvalidArgument("signed attributes are not a DER SET");
  ParsedSignedAttributes out;
  bool have_type = false;
  bool have_digest = false;
  der::Reader attrs(set.content);
  while (!attrs.empty()) {
    SIGNET_ASSIGN_OR_RETURN(der::Element attr, attrs.Expect(der::kSequence, "attribute"));
    der::Reader fields(attr.content);
    SIGNET_ASSIGN_OR_RETURN(der::Element oid_el, fields.Expect(der::kOid, "attribute type"));
    SIGNET_ASSIGN_OR_RETURN(std::string oid, der::DecodeOid(oid_el.content));
    SIGNET_ASSIGN_OR_RETURN(der::Element values, fields.Expect(der::kSet, "attribute values"));
    if (!fields.empty()) return InvalidArgument("attribute has trailing data");
    der::Reader vr(values.content);
    SIGNET_ASSIGN_OR_RETURN(der::Element value, vr.Next());
    bool single = vr.empty();
    if (oid == kOidContentType) {
      if (have_type || !single || value.tag != der::kOid) {
        return InvalidArgument("contentType attribute must hold exactly one OID, once");
      }
      SIGNET_ASSIGN_OR_RETURN(out.content_type_oid, der::DecodeOid(value.content));
      have_type = true;
    } else if (oid == kOidMessageDigest) {
      if (have_digest || !single || value.tag != der::kOctetString) {
        return InvalidArgument("messageDigest attribute must hold exactly one OCTET STRING, once");
      }
      out.message_digest.assign(value.content.begin(), value.content.end());
      have_digest = true;
    } else if (oid == kOidSigningTime) {
      if (out.signing_time || !single)
        return InvalidArgument("signingTime attribute must appear once");
      SIGNET_ASSIGN_OR_RETURN(std::time_t t, ParseTime(value));
      out.signing_time = t;
    }
  }
  if (!have_type) return InvalidArgument("signed attributes lack contentType");
  if (!have_digest) return InvalidArgument("signed attributes lack messageDigest");
  return out;
}

}  // namespace signet::cms
