// The SQLite audit store (sqlite_store.h).
#include "audit/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "audit/chain.h"

namespace signet::audit {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS audit_records (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  key TEXT NOT NULL,
  decision TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_records_key ON audit_records (key, seq);
CREATE TABLE IF NOT EXISTS audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_seq INTEGER NOT NULL,
  last_hash TEXT NOT NULL
);
)sql";

ErrorCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return ErrorCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kFailedPrecondition;
    default:
      return ErrorCode::kInternal;
  }
}

std::string Text(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  if (t == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(t),
                     static_cast<std::size_t>(sqlite3_column_bytes(s, col)));
}

class SqliteStore final : public ChainStore {
 public:
  SqliteStore(std::string path, StoreOptions options) : path_(std::move(path)), options_(options) {}

  Status Open() {
    if (options_.read_only) {
      struct stat st {};
      if (::stat(path_.c_str(), &st) != 0) {
        return NotFound("audit store sqlite:" + path_ +
                        ": no such database (check --db / the config's audit.db)");
      }
      SIGNET_ASSIGN_OR_RETURN(DbPtr db, Connect(true));
      // Checks the file is a Signet audit database.
      SIGNET_ASSIGN_OR_RETURN(Head head, ReadHead(db.get()));
      (void)head;
      return {};
    }
    SIGNET_ASSIGN_OR_RETURN(writer_, Connect(false));
    sqlite3* db = writer_.get();
    SIGNET_RETURN_IF_ERROR(ExecJournalMode(db));
    SIGNET_RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous=FULL", "set synchronous=FULL"));
    SIGNET_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "create the tables"));
    Status st = Exec(db, kSchema, "create the tables");
    if (st) {
      st = Exec(db,
                "INSERT OR IGNORE INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, '" +
                    std::string(kGenesisHash) + "')",
                "create the head row");
    }
    if (st) st = Exec(db, "COMMIT", "create the tables");
    if (!st) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return st;
    }
    SIGNET_ASSIGN_OR_RETURN(head_stmt_,
                            Prepare(db, "SELECT last_seq, last_hash FROM audit_head WHERE id = 1"));
    SIGNET_ASSIGN_OR_RETURN(
        insert_stmt_,
        Prepare(db,
                "INSERT INTO audit_records (seq, time, key, decision, prev_hash, hash, json) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    SIGNET_ASSIGN_OR_RETURN(
        update_head_stmt_,
        Prepare(db, "UPDATE audit_head SET last_seq = ?1, last_hash = ?2 WHERE id = 1"));
    return {};
  }

 protected:
  Status CommitBatch(std::vector<Record>& batch) override {
    if (!writer_) {
      return FailedPrecondition("audit store sqlite:" + path_ + " is open read-only");
    }
    sqlite3* db = writer_.get();
    SIGNET_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "begin an append (database locked?)"));
    Status st = CommitInTransaction(db, batch);
    if (st) st = Exec(db, "COMMIT", "commit");
    if (!st) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }

  Status Scan(const ListFilter& filter, Head* head,
              const std::function<bool(StoredRow&)>& row_sink) override {
    SIGNET_ASSIGN_OR_RETURN(DbPtr db, Connect(true));
    // One read transaction: the head and the rows come from one snapshot.
    SIGNET_RETURN_IF_ERROR(Exec(db.get(), "BEGIN", "begin a read"));
    if (head != nullptr) {
      SIGNET_ASSIGN_OR_RETURN(*head, ReadHead(db.get()));
    }
    std::string sql =
        "SELECT seq, hash, prev_hash, key, decision, json FROM audit_records WHERE seq > ?1";
    if (!filter.key.empty()) sql += " AND key = ?2";
    if (!filter.decision.empty()) sql += " AND decision = ?3";
    sql += " ORDER BY seq";
    if (filter.limit != 0) sql += " LIMIT ?4";
    SIGNET_ASSIGN_OR_RETURN(StmtPtr stmt, Prepare(db.get(), sql));
    sqlite3_stmt* s = stmt.get();
    sqlite3_bind_int64(s, 1, filter.after_seq);
    if (!filter.key.empty()) sqlite3_bind_text(s, 2, filter.key.c_str(), -1, SQLITE_TRANSIENT);
    if (!filter.decision.empty()) {
      sqlite3_bind_text(s, 3, filter.decision.c_str(), -1, SQLITE_TRANSIENT);
    }
    if (filter.limit != 0) sqlite3_bind_int64(s, 4, static_cast<sqlite3_int64>(filter.limit));
    StoredRow row;
    while (true) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Fail(db.get(), rc, "read the records");
      row.seq = sqlite3_column_int64(s, 0);
      row.hash = Text(s, 1);
      row.prev_hash = Text(s, 2);
      row.key = Text(s, 3);
      row.decision = Text(s, 4);
      row.json = Text(s, 5);
      if (!row_sink(row)) break;
    }
    return {};  // the read transaction ends when the connection closes
  }

  Status PingBackend() override {
    SIGNET_ASSIGN_OR_RETURN(DbPtr db, Connect(true));
    SIGNET_ASSIGN_OR_RETURN(Head head, ReadHead(db.get()));
    (void)head;
    return {};
  }

 private:
  Status CommitInTransaction(sqlite3* db, std::vector<Record>& batch) {
    SIGNET_ASSIGN_OR_RETURN(Head head, ReadHead(db, head_stmt_.get()));
    std::vector<std::string> json;
    Head next = ChainRecords(head, batch, json);
    sqlite3_stmt* ins = insert_stmt_.get();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Record& r = batch[i];
      sqlite3_reset(ins);
      sqlite3_bind_int64(ins, 1, r.seq);
      sqlite3_bind_text(ins, 2, r.time.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 3, r.key.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 4, r.decision.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 5, r.prev_hash.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 6, r.hash.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 7, json[i].c_str(), -1, SQLITE_STATIC);
      int rc = sqlite3_step(ins);
      sqlite3_reset(ins);
      if (rc != SQLITE_DONE) return Fail(db, rc, "insert record " + std::to_string(r.seq));
    }
    sqlite3_stmt* upd = update_head_stmt_.get();
    sqlite3_reset(upd);
    sqlite3_bind_int64(upd, 1, next.last_seq);
    sqlite3_bind_text(upd, 2, next.last_hash.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(upd);
    sqlite3_reset(upd);
    if (rc != SQLITE_DONE) return Fail(db, rc, "update the head");
    if (sqlite3_changes(db) != 1) {
      return FailedPrecondition("audit store sqlite:" + path_ + ": the head row is missing");
    }
    return {};
  }

  Result<DbPtr> Connect(bool read_only) {
    sqlite3* raw = nullptr;
    int flags = SQLITE_OPEN_NOMUTEX |
                (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path_.c_str(), &raw, flags, nullptr);
    DbPtr db(raw);
    if (rc != SQLITE_OK) {
      std::string why = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
      return MakeError(CodeFor(rc), "audit store sqlite:" + path_ + ": cannot open: " + why +
                                        " (check that the directory exists and is writable)");
    }
    sqlite3_busy_timeout(raw, options_.lock_timeout_ms);
    sqlite3_extended_result_codes(raw, 1);
    return db;
  }

  Status ExecJournalMode(sqlite3* db) {
    SIGNET_ASSIGN_OR_RETURN(StmtPtr stmt, Prepare(db, "PRAGMA journal_mode=WAL"));
    int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) return Fail(db, rc, "set journal_mode=WAL");
    if (Text(stmt.get(), 0) != "wal") {
      return FailedPrecondition("audit store sqlite:" + path_ +
                                ": cannot use WAL mode (journal_mode is " + Text(stmt.get(), 0) +
                                ")");
    }
    return {};
  }

  Result<Head> ReadHead(sqlite3* db, sqlite3_stmt* cached = nullptr) {
    StmtPtr owned;
    sqlite3_stmt* s = cached;
    if (s == nullptr) {
      auto prepared = Prepare(db, "SELECT last_seq, last_hash FROM audit_head WHERE id = 1");
      if (!prepared) {
        return FailedPrecondition("audit store sqlite:" + path_ +
                                  " is not a Signet audit database (no audit_head table)");
      }
      owned = std::move(*prepared);
      s = owned.get();
    }
    sqlite3_reset(s);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      sqlite3_reset(s);
      return FailedPrecondition("audit store sqlite:" + path_ + ": the head row is missing");
    }
    if (rc != SQLITE_ROW) {
      Error e = Fail(db, rc, "read the head").error();
      sqlite3_reset(s);
      return std::unexpected(e);
    }
    Head head;
    head.last_seq = sqlite3_column_int64(s, 0);
    head.last_hash = Text(s, 1);
    sqlite3_reset(s);
    return head;
  }

  Result<StmtPtr> Prepare(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return std::unexpected(Fail(db, rc, "prepare a statement").error());
    return stmt;
  }

  Status Exec(sqlite3* db, const std::string& sql, const std::string& what) {
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Fail(db, rc, what);
    return {};
  }

  Status Fail(sqlite3* db, int rc, const std::string& what) {
    return MakeError(CodeFor(rc), "audit store sqlite:" + path_ + ": cannot " + what + ": " +
                                      sqlite3_errmsg(db));
  }

  std::string path_;
  StoreOptions options_;
  DbPtr writer_;  // null when read-only
  StmtPtr head_stmt_;
  StmtPtr insert_stmt_;
  StmtPtr update_head_stmt_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                               const StoreOptions& options) {
  if (path.empty()) return InvalidArgument("audit store: empty SQLite path");
  auto store = std::make_unique<SqliteStore>(path, options);
  SIGNET_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace signet::audit
