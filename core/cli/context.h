// What every subcommand shares: the registries, output mode, and the one
// place where errors become a line on stderr (and a JSON object with --json).
#pragma once

#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "formats/format.h"
#include "keys/key_signer.h"

namespace signet::cli {

struct Context {
  bool json = false;
  bool quiet = false;
  KeyRegistry keys;
  FormatRegistry formats;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

// Exit-code help text shared by --help of every command.
extern const char* const kExitCodeHelp;

// Prints "signet: <file>: <message>" (one line) on stderr and, with --json,
// {"file":..., "ok":false, "error":{...}} on stdout. Returns the exit code.
int ReportError(Context& ctx, const std::string& file, const Error& error);
// Prints one JSON object as a line on stdout.
void PrintJson(Context& ctx, const nlohmann::json& j);
// The more severe of two exit codes (for commands over several files).
int WorseExit(int a, int b);

// Key options from --cert, --passphrase-file / SIGNET_KEY_PASSPHRASE and
// --pin-file (the PKCS#11 backend also reads pin-source and SIGNET_PKCS11_PIN).
Result<KeyOptions> BuildKeyOptions(const std::string& cert_path, const std::string& passphrase_file,
                                   const std::string& pin_file);

}  // namespace signet::cli
