#include "cli/context.h"

#include <algorithm>
#include <ostream>

namespace signet::cli {

const char* const kExitCodeHelp =
    "Exit codes: 0 success; 1 verification failed or signing refused; 2 usage error or bad "
    "input (missing or malformed file, bad key URI, wrong PIN); 3 backend unavailable, retry "
    "(token absent, network); 4 internal error.";

namespace {

std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

}  // namespace

int ReportError(Context& ctx, const std::string& file, const Error& error) {
  std::string message = OneLine(error.message);
  // Messages usually name the file already; add it when they do not.
  if (!file.empty() && message.find(file) == std::string::npos) message = file + ": " + message;
  *ctx.err << "signet: error: " << message << "\n";
  if (ctx.json) {
    nlohmann::json j;
    if (!file.empty()) j["file"] = file;
    j["ok"] = false;
    j["error"] = {{"code", std::string(ErrorCodeName(error.code))}, {"message", message}};
    PrintJson(ctx, j);
  }
  return ExitCodeFor(error.code);
}

void PrintJson(Context& ctx, const nlohmann::json& j) {
  *ctx.out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

int WorseExit(int a, int b) { return std::max(a, b); }

Result<KeyOptions> BuildKeyOptions(const std::string& cert_path, const std::string& passphrase_file,
                                   const std::string& pin_file) {
  KeyOptions options;
  options.cert_path = cert_path;
  if (!passphrase_file.empty()) {
    SIGNET_ASSIGN_OR_RETURN(Secret s, ReadSecretFile(passphrase_file));
    options.passphrase = std::move(s);
  } else if (Secret s = SecretFromEnv("SIGNET_KEY_PASSPHRASE"); !s.empty()) {
    options.passphrase = std::move(s);
  }
  if (!pin_file.empty()) {
    SIGNET_ASSIGN_OR_RETURN(Secret s, ReadSecretFile(pin_file));
    options.pin = std::move(s);
  }
  return options;
}

}  // namespace signet::cli
