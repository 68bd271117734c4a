#include "formats/pe/authenticode.h"

#include "crypto/der.h"
#include "crypto/digest.h"

namespace signet::pe {
namespace {

// SpcPeImageData.file: the "<<<Obsolete>>>" SpcString that signing tools write.
constexpr std::string_view kObsolete = "<<<Obsolete>>>";

// UTF-8 to UTF-16BE (surrogate pairs above U+FFFF) for a BMPString as
// Windows reads it. Fails on malformed UTF-8.
Result<Bytes> Utf8ToUtf16Be(std::string_view s) {
  Bytes out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::uint32_t cp;
    int extra;
    if (c < 0x80) {
      cp = c;
      extra = 0;
    } else if ((c & 0xe0) == 0xc0) {
      cp = c & 0x1f;
      extra = 1;
    } else if ((c & 0xf0) == 0xe0) {
      cp = c & 0x0f;
      extra = 2;
    } else if ((c & 0xf8) == 0xf0) {
      cp = c & 0x07;
      extra = 3;
    } else {
      return InvalidArgument("the description is not valid UTF-8");
    }
    if (s.size() - i <= static_cast<std::size_t>(extra)) {
      return InvalidArgument("the description is not valid UTF-8");
    }
    for (int k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return InvalidArgument("the description is not valid UTF-8");
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return InvalidArgument("the description is not valid UTF-8");
    }
    i += static_cast<std::size_t>(extra) + 1;
    auto put = [&out](std::uint32_t unit) {
      out.push_back(static_cast<std::uint8_t>(unit >> 8));
      out.push_back(static_cast<std::uint8_t>(unit & 0xff));
    };
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xd800 | (cp >> 10));
      put(0xdc00 | (cp & 0x3ff));
    } else {
      put(cp);
    }
  }
  return out;
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80 || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

// SpcString ::= CHOICE { unicode [0] IMPLICIT BMPSTRING, ascii [1] IMPLICIT IA5STRING }
Result<Bytes> SpcString(std::string_view s) {
  if (IsAscii(s)) return der::ContextImplicitPrimitive(1, AsBytes(s));
  SIGNET_ASSIGN_OR_RETURN(Bytes utf16, Utf8ToUtf16Be(s));
  return der::ContextImplicitPrimitive(0, utf16);
}

// SpcSpOpusInfo ::= SEQUENCE { programName [0] EXPLICIT SpcString OPTIONAL,
//                              moreInfo [1] EXPLICIT SpcLink OPTIONAL }
// SpcLink ::= CHOICE { url [0] IMPLICIT IA5STRING, ... }
Result<Bytes> SpcSpOpusInfo(const SignedAttributeOptions& options) {
  std::vector<Bytes> fields;
  if (!options.description.empty()) {
    SIGNET_ASSIGN_OR_RETURN(Bytes name, SpcString(options.description));
    fields.push_back(der::ContextExplicit(0, name));
  }
  if (!options.url.empty()) {
    if (!IsAscii(options.url)) {
      return InvalidArgument("the URL '" + options.url + "' must be printable ASCII");
    }
    fields.push_back(
        der::ContextExplicit(1, der::ContextImplicitPrimitive(0, AsBytes(options.url))));
  }
  return der::Sequence(fields);
}

// Reads an AlgorithmIdentifier: its OID and (optional) parameters element.
Status ReadAlgorithm(const der::Element& alg, std::string* oid, ByteView* params) {
  der::Reader r(alg.content);
  SIGNET_ASSIGN_OR_RETURN(der::Element o, r.Expect(der::kOid, "algorithm OID"));
  SIGNET_ASSIGN_OR_RETURN(*oid, der::DecodeOid(o.content));
  if (!r.empty()) {
    SIGNET_ASSIGN_OR_RETURN(der::Element p, r.Next());
    if (params != nullptr) *params = p.whole;
  }
  if (!r.empty()) return InvalidArgument("DER: trailing data in an AlgorithmIdentifier");
  return {};
}

Result<SignerInfoView> ParseSignerInfo(const der::Element& si) {
  SignerInfoView out;
  der::Reader r(si.content);
  SIGNET_ASSIGN_OR_RETURN(der::Element version, r.Expect(der::kInteger, "SignerInfo version"));
  SIGNET_ASSIGN_OR_RETURN(std::uint64_t v, der::DecodeUnsigned(version.content));
  if (v != 1) {
    return InvalidArgument("SignerInfo version " + std::to_string(v) +
                           " (only issuerAndSerialNumber signers, version 1, are supported)");
  }
  SIGNET_ASSIGN_OR_RETURN(der::Element sid, r.Expect(der::kSequence, "issuerAndSerialNumber"));
  {
    der::Reader s(sid.content);
    SIGNET_ASSIGN_OR_RETURN(der::Element issuer, s.Expect(der::kSequence, "issuer"));
    SIGNET_ASSIGN_OR_RETURN(der::Element serial, s.Expect(der::kInteger, "serialNumber"));
    if (!s.empty()) return InvalidArgument("DER: trailing data in issuerAndSerialNumber");
    out.issuer_name = issuer.whole;
    out.serial = serial.whole;
  }
  SIGNET_ASSIGN_OR_RETURN(der::Element dig, r.Expect(der::kSequence, "digestAlgorithm"));
  SIGNET_RETURN_IF_ERROR(ReadAlgorithm(dig, &out.digest_oid, nullptr));
  if (r.PeekTag() == (der::kContextConstructed | 0)) {
    SIGNET_ASSIGN_OR_RETURN(der::Element sa, r.Next());
    out.signed_attrs = sa.whole;
  }
  SIGNET_ASSIGN_OR_RETURN(der::Element sig_alg, r.Expect(der::kSequence, "signatureAlgorithm"));
  SIGNET_RETURN_IF_ERROR(ReadAlgorithm(sig_alg, &out.signature_oid, &out.signature_params));
  SIGNET_ASSIGN_OR_RETURN(der::Element sig, r.Expect(der::kOctetString, "signature"));
  out.signature = sig.content;
  out.before_unsigned = si.content.subspan(0, r.position());
  if (r.PeekTag() == (der::kContextConstructed | 1)) {
    SIGNET_ASSIGN_OR_RETURN(der::Element ua, r.Next());
    SIGNET_ASSIGN_OR_RETURN(out.unsigned_attrs, ParseAttributes(ua.whole));
  }
  if (!r.empty()) return InvalidArgument("DER: trailing data in a SignerInfo");
  return out;
}

Bytes EncodeAttributes(const std::vector<OwnedAttribute>& attrs, std::uint8_t tag) {
  std::vector<Bytes> encoded;
  for (const OwnedAttribute& a : attrs) {
    encoded.push_back(der::Sequence({der::Oid(a.oid), der::SetOf(a.values)}));
  }
  Bytes set = der::SetOf(std::move(encoded));
  set[0] = tag;
  return set;
}

}  // namespace

Bytes SpcIndirectDataContent(DigestAlgorithm alg, ByteView image_digest) {
  // SpcLink file [2] EXPLICIT SpcString, itself unicode [0] IMPLICIT BMPString.
  Bytes obsolete = *Utf8ToUtf16Be(kObsolete);  // ASCII: cannot fail
  Bytes file =
      der::ContextExplicit(0, der::ContextExplicit(2, der::ContextImplicitPrimitive(0, obsolete)));
  Bytes pe_image_data = der::Sequence({der::BitString({}), file});
  Bytes data = der::Sequence({der::Oid(kOidSpcPeImageData), pe_image_data});
  Bytes digest_info =
      der::Sequence({cms::DigestAlgorithmIdentifier(alg), der::OctetString(image_digest)});
  return der::Sequence({data, digest_info});
}

Result<SpcInfo> ParseSpcIndirectData(ByteView der) {
  SIGNET_ASSIGN_OR_RETURN(der::Element top, der::ParseSingle(der, "SpcIndirectDataContent"));
  if (top.tag != der::kSequence) return InvalidArgument("SpcIndirectDataContent is not a SEQUENCE");
  der::Reader r(top.content);
  SIGNET_ASSIGN_OR_RETURN(der::Element data,
                          r.Expect(der::kSequence, "SpcAttributeTypeAndOptionalValue"));
  SIGNET_ASSIGN_OR_RETURN(der::Element digest_info, r.Expect(der::kSequence, "DigestInfo"));
  if (!r.empty()) return InvalidArgument("DER: trailing data in SpcIndirectDataContent");
  SpcInfo out;
  der::Reader dr(data.content);
  SIGNET_ASSIGN_OR_RETURN(der::Element type,
                          dr.Expect(der::kOid, "SpcAttributeTypeAndOptionalValue type"));
  SIGNET_ASSIGN_OR_RETURN(out.type_oid, der::DecodeOid(type.content));
  der::Reader di(digest_info.content);
  SIGNET_ASSIGN_OR_RETURN(der::Element alg, di.Expect(der::kSequence, "DigestInfo algorithm"));
  SIGNET_RETURN_IF_ERROR(ReadAlgorithm(alg, &out.digest_oid, nullptr));
  SIGNET_ASSIGN_OR_RETURN(der::Element digest, di.Expect(der::kOctetString, "DigestInfo digest"));
  if (!di.empty()) return InvalidArgument("DER: trailing data in DigestInfo");
  out.digest = digest.content;
  return out;
}

Result<ByteView> ContentOctets(ByteView der_element) {
  SIGNET_ASSIGN_OR_RETURN(der::Element e, der::ParseSingle(der_element, "content"));
  return e.content;
}

Result<Bytes> SignedAttributes(DigestAlgorithm alg, ByteView spc_indirect_data,
                               const SignedAttributeOptions& options) {
  SIGNET_ASSIGN_OR_RETURN(ByteView content, ContentOctets(spc_indirect_data));
  SIGNET_ASSIGN_OR_RETURN(Bytes opus, SpcSpOpusInfo(options));
  std::vector<cms::Attribute> attrs = cms::StandardSignedAttributes(
      kOidSpcIndirectData, Digest(alg, content), options.signing_time);
  attrs.push_back({std::string(kOidSpcStatementType),
                   {der::Sequence({der::Oid(kOidSpcIndividualCodeSigning)})}});
  attrs.push_back({std::string(kOidSpcSpOpusInfo), {opus}});
  return cms::SignedAttributesDer(attrs);
}

std::string DigestNameForOid(std::string_view oid) {
  if (oid == "1.3.14.3.2.26") return "sha1";
  if (oid == cms::DigestOid(DigestAlgorithm::kSha256)) return "sha256";
  if (oid == cms::DigestOid(DigestAlgorithm::kSha384)) return "sha384";
  if (oid == cms::DigestOid(DigestAlgorithm::kSha512)) return "sha512";
  return {};
}

Result<std::vector<AttributeView>> ParseAttributes(ByteView set_element) {
  SIGNET_ASSIGN_OR_RETURN(der::Element set, der::ParseSingle(set_element, "attributes"));
  std::vector<AttributeView> out;
  der::Reader attrs(set.content);
  while (!attrs.empty()) {
    SIGNET_ASSIGN_OR_RETURN(der::Element attr, attrs.Expect(der::kSequence, "attribute"));
    der::Reader fields(attr.content);
    SIGNET_ASSIGN_OR_RETURN(der::Element oid, fields.Expect(der::kOid, "attribute type"));
    SIGNET_ASSIGN_OR_RETURN(der::Element values, fields.Expect(der::kSet, "attribute values"));
    if (!fields.empty()) return InvalidArgument("DER: trailing data in an attribute");
    AttributeView a;
    SIGNET_ASSIGN_OR_RETURN(a.oid, der::DecodeOid(oid.content));
    der::Reader vr(values.content);
    while (!vr.empty()) {
      SIGNET_ASSIGN_OR_RETURN(der::Element v, vr.Next());
      a.values.push_back(v.whole);
    }
    out.push_back(std::move(a));
  }
  return out;
}

const AttributeView* FindAttribute(const std::vector<AttributeView>& attrs, std::string_view oid) {
  for (const AttributeView& a : attrs) {
    if (a.oid == oid) return &a;
  }
  return nullptr;
}

Result<SignedDataView> ParseSignedData(ByteView content_info) {
  SIGNET_ASSIGN_OR_RETURN(der::Element ci, der::ParseSingle(content_info, "ContentInfo"));
  if (ci.tag != der::kSequence) return InvalidArgument("DER: ContentInfo is not a SEQUENCE");
  der::Reader cr(ci.content);
  SIGNET_ASSIGN_OR_RETURN(der::Element type, cr.Expect(der::kOid, "contentType"));
  SIGNET_ASSIGN_OR_RETURN(std::string type_oid, der::DecodeOid(type.content));
  if (type_oid != cms::kOidSignedData) {
    return InvalidArgument("the ContentInfo holds " + type_oid + ", not SignedData");
  }
  SIGNET_ASSIGN_OR_RETURN(der::Element wrapper, cr.Expect(der::kContextConstructed | 0, "content"));
  if (!cr.empty()) return InvalidArgument("DER: trailing data in ContentInfo");
  SIGNET_ASSIGN_OR_RETURN(der::Element sd, der::ParseSingle(wrapper.content, "SignedData"));
  if (sd.tag != der::kSequence) return InvalidArgument("DER: SignedData is not a SEQUENCE");

  SignedDataView out;
  der::Reader r(sd.content);
  SIGNET_ASSIGN_OR_RETURN(der::Element version, r.Expect(der::kInteger, "SignedData version"));
  SIGNET_RETURN_IF_ERROR(der::DecodeUnsigned(version.content));
  SIGNET_RETURN_IF_ERROR(r.Expect(der::kSet, "digestAlgorithms"));
  SIGNET_ASSIGN_OR_RETURN(der::Element encap, r.Expect(der::kSequence, "encapContentInfo"));
  {
    der::Reader e(encap.content);
    SIGNET_ASSIGN_OR_RETURN(der::Element ct, e.Expect(der::kOid, "eContentType"));
    SIGNET_ASSIGN_OR_RETURN(out.content_type, der::DecodeOid(ct.content));
    if (!e.empty()) {
      SIGNET_ASSIGN_OR_RETURN(der::Element ec, e.Expect(der::kContextConstructed | 0, "eContent"));
      SIGNET_ASSIGN_OR_RETURN(der::Element inner, der::ParseSingle(ec.content, "eContent"));
      out.content = inner.whole;
    }
    if (!e.empty()) return InvalidArgument("DER: trailing data in encapContentInfo");
  }
  if (r.PeekTag() == (der::kContextConstructed | 0)) {
    SIGNET_ASSIGN_OR_RETURN(der::Element certs, r.Next());
    der::Reader cr2(certs.content);
    while (!cr2.empty()) {
      SIGNET_ASSIGN_OR_RETURN(der::Element c, cr2.Next());
      if (c.tag == der::kSequence) out.certificates.push_back(c.whole);
    }
  }
  if (r.PeekTag() == (der::kContextConstructed | 1)) {
    SIGNET_RETURN_IF_ERROR(r.Next());  // crls: not used
  }
  out.before_signers = sd.content.subspan(0, r.position());
  SIGNET_ASSIGN_OR_RETURN(der::Element signers, r.Expect(der::kSet, "signerInfos"));
  if (!r.empty()) return InvalidArgument("DER: trailing data in SignedData");
  der::Reader sr(signers.content);
  while (!sr.empty()) {
    SIGNET_ASSIGN_OR_RETURN(der::Element si, sr.Expect(der::kSequence, "SignerInfo"));
    SIGNET_ASSIGN_OR_RETURN(SignerInfoView view, ParseSignerInfo(si));
    out.signers.push_back(std::move(view));
  }
  if (out.signers.empty()) return InvalidArgument("SignedData has no SignerInfo");
  return out;
}

std::vector<OwnedAttribute> OwnUnsignedAttributes(const SignedDataView& sd) {
  std::vector<OwnedAttribute> out;
  for (const AttributeView& a : sd.signers.front().unsigned_attrs) {
    OwnedAttribute o{a.oid, {}};
    for (ByteView v : a.values) o.values.emplace_back(v.begin(), v.end());
    out.push_back(std::move(o));
  }
  return out;
}

Result<Bytes> ReplaceUnsignedAttributes(ByteView content_info,
                                        const std::vector<OwnedAttribute>& attrs) {
  SIGNET_ASSIGN_OR_RETURN(SignedDataView sd, ParseSignedData(content_info));
  // Re-read the SignerInfos to keep every one but the first byte for byte.
  SIGNET_ASSIGN_OR_RETURN(der::Element ci, der::ParseSingle(content_info, "ContentInfo"));
  der::Reader cr(ci.content);
  SIGNET_RETURN_IF_ERROR(cr.Next());
  SIGNET_ASSIGN_OR_RETURN(der::Element wrapper, cr.Next());
  SIGNET_ASSIGN_OR_RETURN(der::Element sdel, der::ParseSingle(wrapper.content, "SignedData"));
  der::Reader r(sdel.content.subspan(sd.before_signers.size()));
  SIGNET_ASSIGN_OR_RETURN(der::Element signers, r.Expect(der::kSet, "signerInfos"));
  der::Reader sr(signers.content);
  SIGNET_ASSIGN_OR_RETURN(der::Element first, sr.Next());
  ByteView rest = signers.content.subspan(first.whole.size());

  Bytes signer_content(sd.signers.front().before_unsigned.begin(),
                       sd.signers.front().before_unsigned.end());
  if (!attrs.empty()) {
    Bytes ua = EncodeAttributes(attrs, der::kContextConstructed | 1);
    signer_content.insert(signer_content.end(), ua.begin(), ua.end());
  }
  Bytes new_first = der::Tlv(der::kSequence, signer_content);
  Bytes signer_set = der::Tlv(der::kSet, der::Concat({new_first, rest}));
  Bytes signed_data = der::Tlv(der::kSequence, der::Concat({sd.before_signers, signer_set}));
  return der::Sequence({der::Oid(cms::kOidSignedData), der::ContextExplicit(0, signed_data)});
}

}  // namespace signet::pe
