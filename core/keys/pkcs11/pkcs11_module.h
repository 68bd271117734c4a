// PKCS#11 modules, tokens and sessions: the C API behind the pkcs11: backend.
//
// Internal to core/keys/pkcs11 (the public entry point is pkcs11_key.h). It
// includes <p11-kit/pkcs11.h> in its GNU flavour (CRYPTOKI_GNU: lower-case
// ck_* types and no member-renaming macros) so the header cannot rename
// identifiers such as `value` or `slot_id` in code included after it.
//
// Lifetime rules, chosen so that no destructor ever calls into a module:
//   - A module is dlopen()ed and C_Initialize()d exactly once per process and
//     module file (the cache is keyed by the module's real path). It is never
//     C_Finalize()d nor dlclose()d: finalising at exit would race with other
//     threads and with other users of the same module in the process, and the
//     operating system reclaims everything anyway. PKCS#11 requires a child
//     process to call C_Initialize itself: after fork() the next Load() in the
//     child initialises the module again and forgets the parent's sessions;
//     keys opened before the fork must not be used in the child.
//   - One session per token is opened on first use, logged in once (CKU_USER)
//     and reused by every key of that token. It is never C_CloseSession()ed;
//     it is dropped from the cache when the module reports it closed or the
//     token gone (the module has then closed it), so that the next Open()
//     starts afresh. Modules outlive everything (the cache is never freed),
//     so a Session refers to its Module by plain pointer.
//
// Thread-safety: Module and Session are thread-safe. The module is initialised
// with CKF_OS_LOCKING_OK; each Session serialises the calls made on its handle
// (PKCS#11 sessions must not be used by two threads at once), including
// multi-call sequences (C_FindObjectsInit..Final, C_SignInit..C_Sign).
#pragma once

#ifndef CRYPTOKI_GNU
#define CRYPTOKI_GNU 1
#endif
#include <p11-kit/pkcs11.h>

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "base/secret.h"
#include "keys/pkcs11/pkcs11_uri.h"

namespace signet::pkcs11 {

// Environment variables read by the backend.
inline constexpr const char* kModuleEnv = "SIGNET_PKCS11_MODULE";
inline constexpr const char* kPinEnv = "SIGNET_PKCS11_PIN";

// "CKR_PIN_INCORRECT"; unknown codes as "CKR_0x80000001".
std::string CkrName(ck_rv_t rv);
// "CKM_RSA_PKCS_PSS"; unknown mechanisms as "CKM_0x...".
std::string MechanismName(ck_mechanism_type_t mechanism);

// What a failed call was about, for the error message.
struct CallContext {
  std::string_view function = {};   // "C_Sign"
  std::string_view token = {};      // token label, may be empty
  std::string_view object = {};     // object label (or "id=%01"), may be empty
  std::string_view mechanism = {};  // "CKM_ECDSA", may be empty
};

// Maps a CK_RV to an Error whose code says what the caller should do and
// whose one-line message names the token/object, says what to do and ends
// with the CKR_ name in parentheses. Never called with CKR_OK.
Error MapCkr(ck_rv_t rv, const CallContext& context);

// The module and library attributes of CK_INFO, blank padding removed.
struct LibraryInfo {
  std::string manufacturer;
  std::string description;
  ck_version version{};
};

// A slot with an initialised token (CK_SLOT_INFO + CK_TOKEN_INFO), blank
// padding removed.
struct TokenInfo {
  ck_slot_id_t slot = 0;
  std::string label;
  std::string manufacturer;
  std::string model;
  std::string serial;
  std::string slot_description;
  std::string slot_manufacturer;
  ck_flags_t flags = 0;  // CK_TOKEN_INFO.flags

  [[nodiscard]] bool login_required() const { return (flags & CKF_LOGIN_REQUIRED) != 0; }
  [[nodiscard]] bool protected_authentication_path() const {
    return (flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
  }
};

// True when the token and library attributes of `uri` (token, manufacturer,
// model, serial, slot-*, library-*) all match (RFC 7512 section 2.4:
// attributes absent from the URI match anything).
bool TokenMatches(const Pkcs11Uri& uri, const LibraryInfo& library, const TokenInfo& token);

class Session;

class Module {
 public:
  // The module file named by the URI's module-path (or module-name inside a
  // module-path directory), else by $SIGNET_PKCS11_MODULE. kInvalidArgument
  // when neither is set or the path is not absolute.
  static Result<std::string> ResolvePath(const Pkcs11Uri& uri);

  // Loads and initialises the module at `path`, once per process. Fails with
  // kInvalidArgument naming the path when the file is missing or is not a
  // PKCS#11 module, kFailedPrecondition when C_Initialize fails (e.g. a bad
  // SOFTHSM2_CONF).
  static Result<std::shared_ptr<Module>> Load(const std::string& path);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module() = default;  // never finalises: see the file comment

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const LibraryInfo& library() const { return library_; }
  [[nodiscard]] ck_function_list* functions() const { return functions_; }

  // Initialised tokens in slots with a token present, in slot order.
  Result<std::vector<TokenInfo>> Tokens() const;

  // The shared session of `token` (opened on first use).
  Result<std::shared_ptr<Session>> SessionFor(const TokenInfo& token);
  // Drops `session` from the cache (after the module reported it unusable).
  void ForgetSession(const Session& session);

 private:
  Module(std::string path, void* handle, ck_function_list* functions)
      : path_(std::move(path)), handle_(handle), functions_(functions) {}
  friend struct ModuleCache;

  std::string path_;
  void* handle_ = nullptr;  // dlopen handle, intentionally never closed
  ck_function_list* functions_ = nullptr;
  LibraryInfo library_;
  pid_t init_pid_ = 0;  // the process that called C_Initialize

  std::mutex sessions_mutex_;
  std::map<ck_slot_id_t, std::shared_ptr<Session>> sessions_;
};

// One open session with a token.
class Session {
 public:
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() = default;  // never closes the handle: see the file comment

  [[nodiscard]] const TokenInfo& token() const { return token_; }
  [[nodiscard]] Module& module() const { return *module_; }

  // Makes sure the session is logged in as CKU_USER when the token needs it.
  // Logs in once; a later call with the same PIN is free. A different PIN is
  // checked by the token (log out, log in with it; on failure the previous
  // login is restored), so a wrong PIN fails the same way in a long-running
  // process as in a fresh one. Without a PIN: a token with a protected
  // authentication path (PIN pad) logs in with NULL, any other token needing
  // login fails with kInvalidArgument "token 'X' needs a PIN: ...".
  // The PIN of the current login stays in memory (as a Secret) while the
  // session lives, to restore the login after another PIN was tried.
  Status Login(const std::optional<Secret>& pin);

  // Incremented whenever this session logs out. Handles of private objects
  // found before a logout may be invalid afterwards (SoftHSM2 drops them):
  // holders compare generations and find their objects again.
  [[nodiscard]] std::uint64_t login_generation() const { return login_generation_.load(); }

  // Object handles matching `attributes` (at most `limit`).
  Result<std::vector<ck_object_handle_t>> FindObjects(std::span<ck_attribute> attributes,
                                                      std::size_t limit = 4096);
  // The value of one attribute; nullopt when the object has no such
  // attribute or it is sensitive. Errors name `object_name`.
  Result<std::optional<Bytes>> GetAttribute(ck_object_handle_t object, ck_attribute_type_t type,
                                            std::string_view object_name);
  // Whether the token offers `mechanism` with CKF_SIGN.
  Result<bool> SupportsSigning(ck_mechanism_type_t mechanism);
  // C_SignInit + C_Sign. With `context_pin` (keys with CKA_ALWAYS_AUTHENTICATE)
  // a CKU_CONTEXT_SPECIFIC login follows C_SignInit.
  Result<Bytes> Sign(ck_object_handle_t key, const ck_mechanism& mechanism, ByteView data,
                     std::string_view object_name, const Secret* context_pin);

 private:
  friend class Module;
  Session(Module* module, TokenInfo token, ck_session_handle_t handle)
      : module_(module), token_(std::move(token)), handle_(handle) {}
  // Maps `rv` and forgets the session when the module reports it unusable.
  Error Fail(ck_rv_t rv, const CallContext& context);
  Status LoginLocked(const Secret* pin);

  Module* module_;  // lives for the whole process
  TokenInfo token_;
  ck_session_handle_t handle_;
  std::mutex mutex_;
  // The PIN of the current CKU_USER login (nullopt: not logged in by us).
  std::optional<Secret> login_pin_;
  std::atomic<std::uint64_t> login_generation_{0};
};

}  // namespace signet::pkcs11
