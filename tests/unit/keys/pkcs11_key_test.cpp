// Tests of the pkcs11: key backend against real SoftHSM2 tokens.
//
// The first test that needs a token creates, in a fresh temporary directory,
// two tokens with tests/tools/softhsm_token.sh:
//   "ci"  (PIN kPin): rsa id 01 (+ certificate), ec id 02, ed id 03
//   "ci2" (PIN kPin): the same, plus an EC key "aa" id 05 with
//                     CKA_ALWAYS_AUTHENTICATE
// and points SOFTHSM2_CONF at it. SoftHSM2 reads SOFTHSM2_CONF once, when the
// module is initialised, so all tests of this process share the tokens.
// SIGNET_KEEP_TEST_DIRS=1 keeps the directory for inspection.
#include "keys/pkcs11/pkcs11_key.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/file.h"
#include "crypto/digest.h"
#include "keys/pkcs11/pkcs11_module.h"
#include "keys/pkcs11/pkcs11_uri.h"

#if defined(__SANITIZE_ADDRESS__)
// SoftHSM2 2.6.1 leaks a few bytes of OpenSSL ASN.1 per C_SignInit with an EC
// key (inside libsofthsm2.so, not in signet): keep LeakSanitizer on for our
// own code and quiet about the module's. The suppression needs whole malloc
// stacks (libcrypto has no frame pointers, so fast unwinding stops in it).
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }
extern "C" const char* __lsan_default_suppressions() { return "leak:libsofthsm2.so\n"; }
#endif

namespace signet {
namespace {

constexpr const char* kPin = "87654321";
constexpr const char* kWrongPin = "11223344";
constexpr const char* kModule = SIGNET_SOFTHSM_MODULE;

// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The token directory shared by every test of this process.
class TokenDir {
 public:
  static const TokenDir& Get() {
    static TokenDir dir;
    return dir;
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] bool has_ed25519() const { return PathExists(path_ + "/ci/ed.pub.pem"); }

  ~TokenDir() {
    const char* keep = std::getenv("SIGNET_KEEP_TEST_DIRS");
    if (!path_.empty() && (keep == nullptr || *keep == '\0' || *keep == '0')) {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
  }

 private:
  TokenDir() {
    std::string base = std::filesystem::temp_directory_path().string();
    std::string pattern = base + "/signet-pkcs11-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      error_ = "mkdtemp failed in " + base;
      return;
    }
    path_ = pattern;
    for (const char* label : {"ci", "ci2"}) {
      std::string command = std::string("'") + SIGNET_SOFTHSM_TOKEN_SCRIPT + "' '" + path_ + "' " +
                            label + " " + kPin;
      if (std::system(command.c_str()) != 0) {
        error_ = "softhsm_token.sh failed for token " + std::string(label);
        return;
      }
    }
    ::setenv("SOFTHSM2_CONF", (path_ + "/softhsm2.conf").c_str(), 1);
    std::string always = std::string("pkcs11-tool --module '") + kModule +
                         "' --token-label ci2 --login --pin " + kPin +
                         " --keypairgen --key-type EC:prime256v1 --id 05 --label aa"
                         " --always-auth >/dev/null 2>&1";
    if (std::system(always.c_str()) != 0) error_ = "pkcs11-tool could not make the aa key";
  }

  std::string path_;
  std::string error_;
};

class Pkcs11KeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const TokenDir& dir = TokenDir::Get();
    ASSERT_TRUE(dir.error().empty()) << dir.error();
    dir_ = dir.path();
  }

  // "pkcs11:token=ci;object=rsa?module-path=..." plus extra query attributes.
  static std::string Uri(std::string_view path, std::string_view extra_query = "") {
    std::string uri = "pkcs11:" + std::string(path) + "?module-path=" + kModule;
    if (!extra_query.empty()) uri += "&" + std::string(extra_query);
    return uri;
  }

  static KeyOptions WithPin(const std::string& pin = kPin) {
    KeyOptions options;
    options.pin = Secret(pin);
    return options;
  }

  Result<std::unique_ptr<KeySigner>> Open(std::string_view uri,
                                          const KeyOptions& options = WithPin()) {
    return backend_->Open(uri, options);
  }

  std::unique_ptr<KeySigner> MustOpen(std::string_view uri, const KeyOptions& options = WithPin()) {
    auto signer = Open(uri, options);
    EXPECT_TRUE(signer.has_value()) << uri << ": " << (signer ? "" : signer.error().message);
    return signer ? std::move(*signer) : nullptr;
  }

  // Signs `message` (digested with alg.digest) and checks the signature
  // with the signer's public key.
  static void SignAndVerify(KeySigner& signer, const SignatureAlgorithm& alg) {
    const Bytes message = ToBytes("signet pkcs11 test message");
    const Bytes digest = Digest(alg.digest, message);
    auto signature = signer.Sign({.algorithm = alg, .digest = digest, .message = message});
    ASSERT_TRUE(signature.has_value())
        << SignatureAlgorithmName(alg) << ": " << signature.error().message;
    if (alg.scheme == SignatureScheme::kEd25519) {
      EXPECT_EQ(signature->size(), 64u);
      EXPECT_TRUE(signer.public_key().VerifyMessage(alg, message, *signature).has_value());
    } else {
      auto verified = signer.public_key().VerifyDigest(alg, digest, *signature);
      EXPECT_TRUE(verified.has_value())
          << SignatureAlgorithmName(alg) << ": " << (verified ? "" : verified.error().message);
      Bytes other = digest;
      other[0] ^= 1;
      EXPECT_FALSE(signer.public_key().VerifyDigest(alg, other, *signature).has_value());
    }
  }

  static void ExpectNoPin(const Error& error) {
    EXPECT_EQ(error.message.find(kPin), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find(kWrongPin), std::string::npos) << error.message;
  }

  std::string dir_;
  std::unique_ptr<KeyBackend> backend_ = MakePkcs11KeyBackend();
  ScopedEnv no_pin_env_{pkcs11::kPinEnv, std::nullopt};
  ScopedEnv no_module_env_{pkcs11::kModuleEnv, std::nullopt};
};

TEST_F(Pkcs11KeyTest, SchemeIsPkcs11) { EXPECT_EQ(backend_->scheme(), "pkcs11"); }

TEST_F(Pkcs11KeyTest, SignsWithRsaPkcs1) {
  auto signer = MustOpen(Uri("token=ci;object=rsa"));
  ASSERT_NE(signer, nullptr);
  EXPECT_EQ(signer->public_key().Description(), "RSA-3072");
  for (DigestAlgorithm digest :
       {DigestAlgorithm::kSha256, DigestAlgorithm::kSha384, DigestAlgorithm::kSha512}) {
    SignAndVerify(*signer, {SignatureScheme::kRsaPkcs1v15, digest});
  }
}

TEST_F(Pkcs11KeyTest, SignsWithRsaPss) {
  auto signer = MustOpen(Uri("token=ci;object=rsa;type=private"));
  ASSERT_NE(signer, nullptr);
  for (DigestAlgorithm digest :
       {DigestAlgorithm::kSha256, DigestAlgorithm::kSha384, DigestAlgorithm::kSha512}) {
    SignAndVerify(*signer, {SignatureScheme::kRsaPss, digest});
  }
}

TEST_F(Pkcs11KeyTest, SignsWithEcdsa) {
  auto signer = MustOpen(Uri("token=ci;object=ec"));
  ASSERT_NE(signer, nullptr);
  EXPECT_EQ(signer->public_key().Description(), "EC P-256");
  SignAndVerify(*signer, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
  SignAndVerify(*signer, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha384});
}

TEST_F(Pkcs11KeyTest, SignsWithEd25519) {
  if (!TokenDir::Get().has_ed25519()) GTEST_SKIP() << "the module cannot make Ed25519 keys";
  auto signer = MustOpen(Uri("token=ci;object=ed"));
  ASSERT_NE(signer, nullptr);
  EXPECT_EQ(signer->public_key().Description(), "Ed25519");
  SignAndVerify(*signer, {SignatureScheme::kEd25519, DigestAlgorithm::kSha512});
  auto no_message =
      signer->Sign({.algorithm = {SignatureScheme::kEd25519, DigestAlgorithm::kSha512},
                    .digest = {},
                    .message = {}});
  ASSERT_FALSE(no_message.has_value());
  EXPECT_EQ(no_message.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Pkcs11KeyTest, PublicKeysMatchTheTokensOwnExport) {
  for (const char* name : {"rsa", "ec", "ed"}) {
    std::string pem = dir_ + "/ci/" + name + ".pub.pem";
    if (!PathExists(pem)) continue;
    auto expected = PublicKey::FromPemFile(pem);
    ASSERT_TRUE(expected.has_value()) << expected.error().message;
    auto signer = MustOpen(Uri("token=ci;object=" + std::string(name)));
    ASSERT_NE(signer, nullptr);
    EXPECT_TRUE(signer->public_key() == *expected) << name;
  }
}

TEST_F(Pkcs11KeyTest, FindsTheCertificateByCkaId) {
  auto signer = MustOpen(Uri("token=ci;id=%01"));
  ASSERT_NE(signer, nullptr);
  ASSERT_EQ(signer->certificate_chain().size(), 1u);
  auto expected = LoadCertificateChain(dir_ + "/ci/rsa.cert.pem");
  ASSERT_TRUE(expected.has_value());
  EXPECT_EQ(signer->certificate_chain().front().Der(), expected->front().Der());
  EXPECT_NE(signer->certificate_chain().front().Subject().find("ci rsa"), std::string::npos);
  // No certificate on the token for the EC key.
  auto ec = MustOpen(Uri("token=ci;id=%02"));
  ASSERT_NE(ec, nullptr);
  EXPECT_TRUE(ec->certificate_chain().empty());
}

TEST_F(Pkcs11KeyTest, CertOptionAddsIntermediatesAfterTheTokensLeaf) {
  KeyOptions options = WithPin();
  options.cert_path = dir_ + "/ci/rsa.chain.pem";
  auto signer = MustOpen(Uri("token=ci;object=rsa"), options);
  ASSERT_NE(signer, nullptr);
  ASSERT_EQ(signer->certificate_chain().size(), 2u);
  EXPECT_NE(signer->certificate_chain()[1].Subject().find("Signet Test CA"), std::string::npos);
}

TEST_F(Pkcs11KeyTest, CertOptionThatDoesNotMatchTheKeyIsRefused) {
  KeyOptions options = WithPin();
  options.cert_path = dir_ + "/ci/rsa.cert.pem";  // the RSA key's certificate
  auto signer = Open(Uri("token=ci;object=ec"), options);
  ASSERT_FALSE(signer.has_value());
  EXPECT_NE(signer.error().message.find("'ec'"), std::string::npos) << signer.error().message;
}

TEST_F(Pkcs11KeyTest, WrongPinIsInvalidArgumentWithoutThePin) {
  auto signer = Open(Uri("token=ci;object=rsa"), WithPin(kWrongPin));
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(signer.error().message.find("wrong PIN for token 'ci'"), std::string::npos)
      << signer.error().message;
  EXPECT_NE(signer.error().message.find("(CKR_PIN_INCORRECT)"), std::string::npos);
  ExpectNoPin(signer.error());
}

TEST_F(Pkcs11KeyTest, WrongPinAfterALoginFailsToo_AndKeepsTheLogin) {
  // A process that already logged in must still refuse a wrong PIN, and the
  // keys opened with the right one must keep working.
  auto good = MustOpen(Uri("token=ci;object=ec"));
  ASSERT_NE(good, nullptr);
  auto bad = Open(Uri("token=ci;object=rsa"), WithPin(kWrongPin));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  ExpectNoPin(bad.error());
  SignAndVerify(*good, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
  EXPECT_NE(MustOpen(Uri("token=ci;object=rsa")), nullptr);
}

TEST_F(Pkcs11KeyTest, MissingPinIsInvalidArgument) {
  auto signer = Open(Uri("token=ci;object=rsa"), KeyOptions{});
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(signer.error().message.find("token 'ci' needs a PIN"), std::string::npos)
      << signer.error().message;
  EXPECT_NE(signer.error().message.find("SIGNET_PKCS11_PIN"), std::string::npos);
}

TEST_F(Pkcs11KeyTest, PinFromPinSourceFile) {
  std::string pin_file = dir_ + "/pin.txt";
  {
    std::ofstream out(pin_file);
    out << kPin << "\n";
  }
  for (const std::string& source : {pin_file, "file:" + pin_file, "file://" + pin_file}) {
    auto signer = MustOpen(Uri("token=ci;object=ec", "pin-source=" + source), KeyOptions{});
    ASSERT_NE(signer, nullptr) << source;
    EXPECT_NE(signer->uri().find("pin-source="), std::string::npos);
    SignAndVerify(*signer, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
  }
  auto missing =
      Open(Uri("token=ci;object=ec", "pin-source=" + dir_ + "/no-such-pin"), KeyOptions{});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.error().message.find("pin-source"), std::string::npos);
  auto command = Open(Uri("token=ci;object=ec", "pin-source=|/bin/echo"), KeyOptions{});
  ASSERT_FALSE(command.has_value());
  EXPECT_EQ(command.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Pkcs11KeyTest, PinValueInTheUriIsNeverShown) {
  auto signer = MustOpen(Uri("token=ci;object=ec", "pin-value=" + std::string(kPin)), KeyOptions{});
  ASSERT_NE(signer, nullptr);
  EXPECT_EQ(signer->uri().find("pin-value"), std::string::npos);
  EXPECT_EQ(signer->uri().find(kPin), std::string::npos);
  auto wrong = Open(Uri("token=ci;object=ec", "pin-value=" + std::string(kWrongPin)), KeyOptions{});
  ASSERT_FALSE(wrong.has_value());
  ExpectNoPin(wrong.error());
}

TEST_F(Pkcs11KeyTest, PinPrecedence) {
  // KeyOptions::pin beats the URI, which beats the environment.
  ScopedEnv env(pkcs11::kPinEnv, std::string(kWrongPin));
  EXPECT_NE(MustOpen(Uri("token=ci;object=ec", "pin-value=" + std::string(kWrongPin))), nullptr);
  EXPECT_NE(MustOpen(Uri("token=ci;object=ec", "pin-value=" + std::string(kPin)), KeyOptions{}),
            nullptr);
  auto from_env = Open(Uri("token=ci;object=ec"), KeyOptions{});
  ASSERT_FALSE(from_env.has_value());
  EXPECT_NE(from_env.error().message.find("CKR_PIN_INCORRECT"), std::string::npos);
  ScopedEnv good_env(pkcs11::kPinEnv, std::string(kPin));
  EXPECT_NE(MustOpen(Uri("token=ci;object=ec"), KeyOptions{}), nullptr);
}

TEST_F(Pkcs11KeyTest, AbsentTokenIsUnavailable) {
  auto signer = Open(Uri("token=no-such-token;object=rsa"));
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(signer.error().message.find("no token matching pkcs11:token=no-such-token"),
            std::string::npos)
      << signer.error().message;
  EXPECT_NE(signer.error().message.find("available: "), std::string::npos)
      << signer.error().message;
  EXPECT_NE(signer.error().message.find("'ci'"), std::string::npos);
  EXPECT_NE(signer.error().message.find("'ci2'"), std::string::npos);
  auto listing = backend_->List(Uri("token=no-such-token"), WithPin());
  ASSERT_FALSE(listing.has_value());
  EXPECT_EQ(listing.error().code, ErrorCode::kUnavailable);
}

TEST_F(Pkcs11KeyTest, NoSuchObject) {
  auto signer = Open(Uri("token=ci;object=nope", "pin-value=" + std::string(kPin)));
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(signer.error().message.find("no private key matching pkcs11:token=ci;object=nope"
                                        "?module-path="),
            std::string::npos)
      << signer.error().message;
  EXPECT_NE(signer.error().message.find("on token 'ci'"), std::string::npos);
  ExpectNoPin(signer.error());
  // Right label, wrong id.
  auto wrong_id = Open(Uri("token=ci;object=rsa;id=%02"));
  ASSERT_FALSE(wrong_id.has_value());
  EXPECT_EQ(wrong_id.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Pkcs11KeyTest, AmbiguousUriListsHowToPick) {
  auto signer = Open(Uri("token=ci"));
  ASSERT_FALSE(signer.has_value());
  EXPECT_EQ(signer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(signer.error().message.find("private keys on token 'ci'"), std::string::npos)
      << signer.error().message;
  EXPECT_NE(signer.error().message.find("object=rsa;id=%01"), std::string::npos);
  EXPECT_NE(signer.error().message.find("add id="), std::string::npos);
  // Two tokens carry an "rsa" key.
  auto two_tokens = Open(Uri("object=rsa"));
  ASSERT_FALSE(two_tokens.has_value());
  EXPECT_EQ(two_tokens.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(two_tokens.error().message.find("matches 2 tokens"), std::string::npos)
      << two_tokens.error().message;
}

TEST_F(Pkcs11KeyTest, SelectsTokensByOtherAttributes) {
  EXPECT_NE(MustOpen(Uri("token=ci;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;object=ec")),
            nullptr);
  auto wrong_model = Open(Uri("token=ci;model=Other;object=ec"));
  ASSERT_FALSE(wrong_model.has_value());
  EXPECT_EQ(wrong_model.error().code, ErrorCode::kUnavailable);
  auto wrong_library = Open(Uri("token=ci;library-manufacturer=Nobody;object=ec"));
  ASSERT_FALSE(wrong_library.has_value());
  EXPECT_EQ(wrong_library.error().code, ErrorCode::kUnavailable);
}

TEST_F(Pkcs11KeyTest, RefusesNonPrivateTypesAndUnknownAttributes) {
  auto cert = Open(Uri("token=ci;object=rsa;type=cert"));
  ASSERT_FALSE(cert.has_value());
  EXPECT_EQ(cert.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(cert.error().message.find("type=private"), std::string::npos);
  auto vendor = Open(Uri("token=ci;object=rsa;x-vendor=1"));
  ASSERT_FALSE(vendor.has_value());
  EXPECT_EQ(vendor.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(vendor.error().message.find("'x-vendor'"), std::string::npos);
  auto malformed = Open("pkcs11:token=ci;object=a b");
  ASSERT_FALSE(malformed.has_value());
  EXPECT_EQ(malformed.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Pkcs11KeyTest, ModuleErrors) {
  auto missing = Open("pkcs11:token=ci;object=rsa?module-path=/nonexistent/libpkcs11.so");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.error().message.find("'/nonexistent/libpkcs11.so' does not exist"),
            std::string::npos)
      << missing.error().message;

  auto not_a_library = Open("pkcs11:token=ci;object=rsa?module-path=" + dir_ + "/ca.pem");
  ASSERT_FALSE(not_a_library.has_value());
  EXPECT_EQ(not_a_library.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(not_a_library.error().message.find(dir_ + "/ca.pem"), std::string::npos);

  auto not_pkcs11 = Open("pkcs11:token=ci;object=rsa?module-path=/lib/x86_64-linux-gnu/libz.so.1");
  if (PathExists("/lib/x86_64-linux-gnu/libz.so.1")) {
    ASSERT_FALSE(not_pkcs11.has_value());
    EXPECT_EQ(not_pkcs11.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(not_pkcs11.error().message.find("C_GetFunctionList"), std::string::npos);
  }

  auto none = Open("pkcs11:token=ci;object=rsa");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(none.error().message.find("SIGNET_PKCS11_MODULE"), std::string::npos);

  auto directory = Open("pkcs11:token=ci;object=rsa?module-path=/usr/lib/softhsm");
  ASSERT_FALSE(directory.has_value());
  EXPECT_NE(directory.error().message.find("module-name"), std::string::npos);
}

TEST_F(Pkcs11KeyTest, ModuleFromEnvironmentOrDirectoryAndName) {
  {
    ScopedEnv env(pkcs11::kModuleEnv, std::string(kModule));
    EXPECT_NE(MustOpen("pkcs11:token=ci;object=ec"), nullptr);
  }
  std::filesystem::path module(kModule);
  std::string name = module.stem().string();  // libsofthsm2
  EXPECT_NE(MustOpen("pkcs11:token=ci;object=ec?module-path=" + module.parent_path().string() +
                     "&module-name=" + name),
            nullptr);
}

TEST_F(Pkcs11KeyTest, SchemeAndKeyMismatchIsFailedPrecondition) {
  auto rsa = MustOpen(Uri("token=ci;object=rsa"));
  ASSERT_NE(rsa, nullptr);
  Bytes digest = Digest(DigestAlgorithm::kSha256, ToBytes("x"));
  for (SignatureScheme scheme : {SignatureScheme::kEcdsa, SignatureScheme::kEd25519}) {
    auto signature = rsa->Sign({.algorithm = {scheme, DigestAlgorithm::kSha256},
                                .digest = digest,
                                .message = AsBytes("x")});
    ASSERT_FALSE(signature.has_value());
    EXPECT_EQ(signature.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_NE(signature.error().message.find("'rsa'"), std::string::npos);
  }
  auto ec = MustOpen(Uri("token=ci;object=ec"));
  ASSERT_NE(ec, nullptr);
  auto pss = ec->Sign({.algorithm = {SignatureScheme::kRsaPss, DigestAlgorithm::kSha256},
                       .digest = digest,
                       .message = {}});
  ASSERT_FALSE(pss.has_value());
  EXPECT_EQ(pss.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(Pkcs11KeyTest, WrongDigestSizeIsInvalidArgument) {
  auto signer = MustOpen(Uri("token=ci;object=ec"));
  ASSERT_NE(signer, nullptr);
  Bytes short_digest(20, 0x42);
  auto signature = signer->Sign({.algorithm = {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256},
                                 .digest = short_digest,
                                 .message = {}});
  ASSERT_FALSE(signature.has_value());
  EXPECT_EQ(signature.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(Pkcs11KeyTest, ListsPrivateKeysWithFullUris) {
  auto listing = backend_->List(Uri("token=ci"), WithPin());
  ASSERT_TRUE(listing.has_value()) << listing.error().message;
  const bool ed = TokenDir::Get().has_ed25519();
  ASSERT_EQ(listing->size(), ed ? 3u : 2u);
  const std::string module_query = std::string("?module-path=") + kModule;
  EXPECT_EQ((*listing)[0].uri, "pkcs11:token=ci;object=rsa;id=%01;type=private" + module_query);
  EXPECT_EQ((*listing)[0].label, "rsa");
  EXPECT_EQ((*listing)[0].type, "RSA-3072");
  EXPECT_TRUE((*listing)[0].has_certificate);
  EXPECT_EQ((*listing)[1].uri, "pkcs11:token=ci;object=ec;id=%02;type=private" + module_query);
  EXPECT_EQ((*listing)[1].type, "EC P-256");
  EXPECT_FALSE((*listing)[1].has_certificate);
  if (ed) {
    EXPECT_EQ((*listing)[2].uri, "pkcs11:token=ci;object=ed;id=%03;type=private" + module_query);
    EXPECT_EQ((*listing)[2].type, "Ed25519");
  }
  // Every listed URI opens its key.
  for (const KeyListing& key : *listing) {
    EXPECT_NE(MustOpen(key.uri), nullptr) << key.uri;
  }
}

TEST_F(Pkcs11KeyTest, ListsEveryTokenAndFilters) {
  auto all = backend_->List(Uri(""), WithPin());
  ASSERT_TRUE(all.has_value()) << all.error().message;
  const std::size_t per_token = TokenDir::Get().has_ed25519() ? 3u : 2u;
  EXPECT_EQ(all->size(), 2 * per_token + 1);  // ci2 has the extra "aa" key
  auto only_ec = backend_->List(Uri("object=ec"), WithPin());
  ASSERT_TRUE(only_ec.has_value());
  ASSERT_EQ(only_ec->size(), 2u);
  EXPECT_NE((*only_ec)[0].uri.find("token=ci"), std::string::npos);
  EXPECT_NE((*only_ec)[0].uri, (*only_ec)[1].uri);
  auto certs = backend_->List(Uri("type=cert"), WithPin());
  ASSERT_TRUE(certs.has_value());
  EXPECT_TRUE(certs->empty());
  // The pin-source of the query is carried over to the listed URIs.
  std::string pin_file = dir_ + "/list-pin.txt";
  std::ofstream(pin_file) << kPin;
  auto with_source = backend_->List(Uri("token=ci;object=ec", "pin-source=" + pin_file), {});
  ASSERT_TRUE(with_source.has_value()) << with_source.error().message;
  ASSERT_EQ(with_source->size(), 1u);
  EXPECT_NE((*with_source)[0].uri.find("&pin-source=" + pin_file), std::string::npos);
}

TEST_F(Pkcs11KeyTest, ListingNeedsThePin) {
  auto listing = backend_->List(Uri("token=ci"), KeyOptions{});
  ASSERT_FALSE(listing.has_value());
  EXPECT_EQ(listing.error().code, ErrorCode::kInvalidArgument);
  auto wrong = backend_->List(Uri("token=ci"), WithPin(kWrongPin));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  ExpectNoPin(wrong.error());
}

TEST_F(Pkcs11KeyTest, AlwaysAuthenticateKeySignsWithContextLogin) {
  auto signer = MustOpen(Uri("token=ci2;object=aa"));
  ASSERT_NE(signer, nullptr);
  SignAndVerify(*signer, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
  SignAndVerify(*signer, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
}

TEST_F(Pkcs11KeyTest, RegistryOpensPkcs11Uris) {
  KeyRegistry registry;
  registry.Register(MakePkcs11KeyBackend());
  auto signer = registry.Open(Uri("token=ci;object=ec"), WithPin());
  ASSERT_TRUE(signer.has_value()) << signer.error().message;
  EXPECT_EQ((*signer)->uri(), Uri("token=ci;object=ec"));
}

TEST_F(Pkcs11KeyTest, SignersOfOneTokenWorkFromSeveralThreads) {
  auto rsa = MustOpen(Uri("token=ci;object=rsa"));
  auto ec = MustOpen(Uri("token=ci;object=ec"));
  ASSERT_NE(rsa, nullptr);
  ASSERT_NE(ec, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (KeySigner* signer : {rsa.get(), ec.get()}) {
    threads.emplace_back([signer, &failures] {
      SignatureAlgorithm alg{signer->public_key().type() == KeyType::kRsa ? SignatureScheme::kRsaPss
                                                                          : SignatureScheme::kEcdsa,
                             DigestAlgorithm::kSha256};
      for (int i = 0; i < 20; ++i) {
        Bytes digest = Digest(alg.digest, ToBytes("message " + std::to_string(i)));
        auto signature = signer->Sign({.algorithm = alg, .digest = digest, .message = {}});
        if (!signature || !signer->public_key().VerifyDigest(alg, digest, *signature)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(Pkcs11KeyTest, ForkedChildInitialisesTheModuleAgain) {
  ASSERT_NE(MustOpen(Uri("token=ci;object=ec")), nullptr);  // the parent has the module loaded
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto backend = MakePkcs11KeyBackend();
    KeyOptions options;
    options.pin = Secret(kPin);
    auto signer = backend->Open(Uri("token=ci;object=ec"), options);
    int rc = 1;
    if (signer) {
      SignatureAlgorithm alg{SignatureScheme::kEcdsa, DigestAlgorithm::kSha256};
      Bytes digest = Digest(alg.digest, ToBytes("child"));
      auto signature = (*signer)->Sign({.algorithm = alg, .digest = digest, .message = {}});
      if (signature && (*signer)->public_key().VerifyDigest(alg, digest, *signature)) rc = 0;
    }
    ::_exit(rc);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's session still works.
  auto signer = MustOpen(Uri("token=ci;object=ec"));
  ASSERT_NE(signer, nullptr);
  SignAndVerify(*signer, {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256});
}

// ---- CKR mapping (no token needed) ----

struct CkrCase {
  ck_rv_t rv;
  ErrorCode code;
  const char* name;
  const char* fragment;
};

TEST(Pkcs11CkrTest, MapsEachCodeToWhatTheCallerShouldDo) {
  const CkrCase cases[] = {
      {CKR_PIN_INCORRECT, ErrorCode::kInvalidArgument, "CKR_PIN_INCORRECT",
       "wrong PIN for token 'ci'"},
      {CKR_PIN_LOCKED, ErrorCode::kFailedPrecondition, "CKR_PIN_LOCKED",
       "PIN of token 'ci' is locked"},
      {CKR_PIN_EXPIRED, ErrorCode::kFailedPrecondition, "CKR_PIN_EXPIRED", "expired"},
      {CKR_PIN_LEN_RANGE, ErrorCode::kInvalidArgument, "CKR_PIN_LEN_RANGE", "PIN"},
      {CKR_TOKEN_NOT_PRESENT, ErrorCode::kUnavailable, "CKR_TOKEN_NOT_PRESENT", "not present"},
      {CKR_DEVICE_REMOVED, ErrorCode::kUnavailable, "CKR_DEVICE_REMOVED", "reconnect"},
      {CKR_SESSION_HANDLE_INVALID, ErrorCode::kUnavailable, "CKR_SESSION_HANDLE_INVALID", "retry"},
      {CKR_MECHANISM_INVALID, ErrorCode::kFailedPrecondition, "CKR_MECHANISM_INVALID",
       "token 'ci' does not support mechanism CKM_EDDSA for key 'k'"},
      {CKR_MECHANISM_PARAM_INVALID, ErrorCode::kFailedPrecondition, "CKR_MECHANISM_PARAM_INVALID",
       "CKM_EDDSA"},
      {CKR_KEY_HANDLE_INVALID, ErrorCode::kInvalidArgument, "CKR_KEY_HANDLE_INVALID",
       "key 'k' on token 'ci'"},
      {CKR_KEY_TYPE_INCONSISTENT, ErrorCode::kInvalidArgument, "CKR_KEY_TYPE_INCONSISTENT",
       "key 'k'"},
      {CKR_KEY_FUNCTION_NOT_PERMITTED, ErrorCode::kInvalidArgument,
       "CKR_KEY_FUNCTION_NOT_PERMITTED", "not allowed to sign"},
      {CKR_DEVICE_ERROR, ErrorCode::kUnavailable, "CKR_DEVICE_ERROR", "token 'ci' failed"},
      {CKR_FUNCTION_FAILED, ErrorCode::kUnavailable, "CKR_FUNCTION_FAILED", "retry"},
      {CKR_USER_NOT_LOGGED_IN, ErrorCode::kInvalidArgument, "CKR_USER_NOT_LOGGED_IN",
       "SIGNET_PKCS11_PIN"},
      {CKR_FUNCTION_REJECTED, ErrorCode::kPermissionDenied, "CKR_FUNCTION_REJECTED", "policy"},
      {CKR_ARGUMENTS_BAD, ErrorCode::kInternal, "CKR_ARGUMENTS_BAD", "bug"},
      {CKR_DATA_LEN_RANGE, ErrorCode::kInvalidArgument, "CKR_DATA_LEN_RANGE", "digest"},
      {0x80000123UL, ErrorCode::kFailedPrecondition, "CKR_VENDOR_DEFINED+0x123", "C_Sign"},
      {0x1234UL, ErrorCode::kFailedPrecondition, "CKR_0x1234", "C_Sign"},
  };
  for (const CkrCase& c : cases) {
    Error error = pkcs11::MapCkr(
        c.rv, {.function = "C_Sign", .token = "ci", .object = "k", .mechanism = "CKM_EDDSA"});
    EXPECT_EQ(error.code, c.code) << c.name;
    EXPECT_NE(error.message.find(std::string("(") + c.name + ")"), std::string::npos)
        << error.message;
    EXPECT_NE(error.message.find(c.fragment), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find('\n'), std::string::npos);
  }
  EXPECT_EQ(pkcs11::CkrName(CKR_OK), "CKR_OK");
  EXPECT_EQ(pkcs11::MechanismName(CKM_RSA_PKCS_PSS), "CKM_RSA_PKCS_PSS");
}

}  // namespace
}  // namespace signet
