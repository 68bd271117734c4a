#include "keys/key_signer.h"

namespace signet {

Result<std::vector<KeyListing>> KeyBackend::List(std::string_view uri, const KeyOptions&) {
  return InvalidArgument("listing keys is not supported for " + std::string(uri));
}

void KeyRegistry::Register(std::unique_ptr<KeyBackend> backend) {
  backends_.push_back(std::move(backend));
}

Result<KeyBackend*> KeyRegistry::Find(std::string_view uri) const {
  auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    std::string known;
    for (const auto& s : schemes()) known += (known.empty() ? "" : ", ") + s + ":";
    return InvalidArgument("key URI '" + std::string(uri.substr(0, 64)) +
                           "' has no scheme (expected one of " + known + ")");
  }
  std::string_view scheme = uri.substr(0, colon);
  for (const auto& backend : backends_) {
    if (backend->scheme() == scheme) return backend.get();
  }
  std::string known;
  for (const auto& s : schemes()) known += (known.empty() ? "" : ", ") + s + ":";
  return InvalidArgument("no key backend for scheme '" + std::string(scheme) +
                         ":' (this build knows " + known + ")");
}

Result<std::unique_ptr<KeySigner>> KeyRegistry::Open(std::string_view uri,
                                                     const KeyOptions& options) const {
  SIGNET_ASSIGN_OR_RETURN(KeyBackend * backend, Find(uri));
  return backend->Open(uri, options);
}

Result<std::vector<KeyListing>> KeyRegistry::List(std::string_view uri,
                                                  const KeyOptions& options) const {
  SIGNET_ASSIGN_OR_RETURN(KeyBackend * backend, Find(uri));
  return backend->List(uri, options);
}

std::vector<std::string> KeyRegistry::schemes() const {
  std::vector<std::string> out;
  for (const auto& backend : backends_) {
    if (backend->built_in()) out.emplace_back(backend->scheme());
  }
  return out;
}

Result<CertificateChain> ResolveCertificateChain(CertificateChain backend_chain,
                                                 const KeyOptions& options, const PublicKey& key) {
  if (backend_chain.empty()) {
    if (options.cert_path.empty()) return backend_chain;
    SIGNET_ASSIGN_OR_RETURN(CertificateChain given, LoadCertificateChain(options.cert_path));
    auto ordered = OrderChainForKey(std::move(given), key);
    if (!ordered) return std::unexpected(ordered.error().WithContext(options.cert_path));
    return ordered;
  }
  CertificateChain chain = std::move(backend_chain);
  if (!options.cert_path.empty()) {
    // The backend's chain wins, but --cert may add intermediates after the leaf.
    SIGNET_ASSIGN_OR_RETURN(CertificateChain extra, LoadCertificateChain(options.cert_path));
    for (auto& c : extra) {
      if (c.Der() != chain.front().Der()) chain.push_back(std::move(c));
    }
  }
  return OrderChainForKey(std::move(chain), key);
}

}  // namespace signet
