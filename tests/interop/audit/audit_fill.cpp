// audit_fill URL COUNT [THREADS]: appends COUNT audit records to the store
// at URL (sqlite:PATH or postgresql://...) through audit::Store::Append, from
// THREADS threads (default 1), 1-3 records per call. Record i (1-based, in
// the order the calls were issued, not the chain order with several threads)
// has key "key-(i%3)", decision allow/allow/deny/error/allow by i%5, reason
// "policy rule i". For the interop tests of `signet audit`
// (tests/interop/audit/audit_cli.sh).
//
// Exit codes as signet's: 0 ok, 2 bad usage/URL, 3 store unavailable.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit.h"

namespace {

signet::audit::Record MakeRecord(long i) {
  static const char* const kDecisions[] = {"allow", "allow", "deny", "error", "allow"};
  signet::audit::Record r;
  r.time = signet::audit::NowRfc3339();
  r.request_id = "req-" + std::to_string(i);
  r.issuer = "https://token.actions.githubusercontent.com";
  r.subject = "repo:acme/app:ref:refs/tags/v" + std::to_string(i);
  r.claims = {{"repository", "acme/app"}, {"ref", "refs/tags/v" + std::to_string(i)}};
  r.key = "key-" + std::to_string(i % 3);
  r.certificate_sha256 = std::string(64, 'c');
  r.format = i % 2 == 0 ? "pe" : "cms";
  r.artifact = "artifact-" + std::to_string(i) + ".bin";
  r.artifact_size = static_cast<std::uint64_t>(i) * 4096;
  r.content_digest = "sha256:" + std::string(64, 'd');
  r.tbs_digest = "sha256:" + std::string(64, 'e');
  r.decision = kDecisions[i % 5];
  r.reason = "policy rule " + std::to_string(i);
  r.client = "192.0.2." + std::to_string(i % 250);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: audit_fill URL COUNT [THREADS]\n";
    return 2;
  }
  long count = std::strtol(argv[2], nullptr, 10);
  int threads = argc == 4 ? std::atoi(argv[3]) : 1;
  if (count < 0 || threads < 1) {
    std::cerr << "audit_fill: bad COUNT or THREADS\n";
    return 2;
  }
  auto store = signet::audit::OpenStore(argv[1]);
  if (!store) {
    std::cerr << "audit_fill: " << store.error().message << "\n";
    return signet::ExitCodeFor(store.error().code);
  }
  std::mutex mu;
  long next = 1;  // the next record index to hand out (under mu)
  std::atomic<int> exit_code{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (exit_code == 0) {
        long first = 0;
        long last = 0;
        {
          std::lock_guard lock(mu);
          if (next > count) return;
          first = next;
          last = std::min(count, first + first % 3);  // 1..3 records
          next = last + 1;
        }
        std::vector<signet::audit::Record> batch;
        for (long i = first; i <= last; ++i) batch.push_back(MakeRecord(i));
        auto out = (*store)->Append(std::move(batch));
        if (!out) {
          std::cerr << "audit_fill: " << out.error().message << "\n";
          exit_code = signet::ExitCodeFor(out.error().code);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  return exit_code;
}
