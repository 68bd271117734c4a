// Structured JSON logs for the Signet server (issue 4, "Operations"): one
// JSON object per line,
//   {"time":"2024-05-01T12:34:56.789Z","level":"info","msg":"listening","port":8443}
// written with a single write per line, so lines from concurrent threads
// never interleave.
//
// Fields take strings, integers, floating point numbers and booleans. There
// is deliberately no way to log a signet::Secret: the LogField constructor
// for it is deleted, and Secret converts to nothing else, so
// `logger.Info("x", {{"pin", secret}})` does not compile. Reading a secret
// needs Secret::Reveal(), which must never reach a logger.
//
// Strings are escaped as JSON; invalid UTF-8 becomes U+FFFD, so every line
// is valid JSON whatever the input. A field named "time", "level" or "msg"
// is written as "field.time" etc.
//
// Thread-safety: Logger is thread-safe; the level may be changed at any time.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/secret.h"

namespace signet::server {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error".
std::string_view LogLevelName(LogLevel level);
// Parses a level name (as above, also "warning"); nullopt when unknown.
std::optional<LogLevel> ParseLogLevel(std::string_view name);

// One key/value pair of a log line.
class LogField {
 public:
  LogField(std::string_view key, std::string_view value) : key_(key), value_(std::string(value)) {}
  LogField(std::string_view key, const char* value)
      : key_(key), value_(std::string(value == nullptr ? "" : value)) {}
  LogField(std::string_view key, std::string value) : key_(key), value_(std::move(value)) {}
  LogField(std::string_view key, bool value) : key_(key), value_(value) {}
  template <std::signed_integral T>
  LogField(std::string_view key, T value) : key_(key), value_(static_cast<std::int64_t>(value)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), value_(static_cast<std::uint64_t>(value)) {}
  LogField(std::string_view key, double value) : key_(key), value_(value) {}
  // Secrets are never logged (see the file comment).
  LogField(std::string_view key, const Secret& value) = delete;

  [[nodiscard]] std::string_view key() const { return key_; }
  // Appends `"key":value` (JSON) to `out`.
  void AppendJson(std::string& out) const;

 private:
  std::string_view key_;  // keys are literals or outlive the Log() call
  std::variant<std::string, std::int64_t, std::uint64_t, double, bool> value_;
};

using LogFields = std::initializer_list<LogField>;

class Logger {
 public:
  // Writes to `out`, which must outlive the logger. Lines below `min_level`
  // are dropped.
  explicit Logger(std::ostream& out, LogLevel min_level = LogLevel::kInfo);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void set_level(LogLevel level) { min_level_.store(level, std::memory_order_relaxed); }
  [[nodiscard]] LogLevel level() const { return min_level_.load(std::memory_order_relaxed); }
  [[nodiscard]] bool Enabled(LogLevel level) const { return level >= this->level(); }

  void Log(LogLevel level, std::string_view msg, LogFields fields = {});
  void Debug(std::string_view msg, LogFields fields = {}) { Log(LogLevel::kDebug, msg, fields); }
  void Info(std::string_view msg, LogFields fields = {}) { Log(LogLevel::kInfo, msg, fields); }
  void Warn(std::string_view msg, LogFields fields = {}) { Log(LogLevel::kWarn, msg, fields); }
  void Error(std::string_view msg, LogFields fields = {}) { Log(LogLevel::kError, msg, fields); }

 private:
  std::ostream& out_;
  std::atomic<LogLevel> min_level_;
  std::mutex mu_;  // one line at a time
};

// The process-wide logger on stderr (level info), for code that is given none.
Logger& DefaultLogger();

// Formats a log line (without the trailing newline); exposed for tests.
// `unix_ms`: milliseconds since the epoch.
std::string FormatLogLine(std::int64_t unix_ms, LogLevel level, std::string_view msg,
                          LogFields fields);

// Appends `s` as a JSON string literal (quotes included) to `out`; invalid
// UTF-8 becomes U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace signet::server
