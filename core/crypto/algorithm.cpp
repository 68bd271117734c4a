#include "crypto/algorithm.h"

#include <algorithm>
#include <cctype>

namespace signet {

std::string_view DigestName(DigestAlgorithm alg) {
  switch (alg) {
    case DigestAlgorithm::kSha256:
      return "sha256";
    case DigestAlgorithm::kSha384:
      return "sha384";
    case DigestAlgorithm::kSha512:
      return "sha512";
  }
  return "sha256";
}

std::size_t DigestSize(DigestAlgorithm alg) {
  switch (alg) {
    case DigestAlgorithm::kSha256:
      return 32;
    case DigestAlgorithm::kSha384:
      return 48;
    case DigestAlgorithm::kSha512:
      return 64;
  }
  return 32;
}

Result<DigestAlgorithm> ParseDigestAlgorithm(std::string_view name) {
  std::string n;
  for (char c : name) {
    if (c != '-' && c != '_')
      n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (n == "sha256") return DigestAlgorithm::kSha256;
  if (n == "sha384") return DigestAlgorithm::kSha384;
  if (n == "sha512") return DigestAlgorithm::kSha512;
  return InvalidArgument("unknown digest algorithm '" + std::string(name) +
                         "' (use sha256, sha384 or sha512)");
}

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return "rsa";
    case KeyType::kEcP256:
      return "ec-p256";
    case KeyType::kEcP384:
      return "ec-p384";
    case KeyType::kEd25519:
      return "ed25519";
  }
  return "rsa";
}

std::string SignatureAlgorithmName(const SignatureAlgorithm& alg) {
  std::string digest(DigestName(alg.digest));
  switch (alg.scheme) {
    case SignatureScheme::kRsaPkcs1v15:
      return "rsa-pkcs1-" + digest;
    case SignatureScheme::kRsaPss:
      return "rsa-pss-" + digest;
    case SignatureScheme::kEcdsa:
      return "ecdsa-" + digest;
    case SignatureScheme::kEd25519:
      return "ed25519-" + digest;
  }
  return "unknown";
}

Result<SignatureAlgorithm> ParseSignatureAlgorithm(std::string_view name) {
  auto dash = name.rfind('-');
  if (dash == std::string_view::npos) {
    return InvalidArgument("unknown signature algorithm '" + std::string(name) + "'");
  }
  std::string_view scheme = name.substr(0, dash);
  SIGNET_ASSIGN_OR_RETURN(DigestAlgorithm digest, ParseDigestAlgorithm(name.substr(dash + 1)));
  SignatureAlgorithm alg{SignatureScheme::kRsaPkcs1v15, digest};
  if (scheme == "rsa-pkcs1") {
    alg.scheme = SignatureScheme::kRsaPkcs1v15;
  } else if (scheme == "rsa-pss") {
    alg.scheme = SignatureScheme::kRsaPss;
  } else if (scheme == "ecdsa") {
    alg.scheme = SignatureScheme::kEcdsa;
  } else if (scheme == "ed25519") {
    alg.scheme = SignatureScheme::kEd25519;
  } else {
    return InvalidArgument("unknown signature algorithm '" + std::string(name) + "'");
  }
  return alg;
}

SignatureScheme DefaultScheme(KeyType type, bool rsa_pss) {
  switch (type) {
    case KeyType::kRsa:
      return rsa_pss ? SignatureScheme::kRsaPss : SignatureScheme::kRsaPkcs1v15;
    case KeyType::kEcP256:
    case KeyType::kEcP384:
      return SignatureScheme::kEcdsa;
    case KeyType::kEd25519:
      return SignatureScheme::kEd25519;
  }
  return SignatureScheme::kRsaPkcs1v15;
}

bool SchemeFitsKey(SignatureScheme scheme, KeyType type) {
  switch (scheme) {
    case SignatureScheme::kRsaPkcs1v15:
    case SignatureScheme::kRsaPss:
      return type == KeyType::kRsa;
    case SignatureScheme::kEcdsa:
      return type == KeyType::kEcP256 || type == KeyType::kEcP384;
    case SignatureScheme::kEd25519:
      return type == KeyType::kEd25519;
  }
  return false;
}

}  // namespace signet
