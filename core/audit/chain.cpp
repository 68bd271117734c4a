// Group commit, chain verification and the Store methods both backends share
// (chain.h).
#include "audit/chain.h"

#include <exception>
#include <utility>

#include "audit/pg_store.h"
#include "audit/sqlite_store.h"

namespace signet::audit {

Head ChainRecords(const Head& head, std::vector<Record>& records, std::vector<std::string>& json) {
  Head next = head;
  json.clear();
  json.reserve(records.size());
  for (Record& r : records) {
    r.seq = next.last_seq + 1;
    r.prev_hash = next.last_hash;
    nlohmann::json j = ToJsonWithoutHash(r);
    r.hash = ChainHash(r.prev_hash, CanonicalJson(j));
    j["hash"] = r.hash;
    json.push_back(CanonicalJson(j));
    next.last_seq = r.seq;
    next.last_hash = r.hash;
  }
  return next;
}

// ---------------------------------------------------------------------------
// GroupCommitter

GroupCommitter::GroupCommitter(CommitFn commit, std::size_t max_batch_records)
    : commit_(std::move(commit)), max_batch_records_(max_batch_records) {}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.waiting = queue_.size() - in_flight_;
  s.committing = in_flight_ > 0;
  return s;
}

Result<std::vector<Record>> GroupCommitter::Append(std::vector<Record> records) {
  if (records.empty()) return records;
  Writer self;
  self.records = std::move(records);
  std::unique_lock lock(mu_);
  queue_.push_back(&self);
  while (!self.done && queue_.front() != &self) self.cv.wait(lock);
  if (self.done) {
    if (!self.status) return std::unexpected(self.status.error());
    return std::move(self.records);
  }

  // Leader: take the waiting writers (at least this one) as one batch.
  std::vector<Writer*> group;
  std::vector<Record> batch;
  for (Writer* w : queue_) {
    if (!group.empty() && batch.size() + w->records.size() > max_batch_records_) break;
    group.push_back(w);
    for (Record& r : w->records) batch.push_back(std::move(r));
  }
  in_flight_ = group.size();
  lock.unlock();

  Status status;
  try {
    status = commit_(batch);
  } catch (const std::exception& e) {
    status = Internal(std::string("audit commit failed: ") + e.what());
  }

  lock.lock();
  ++stats_.commits;
  stats_.appends += group.size();
  if (!status) ++stats_.failed_commits;
  std::size_t next = 0;
  for (Writer* w : group) {
    for (Record& r : w->records) r = std::move(batch[next++]);
    w->status = status;
    w->done = true;
    queue_.pop_front();
    if (w != &self) w->cv.notify_one();
  }
  in_flight_ = 0;
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  lock.unlock();
  if (!status) return std::unexpected(status.error());
  return std::move(self.records);
}

// ---------------------------------------------------------------------------
// ChainStore

ChainStore::ChainStore()
    : committer_([this](std::vector<Record>& batch) { return CommitBatch(batch); }) {}

Result<std::vector<Record>> ChainStore::Append(std::vector<Record> records) {
  return committer_.Append(std::move(records));
}

namespace {

Result<Record> ParseRow(const StoredRow& row) {
  nlohmann::json j = nlohmann::json::parse(row.json, nullptr, false);
  if (j.is_discarded()) {
    return VerificationFailed("audit record " + std::to_string(row.seq) + " is not valid JSON");
  }
  auto record = Record::FromJson(j);
  if (!record) {
    return VerificationFailed("audit record " + std::to_string(row.seq) + ": " +
                              record.error().message);
  }
  return record;
}

// The reason `row` breaks the chain after `prev_hash`, or "" when it holds.
// The hash is recomputed over the stored JSON object itself (minus "hash"),
// so fields this version does not know are covered too.
std::string CheckRow(const StoredRow& row, std::int64_t expected_seq, const std::string& prev_hash,
                     std::string& hash_out) {
  if (row.seq != expected_seq) {
    if (row.seq > expected_seq) return "seq " + std::to_string(expected_seq) + " missing";
    return "unexpected seq " + std::to_string(row.seq);
  }
  nlohmann::json j = nlohmann::json::parse(row.json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "record is not valid JSON";
  auto record = Record::FromJson(j);
  if (!record) return record.error().message;
  if (record->seq != row.seq) {
    return "row " + std::to_string(row.seq) + " holds record " + std::to_string(record->seq) +
           " (rows reordered?)";
  }
  if (record->hash != row.hash || record->prev_hash != row.prev_hash || record->key != row.key ||
      record->decision != row.decision) {
    return "indexed columns differ from the record";
  }
  if (record->prev_hash != prev_hash) return "prev_hash mismatch";
  j.erase("hash");
  std::string computed = ChainHash(record->prev_hash, CanonicalJson(j));
  if (computed != record->hash) return "hash mismatch";
  hash_out = record->hash;
  return "";
}

}  // namespace

Result<std::vector<Record>> ChainStore::List(const ListFilter& filter) {
  std::vector<Record> out;
  Status parse_error;
  SIGNET_RETURN_IF_ERROR(Scan(filter, nullptr, [&](StoredRow& row) {
    auto record = ParseRow(row);
    if (!record) {
      parse_error = std::unexpected(record.error());
      return false;
    }
    out.push_back(std::move(*record));
    return true;
  }));
  SIGNET_RETURN_IF_ERROR(parse_error);
  return out;
}

Status ChainStore::ForEach(const std::function<Status(const Record&)>& sink) {
  Status sink_status;
  ListFilter all;
  all.limit = 0;
  SIGNET_RETURN_IF_ERROR(Scan(all, nullptr, [&](StoredRow& row) {
    auto record = ParseRow(row);
    if (!record) {
      sink_status = std::unexpected(record.error());
      return false;
    }
    sink_status = sink(*record);
    return sink_status.has_value();
  }));
  return sink_status;
}

Result<VerifyResult> ChainStore::Verify() {
  VerifyResult result;
  Head head;
  std::int64_t expected = 1;
  std::string prev{kGenesisHash};
  ListFilter all;
  all.limit = 0;
  SIGNET_RETURN_IF_ERROR(Scan(all, &head, [&](StoredRow& row) {
    std::string hash;
    std::string reason = CheckRow(row, expected, prev, hash);
    if (!reason.empty()) {
      result.ok = false;
      result.first_bad_seq = row.seq > expected ? expected : row.seq;
      result.reason = std::move(reason);
      return false;
    }
    ++result.records;
    ++expected;
    prev = std::move(hash);
    return true;
  }));
  if (!result.ok) return result;
  std::int64_t last = expected - 1;
  if (head.last_seq > last) {
    result.ok = false;
    result.first_bad_seq = last + 1;
    result.reason = "seq " + std::to_string(last + 1) +
                    " missing (the head says the last record is " + std::to_string(head.last_seq) +
                    ")";
  } else if (head.last_seq < last) {
    result.ok = false;
    result.first_bad_seq = head.last_seq + 1;
    result.reason = "record after the head (the head says the last record is " +
                    std::to_string(head.last_seq) + ")";
  } else if (head.last_hash != prev) {
    result.ok = false;
    result.first_bad_seq = last;
    result.reason = "head hash mismatch";
  } else {
    result.head_hash = prev;
  }
  // When broken: the records before the first bad one.
  if (!result.ok) result.records = result.first_bad_seq - 1;
  return result;
}

// ---------------------------------------------------------------------------

std::vector<std::string> StoreKinds() {
#ifdef SIGNET_WITH_POSTGRES
  return {"sqlite", "postgresql"};
#else
  return {"sqlite"};
#endif
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const StoreOptions& options) {
#ifdef SIGNET_WITH_POSTGRES
  if (IsPostgresUrl(url)) return OpenPostgresStore(url, options);
#else
  if (IsPostgresUrl(url)) {
    return FailedPrecondition("audit store " + RedactUrl(url) +
                              ": this build of signet has no PostgreSQL store (the static release "
                              "binary leaves libpq out); use a SQLite store or the dynamic build");
  }
#endif
  if (url.find("://") != std::string::npos && !url.starts_with("sqlite:")) {
    return InvalidArgument("audit store " + RedactUrl(url) +
                           ": unsupported URL (use sqlite:PATH, a file path or postgresql://...)");
  }
  return OpenSqliteStore(SqlitePath(url), options);
}

}  // namespace signet::audit
