#include "keys/pkcs11/pkcs11_module.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "base/file.h"

namespace signet::pkcs11 {
namespace {

// CK_TRUE, which the GNU flavour of the header does not define.
constexpr unsigned char kTrue = 1;
// Bound on one attribute value (certificates are the largest we read).
constexpr unsigned long kMaxAttributeSize = 1 << 20;

struct CkrEntry {
  ck_rv_t rv;
  const char* name;
};

// Every CKR_ code of PKCS#11 v2.40 (names as in the standard's header).
constexpr CkrEntry kCkrNames[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_CANCEL, "CKR_CANCEL"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_NO_EVENT, "CKR_NO_EVENT"},
    {CKR_NEED_TO_CREATE_THREADS, "CKR_NEED_TO_CREATE_THREADS"},
    {CKR_CANT_LOCK, "CKR_CANT_LOCK"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED"},
    {CKR_DATA_INVALID, "CKR_DATA_INVALID"},
    {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
    {CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
    {CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED"},
    {CKR_FUNCTION_NOT_PARALLEL, "CKR_FUNCTION_NOT_PARALLEL"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_NOT_NEEDED, "CKR_KEY_NOT_NEEDED"},
    {CKR_KEY_CHANGED, "CKR_KEY_CHANGED"},
    {CKR_KEY_NEEDED, "CKR_KEY_NEEDED"},
    {CKR_KEY_INDIGESTIBLE, "CKR_KEY_INDIGESTIBLE"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_KEY_NOT_WRAPPABLE, "CKR_KEY_NOT_WRAPPABLE"},
    {CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS"},
    {CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS"},
    {CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS"},
    {CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID"},
    {CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_UNWRAPPING_KEY_SIZE_RANGE, "CKR_UNWRAPPING_KEY_SIZE_RANGE"},
    {CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"},
    {CKR_USER_TOO_MANY_TYPES, "CKR_USER_TOO_MANY_TYPES"},
    {CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID"},
    {CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE"},
    {CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID"},
    {CKR_WRAPPING_KEY_SIZE_RANGE, "CKR_WRAPPING_KEY_SIZE_RANGE"},
    {CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT"},
    {CKR_RANDOM_SEED_NOT_SUPPORTED, "CKR_RANDOM_SEED_NOT_SUPPORTED"},
    {CKR_RANDOM_NO_RNG, "CKR_RANDOM_NO_RNG"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
    {CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_SAVED_STATE_INVALID, "CKR_SAVED_STATE_INVALID"},
    {CKR_INFORMATION_SENSITIVE, "CKR_INFORMATION_SENSITIVE"},
    {CKR_STATE_UNSAVEABLE, "CKR_STATE_UNSAVEABLE"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    {CKR_MUTEX_BAD, "CKR_MUTEX_BAD"},
    {CKR_MUTEX_NOT_LOCKED, "CKR_MUTEX_NOT_LOCKED"},
    {CKR_NEW_PIN_MODE, "CKR_NEW_PIN_MODE"},
    {CKR_NEXT_OTP, "CKR_NEXT_OTP"},
    {CKR_EXCEEDED_MAX_ITERATIONS, "CKR_EXCEEDED_MAX_ITERATIONS"},
    {CKR_FIPS_SELF_TEST_FAILED, "CKR_FIPS_SELF_TEST_FAILED"},
    {CKR_LIBRARY_LOAD_FAILED, "CKR_LIBRARY_LOAD_FAILED"},
    {CKR_PIN_TOO_WEAK, "CKR_PIN_TOO_WEAK"},
    {CKR_PUBLIC_KEY_INVALID, "CKR_PUBLIC_KEY_INVALID"},
    {CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED"},
};

std::string Hex(unsigned long value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%lx", value);
  return buf;
}

// A fixed-size PKCS#11 text field: blank padded (some modules NUL-terminate).
std::string FromPadded(const unsigned char* data, std::size_t size) {
  std::size_t n = 0;
  while (n < size && data[n] != 0) ++n;
  while (n > 0 && data[n - 1] == ' ') --n;
  return std::string(reinterpret_cast<const char*>(data), n);
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// "key 'rsa' on token 'ci'", "token 'ci'", "key 'rsa'".
std::string Subject(const CallContext& c) {
  std::string out;
  if (!c.object.empty()) out = "key " + Quoted(c.object);
  if (!c.token.empty()) out += (out.empty() ? "token " : " on token ") + Quoted(c.token);
  return out.empty() ? "the PKCS#11 module" : out;
}

std::string TokenSubject(const CallContext& c) {
  return c.token.empty() ? "the token" : "token " + Quoted(c.token);
}

bool SamePin(const Secret& a, const Secret& b) {
  std::string_view x = a.Reveal();
  std::string_view y = b.Reveal();
  return x.size() == y.size() && CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

unsigned char* PinBytes(const Secret& pin) {
  // PKCS#11 takes a non-const pointer but does not write through it.
  return reinterpret_cast<unsigned char*>(const_cast<char*>(pin.Reveal().data()));
}

bool SessionGone(ck_rv_t rv) {
  return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
         rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED;
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string CkrName(ck_rv_t rv) {
  for (const CkrEntry& entry : kCkrNames) {
    if (entry.rv == rv) return entry.name;
  }
  if ((rv & CKR_VENDOR_DEFINED) != 0) return "CKR_VENDOR_DEFINED+" + Hex(rv & ~CKR_VENDOR_DEFINED);
  return "CKR_" + Hex(rv);
}

std::string MechanismName(ck_mechanism_type_t mechanism) {
  switch (mechanism) {
    case CKM_RSA_PKCS:
      return "CKM_RSA_PKCS";
    case CKM_RSA_PKCS_PSS:
      return "CKM_RSA_PKCS_PSS";
    case CKM_ECDSA:
      return "CKM_ECDSA";
    case CKM_EDDSA:
      return "CKM_EDDSA";
    case CKM_SHA256:
      return "CKM_SHA256";
    case CKM_SHA384:
      return "CKM_SHA384";
    case CKM_SHA512:
      return "CKM_SHA512";
    default:
      return "CKM_" + Hex(mechanism);
  }
}

Error MapCkr(ck_rv_t rv, const CallContext& c) {
  const std::string name = " (" + CkrName(rv) + ")";
  const std::string subject = Subject(c);
  const std::string token = TokenSubject(c);
  const std::string function(c.function.empty() ? "a PKCS#11 call" : c.function);
  const std::string mechanism(c.mechanism.empty() ? "the mechanism" : c.mechanism);
  switch (rv) {
    case CKR_PIN_INCORRECT:
      return {
          ErrorCode::kInvalidArgument,
          "wrong PIN for " + token +
              ": check the PIN given by --pin-file, pin-source, pin-value or SIGNET_PKCS11_PIN" +
              name};
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      return {ErrorCode::kInvalidArgument,
              "the PIN for " + token + " has characters or a length the token refuses" + name};
    case CKR_PIN_LOCKED:
      return {ErrorCode::kFailedPrecondition,
              "PIN of " + token +
                  " is locked after too many wrong attempts: unlock it with the SO PIN (e.g. "
                  "pkcs11-tool --unlock-pin) before signing again" +
                  name};
    case CKR_PIN_EXPIRED:
      return {ErrorCode::kFailedPrecondition,
              "PIN of " + token + " has expired: set a new user PIN first" + name};
    case CKR_USER_PIN_NOT_INITIALIZED:
      return {ErrorCode::kFailedPrecondition,
              token + " has no user PIN yet: initialise it with the SO PIN" + name};
    case CKR_USER_NOT_LOGGED_IN:
      return {ErrorCode::kInvalidArgument,
              subject + " needs a login for " + function +
                  ": give a PIN with --pin-file, SIGNET_PKCS11_PIN or pin-source=... in the URI" +
                  name};
    case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
    case CKR_USER_TOO_MANY_TYPES:
      return {ErrorCode::kFailedPrecondition,
              token +
                  " is logged in as another user (e.g. the SO) by this process: close that "
                  "session first" +
                  name};
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SLOT_ID_INVALID:
      return {ErrorCode::kUnavailable, token + " is not present (removed or unplugged?) during " +
                                           function + ": reconnect it and retry" + name};
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
      return {ErrorCode::kUnavailable,
              "the session with " + token + " was closed during " + function + ": retry" + name};
    case CKR_SESSION_COUNT:
      return {ErrorCode::kUnavailable,
              token + " has no free session: retry when other users are done" + name};
    case CKR_MECHANISM_INVALID:
      return {ErrorCode::kFailedPrecondition,
              token + " does not support mechanism " + mechanism +
                  (c.object.empty() ? "" : " for key " + Quoted(c.object)) +
                  ": choose another signature scheme or key" + name};
    case CKR_MECHANISM_PARAM_INVALID:
      return {ErrorCode::kFailedPrecondition,
              token + " refuses the parameters of " + mechanism +
                  (c.object.empty() ? "" : " for key " + Quoted(c.object)) +
                  ": choose another signature scheme or digest" + name};
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
      return {ErrorCode::kInvalidArgument,
              subject +
                  " no longer exists (deleted, or the token was re-initialised): open the "
                  "key again" +
                  name};
    case CKR_KEY_TYPE_INCONSISTENT:
      return {ErrorCode::kInvalidArgument, subject + " cannot be used with " + mechanism +
                                               ": choose a scheme that fits the key" + name};
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
      return {ErrorCode::kInvalidArgument,
              subject + " is not allowed to sign (CKA_SIGN is false): use a signing key" + name};
    case CKR_KEY_SIZE_RANGE:
      return {ErrorCode::kInvalidArgument,
              subject + " has a size " + mechanism + " does not support on this token" + name};
    case CKR_DATA_LEN_RANGE:
    case CKR_DATA_INVALID:
      return {ErrorCode::kInvalidArgument,
              subject + " refuses the data to sign (wrong digest size for the key?)" + name};
    case CKR_FUNCTION_REJECTED:
    case CKR_ACTION_PROHIBITED:
      return {ErrorCode::kPermissionDenied,
              subject + " refused " + function + " by token policy" + name};
    case CKR_FUNCTION_NOT_SUPPORTED:
      return {ErrorCode::kFailedPrecondition,
              "the PKCS#11 module of " + token + " does not implement " + function + name};
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_FUNCTION_FAILED:
    case CKR_GENERAL_ERROR:
    case CKR_HOST_MEMORY:
    case CKR_FUNCTION_CANCELED:
    case CKR_CANT_LOCK:
      return {ErrorCode::kUnavailable,
              token + " failed during " + function +
                  (c.object.empty() ? "" : " with key " + Quoted(c.object)) +
                  ": retry; if it persists, check the device or module" + name};
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_ARGUMENTS_BAD:
    case CKR_OPERATION_ACTIVE:
    case CKR_OPERATION_NOT_INITIALIZED:
    case CKR_BUFFER_TOO_SMALL:
    case CKR_TEMPLATE_INCOMPLETE:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_ATTRIBUTE_TYPE_INVALID:
    case CKR_ATTRIBUTE_VALUE_INVALID:
    case CKR_USER_TYPE_INVALID:
      return {ErrorCode::kInternal, function + " on " + token +
                                        " was called wrongly: this is a bug in signet, please "
                                        "report it" +
                                        name};
    default:
      return {ErrorCode::kFailedPrecondition, function + " failed for " + subject +
                                                  ": see the token's documentation for " +
                                                  CkrName(rv) + name};
  }
}

bool TokenMatches(const Pkcs11Uri& uri, const LibraryInfo& library, const TokenInfo& token) {
  auto same = [](const std::optional<std::string>& wanted, const std::string& actual) {
    return !wanted || *wanted == actual;
  };
  if (!same(uri.library_manufacturer, library.manufacturer) ||
      !same(uri.library_description, library.description)) {
    return false;
  }
  if (uri.library_version &&
      (uri.library_version->major != library.version.major ||
       (uri.library_version->minor && *uri.library_version->minor != library.version.minor))) {
    return false;
  }
  if (uri.slot_id && *uri.slot_id != token.slot) return false;
  return same(uri.slot_description, token.slot_description) &&
         same(uri.slot_manufacturer, token.slot_manufacturer) && same(uri.token, token.label) &&
         same(uri.manufacturer, token.manufacturer) && same(uri.model, token.model) &&
         same(uri.serial, token.serial);
}

// The process-wide module cache. Heap-allocated and never freed, so that no
// module is used after a static destructor ran (see the header).
struct ModuleCache {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Module>> modules;  // by real path

  static ModuleCache& Get() {
    static auto* cache = new ModuleCache;
    return *cache;
  }

  static std::shared_ptr<Module> Make(std::string path, void* handle, ck_function_list* functions) {
    return std::shared_ptr<Module>(new Module(std::move(path), handle, functions));
  }

  // C_Initialize (again, in a forked child) and C_GetInfo.
  static Status Initialize(Module& module) {
    ck_c_initialize_args args{};
    args.flags = CKF_OS_LOCKING_OK;
    ck_function_list* f = module.functions_;
    ck_rv_t rv = f->C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED && module.init_pid_ != 0) {
      // A forked child inherits the parent's initialised state, which it may
      // not use: finalise that copy and start over.
      f->C_Finalize(nullptr);
      rv = f->C_Initialize(&args);
    }
    // CKR_CRYPTOKI_ALREADY_INITIALIZED on first load: another library in this
    // process initialised the module; it is usable as is.
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      std::string hint;
      if (module.path_.find("softhsm") != std::string::npos) {
        hint = " (SoftHSM2 reads its configuration from SOFTHSM2_CONF)";
      }
      return FailedPrecondition("cannot initialise PKCS#11 module '" + module.path_ +
                                "': check its configuration" + hint + " (" + CkrName(rv) + ")");
    }
    ck_info info{};
    if (f->C_GetInfo(&info) == CKR_OK) {
      module.library_.manufacturer = FromPadded(info.manufacturer_id, sizeof info.manufacturer_id);
      module.library_.description =
          FromPadded(info.library_description, sizeof info.library_description);
      module.library_.version = info.library_version;
    }
    {
      std::lock_guard lock(module.sessions_mutex_);
      module.sessions_.clear();
    }
    module.init_pid_ = ::getpid();
    return {};
  }
};

Result<std::string> Module::ResolvePath(const Pkcs11Uri& uri) {
  std::string path;
  std::string origin;
  if (uri.module_path) {
    path = *uri.module_path;
    origin = "module-path";
  } else if (const char* env = std::getenv(kModuleEnv); env != nullptr && *env != '\0') {
    path = env;
    origin = kModuleEnv;
  } else {
    return InvalidArgument(
        std::string("no PKCS#11 module given: add module-path=/path/to/module.so to the URI's "
                    "query or set ") +
        kModuleEnv);
  }
  if (path.front() != '/') {
    return InvalidArgument(origin + " must be an absolute path to a PKCS#11 module");
  }
  if (IsDirectory(path)) {
    // RFC 7512 section 2.3: module-name names a module inside a module-path directory.
    if (!uri.module_name) {
      return InvalidArgument(origin + " '" + path +
                             "' is a directory: name the module file, or add module-name=NAME");
    }
    std::string dir = path.back() == '/' ? path : path + "/";
    for (const std::string& candidate :
         {dir + *uri.module_name + ".so", dir + "lib" + *uri.module_name + ".so"}) {
      if (PathExists(candidate)) return candidate;
    }
    return InvalidArgument("no PKCS#11 module '" + *uri.module_name + "' (.so) in directory '" +
                           path + "'");
  }
  return path;
}

Result<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument("PKCS#11 module path '" + path + "' is not absolute");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return InvalidArgument("PKCS#11 module '" + path + "' does not exist");
    }
    return InvalidArgument("cannot access PKCS#11 module '" + path + "': " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("PKCS#11 module '" + path + "' is not a regular file");
  }
  std::string key = path;
  if (char* real = ::realpath(path.c_str(), nullptr); real != nullptr) {
    key = real;
    std::free(real);
  }

  ModuleCache& cache = ModuleCache::Get();
  std::lock_guard lock(cache.mutex);
  if (auto it = cache.modules.find(key); it != cache.modules.end()) {
    if (it->second->init_pid_ != ::getpid()) {
      SIGNET_RETURN_IF_ERROR(ModuleCache::Initialize(*it->second));
    }
    return it->second;
  }

  ::dlerror();
  // Never dlclose()d: see the header.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return InvalidArgument("cannot load PKCS#11 module '" + path +
                           "': " + (why != nullptr ? why : "dlopen failed"));
  }
  void* symbol = ::dlsym(handle, "C_GetFunctionList");
  if (symbol == nullptr) {
    return InvalidArgument("'" + path + "' is not a PKCS#11 module (it has no C_GetFunctionList)");
  }
  CK_C_GetFunctionList get_function_list = nullptr;
  static_assert(sizeof get_function_list == sizeof symbol);
  std::memcpy(&get_function_list, &symbol, sizeof symbol);
  ck_function_list* functions = nullptr;
  ck_rv_t rv = get_function_list(&functions);
  if (rv != CKR_OK || functions == nullptr) {
    return InvalidArgument("PKCS#11 module '" + path + "' did not give its function list (" +
                           CkrName(rv) + ")");
  }
  std::shared_ptr<Module> module = ModuleCache::Make(path, handle, functions);
  SIGNET_RETURN_IF_ERROR(ModuleCache::Initialize(*module));
  cache.modules.emplace(std::move(key), module);
  return module;
}

Result<std::vector<TokenInfo>> Module::Tokens() const {
  std::vector<ck_slot_id_t> slots;
  for (int attempt = 0;; ++attempt) {
    unsigned long count = 0;
    ck_rv_t rv = functions_->C_GetSlotList(kTrue, nullptr, &count);
    if (rv != CKR_OK) return std::unexpected(MapCkr(rv, {.function = "C_GetSlotList"}));
    slots.resize(count);
    if (count == 0) break;
    rv = functions_->C_GetSlotList(kTrue, slots.data(), &count);
    if (rv == CKR_BUFFER_TOO_SMALL && attempt < 3) continue;  // a token arrived meanwhile
    if (rv != CKR_OK) return std::unexpected(MapCkr(rv, {.function = "C_GetSlotList"}));
    slots.resize(count);
    break;
  }
  std::vector<TokenInfo> tokens;
  for (ck_slot_id_t slot : slots) {
    ck_token_info info{};
    ck_rv_t rv = functions_->C_GetTokenInfo(slot, &info);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_RECOGNIZED ||
        rv == CKR_SLOT_ID_INVALID) {
      continue;  // removed since C_GetSlotList
    }
    if (rv != CKR_OK) return std::unexpected(MapCkr(rv, {.function = "C_GetTokenInfo"}));
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    TokenInfo token;
    token.slot = slot;
    token.label = FromPadded(info.label, sizeof info.label);
    token.manufacturer = FromPadded(info.manufacturer_id, sizeof info.manufacturer_id);
    token.model = FromPadded(info.model, sizeof info.model);
    token.serial = FromPadded(info.serial_number, sizeof info.serial_number);
    token.flags = info.flags;
    ck_slot_info slot_info{};
    if (functions_->C_GetSlotInfo(slot, &slot_info) == CKR_OK) {
      token.slot_description =
          FromPadded(slot_info.slot_description, sizeof slot_info.slot_description);
      token.slot_manufacturer =
          FromPadded(slot_info.manufacturer_id, sizeof slot_info.manufacturer_id);
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

Result<std::shared_ptr<Session>> Module::SessionFor(const TokenInfo& token) {
  std::lock_guard lock(sessions_mutex_);
  if (auto it = sessions_.find(token.slot); it != sessions_.end()) {
    // Same slot, same token: reuse. Another token in that slot: start over.
    if (it->second->token_.serial == token.serial && it->second->token_.label == token.label) {
      return it->second;
    }
    sessions_.erase(it);
  }
  ck_session_handle_t handle = 0;
  ck_rv_t rv = functions_->C_OpenSession(token.slot, CKF_SERIAL_SESSION, nullptr, nullptr, &handle);
  if (rv != CKR_OK) {
    return std::unexpected(MapCkr(rv, {.function = "C_OpenSession", .token = token.label}));
  }
  auto session = std::shared_ptr<Session>(new Session(this, token, handle));
  sessions_.emplace(token.slot, session);
  return session;
}

void Module::ForgetSession(const Session& session) {
  std::lock_guard lock(sessions_mutex_);
  auto it = sessions_.find(session.token_.slot);
  if (it != sessions_.end() && it->second.get() == &session) sessions_.erase(it);
}

Error Session::Fail(ck_rv_t rv, const CallContext& context) {
  if (SessionGone(rv)) module_->ForgetSession(*this);
  return MapCkr(rv, context);
}

Status Session::Login(const std::optional<Secret>& pin) {
  std::lock_guard lock(mutex_);
  return LoginLocked(pin ? &*pin : nullptr);
}

Status Session::LoginLocked(const Secret* pin) {
  if (!token_.login_required()) return {};
  ck_function_list* f = module_->functions();
  const CallContext context{.function = "C_Login", .token = token_.label};
  ck_session_info info{};
  ck_rv_t rv = f->C_GetSessionInfo(handle_, &info);
  if (rv != CKR_OK) {
    return std::unexpected(Fail(rv, {.function = "C_GetSessionInfo", .token = token_.label}));
  }
  const bool user = info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
  if (pin == nullptr) {
    if (user && !login_pin_) return {};  // logged in on a PIN pad, or by another user of the module
    if (token_.protected_authentication_path() && !user) {
      rv = f->C_Login(handle_, CKU_USER, nullptr, 0);
      if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        return std::unexpected(Fail(rv, context));
      }
      login_pin_.reset();
      return {};
    }
    return InvalidArgument("token '" + token_.label + "' needs a PIN: use --pin-file, set " +
                           kPinEnv + " or pin-source=... in the key URI");
  }
  if (user) {
    if (login_pin_ && SamePin(*login_pin_, *pin)) return {};
    // Logged in with another PIN: let the token judge this one.
    f->C_Logout(handle_);
    ++login_generation_;
  }
  rv = f->C_Login(handle_, CKU_USER, PinBytes(*pin), pin->Reveal().size());
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
    login_pin_ = *pin;
    return {};
  }
  Error error = Fail(rv, context);
  if (user && login_pin_) {
    // Restore the login the other keys of this token rely on.
    if (f->C_Login(handle_, CKU_USER, PinBytes(*login_pin_), login_pin_->Reveal().size()) !=
        CKR_OK) {
      login_pin_.reset();
    }
  } else {
    login_pin_.reset();
  }
  return std::unexpected(std::move(error));
}

Result<std::vector<ck_object_handle_t>> Session::FindObjects(std::span<ck_attribute> attributes,
                                                             std::size_t limit) {
  std::lock_guard lock(mutex_);
  ck_function_list* f = module_->functions();
  ck_rv_t rv = f->C_FindObjectsInit(handle_, attributes.data(), attributes.size());
  if (rv != CKR_OK) {
    return std::unexpected(Fail(rv, {.function = "C_FindObjectsInit", .token = token_.label}));
  }
  std::vector<ck_object_handle_t> found;
  std::array<ck_object_handle_t, 64> batch{};
  while (found.size() < limit) {
    unsigned long count = 0;
    rv = f->C_FindObjects(handle_, batch.data(), batch.size(), &count);
    if (rv != CKR_OK) {
      f->C_FindObjectsFinal(handle_);
      return std::unexpected(Fail(rv, {.function = "C_FindObjects", .token = token_.label}));
    }
    if (count == 0) break;
    found.insert(found.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(count));
  }
  f->C_FindObjectsFinal(handle_);
  if (found.size() > limit) found.resize(limit);
  return found;
}

Result<std::optional<Bytes>> Session::GetAttribute(ck_object_handle_t object,
                                                   ck_attribute_type_t type,
                                                   std::string_view object_name) {
  std::lock_guard lock(mutex_);
  ck_function_list* f = module_->functions();
  const CallContext context{
      .function = "C_GetAttributeValue", .token = token_.label, .object = object_name};
  ck_attribute attribute{type, nullptr, 0};
  ck_rv_t rv = f->C_GetAttributeValue(handle_, object, &attribute, 1);
  if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID) return std::nullopt;
  if (rv != CKR_OK) return std::unexpected(Fail(rv, context));
  if (attribute.value_len == CK_UNAVAILABLE_INFORMATION) return std::nullopt;
  if (attribute.value_len > kMaxAttributeSize) {
    return InvalidArgument("an attribute of " + Subject(context) + " is larger than " +
                           std::to_string(kMaxAttributeSize) + " bytes");
  }
  Bytes value(attribute.value_len);
  attribute.value = value.data();
  rv = f->C_GetAttributeValue(handle_, object, &attribute, 1);
  if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID) return std::nullopt;
  if (rv != CKR_OK) return std::unexpected(Fail(rv, context));
  if (attribute.value_len == CK_UNAVAILABLE_INFORMATION || attribute.value_len > value.size()) {
    return std::nullopt;
  }
  value.resize(attribute.value_len);
  return value;
}

Result<bool> Session::SupportsSigning(ck_mechanism_type_t mechanism) {
  ck_mechanism_info info{};
  ck_rv_t rv = module_->functions()->C_GetMechanismInfo(token_.slot, mechanism, &info);
  if (rv == CKR_MECHANISM_INVALID) return false;
  if (rv != CKR_OK) {
    std::string name = MechanismName(mechanism);
    return std::unexpected(
        Fail(rv, {.function = "C_GetMechanismInfo", .token = token_.label, .mechanism = name}));
  }
  return (info.flags & CKF_SIGN) != 0;
}

Result<Bytes> Session::Sign(ck_object_handle_t key, const ck_mechanism& mechanism, ByteView data,
                            std::string_view object_name, const Secret* context_pin) {
  std::lock_guard lock(mutex_);
  ck_function_list* f = module_->functions();
  const std::string mechanism_name = MechanismName(mechanism.mechanism);
  CallContext context{.function = "C_SignInit",
                      .token = token_.label,
                      .object = object_name,
                      .mechanism = mechanism_name};
  ck_mechanism m = mechanism;
  ck_rv_t rv = f->C_SignInit(handle_, &m, key);
  if (rv != CKR_OK) return std::unexpected(Fail(rv, context));
  auto* input = const_cast<unsigned char*>(data.data());
  if (context_pin != nullptr) {
    rv = f->C_Login(handle_, CKU_CONTEXT_SPECIFIC, PinBytes(*context_pin),
                    context_pin->Reveal().size());
    if (rv != CKR_OK) {
      // End the pending operation: C_Sign without the login fails and terminates it.
      unsigned char scratch[1024];
      unsigned long scratch_len = sizeof scratch;
      f->C_Sign(handle_, input, data.size(), scratch, &scratch_len);
      context.function = "C_Login";
      return std::unexpected(Fail(rv, context));
    }
  }
  context.function = "C_Sign";
  unsigned long length = 0;
  rv = f->C_Sign(handle_, input, data.size(), nullptr, &length);  // asks the size only
  if (rv != CKR_OK) return std::unexpected(Fail(rv, context));
  Bytes signature(length);
  rv = f->C_Sign(handle_, input, data.size(), signature.data(), &length);
  if (rv == CKR_BUFFER_TOO_SMALL) {
    signature.resize(length);
    rv = f->C_Sign(handle_, input, data.size(), signature.data(), &length);
  }
  if (rv != CKR_OK) return std::unexpected(Fail(rv, context));
  signature.resize(length);
  return signature;
}

}  // namespace signet::pkcs11
