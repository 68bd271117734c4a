#include "server/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>
#include <type_traits>
#include <vector>

#include "base/secret.h"

namespace signet::server {
namespace {

// A Secret cannot become a log field (and so cannot reach a log line).
static_assert(!std::is_constructible_v<LogField, std::string_view, const Secret&>);
static_assert(!std::is_constructible_v<LogField, std::string_view, Secret>);
static_assert(!std::is_convertible_v<Secret, std::string_view>);

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(LogTest, LineIsJsonWithTimeLevelMsgAndTypedFields) {
  std::ostringstream out;
  Logger log(out);
  const std::string owned = "owned";
  log.Info("request done", {{"route", "/v1/sign"},
                            {"status", 200},
                            {"bytes", std::uint64_t{18446744073709551615u}},
                            {"neg", -5},
                            {"seconds", 0.25},
                            {"tls", true},
                            {"owned", owned},
                            {"msg", "not the message"}});
  const auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 1u);
  const auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "request done");
  EXPECT_EQ(j["route"], "/v1/sign");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["bytes"].get<std::uint64_t>(), 18446744073709551615u);
  EXPECT_EQ(j["neg"], -5);
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 0.25);
  EXPECT_EQ(j["tls"], true);
  EXPECT_EQ(j["owned"], "owned");
  EXPECT_EQ(j["field.msg"], "not the message");
  EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << j["time"];
  EXPECT_TRUE(lines[0].starts_with("{\"time\":"));
}

TEST(LogTest, KnownTimeIsRfc3339Utc) {
  EXPECT_EQ(FormatLogLine(1714566896789, LogLevel::kWarn, "m", {}),
            R"({"time":"2024-05-01T12:34:56.789Z","level":"warn","msg":"m"})");
  EXPECT_EQ(FormatLogLine(5, LogLevel::kError, "m", {{"x", 1}}),
            R"({"time":"1970-01-01T00:00:00.005Z","level":"error","msg":"m","x":1})");
}

TEST(LogTest, EscapesControlCharactersAndInvalidUtf8) {
  const std::string nasty = std::string("q\" b\\ n\n t\t c\x01 e\x7f u\xc3\xa9 bad\xff\xc3 end");
  const std::string line = FormatLogLine(0, LogLevel::kInfo, nasty, {{"k\"ey", nasty}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);  // throws on invalid JSON or UTF-8
  const std::string expected =
      "q\" b\\ n\n t\t c\x01 e\x7f u\xc3\xa9 bad\xef\xbf\xbd\xef\xbf\xbd end";
  EXPECT_EQ(j["msg"], expected);
  EXPECT_EQ(j["k\"ey"], expected);
  // Non-finite numbers are null, keeping the line valid JSON.
  EXPECT_TRUE(
      nlohmann::json::parse(FormatLogLine(0, LogLevel::kInfo, "m", {{"nan", 0.0 / 0.0}}))["nan"]
          .is_null());
}

TEST(LogTest, LevelsFilter) {
  std::ostringstream out;
  Logger log(out, LogLevel::kWarn);
  log.Debug("d");
  log.Info("i");
  log.Warn("w");
  log.Error("e");
  log.set_level(LogLevel::kDebug);
  log.Debug("d2");
  const auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["level"], "warn");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "error");
  EXPECT_EQ(nlohmann::json::parse(lines[2])["level"], "debug");
  EXPECT_EQ(ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("loud"), std::nullopt);
}

TEST(LogTest, ConcurrentLinesNeverInterleave) {
  std::ostringstream out;
  Logger log(out);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      const std::string filler(200, static_cast<char>('a' + t));
      for (int i = 0; i < kPerThread; ++i) {
        log.Info("line", {{"thread", t}, {"i", i}, {"filler", filler}});
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::vector<int> next(kThreads, 0);
  for (const auto& line : lines) {
    const auto j = nlohmann::json::parse(line);
    const int t = j["thread"];
    EXPECT_EQ(j["i"], next[t]++);  // each thread's lines in order
    EXPECT_EQ(j["filler"], std::string(200, static_cast<char>('a' + t)));
  }
}

}  // namespace
}  // namespace signet::server
