// Record JSON, the chain hash formula, URL helpers and the group committer
// (with an in-memory commit function: the stores' own tests are in
// store_test.cpp).
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "audit/chain.h"
#include "base/bytes.h"
#include "crypto/digest.h"

namespace signet::audit {
namespace {

Record Sample() {
  Record r;
  r.seq = 7;
  r.time = "2024-05-01T12:00:00.123Z";
  r.request_id = "req-1";
  r.issuer = "https://token.actions.githubusercontent.com";
  r.subject = "repo:acme/app:ref:refs/tags/v1";
  r.claims = {{"repository", "acme/app"}, {"ref", "refs/tags/v1"}};
  r.key = "prod";
  r.certificate_sha256 = std::string(64, 'a');
  r.format = "pe";
  r.artifact = "app.exe";
  r.artifact_size = 1ULL << 40;
  r.content_digest = "sha256:" + std::string(64, 'b');
  r.tbs_digest = "sha256:" + std::string(64, 'c');
  r.decision = "allow";
  r.reason = "rule 1";
  r.client = "127.0.0.1";
  r.prev_hash = std::string(kGenesisHash);
  r.hash = r.ComputeHash();
  return r;
}

TEST(AuditRecord, JsonRoundTripKeepsEveryField) {
  Record r = Sample();
  nlohmann::json j = r.ToJson();
  EXPECT_EQ(j.size(), 18u);
  auto back = Record::FromJson(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->ToJson(), j);
  EXPECT_EQ(back->artifact_size, 1ULL << 40);
  EXPECT_EQ(back->claims.at("ref"), "refs/tags/v1");
}

TEST(AuditRecord, HashIsSha256OfPrevHashNewlineCanonicalJson) {
  Record r = Sample();
  nlohmann::json j = r.ToJson();
  j.erase("hash");
  std::string canonical = j.dump();  // sorted keys, no whitespace
  ASSERT_EQ(canonical.find("\": "), std::string::npos);
  ASSERT_EQ(canonical.find(", \""), std::string::npos);
  ASSERT_TRUE(canonical.starts_with("{\"artifact\":\"app.exe\",\"artifact_size\":"));
  std::string expected =
      HexEncode(Digest(DigestAlgorithm::kSha256, AsBytes(r.prev_hash + "\n" + canonical)));
  EXPECT_EQ(r.ComputeHash(), expected);
  EXPECT_EQ(r.hash, expected);
}

TEST(AuditRecord, EveryFieldIsCovered) {
  Record base = Sample();
  std::set<std::string> hashes = {base.ComputeHash()};
  auto changed = [&](auto mutate) {
    Record r = base;
    mutate(r);
    return hashes.insert(r.ComputeHash()).second;
  };
  EXPECT_TRUE(changed([](Record& r) { r.seq = 8; }));
  EXPECT_TRUE(changed([](Record& r) { r.time += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.request_id += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.issuer += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.subject += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.claims["environment"] = "prod"; }));
  EXPECT_TRUE(changed([](Record& r) { r.key += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.certificate_sha256 += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.format += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.artifact += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.artifact_size += 1; }));
  EXPECT_TRUE(changed([](Record& r) { r.content_digest += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.tbs_digest += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.decision = "deny"; }));
  EXPECT_TRUE(changed([](Record& r) { r.reason += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.client += "x"; }));
  EXPECT_TRUE(changed([](Record& r) { r.prev_hash = std::string(64, 'f'); }));
  // ...but not the hash itself.
  EXPECT_FALSE(changed([](Record& r) { r.hash = "whatever"; }));
}

TEST(AuditRecord, InvalidUtf8DoesNotThrowAndHashesReproducibly) {
  Record r = Sample();
  r.artifact = "bad\xff\xfe.exe";
  std::string h = r.ComputeHash();
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(r.ComputeHash(), h);
}

TEST(AuditRecord, FromJsonRejectsMissingOrMistypedFields) {
  nlohmann::json good = Sample().ToJson();
  for (const char* field : {"seq", "time", "claims", "hash", "artifact_size", "decision"}) {
    nlohmann::json j = good;
    j.erase(field);
    EXPECT_FALSE(Record::FromJson(j)) << field;
  }
  nlohmann::json j = good;
  j["seq"] = "7";
  EXPECT_FALSE(Record::FromJson(j));
  j = good;
  j["claims"]["n"] = 3;
  EXPECT_FALSE(Record::FromJson(j));
  j = good;
  j["artifact_size"] = -1;
  EXPECT_FALSE(Record::FromJson(j));
  EXPECT_FALSE(Record::FromJson(nlohmann::json::array()));
}

TEST(AuditRecord, NowRfc3339IsUtcWithMilliseconds) {
  std::string now = NowRfc3339();
  ASSERT_EQ(now.size(), 24u) << now;
  EXPECT_EQ(now[4], '-');
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now[19], '.');
  EXPECT_EQ(now.back(), 'Z');
  EXPECT_GE(now.substr(0, 4), "2024");
}

TEST(AuditUrl, RedactsPasswords) {
  EXPECT_EQ(RedactUrl("postgresql://signet:s3cret@db.example:5432/audit?sslmode=require"),
            "postgresql://signet:***@db.example:5432/audit?sslmode=require");
  EXPECT_EQ(RedactUrl("postgres://u:p%40ss@h/db"), "postgres://u:***@h/db");
  EXPECT_EQ(RedactUrl("postgresql://h/db?user=u&password=s3cret&sslmode=disable"),
            "postgresql://h/db?user=u&password=***&sslmode=disable");
  EXPECT_EQ(RedactUrl("postgresql://u@h:5432/db"), "postgresql://u@h:5432/db");
  EXPECT_EQ(RedactUrl("sqlite:/var/lib/signet/audit.db"), "sqlite:/var/lib/signet/audit.db");
}

TEST(AuditUrl, ResolvesRelativeSqlitePathsAgainstTheConfigDir) {
  EXPECT_EQ(ResolveStoreUrl("", "/etc/signet"), "sqlite:/etc/signet/audit.db");
  EXPECT_EQ(ResolveStoreUrl("sqlite:a.db", "/etc/signet/"), "sqlite:/etc/signet/a.db");
  EXPECT_EQ(ResolveStoreUrl("data/a.db", "/etc/signet"), "sqlite:/etc/signet/data/a.db");
  EXPECT_EQ(ResolveStoreUrl("sqlite:/var/a.db", "/etc/signet"), "sqlite:/var/a.db");
  EXPECT_EQ(ResolveStoreUrl("postgresql://h/db", "/etc/signet"), "postgresql://h/db");
}

TEST(AuditUrl, RejectsUnknownSchemes) {
  auto store = OpenStore("mysql://h/db");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument);
}

// The group committer over an in-memory chain: many threads, one linear
// chain, each caller's records contiguous and returned to that caller.
TEST(GroupCommitter, BatchesConcurrentCallersIntoOneLinearChain) {
  std::vector<Record> chain;
  Head head;
  std::atomic<int> in_commit{0};
  GroupCommitter committer([&](std::vector<Record>& batch) -> Status {
    EXPECT_EQ(in_commit.fetch_add(1), 0) << "two commits at once";
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // an fsync
    std::vector<std::string> json;
    head = ChainRecords(head, batch, json);
    chain.insert(chain.end(), batch.begin(), batch.end());
    in_commit.fetch_sub(1);
    return {};
  });
  constexpr int kThreads = 8;
  constexpr int kCalls = 40;
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        std::vector<Record> records(1 + i % 3);
        for (Record& r : records) r.request_id = std::to_string(t) + "/" + std::to_string(i);
        auto out = committer.Append(records);
        if (!out || out->size() != records.size()) {
          ++bad;
          continue;
        }
        for (std::size_t k = 0; k < out->size(); ++k) {
          if ((*out)[k].request_id != records[k].request_id) ++bad;
          if (k > 0 && (*out)[k].seq != (*out)[k - 1].seq + 1) ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, 0);
  std::size_t per_thread = 0;
  for (int i = 0; i < kCalls; ++i) per_thread += 1 + i % 3;
  ASSERT_EQ(chain.size(), kThreads * per_thread);
  for (std::size_t i = 0; i < chain.size(); ++i) {
    EXPECT_EQ(chain[i].seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(chain[i].prev_hash, i == 0 ? std::string(kGenesisHash) : chain[i - 1].hash);
    EXPECT_EQ(chain[i].hash, chain[i].ComputeHash());
  }
  GroupCommitter::Stats stats = committer.stats();
  EXPECT_EQ(stats.appends, static_cast<std::uint64_t>(kThreads * kCalls));
  EXPECT_LT(stats.commits, stats.appends) << "no call was batched with another";
}

TEST(GroupCommitter, AFailedCommitFailsEveryCallerOfTheBatch) {
  std::atomic<bool> fail{true};
  GroupCommitter committer([&](std::vector<Record>& batch) -> Status {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (fail) return Unavailable("disk on fire (" + std::to_string(batch.size()) + ")");
    return {};
  });
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      auto out = committer.Append(std::vector<Record>(2));
      if (!out && out.error().code == ErrorCode::kUnavailable) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 6);
  EXPECT_EQ(committer.stats().failed_commits, committer.stats().commits);
  fail = false;
  EXPECT_TRUE(committer.Append(std::vector<Record>(1)));
  EXPECT_TRUE(committer.Append({}));  // nothing to commit
}

}  // namespace
}  // namespace signet::audit
