// One test suite, run against both stores: SQLite (a temp file) and
// PostgreSQL (a fresh database in the cluster started by the ctest fixture
// audit.pg_cluster, tests/tools/pg_cluster.sh). Real databases; tampering is
// done with raw SQL on a connection of the test's own.
#include <atomic>
#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "audit/chain.h"
#include "test_db.h"

namespace signet::audit {
namespace {

using testing::Backend;
using testing::TestDb;

Record MakeRecord(int i) {
  static const char* const kDecisions[] = {"allow", "allow", "deny", "error", "allow"};
  Record r;
  r.time = NowRfc3339();
  r.request_id = "req-" + std::to_string(i);
  r.issuer = "https://token.actions.githubusercontent.com";
  r.subject = "repo:acme/app:ref:refs/heads/main";
  r.claims = {{"repository", "acme/app"}, {"run_id", std::to_string(i)}};
  r.key = "key-" + std::to_string(i % 3);
  r.format = i % 2 == 0 ? "pe" : "cms";
  r.artifact = "file-" + std::to_string(i) + ".exe";
  r.artifact_size = static_cast<std::uint64_t>(i) * 1000;
  r.content_digest = "sha256:" + std::string(64, 'a');
  r.tbs_digest = "sha256:" + std::string(64, 'b');
  r.decision = kDecisions[i % 5];
  r.reason = "policy rule " + std::to_string(i);
  r.client = "127.0.0.1";
  return r;
}

class AuditStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string why;
    bool skip = false;
    db_ = TestDb::Create(GetParam(), why, skip);
    if (skip) GTEST_SKIP() << why;
    ASSERT_TRUE(db_) << why;
  }

  std::unique_ptr<Store> Open(int lock_timeout_ms = 10000) {
    StoreOptions options;
    options.lock_timeout_ms = lock_timeout_ms;
    auto store = OpenStore(db_->url(), options);
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  // Appends records 1..n, `per_call` at a time.
  static void Fill(Store& store, int n, int per_call = 4) {
    for (int i = 1; i <= n; i += per_call) {
      std::vector<Record> batch;
      for (int k = i; k < i + per_call && k <= n; ++k) batch.push_back(MakeRecord(k));
      auto out = store.Append(std::move(batch));
      ASSERT_TRUE(out) << out.error().message;
    }
  }

  static VerifyResult MustVerify(Store& store) {
    auto v = store.Verify();
    EXPECT_TRUE(v) << v.error().message;
    return v ? *v : VerifyResult{};
  }

  // Waits (up to 10 s) until `pred(stats)` holds.
  static bool WaitFor(Store& store, const std::function<bool(const GroupCommitter::Stats&)>& pred) {
    auto* chain = dynamic_cast<ChainStore*>(&store);
    for (int i = 0; i < 1000; ++i) {
      if (pred(chain->commit_stats())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<TestDb> db_;
};

TEST_P(AuditStoreTest, AppendSetsTheChainAndListFilters) {
  auto store = Open();
  ASSERT_TRUE(store);
  VerifyResult empty = MustVerify(*store);
  EXPECT_TRUE(empty.ok);
  EXPECT_EQ(empty.records, 0);
  EXPECT_EQ(empty.head_hash, std::string(kGenesisHash));

  std::vector<Record> in = {MakeRecord(1), MakeRecord(2), MakeRecord(3)};
  in[1].artifact = "caf\xc3\xa9 \"quoted\"\n.exe";  // UTF-8, quotes, newline
  auto out = store->Append(in);
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const Record& r = (*out)[i];
    EXPECT_EQ(r.seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(r.prev_hash, i == 0 ? std::string(kGenesisHash) : (*out)[i - 1].hash);
    EXPECT_EQ(r.hash, r.ComputeHash());
    EXPECT_EQ(r.request_id, in[i].request_id);
  }
  Fill(*store, 17);  // seq 4..20; keys key-(i%3), decisions by i%5

  ListFilter all;
  all.limit = 0;
  auto listed = store->List(all);
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 20u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ((*listed)[i].ToJson(), (*out)[i].ToJson());

  ListFilter by_key;
  by_key.key = "key-1";
  by_key.limit = 0;
  listed = store->List(by_key);
  ASSERT_TRUE(listed);
  // seq 1..3 are records 1..3, seq 4..20 records 1..17: key-1 for i%3 == 1.
  EXPECT_EQ(listed->size(), 1u + 6u);
  for (const Record& r : *listed) EXPECT_EQ(r.key, "key-1");

  ListFilter denied;
  denied.decision = "deny";
  denied.after_seq = 3;
  denied.limit = 2;
  listed = store->List(denied);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].seq, 5);   // record 2
  EXPECT_EQ((*listed)[1].seq, 10);  // record 7
  EXPECT_EQ((*listed)[0].decision, "deny");

  std::int64_t expected = 1;
  ASSERT_TRUE(store->ForEach([&](const Record& r) -> Status {
    EXPECT_EQ(r.seq, expected++);
    return {};
  }));
  EXPECT_EQ(expected, 21);
  // ForEach stops at the sink's first error and returns it.
  int seen = 0;
  auto stopped = store->ForEach(
      [&](const Record&) -> Status { return ++seen == 5 ? Unavailable("stop") : Status{}; });
  EXPECT_FALSE(stopped);
  EXPECT_EQ(seen, 5);

  VerifyResult v = MustVerify(*store);
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, 20);
  EXPECT_EQ(v.head_hash, db_->Query("SELECT hash FROM audit_records WHERE seq = 20"));
  EXPECT_TRUE(store->Ping());

  // A second store on the same database continues the chain.
  store.reset();
  auto again = Open();
  ASSERT_TRUE(again);
  auto next = again->Append({MakeRecord(21)});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->at(0).seq, 21);
  EXPECT_EQ(next->at(0).prev_hash, v.head_hash);
}

TEST_P(AuditStoreTest, TenThousandRecordsFromEightThreadsVerify) {
  auto store = Open();
  ASSERT_TRUE(store);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1250;
  std::atomic<int> errors{0};
  std::atomic<bool> writing{true};
  std::atomic<int> verifies{0};
  // A reader verifying while the writers append: every snapshot must hold.
  std::thread reader([&] {
    while (writing) {
      auto v = store->Verify();
      if (!v || !v->ok) ++errors;
      ++verifies;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      int done = 0;
      for (int call = 0; done < kPerThread; ++call) {
        int n = std::min(1 + call % 4, kPerThread - done);
        std::vector<Record> batch;
        for (int k = 0; k < n; ++k) batch.push_back(MakeRecord(t * kPerThread + done + k));
        auto out = store->Append(std::move(batch));
        if (!out || out->size() != static_cast<std::size_t>(n)) {
          ++errors;
          return;
        }
        for (int k = 1; k < n; ++k) {
          if ((*out)[k].seq != (*out)[k - 1].seq + 1) ++errors;
        }
        done += n;
      }
    });
  }
  for (auto& w : writers) w.join();
  writing = false;
  reader.join();
  EXPECT_EQ(errors, 0);
  EXPECT_GT(verifies, 0);
  VerifyResult v = MustVerify(*store);
  EXPECT_TRUE(v.ok) << v.reason << " at " << v.first_bad_seq;
  EXPECT_EQ(v.records, kThreads * kPerThread);
  std::int64_t expected = 1;
  int allow = 0;
  ASSERT_TRUE(store->ForEach([&](const Record& r) -> Status {
    EXPECT_EQ(r.seq, expected++);
    allow += r.decision == "allow";
    return {};
  }));
  EXPECT_EQ(allow, kThreads * kPerThread * 3 / 5);
  auto stats = dynamic_cast<ChainStore*>(store.get())->commit_stats();
  EXPECT_EQ(stats.failed_commits, 0u);
  std::cout << "[ info ] " << stats.appends << " appends in " << stats.commits << " commits\n";
}

// Callers that arrive while a commit waits are committed together, after it,
// as one batch: deterministic, by holding the store's write lock.
TEST_P(AuditStoreTest, ConcurrentAppendsAreGroupCommittedIntoOneLinearChain) {
  auto store = Open();
  ASSERT_TRUE(store);
  db_->Lock();
  Result<std::vector<Record>> first;
  std::thread leader([&] { first = store->Append({MakeRecord(0)}); });
  ASSERT_TRUE(WaitFor(*store, [](auto& s) { return s.committing && s.waiting == 0; }));
  constexpr int kFollowers = 7;
  std::vector<Result<std::vector<Record>>> results(kFollowers);
  std::vector<std::thread> followers;
  for (int t = 0; t < kFollowers; ++t) {
    followers.emplace_back([&, t] {
      results[t] = store->Append({MakeRecord(10 * t + 1), MakeRecord(10 * t + 2)});
    });
  }
  ASSERT_TRUE(WaitFor(*store, [](auto& s) { return s.waiting == kFollowers; }));
  db_->Unlock();
  leader.join();
  for (auto& f : followers) f.join();

  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->at(0).seq, 1);
  std::set<std::int64_t> seqs;
  for (int t = 0; t < kFollowers; ++t) {
    ASSERT_TRUE(results[t]) << results[t].error().message;
    ASSERT_EQ(results[t]->size(), 2u);
    EXPECT_EQ(results[t]->at(0).request_id, "req-" + std::to_string(10 * t + 1));
    EXPECT_EQ(results[t]->at(1).seq, results[t]->at(0).seq + 1);
    EXPECT_EQ(results[t]->at(1).prev_hash, results[t]->at(0).hash);
    seqs.insert(results[t]->at(0).seq);
    seqs.insert(results[t]->at(1).seq);
  }
  EXPECT_EQ(seqs.size(), 2u * kFollowers);
  EXPECT_EQ(*seqs.begin(), 2);
  EXPECT_EQ(*seqs.rbegin(), 1 + 2 * kFollowers);
  auto stats = dynamic_cast<ChainStore*>(store.get())->commit_stats();
  EXPECT_EQ(stats.commits, 2u);  // the leader alone, then the 7 followers together
  EXPECT_EQ(stats.appends, 1u + kFollowers);
  VerifyResult v = MustVerify(*store);
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, 1 + 2 * kFollowers);
}

// A batch whose transaction fails part-way: every caller of the batch gets
// the error and none of its records is visible; the chain goes on after it.
TEST_P(AuditStoreTest, AFailedBatchFailsEveryCallerAndLeavesNothing) {
  auto store = Open();
  ASSERT_TRUE(store);
  Fill(*store, 3);
  db_->InstallPoisonTrigger();
  db_->Lock();
  Result<std::vector<Record>> first;
  std::thread leader([&] { first = store->Append({MakeRecord(4)}); });
  ASSERT_TRUE(WaitFor(*store, [](auto& s) { return s.committing && s.waiting == 0; }));
  std::vector<Result<std::vector<Record>>> results(3);
  std::vector<std::thread> followers;
  for (int t = 0; t < 3; ++t) {
    followers.emplace_back([&, t] {
      Record r = MakeRecord(5 + t);
      if (t == 1) r.reason = "poison";  // the trigger aborts the insert of this one
      results[t] = store->Append({MakeRecord(50 + t), r});
    });
  }
  ASSERT_TRUE(WaitFor(*store, [](auto& s) { return s.waiting == 3; }));
  db_->Unlock();
  leader.join();
  for (auto& f : followers) f.join();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->at(0).seq, 4);
  for (auto& r : results) {
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("poisoned record"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(db_->Query("SELECT count(*) FROM audit_records"), "4");
  EXPECT_EQ(db_->Query("SELECT last_seq FROM audit_head"), "4");
  auto next = store->Append({MakeRecord(9)});
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->at(0).seq, 5);
  EXPECT_EQ(next->at(0).prev_hash, first->at(0).hash);
  VerifyResult v = MustVerify(*store);
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, 5);
}

TEST_P(AuditStoreTest, AppendFailsWhileAnotherWriterHoldsTheLock) {
  auto store = Open(/*lock_timeout_ms=*/300);
  ASSERT_TRUE(store);
  Fill(*store, 2);
  db_->Lock();
  std::vector<std::thread> threads;
  std::atomic<int> unavailable{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto out = store->Append({MakeRecord(100 + t)});
      if (!out && out.error().code == ErrorCode::kUnavailable) ++unavailable;
    });
  }
  for (auto& th : threads) th.join();
  db_->Unlock();
  EXPECT_EQ(unavailable, 4);
  EXPECT_EQ(db_->Query("SELECT count(*) FROM audit_records"), "2");
  auto out = store->Append({MakeRecord(3)});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->at(0).seq, 3);
  EXPECT_TRUE(MustVerify(*store).ok);
}

TEST_P(AuditStoreTest, AppendFailsWhenTheStoreIsUnavailable) {
  auto store = Open(/*lock_timeout_ms=*/300);
  ASSERT_TRUE(store);
  Fill(*store, 2);
  db_->MakeUnavailable();
  auto out = store->Append({MakeRecord(3)});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kUnavailable) << out.error().message;
  if (GetParam() == Backend::kPostgres) {
    EXPECT_FALSE(store->Ping());
  }

  auto unreachable = OpenStore(db_->UnreachableUrl());
  ASSERT_FALSE(unreachable);
  EXPECT_EQ(unreachable.error().code, ErrorCode::kUnavailable) << unreachable.error().message;
}

TEST_P(AuditStoreTest, ReconnectsOnceAfterTheConnectionBreaks) {
  auto store = Open();
  ASSERT_TRUE(store);
  Fill(*store, 2);
  ASSERT_TRUE(store->List({}));
  db_->BreakConnections();
  auto out = store->Append({MakeRecord(3)});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->at(0).seq, 3);
  auto listed = store->List({});
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->size(), 3u);
  EXPECT_TRUE(MustVerify(*store).ok);
}

TEST_P(AuditStoreTest, ReadOnlyStoreReadsButDoesNotAppendOrCreate) {
  StoreOptions ro;
  ro.read_only = true;
  auto missing = OpenStore(db_->url(), ro);  // no tables / no file yet
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().code, ErrorCode::kInternal) << missing.error().message;
  auto store = Open();
  ASSERT_TRUE(store);
  Fill(*store, 3);
  auto reader = OpenStore(db_->url(), ro);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_EQ(MustVerify(**reader).records, 3);
  EXPECT_FALSE((*reader)->Append({MakeRecord(4)}));
  EXPECT_EQ(MustVerify(*store).records, 3);
}

// ---------------------------------------------------------------------------
// Tampering: Verify must fail and name the first record that breaks the chain.

class AuditTamperTest : public AuditStoreTest {
 protected:
  void SetUp() override {
    AuditStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = Open();
    ASSERT_TRUE(store_);
    Fill(*store_, 20);
    VerifyResult v = MustVerify(*store_);
    ASSERT_TRUE(v.ok) << v.reason;
    head_ = v.head_hash;
  }

  void Tamper(const std::string& sql) { ASSERT_EQ(db_->Exec(sql), "") << sql; }

  void ExpectBrokenAt(std::int64_t seq, const std::string& reason_part) {
    VerifyResult v = MustVerify(*store_);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_seq, seq) << v.reason;
    EXPECT_NE(v.reason.find(reason_part), std::string::npos) << v.reason;
    EXPECT_EQ(v.records, seq - 1);
  }

  std::unique_ptr<Store> store_;
  std::string head_;
};

TEST_P(AuditTamperTest, EditingAFieldIsAHashMismatchAtThatRecord) {
  Tamper(
      "UPDATE audit_records SET json = replace(json, 'policy rule 7', 'policy rule X') WHERE seq "
      "= 7");
  ExpectBrokenAt(7, "hash mismatch");
}

TEST_P(AuditTamperTest, EditingAnIndexedColumnIsDetected) {
  Tamper("UPDATE audit_records SET decision = 'allow' WHERE seq = 12");
  ExpectBrokenAt(12, "columns differ");
}

TEST_P(AuditTamperTest, EditingARecordAndRecomputingItsHashBreaksTheNextLink) {
  auto listed = store_->List({5, 1, "", ""});
  ASSERT_TRUE(listed);
  Record r = listed->at(0);
  ASSERT_EQ(r.seq, 6);
  r.decision = "allow";
  r.reason = "rewritten";
  r.hash = r.ComputeHash();
  std::string json = r.ToJson().dump();
  Tamper("UPDATE audit_records SET json = '" + json + "', hash = '" + r.hash +
         "', decision = 'allow' WHERE seq = 6");
  ExpectBrokenAt(7, "prev_hash mismatch");
}

TEST_P(AuditTamperTest, DeletingAMiddleRecordIsDetected) {
  Tamper("DELETE FROM audit_records WHERE seq = 9");
  ExpectBrokenAt(9, "seq 9 missing");
}

TEST_P(AuditTamperTest, DeletingTheLastRecordIsDetectedByTheHead) {
  Tamper("DELETE FROM audit_records WHERE seq = 20");
  ExpectBrokenAt(20, "seq 20 missing");
}

TEST_P(AuditTamperTest, DeletingTheFirstRecordIsDetected) {
  Tamper("DELETE FROM audit_records WHERE seq = 1");
  ExpectBrokenAt(1, "seq 1 missing");
}

TEST_P(AuditTamperTest, ReorderingRecordsIsDetected) {
  Tamper("UPDATE audit_records SET seq = -4 WHERE seq = 4");
  Tamper("UPDATE audit_records SET seq = 4 WHERE seq = 3");
  Tamper("UPDATE audit_records SET seq = 3 WHERE seq = -4");
  ExpectBrokenAt(3, "holds record 4");
}

TEST_P(AuditTamperTest, ARecordBeyondTheHeadIsDetected) {
  Tamper("UPDATE audit_head SET last_seq = 18 WHERE id = 1");
  ExpectBrokenAt(19, "after the head");
}

TEST_P(AuditTamperTest, CorruptJsonIsDetected) {
  Tamper("UPDATE audit_records SET json = '{not json' WHERE seq = 15");
  ExpectBrokenAt(15, "not valid JSON");
  EXPECT_FALSE(store_->ForEach([](const Record&) -> Status { return {}; }));
}

// What the chain does not prove: whoever can rewrite the tail AND the head
// gets a chain that verifies. Only a head hash published earlier (what
// `signet audit verify` prints) shows the difference (docs/audit.md).
TEST_P(AuditTamperTest, TruncatingWithTheHeadVerifiesButChangesThePublishedHead) {
  std::string hash19 = db_->Query("SELECT hash FROM audit_records WHERE seq = 19");
  ASSERT_EQ(hash19.size(), 64u);
  Tamper("DELETE FROM audit_records WHERE seq = 20");
  Tamper("UPDATE audit_head SET last_seq = 19, last_hash = '" + hash19 + "' WHERE id = 1");
  VerifyResult v = MustVerify(*store_);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.records, 19);
  EXPECT_NE(v.head_hash, head_);
}

std::string ParamName(const ::testing::TestParamInfo<Backend>& info) {
  return testing::BackendName(info.param);
}

INSTANTIATE_TEST_SUITE_P(Stores, AuditStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), ParamName);
INSTANTIATE_TEST_SUITE_P(Stores, AuditTamperTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), ParamName);

}  // namespace
}  // namespace signet::audit
