// signet_server_load: a load generator for the Signet server (issue 4,
// "Benchmark" and the audit tests). N threads, each with its own keep-alive
// connection (net::MakeCurlHttpClient, no retries), POST prepared /v1/sign
// bodies (from signet_make_plan) with a token, for a time or a number of
// requests, and report what came back.
//
//   signet_server_load --url http://127.0.0.1:PORT --case TOKEN_FILE:BODY_FILE ...
//       [--threads 16] [--seconds 30 | --requests N] [--record FILE]
//       [--max-transport-errors N]
//
//   --case      repeatable; requests cycle through the cases (thread i starts
//               at case i). TOKEN_FILE "-" sends no Authorization header.
//   --record    appends "REQUEST_ID SIGNATURES" for every 200 reply that
//               carried signatures, written as soon as it arrived (the
//               kill -9 test checks each appears in the audit log).
//   --max-transport-errors  stop every thread once this many requests got
//               no HTTP answer (a killed server); default: never.
//
// Prints one JSON object on stdout: requests, by_status, transport_errors,
// bad_replies (200 without the right number of signatures), signatures,
// seconds, signatures_per_second, requests_per_second, p50_ms, p99_ms.
// HTTPS: SIGNET_CA_BUNDLE names the CA file. Exit 0 when it ran, 2 on bad
// usage.
//
// Thread-safety: each worker owns its HttpClient; shared counters are
// atomics, the latency vectors are merged after join.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/http_client.h"

namespace {

struct Case {
  std::string authorization;  // "" : none
  std::string body;
  std::size_t plans = 0;
};

int Usage(const std::string& why) {
  std::cerr << "signet_server_load: " << why
            << "\nusage: signet_server_load --url URL --case TOKEN_FILE:BODY_FILE... "
               "[--threads N] [--seconds S | --requests N] [--record FILE] "
               "[--max-transport-errors N]\n";
  return 2;
}

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

struct Shared {
  std::atomic<long> issued{0};
  std::atomic<long> transport_errors{0};
  std::atomic<long> bad_replies{0};
  std::atomic<long> signatures{0};
  std::atomic<bool> stop{false};
  std::mutex mu;  // by_status, record_fd writes
  std::map<long, long> by_status;
  int record_fd = -1;
};

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  std::vector<std::string> case_specs;
  int threads = 16;
  double seconds = 0;
  long requests = 0;
  long max_transport_errors = 0;
  std::string record;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage(a + " needs a value");
    std::string v = argv[++i];
    if (a == "--url") {
      url = v;
    } else if (a == "--case") {
      case_specs.push_back(v);
    } else if (a == "--threads") {
      threads = std::stoi(v);
    } else if (a == "--seconds") {
      seconds = std::stod(v);
    } else if (a == "--requests") {
      requests = std::stol(v);
    } else if (a == "--record") {
      record = v;
    } else if (a == "--max-transport-errors") {
      max_transport_errors = std::stol(v);
    } else {
      return Usage("unknown argument " + a);
    }
  }
  if (url.empty() || case_specs.empty()) return Usage("--url and --case are required");
  if (threads < 1 || threads > 1024) return Usage("--threads must be 1..1024");
  if ((seconds <= 0) == (requests <= 0)) return Usage("give one of --seconds or --requests");

  std::vector<Case> cases;
  for (const std::string& spec : case_specs) {
    auto colon = spec.find(':');
    if (colon == std::string::npos) return Usage("--case " + spec + ": TOKEN_FILE:BODY_FILE");
    Case c;
    std::string token_file = spec.substr(0, colon);
    if (token_file != "-") {
      std::string token;
      if (!ReadFile(token_file, token)) return Usage("cannot read " + token_file);
      c.authorization = "Bearer " + Trim(token);
    }
    if (!ReadFile(spec.substr(colon + 1), c.body)) return Usage("cannot read body of " + spec);
    auto j = nlohmann::json::parse(c.body, nullptr, false);
    if (j.is_object() && j.contains("plans") && j["plans"].is_array()) c.plans = j["plans"].size();
    cases.push_back(std::move(c));
  }

  Shared shared;
  if (!record.empty()) {
    shared.record_fd = ::open(record.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (shared.record_fd < 0) return Usage("cannot open " + record);
  }

  signet::net::HttpOptions options = signet::net::HttpOptionsFromEnv();
  options.retry.max_attempts = 1;
  options.total_timeout = std::chrono::milliseconds(120000);
  options.connect_timeout = std::chrono::milliseconds(5000);
  options.max_response_size = 64 << 20;

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(seconds > 0 ? seconds : 1e9));
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto http = signet::net::MakeCurlHttpClient(options);
      std::vector<double>& lat = latencies[static_cast<std::size_t>(t)];
      std::size_t next = static_cast<std::size_t>(t) % cases.size();
      while (!shared.stop.load(std::memory_order_relaxed)) {
        if (requests > 0) {
          if (shared.issued.fetch_add(1) >= requests) break;
        } else if (Clock::now() >= deadline) {
          break;
        }
        const Case& c = cases[next];
        next = (next + 1) % cases.size();
        signet::net::HttpRequest request;
        request.method = "POST";
        request.url = url + "/v1/sign";
        request.headers.emplace_back("Content-Type", "application/json");
        if (!c.authorization.empty())
          request.headers.emplace_back("Authorization", c.authorization);
        request.body = c.body;
        auto t0 = Clock::now();
        auto response = http->Send(request);
        lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!response) {
          long n = shared.transport_errors.fetch_add(1) + 1;
          if (max_transport_errors > 0 && n >= max_transport_errors) shared.stop = true;
          continue;
        }
        long got = 0;
        std::string request_id;
        if (response->status == 200) {
          auto j = nlohmann::json::parse(response->body, nullptr, false);
          if (j.is_object() && j.contains("results") && j["results"].is_array()) {
            got = static_cast<long>(j["results"].size());
            request_id = j.value("request_id", "");
          }
          if (got == 0 || static_cast<std::size_t>(got) != c.plans || request_id.empty()) {
            shared.bad_replies.fetch_add(1);
          } else {
            shared.signatures.fetch_add(got);
          }
        }
        std::lock_guard lock(shared.mu);
        ++shared.by_status[response->status];
        if (shared.record_fd >= 0 && got > 0 && !request_id.empty()) {
          std::string line = request_id + " " + std::to_string(got) + "\n";
          if (::write(shared.record_fd, line.data(), line.size()) < 0) shared.stop = true;
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (shared.record_fd >= 0) ::close(shared.record_fd);

  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&all](double p) {
    if (all.empty()) return 0.0;
    auto i = static_cast<std::size_t>(p * static_cast<double>(all.size() - 1) + 0.5);
    return all[std::min(i, all.size() - 1)];
  };
  nlohmann::json by_status = nlohmann::json::object();
  for (const auto& [status, n] : shared.by_status) by_status[std::to_string(status)] = n;
  nlohmann::json out = {
      {"requests", static_cast<long>(all.size())},
      {"by_status", by_status},
      {"transport_errors", shared.transport_errors.load()},
      {"bad_replies", shared.bad_replies.load()},
      {"signatures", shared.signatures.load()},
      {"seconds", elapsed},
      {"threads", threads},
      {"signatures_per_second", static_cast<double>(shared.signatures.load()) / elapsed},
      {"requests_per_second", static_cast<double>(all.size()) / elapsed},
      {"p50_ms", pct(0.50)},
      {"p99_ms", pct(0.99)},
  };
  std::cout << out.dump() << "\n";
  return 0;
}
