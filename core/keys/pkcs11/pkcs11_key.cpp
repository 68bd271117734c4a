// The pkcs11: key backend (see pkcs11_key.h): resolves an RFC 7512 URI to a
// private key object on a token, prefetches its public key and certificate,
// and signs digests with the token.
//
// Open(uri):
//   module   module-path (or module-name in a module-path directory), else
//            $SIGNET_PKCS11_MODULE (pkcs11_module.h).
//   token    the one initialised token whose label/serial/manufacturer/model/
//            slot-*/library-* match the URI; none -> kUnavailable listing the
//            labels available, several -> kInvalidArgument.
//   PIN      only when the token needs a login: KeyOptions::pin, else the
//            URI's pin-source (a path or file: URI), else pin-value, else
//            $SIGNET_PKCS11_PIN; none -> kInvalidArgument.
//   key      exactly one CKO_PRIVATE_KEY matching object= (CKA_LABEL) and id=
//            (CKA_ID); a URI with type= other than private is refused.
//   public   the CKO_PUBLIC_KEY with the key's CKA_ID (RSA modulus/exponent,
//            EC/EdDSA params + point), else the certificate's key, else (RSA)
//            the private object's public attributes.
//   chain    the X.509 CKO_CERTIFICATE with the key's CKA_ID, then
//            ResolveCertificateChain() (--cert fallback / extra intermediates).
// Sign(): RSA PKCS#1 v1.5 = CKM_RSA_PKCS over the DigestInfo; RSA-PSS =
// CKM_RSA_PKCS_PSS (same-digest MGF1, salt = digest length); ECDSA =
// CKM_ECDSA, raw r||s re-encoded as DER; Ed25519 = CKM_EDDSA over the message.
// Every signature is checked with the prefetched public key before it is
// returned.
// List(uri): the private keys of every matching token, as full URIs
// (token, object, id, type=private, module-path [, pin-source]).
#include "keys/pkcs11/pkcs11_key.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "crypto/der.h"
#include "keys/pkcs11/pkcs11_module.h"
#include "keys/pkcs11/pkcs11_uri.h"

namespace signet {
namespace {

using pkcs11::Module;
using pkcs11::Session;
using pkcs11::TokenInfo;

constexpr std::string_view kFileScheme = "file:";
// Bound on the private keys one URI may match on a token (listing included).
constexpr std::size_t kMaxObjects = 4096;

// OIDs of the SubjectPublicKeyInfo algorithms built here.
constexpr std::string_view kOidRsaEncryption = "1.2.840.113549.1.1.1";  // RFC 8017 appendix A.1
constexpr std::string_view kOidEcPublicKey = "1.2.840.10045.2.1";       // RFC 5480 section 2.1.1
constexpr std::string_view kOidEd25519 = "1.3.101.112";                 // RFC 8410 section 3

// ---- URI and PIN ----

// The file a pin-source names: a path, or a file: URI (RFC 8089) with an
// empty or "localhost" authority. Other schemes and "|command" are refused:
// signet runs no programs named by a URI.
Result<std::string> PinSourcePath(const std::string& source) {
  std::string_view s = source;
  if (s.size() >= kFileScheme.size() && s.substr(0, kFileScheme.size()) == kFileScheme) {
    s.remove_prefix(kFileScheme.size());
    if (s.substr(0, 2) == "//") {
      s.remove_prefix(2);
      if (s.substr(0, 9) == "localhost") s.remove_prefix(9);
      if (s.empty() || s.front() != '/') {
        return InvalidArgument(
            "pin-source file: URI must name a local absolute path (file:/path or file:///path)");
      }
    }
    if (s.empty()) return InvalidArgument("pin-source file: URI has no path");
    return std::string(s);
  }
  if (s.empty()) return InvalidArgument("pin-source is empty");
  if (s.front() == '|') {
    return InvalidArgument("pin-source commands ('|...') are not supported: use a file");
  }
  // "scheme:..." other than file: (a path may still contain ':' after a '/').
  auto colon = s.find(':');
  auto slash = s.find('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash)) {
    return InvalidArgument("pin-source must be a file path or a file: URI");
  }
  return std::string(s);
}

// The PIN, in order of precedence: KeyOptions::pin (resolved by the caller),
// the URI's pin-source file, its pin-value, $SIGNET_PKCS11_PIN. nullopt when
// none is given.
Result<std::optional<Secret>> ResolvePin(const Pkcs11Uri& uri, const KeyOptions& options) {
  if (options.pin) return options.pin;
  if (uri.pin_source) {
    SIGNET_ASSIGN_OR_RETURN(std::string path, PinSourcePath(*uri.pin_source));
    auto pin = ReadSecretFile(path);
    if (!pin) return std::unexpected(pin.error().WithContext("pin-source"));
    return std::optional<Secret>(std::move(*pin));
  }
  if (uri.pin_value) return uri.pin_value;
  Secret env = SecretFromEnv(pkcs11::kPinEnv);
  if (!env.empty()) return std::optional<Secret>(std::move(env));
  return std::optional<Secret>();
}

Status RejectUnknownAttributes(const Pkcs11Uri& uri) {
  if (uri.unknown_path_attributes.empty()) return {};
  return InvalidArgument("PKCS#11 URI " + uri.Redacted() + " has path attribute '" +
                         uri.unknown_path_attributes.front().first +
                         "' that signet does not know; such a URI matches nothing (RFC 7512 "
                         "section 2.4): remove it");
}

// ---- tokens ----

struct TokenSelection {
  std::shared_ptr<Module> module;
  std::vector<TokenInfo> all;       // every initialised token of the module
  std::vector<TokenInfo> matching;  // those the URI selects
};

std::string AvailableLabels(const std::vector<TokenInfo>& tokens) {
  if (tokens.empty()) return "the module has no initialised token";
  std::string out = "available: ";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += ", ";
    out += "'" + tokens[i].label + "'";
  }
  return out;
}

Result<TokenSelection> SelectTokens(const Pkcs11Uri& uri) {
  SIGNET_ASSIGN_OR_RETURN(std::string path, Module::ResolvePath(uri));
  TokenSelection selection;
  SIGNET_ASSIGN_OR_RETURN(selection.module, Module::Load(path));
  SIGNET_ASSIGN_OR_RETURN(selection.all, selection.module->Tokens());
  for (const TokenInfo& token : selection.all) {
    if (pkcs11::TokenMatches(uri, selection.module->library(), token)) {
      selection.matching.push_back(token);
    }
  }
  if (selection.matching.empty()) {
    return Unavailable("no token matching " + uri.Redacted() + " in PKCS#11 module '" + path +
                       "' (" + AvailableLabels(selection.all) + ")");
  }
  return selection;
}

// Opens (or reuses) the token's session and logs in when the token needs it.
Result<std::shared_ptr<Session>> OpenToken(Module& module, const TokenInfo& token,
                                           const Pkcs11Uri& uri, const KeyOptions& options) {
  SIGNET_ASSIGN_OR_RETURN(std::shared_ptr<Session> session, module.SessionFor(token));
  std::optional<Secret> pin;
  if (token.login_required()) {
    SIGNET_ASSIGN_OR_RETURN(pin, ResolvePin(uri, options));
  }
  SIGNET_RETURN_IF_ERROR(session->Login(pin));
  return session;
}

// ---- objects ----

// A template under construction; keeps the values the attributes point to.
class Template {
 public:
  void Class(ck_object_class_t value) { AddULong(CKA_CLASS, value); }
  void ULong(ck_attribute_type_t type, unsigned long value) { AddULong(type, value); }
  void Data(ck_attribute_type_t type, ByteView value) {
    storage_.emplace_back(value.begin(), value.end());
    types_.push_back(type);
  }
  void Text(ck_attribute_type_t type, std::string_view value) { Data(type, AsBytes(value)); }

  // The attributes, valid until this template changes.
  std::vector<ck_attribute> Build() {
    std::vector<ck_attribute> out;
    for (std::size_t i = 0; i < types_.size(); ++i) {
      Bytes& v = storage_[i];
      out.push_back(ck_attribute{types_[i], v.empty() ? nullptr : v.data(), v.size()});
    }
    return out;
  }

 private:
  void AddULong(ck_attribute_type_t type, unsigned long value) {
    Bytes bytes(sizeof value);
    std::memcpy(bytes.data(), &value, sizeof value);
    storage_.push_back(std::move(bytes));
    types_.push_back(type);
  }
  std::vector<ck_attribute_type_t> types_;
  std::vector<Bytes> storage_;
};

Result<std::vector<ck_object_handle_t>> Find(Session& session, Template& t,
                                             std::size_t limit = kMaxObjects) {
  std::vector<ck_attribute> attributes = t.Build();
  return session.FindObjects(attributes, limit);
}

std::optional<unsigned long> AsULong(const std::optional<Bytes>& value) {
  if (!value || value->size() != sizeof(unsigned long)) return std::nullopt;
  unsigned long out = 0;
  std::memcpy(&out, value->data(), sizeof out);
  return out;
}

// What the backend knows about a private key object.
struct KeyObject {
  ck_object_handle_t handle = 0;
  std::string label;  // CKA_LABEL, may be empty
  Bytes id;           // CKA_ID, may be empty
  std::optional<unsigned long> key_type;
  bool always_authenticate = false;

  // For messages: "rsa", or "id=%01" for an unlabelled key.
  [[nodiscard]] std::string Name() const {
    if (!label.empty()) return label;
    if (!id.empty()) return "id=" + Pkcs11PercentEncodeAll(id);
    return "(unlabelled key)";
  }
};

Result<KeyObject> ReadKeyObject(Session& session, ck_object_handle_t handle) {
  KeyObject key;
  key.handle = handle;
  SIGNET_ASSIGN_OR_RETURN(auto label, session.GetAttribute(handle, CKA_LABEL, ""));
  if (label) key.label = ToString(*label);
  const std::string name = key.label;
  SIGNET_ASSIGN_OR_RETURN(auto id, session.GetAttribute(handle, CKA_ID, name));
  if (id) key.id = std::move(*id);
  SIGNET_ASSIGN_OR_RETURN(auto type, session.GetAttribute(handle, CKA_KEY_TYPE, name));
  key.key_type = AsULong(type);
  SIGNET_ASSIGN_OR_RETURN(auto always, session.GetAttribute(handle, CKA_ALWAYS_AUTHENTICATE, name));
  key.always_authenticate = always && always->size() == 1 && (*always)[0] != 0;
  return key;
}

// The OCTET STRING content when `point` is a DER OCTET STRING (PKCS#11 v2.40
// CKA_EC_POINT), plus `point` itself: some tokens return the raw point.
std::vector<Bytes> EcPointCandidates(const Bytes& point) {
  std::vector<Bytes> out;
  auto element = der::ParseSingle(point, "CKA_EC_POINT");
  if (element && element->tag == der::kOctetString && !element->content.empty()) {
    out.emplace_back(element->content.begin(), element->content.end());
  }
  out.push_back(point);
  return out;
}

bool IsEd25519Params(const Bytes& params) {
  // RFC 8410 OID, or the PrintableString "edwards25519" that PKCS#11 v3.0
  // also allows for CKA_EC_PARAMS of Edwards keys (SoftHSM2 2.6 and OpenSC
  // write this form).
  static const Bytes kOid = der::Oid(kOidEd25519);
  static const Bytes kName = der::Tlv(der::kPrintableString, AsBytes("edwards25519"));
  return params == kOid || params == kName;
}

// Builds the public key from a public (or, for RSA, private) key object.
// nullopt when the object lacks the attributes needed.
Result<std::optional<PublicKey>> PublicKeyFromObject(Session& session, ck_object_handle_t handle,
                                                     unsigned long key_type,
                                                     const std::string& name) {
  if (key_type == CKK_RSA) {
    SIGNET_ASSIGN_OR_RETURN(auto modulus, session.GetAttribute(handle, CKA_MODULUS, name));
    SIGNET_ASSIGN_OR_RETURN(auto exponent, session.GetAttribute(handle, CKA_PUBLIC_EXPONENT, name));
    if (!modulus || !exponent || modulus->empty() || exponent->empty()) return std::nullopt;
    Bytes rsa_key =
        der::Sequence({der::IntegerFromUnsigned(*modulus), der::IntegerFromUnsigned(*exponent)});
    Bytes spki = der::Sequence(
        {der::Sequence({der::Oid(kOidRsaEncryption), der::Null()}), der::BitString(rsa_key)});
    auto key = PublicKey::FromSpkiDer(spki);
    if (!key) return std::unexpected(key.error().WithContext("public key of '" + name + "'"));
    return std::optional<PublicKey>(std::move(*key));
  }
  if (key_type != CKK_EC && key_type != CKK_EC_EDWARDS) {
    return FailedPrecondition("key '" + name + "' has a key type signet cannot use (CKA_KEY_TYPE " +
                              std::to_string(key_type) + "; use RSA, EC or Ed25519)");
  }
  SIGNET_ASSIGN_OR_RETURN(auto params, session.GetAttribute(handle, CKA_EC_PARAMS, name));
  SIGNET_ASSIGN_OR_RETURN(auto point, session.GetAttribute(handle, CKA_EC_POINT, name));
  if (!params || !point || params->empty() || point->empty()) return std::nullopt;
  if (key_type == CKK_EC_EDWARDS && !IsEd25519Params(*params)) {
    return FailedPrecondition("key '" + name +
                              "' is an EdDSA key on a curve other than Ed25519, which signet "
                              "does not support");
  }
  std::optional<Error> last_error;
  for (const Bytes& candidate : EcPointCandidates(*point)) {
    Bytes spki;
    if (key_type == CKK_EC) {
      // ECParameters (RFC 5480 section 2.1.1) as the token stores them.
      spki = der::Sequence(
          {der::Sequence({der::Oid(kOidEcPublicKey), *params}), der::BitString(candidate)});
    } else {
      spki = der::Sequence({der::Sequence({der::Oid(kOidEd25519)}), der::BitString(candidate)});
    }
    auto key = PublicKey::FromSpkiDer(spki);
    if (key) return std::optional<PublicKey>(std::move(*key));
    last_error = key.error();
  }
  return std::unexpected(last_error->WithContext("public key of '" + name + "'"));
}

// Objects of `object_class` that belong to `key`: same CKA_ID, or, for a key
// without an id, the same label.
Result<std::vector<ck_object_handle_t>> CompanionObjects(Session& session, const KeyObject& key,
                                                         ck_object_class_t object_class) {
  if (key.id.empty() && key.label.empty()) return std::vector<ck_object_handle_t>();
  Template t;
  t.Class(object_class);
  if (!key.id.empty()) {
    t.Data(CKA_ID, key.id);
  } else {
    t.Text(CKA_LABEL, key.label);
  }
  if (object_class == CKO_CERTIFICATE) t.ULong(CKA_CERTIFICATE_TYPE, CKC_X_509);
  return Find(session, t, 64);
}

// X.509 certificates stored with the key (CKA_VALUE DER).
Result<std::vector<Certificate>> CompanionCertificates(Session& session, const KeyObject& key) {
  SIGNET_ASSIGN_OR_RETURN(auto handles, CompanionObjects(session, key, CKO_CERTIFICATE));
  std::vector<Certificate> certificates;
  for (ck_object_handle_t handle : handles) {
    SIGNET_ASSIGN_OR_RETURN(auto der, session.GetAttribute(handle, CKA_VALUE, key.Name()));
    if (!der) continue;
    auto certificate = Certificate::FromDer(*der);
    if (!certificate) {
      return std::unexpected(certificate.error().WithContext(
          "certificate of key '" + key.Name() + "' on token '" + session.token().label + "'"));
    }
    certificates.push_back(std::move(*certificate));
  }
  return certificates;
}

// The key's public key: from its public key object, else its certificate,
// else (RSA) the private key object's public attributes.
Result<PublicKey> FindPublicKey(Session& session, const KeyObject& key,
                                const std::vector<Certificate>& certificates) {
  const std::string name = key.Name();
  if (!key.key_type) {
    return FailedPrecondition("key '" + name + "' on token '" + session.token().label +
                              "' has no readable CKA_KEY_TYPE");
  }
  SIGNET_ASSIGN_OR_RETURN(auto handles, CompanionObjects(session, key, CKO_PUBLIC_KEY));
  for (ck_object_handle_t handle : handles) {
    SIGNET_ASSIGN_OR_RETURN(auto type, session.GetAttribute(handle, CKA_KEY_TYPE, name));
    if (AsULong(type) != key.key_type) continue;
    SIGNET_ASSIGN_OR_RETURN(auto public_key,
                            PublicKeyFromObject(session, handle, *key.key_type, name));
    if (public_key) return std::move(*public_key);
  }
  for (const Certificate& certificate : certificates) {
    auto public_key = certificate.GetPublicKey();
    if (public_key) return std::move(*public_key);
  }
  if (*key.key_type == CKK_RSA) {
    SIGNET_ASSIGN_OR_RETURN(auto public_key,
                            PublicKeyFromObject(session, key.handle, CKK_RSA, name));
    if (public_key) return std::move(*public_key);
  }
  if (*key.key_type != CKK_RSA && *key.key_type != CKK_EC && *key.key_type != CKK_EC_EDWARDS) {
    // Reports the unsupported type.
    SIGNET_RETURN_IF_ERROR(PublicKeyFromObject(session, key.handle, *key.key_type, name));
  }
  return FailedPrecondition(
      "key '" + name + "' on token '" + session.token().label +
      "' has no public key object or certificate with the same CKA_ID: import one (e.g. "
      "pkcs11-tool --write-object KEY.der --type pubkey --id " +
      HexEncode(key.id) + ")");
}

// The token's certificate for `public_key`: among those stored with the key,
// the one for this key that expires last; a non-matching one is returned so
// that ResolveCertificateChain reports the mismatch.
CertificateChain TokenChain(const std::vector<Certificate>& certificates,
                            const PublicKey& public_key) {
  const Certificate* best = nullptr;
  for (const Certificate& certificate : certificates) {
    auto key = certificate.GetPublicKey();
    if (!key || !(*key == public_key)) continue;
    if (best == nullptr || certificate.NotAfter() > best->NotAfter()) best = &certificate;
  }
  if (best != nullptr) return {*best};
  if (!certificates.empty()) return {certificates.front()};
  return {};
}

// Private keys on the session's token that the URI selects.
Result<std::vector<ck_object_handle_t>> FindPrivateKeys(Session& session, const Pkcs11Uri& uri) {
  Template t;
  t.Class(CKO_PRIVATE_KEY);
  if (uri.object) t.Text(CKA_LABEL, *uri.object);
  if (uri.id) t.Data(CKA_ID, *uri.id);
  return Find(session, t);
}

// ---- the signer ----

class Pkcs11Signer final : public KeySigner {
 public:
  Pkcs11Signer(std::string uri, std::shared_ptr<Session> session, std::uint64_t generation,
               KeyObject key, PublicKey public_key, CertificateChain chain,
               std::optional<Secret> context_pin)
      : uri_(std::move(uri)),
        session_(std::move(session)),
        generation_(generation),
        key_(std::move(key)),
        public_key_(std::move(public_key)),
        chain_(std::move(chain)),
        context_pin_(std::move(context_pin)) {}

  [[nodiscard]] std::string uri() const override { return uri_; }
  [[nodiscard]] const PublicKey& public_key() const override { return public_key_; }
  [[nodiscard]] const CertificateChain& certificate_chain() const override { return chain_; }

  Result<Bytes> Sign(const SignRequest& request) override {
    const SignatureAlgorithm& alg = request.algorithm;
    if (!SchemeFitsKey(alg.scheme, public_key_.type())) {
      return FailedPrecondition(SignatureAlgorithmName(alg) + " cannot be used with key '" +
                                key_.Name() + "' (" + public_key_.Description() + ") on token '" +
                                session_->token().label + "'");
    }
    if (alg.scheme != SignatureScheme::kEd25519 &&
        request.digest.size() != DigestSize(alg.digest)) {
      return InvalidArgument("a " + std::string(DigestName(alg.digest)) + " digest has " +
                             std::to_string(DigestSize(alg.digest)) + " bytes, not " +
                             std::to_string(request.digest.size()));
    }
    ck_mechanism mechanism{};
    ck_rsa_pkcs_pss_params pss{};
    Bytes data;
    switch (alg.scheme) {
      case SignatureScheme::kRsaPkcs1v15:
        // CKM_RSA_PKCS pads and signs what it is given: the DER DigestInfo.
        mechanism.mechanism = CKM_RSA_PKCS;
        data = DigestInfo(alg.digest, request.digest);
        break;
      case SignatureScheme::kRsaPss:
        // Salt length = digest length, MGF1 with the same digest (algorithm.h).
        mechanism.mechanism = CKM_RSA_PKCS_PSS;
        pss.hash_alg = HashMechanism(alg.digest);
        pss.mgf = Mgf1(alg.digest);
        pss.s_len = DigestSize(alg.digest);
        mechanism.parameter = &pss;
        mechanism.parameter_len = sizeof pss;
        data.assign(request.digest.begin(), request.digest.end());
        break;
      case SignatureScheme::kEcdsa:
        mechanism.mechanism = CKM_ECDSA;
        data.assign(request.digest.begin(), request.digest.end());
        break;
      case SignatureScheme::kEd25519:
        if (request.message.empty()) {
          return InvalidArgument(
              "Ed25519 signs the message itself, and the format supplied no to-be-signed bytes");
        }
        mechanism.mechanism = CKM_EDDSA;  // no parameters: pure Ed25519 (RFC 8032)
        data.assign(request.message.begin(), request.message.end());
        break;
    }
    SIGNET_RETURN_IF_ERROR(CheckMechanism(mechanism.mechanism));
    SIGNET_ASSIGN_OR_RETURN(Bytes signature, SignWithToken(mechanism, data));
    if (alg.scheme == SignatureScheme::kEcdsa) {
      SIGNET_ASSIGN_OR_RETURN(signature, EcdsaRawToDer(signature));
    }
    SIGNET_RETURN_IF_ERROR(CheckSignature(request, signature));
    return signature;
  }

 private:
  static ck_mechanism_type_t HashMechanism(DigestAlgorithm digest) {
    switch (digest) {
      case DigestAlgorithm::kSha256:
        return CKM_SHA256;
      case DigestAlgorithm::kSha384:
        return CKM_SHA384;
      case DigestAlgorithm::kSha512:
        return CKM_SHA512;
    }
    return CKM_SHA256;
  }
  static ck_rsa_pkcs_mgf_type_t Mgf1(DigestAlgorithm digest) {
    switch (digest) {
      case DigestAlgorithm::kSha256:
        return CKG_MGF1_SHA256;
      case DigestAlgorithm::kSha384:
        return CKG_MGF1_SHA384;
      case DigestAlgorithm::kSha512:
        return CKG_MGF1_SHA512;
    }
    return CKG_MGF1_SHA256;
  }

  // C_Sign with the key's handle, finding the key again when the session
  // logged out since the handle was found (see Session::login_generation).
  Result<Bytes> SignWithToken(const ck_mechanism& mechanism, ByteView data) {
    const Secret* context_pin = context_pin_ ? &*context_pin_ : nullptr;
    for (int attempt = 0;; ++attempt) {
      const std::uint64_t generation = session_->login_generation();
      if (generation != generation_) {
        SIGNET_RETURN_IF_ERROR(FindKeyAgain());
        generation_ = generation;
      }
      auto signature = session_->Sign(key_.handle, mechanism, data, key_.Name(), context_pin);
      // A logout between the check and C_Sign: one more try with a fresh handle.
      if (signature || attempt > 0 || session_->login_generation() == generation) {
        return signature;
      }
    }
  }

  Status FindKeyAgain() {
    Template t;
    t.Class(CKO_PRIVATE_KEY);
    if (!key_.label.empty()) t.Text(CKA_LABEL, key_.label);
    if (!key_.id.empty()) t.Data(CKA_ID, key_.id);
    SIGNET_ASSIGN_OR_RETURN(auto handles, Find(*session_, t, 2));
    if (handles.size() != 1) {
      return FailedPrecondition("key '" + key_.Name() + "' on token '" + session_->token().label +
                                "' cannot be found again after the token logged out (" +
                                std::to_string(handles.size()) + " matches): open the key again");
    }
    key_.handle = handles.front();
    return {};
  }

  // Fails with kFailedPrecondition when the token lacks the mechanism.
  Status CheckMechanism(ck_mechanism_type_t mechanism) {
    auto it = mechanisms_.find(mechanism);
    if (it == mechanisms_.end()) {
      SIGNET_ASSIGN_OR_RETURN(bool supported, session_->SupportsSigning(mechanism));
      it = mechanisms_.emplace(mechanism, supported).first;
    }
    if (it->second) return {};
    return std::unexpected(
        pkcs11::MapCkr(CKR_MECHANISM_INVALID, {.function = "C_GetMechanismInfo",
                                               .token = session_->token().label,
                                               .object = key_.Name(),
                                               .mechanism = pkcs11::MechanismName(mechanism)}));
  }

  // A signature that does not verify means the token's public key object or
  // certificate belongs to another key, or the device computed wrongly
  // (RSA-CRT faults leak the key): never hand it out.
  Status CheckSignature(const SignRequest& request, ByteView signature) const {
    Status verified = request.algorithm.scheme == SignatureScheme::kEd25519
                          ? public_key_.VerifyMessage(request.algorithm, request.message, signature)
                          : public_key_.VerifyDigest(request.algorithm, request.digest, signature);
    if (verified) return {};
    return FailedPrecondition("the signature made by key '" + key_.Name() + "' on token '" +
                              session_->token().label +
                              "' does not verify with the key's public key or certificate: "
                              "check that the objects with its CKA_ID belong together");
  }

  std::string uri_;
  std::shared_ptr<Session> session_;
  std::uint64_t generation_;  // session_->login_generation() when key_.handle was found
  KeyObject key_;
  PublicKey public_key_;
  CertificateChain chain_;
  std::optional<Secret> context_pin_;  // only for CKA_ALWAYS_AUTHENTICATE keys
  std::map<ck_mechanism_type_t, bool> mechanisms_;
};

// ---- the backend ----

std::string DescribeKeyType(const KeyObject& key) {
  if (!key.key_type) return "unknown";
  switch (*key.key_type) {
    case CKK_RSA:
      return "RSA";
    case CKK_EC:
      return "EC";
    case CKK_EC_EDWARDS:
      return "EdDSA";
    default:
      return "unsupported (CKA_KEY_TYPE " + std::to_string(*key.key_type) + ")";
  }
}

class Pkcs11KeyBackend final : public KeyBackend {
 public:
  [[nodiscard]] std::string_view scheme() const override { return "pkcs11"; }

  Result<std::unique_ptr<KeySigner>> Open(std::string_view uri_text,
                                          const KeyOptions& options) override {
    SIGNET_ASSIGN_OR_RETURN(Pkcs11Uri uri, ParsePkcs11Uri(uri_text));
    SIGNET_RETURN_IF_ERROR(RejectUnknownAttributes(uri));
    const std::string shown = uri.Redacted();
    if (uri.type && *uri.type != Pkcs11ObjectType::kPrivate) {
      return InvalidArgument("PKCS#11 URI " + shown +
                             " names type=" + std::string(Pkcs11ObjectTypeName(*uri.type)) +
                             " objects, which cannot sign: use type=private or leave type out");
    }
    SIGNET_ASSIGN_OR_RETURN(TokenSelection selection, SelectTokens(uri));
    if (selection.matching.size() > 1) {
      std::string tokens;
      for (const TokenInfo& t : selection.matching) {
        tokens += (tokens.empty() ? "" : ", ") + ("'" + t.label + "' serial=" + t.serial);
      }
      return InvalidArgument("PKCS#11 URI " + shown + " matches " +
                             std::to_string(selection.matching.size()) + " tokens (" + tokens +
                             "): add token=... or serial=... to pick one");
    }
    const TokenInfo& token = selection.matching.front();
    SIGNET_ASSIGN_OR_RETURN(std::shared_ptr<Session> session,
                            OpenToken(*selection.module, token, uri, options));
    const std::uint64_t generation = session->login_generation();
    SIGNET_ASSIGN_OR_RETURN(auto handles, FindPrivateKeys(*session, uri));
    if (handles.empty()) {
      return InvalidArgument("no private key matching " + shown + " on token '" + token.label +
                             "' (signet key list pkcs11:token=" +
                             Pkcs11PercentEncode(token.label, false) + " shows the keys)");
    }
    if (handles.size() > 1) {
      std::string candidates;
      for (ck_object_handle_t handle : handles) {
        SIGNET_ASSIGN_OR_RETURN(KeyObject candidate, ReadKeyObject(*session, handle));
        candidates += (candidates.empty() ? "" : ", ") +
                      ("object=" + Pkcs11PercentEncode(candidate.label, false) +
                       ";id=" + Pkcs11PercentEncodeAll(candidate.id));
        if (candidates.size() > 400) {
          candidates += ", ...";
          break;
        }
      }
      return InvalidArgument("PKCS#11 URI " + shown + " matches " + std::to_string(handles.size()) +
                             " private keys on token '" + token.label + "' (" + candidates +
                             "): add id=... (and object=...) to the URI to pick one");
    }
    SIGNET_ASSIGN_OR_RETURN(KeyObject key, ReadKeyObject(*session, handles.front()));
    SIGNET_ASSIGN_OR_RETURN(auto certificates, CompanionCertificates(*session, key));
    SIGNET_ASSIGN_OR_RETURN(PublicKey public_key, FindPublicKey(*session, key, certificates));
    auto chain = ResolveCertificateChain(TokenChain(certificates, public_key), options, public_key);
    if (!chain) {
      return std::unexpected(chain.error().WithContext("certificate of key '" + key.Name() +
                                                       "' on token '" + token.label + "'"));
    }
    std::optional<Secret> context_pin;
    if (key.always_authenticate) {
      // CKA_ALWAYS_AUTHENTICATE: every signature needs the PIN again.
      SIGNET_ASSIGN_OR_RETURN(context_pin, ResolvePin(uri, options));
      if (!context_pin) {
        return InvalidArgument("key '" + key.Name() + "' on token '" + token.label +
                               "' needs the PIN for every signature: set " + pkcs11::kPinEnv +
                               " or pin-source=... in the key URI");
      }
    }
    return std::unique_ptr<KeySigner>(std::make_unique<Pkcs11Signer>(
        shown, std::move(session), generation, std::move(key), std::move(public_key),
        std::move(*chain), std::move(context_pin)));
  }

  Result<std::vector<KeyListing>> List(std::string_view uri_text,
                                       const KeyOptions& options) override {
    SIGNET_ASSIGN_OR_RETURN(Pkcs11Uri uri, ParsePkcs11Uri(uri_text));
    SIGNET_RETURN_IF_ERROR(RejectUnknownAttributes(uri));
    std::vector<KeyListing> listings;
    if (uri.type && *uri.type != Pkcs11ObjectType::kPrivate) return listings;
    SIGNET_ASSIGN_OR_RETURN(TokenSelection selection, SelectTokens(uri));
    const std::string module_path = selection.module->path();
    for (const TokenInfo& token : selection.matching) {
      SIGNET_ASSIGN_OR_RETURN(std::shared_ptr<Session> session,
                              OpenToken(*selection.module, token, uri, options));
      SIGNET_ASSIGN_OR_RETURN(auto handles, FindPrivateKeys(*session, uri));
      // Name the token by serial too when its label alone is ambiguous.
      const bool label_ambiguous =
          std::count_if(selection.all.begin(), selection.all.end(),
                        [&](const TokenInfo& t) { return t.label == token.label; }) > 1;
      std::vector<std::pair<KeyObject, KeyListing>> keys;
      for (ck_object_handle_t handle : handles) {
        SIGNET_ASSIGN_OR_RETURN(KeyObject key, ReadKeyObject(*session, handle));
        SIGNET_ASSIGN_OR_RETURN(auto certificates, CompanionCertificates(*session, key));
        KeyListing listing;
        auto public_key = FindPublicKey(*session, key, certificates);
        listing.type = public_key ? public_key->Description() : DescribeKeyType(key);
        listing.label = key.label;
        listing.has_certificate = !certificates.empty();
        Pkcs11Uri full;
        full.token = token.label;
        if (label_ambiguous) full.serial = token.serial;
        if (!key.label.empty()) full.object = key.label;
        if (!key.id.empty()) full.id = key.id;
        full.type = Pkcs11ObjectType::kPrivate;
        full.module_path = module_path;
        full.pin_source = uri.pin_source;
        listing.uri = full.Redacted();
        keys.emplace_back(std::move(key), std::move(listing));
      }
      std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first.id, a.first.label) < std::tie(b.first.id, b.first.label);
      });
      for (auto& entry : keys) listings.push_back(std::move(entry.second));
    }
    return listings;
  }
};

}  // namespace

std::unique_ptr<KeyBackend> MakePkcs11KeyBackend() { return std::make_unique<Pkcs11KeyBackend>(); }

}  // namespace signet
