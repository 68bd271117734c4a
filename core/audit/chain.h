// Internal to core/audit: what the SQLite and PostgreSQL stores share.
//
//   GroupCommitter  batches concurrent Append calls into one commit
//                   (leader/follower: the first waiting caller commits for all).
//   ChainStore      implements Store on top of three backend primitives
//                   (CommitBatch, Scan, PingBackend): Append through the
//                   GroupCommitter, Verify/List/ForEach over Scan.
//
// Thread-safety: GroupCommitter and ChainStore are safe to use from many
// threads; CommitBatch is only ever called by one thread at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit.h"

namespace signet::audit {

inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Every field except "hash" (what the chain hash covers).
nlohmann::json ToJsonWithoutHash(const Record& r);
// nlohmann dump(): keys sorted, no whitespace, invalid UTF-8 replaced.
std::string CanonicalJson(const nlohmann::json& j);
// SHA-256 hex of prev_hash || "\n" || canonical.
std::string ChainHash(std::string_view prev_hash, std::string_view canonical_without_hash);

bool IsPostgresUrl(std::string_view url);
// "sqlite:/x", "sqlite:///x" or "/x" -> "/x".
std::string SqlitePath(std::string_view url);

// The one-row head table: the last record's seq and hash (0 and 64 zeros
// when the chain is empty). Updated in the same transaction as the records,
// so deleting the last record is detected.
struct Head {
  std::int64_t last_seq = 0;
  std::string last_hash{kGenesisHash};
};

// One row as stored: the indexed columns beside the record's JSON text.
struct StoredRow {
  std::int64_t seq = 0;
  std::string hash;
  std::string prev_hash;
  std::string key;
  std::string decision;
  std::string json;
};

// Assigns seq, prev_hash and hash to `records`, continuing after `head`,
// and fills `json` with each record's stored text. Returns the new head.
Head ChainRecords(const Head& head, std::vector<Record>& records, std::vector<std::string>& json);

// Group commit (leader/follower, as in LevelDB's write queue): callers queue
// their records; the caller at the front of the queue becomes the leader,
// takes every waiting caller's records (up to max_batch_records), runs
// `commit` once for all of them outside the lock, then hands each caller its
// own records back (or the common error) and wakes the next leader.
class GroupCommitter {
 public:
  // Commits the whole batch atomically: assigns seq/prev_hash/hash in place
  // and makes all or none of it durable.
  using CommitFn = std::function<Status(std::vector<Record>& batch)>;

  struct Stats {
    std::uint64_t commits = 0;         // batches committed (successfully or not)
    std::uint64_t failed_commits = 0;  // of which failed
    std::uint64_t appends = 0;         // Append calls that reached a commit
    std::size_t waiting = 0;           // callers queued behind the running commit
    bool committing = false;           // a leader is inside `commit` now
  };

  explicit GroupCommitter(CommitFn commit, std::size_t max_batch_records = 4096);
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Returns `records` with seq/prev_hash/hash set, after they are committed.
  Result<std::vector<Record>> Append(std::vector<Record> records);
  [[nodiscard]] Stats stats() const;

 private:
  struct Writer {
    std::vector<Record> records;
    Status status;
    bool done = false;
    std::condition_variable cv;
  };

  CommitFn commit_;
  std::size_t max_batch_records_;
  mutable std::mutex mu_;
  std::deque<Writer*> queue_;  // front: the current leader
  std::size_t in_flight_ = 0;  // writers in the batch being committed
  Stats stats_;
};

// Store on top of the backend primitives below.
class ChainStore : public Store {
 public:
  ChainStore();
  Result<std::vector<Record>> Append(std::vector<Record> records) override;
  Result<std::vector<Record>> List(const ListFilter& filter) override;
  Result<VerifyResult> Verify() override;
  Status ForEach(const std::function<Status(const Record&)>& sink) override;
  Status Ping() override { return PingBackend(); }

  // For tests: how Append calls were batched.
  [[nodiscard]] GroupCommitter::Stats commit_stats() const { return committer_.stats(); }

 protected:
  // One transaction: read the head (under the store's write lock), ChainRecords,
  // insert the rows, update the head, durable commit. On failure nothing of
  // the batch may be visible.
  virtual Status CommitBatch(std::vector<Record>& batch) = 0;
  // Calls `row` for each stored row with seq > filter.after_seq that matches
  // filter.key / filter.decision, in seq order, at most filter.limit rows (0:
  // all), until `row` returns false. When `head` is not null, the head row is
  // read first in the same snapshot. Streaming: memory does not grow with
  // the table.
  virtual Status Scan(const ListFilter& filter, Head* head,
                      const std::function<bool(StoredRow&)>& row) = 0;
  virtual Status PingBackend() = 0;

 private:
  GroupCommitter committer_;
};

}  // namespace signet::audit
