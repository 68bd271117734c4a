// The PostgreSQL audit store (pg_store.h).
#include "audit/pg_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "audit/chain.h"

namespace signet::audit {
namespace {

struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultClear>;

constexpr std::size_t kRowsPerInsert = 500;  // 7 parameters each, well under 65535
constexpr int kFetchRows = 1000;

std::string SchemaSql() {
  return "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kAuditLockKey) +
         ");"
         "CREATE TABLE IF NOT EXISTS audit_records ("
         " seq BIGINT PRIMARY KEY, time TEXT NOT NULL, key TEXT NOT NULL,"
         " decision TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,"
         " json TEXT NOT NULL);"
         "CREATE INDEX IF NOT EXISTS audit_records_key ON audit_records (key, seq);"
         "CREATE TABLE IF NOT EXISTS audit_head ("
         " id INT PRIMARY KEY CHECK (id = 1), last_seq BIGINT NOT NULL,"
         " last_hash TEXT NOT NULL);"
         "INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, '" +
         std::string(kGenesisHash) + "') ON CONFLICT (id) DO NOTHING; COMMIT";
}

// libpq messages span lines ("...failed: Connection refused\n\tIs the
// server running..."): one line, whitespace runs collapsed.
std::string OneLine(const char* text) {
  std::string out;
  bool space = false;
  for (const char* p = text != nullptr ? text : ""; *p != '\0'; ++p) {
    if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += *p;
  }
  return out;
}

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

// SQLSTATE classes a retry may cure: connection (08), resources (53),
// operator intervention (57), rollback (40), lock not available (55P03),
// database missing (3D000: dropped or not created yet).
ErrorCode CodeForState(const std::string& state) {
  if (state.empty()) return ErrorCode::kUnavailable;
  std::string cls = state.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "57" || cls == "40" || state == "55P03" ||
      state == "3D000" || state == "28000" || state == "28P01") {
    return ErrorCode::kUnavailable;
  }
  if (state == "42P01") return ErrorCode::kFailedPrecondition;  // table missing
  return ErrorCode::kInternal;
}

// One libpq connection with the session settings the store needs.
class Connection {
 public:
  Connection(std::string url, const StoreOptions& options) : url_(std::move(url)) {
    lock_timeout_ms_ = options.lock_timeout_ms;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { Close(); }

  [[nodiscard]] bool broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }
  [[nodiscard]] std::string name() const { return "audit store " + RedactUrl(url_); }

  Status Connect() {
    Close();
    // A default connect_timeout, overridden by one in the URL (later values win).
    const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
    const char* values[] = {"10", "signet", url_.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (conn_ == nullptr) return Unavailable(name() + ": cannot connect: out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = OneLine(PQerrorMessage(conn_));
      Close();
      return Unavailable(name() + ": cannot connect: " + why);
    }
    PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
    auto setup = Exec(
        "SET synchronous_commit = on; SET client_min_messages = warning; "
        "SET lock_timeout = " +
            std::to_string(lock_timeout_ms_),
        "set up the session");
    if (!setup) {
      Error e = setup.error();
      Close();
      return std::unexpected(e);
    }
    return {};
  }

  Status EnsureConnected() {
    if (!broken()) return {};
    return Connect();
  }

  // Runs `sql` (one or more statements; the last one's result is returned).
  Result<PgResult> Exec(const std::string& sql, const std::string& what) {
    if (conn_ == nullptr) return Unavailable(name() + ": not connected");
    PgResult r(PQexec(conn_, sql.c_str()));
    return Check(std::move(r), what);
  }

  Result<PgResult> ExecParams(const std::string& sql, const std::vector<std::string>& params,
                              const std::string& what) {
    if (conn_ == nullptr) return Unavailable(name() + ": not connected");
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
    return Check(std::move(r), what);
  }

  void RollbackQuietly() {
    if (!broken()) PgResult(PQexec(conn_, "ROLLBACK"));
  }

 private:
  Result<PgResult> Check(PgResult r, const std::string& what) {
    ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    std::string state;
    if (r) {
      const char* s = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
      if (s != nullptr) state = s;
    }
    // The primary message only: the full one adds the statement and a caret.
    const char* primary = r ? PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string why = OneLine(primary != nullptr ? primary : PQerrorMessage(conn_));
    if (why.empty()) why = OneLine(PQerrorMessage(conn_));
    ErrorCode code = broken() ? ErrorCode::kUnavailable : CodeForState(state);
    if (state == "42P01") why += " (not a Signet audit database?)";
    return MakeError(code, name() + ": cannot " + what + ": " + why +
                               (state.empty() ? "" : " (SQLSTATE " + state + ")"));
  }

  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  std::string url_;
  int lock_timeout_ms_ = 10000;
  PGconn* conn_ = nullptr;
};

Result<Head> ReadHead(Connection& c) {
  SIGNET_ASSIGN_OR_RETURN(
      PgResult r,
      c.Exec("SELECT last_seq, last_hash FROM audit_head WHERE id = 1", "read the head"));
  if (PQntuples(r.get()) != 1) return FailedPrecondition(c.name() + ": the head row is missing");
  Head head;
  head.last_seq = std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
  head.last_hash = PQgetvalue(r.get(), 0, 1);
  return head;
}

class PgStore final : public ChainStore {
 public:
  PgStore(const std::string& url, const StoreOptions& options)
      : options_(options), writer_(url, options), reader_(url, options) {}

  Status Open() {
    if (options_.read_only) {
      std::lock_guard lock(reader_mu_);
      SIGNET_RETURN_IF_ERROR(reader_.Connect());
      SIGNET_ASSIGN_OR_RETURN(Head head, ReadHead(reader_));
      (void)head;
      return {};
    }
    SIGNET_RETURN_IF_ERROR(writer_.Connect());
    auto created = writer_.Exec(SchemaSql(), "create the tables");
    if (!created) {
      writer_.RollbackQuietly();
      return std::unexpected(created.error());
    }
    return {};
  }

 protected:
  Status CommitBatch(std::vector<Record>& batch) override {
    if (options_.read_only) return FailedPrecondition(writer_.name() + " is open read-only");
    Status st;
    for (int attempt = 0; attempt < 2; ++attempt) {
      SIGNET_RETURN_IF_ERROR(writer_.EnsureConnected());
      bool commit_sent = false;
      st = TryCommit(batch, commit_sent);
      if (st) return st;
      writer_.RollbackQuietly();
      // Retry once on a fresh connection, unless COMMIT may have happened.
      if (!writer_.broken() || commit_sent) break;
    }
    return st;
  }

  Status Scan(const ListFilter& filter, Head* head,
              const std::function<bool(StoredRow&)>& row_sink) override {
    std::lock_guard lock(reader_mu_);
    Status st;
    for (int attempt = 0; attempt < 2; ++attempt) {
      SIGNET_RETURN_IF_ERROR(reader_.EnsureConnected());
      bool delivered = false;
      st = TryScan(filter, head, row_sink, delivered);
      if (st) return st;
      reader_.RollbackQuietly();
      if (!reader_.broken() || delivered) break;
    }
    return st;
  }

  Status PingBackend() override {
    std::lock_guard lock(reader_mu_);
    Status st;
    for (int attempt = 0; attempt < 2; ++attempt) {
      SIGNET_RETURN_IF_ERROR(reader_.EnsureConnected());
      auto head = ReadHead(reader_);
      if (head) return {};
      st = std::unexpected(head.error());
      if (!reader_.broken()) break;
    }
    return st;
  }

 private:
  Status TryCommit(std::vector<Record>& batch, bool& commit_sent) {
    SIGNET_ASSIGN_OR_RETURN(
        PgResult locked,
        writer_.Exec("BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kAuditLockKey) +
                         "); SELECT last_seq, last_hash FROM audit_head WHERE id = 1",
                     "lock the chain (another replica committing?)"));
    if (PQntuples(locked.get()) != 1) {
      return FailedPrecondition(writer_.name() + ": the head row is missing");
    }
    Head head;
    head.last_seq = std::strtoll(PQgetvalue(locked.get(), 0, 0), nullptr, 10);
    head.last_hash = PQgetvalue(locked.get(), 0, 1);
    std::vector<std::string> json;
    Head next = ChainRecords(head, batch, json);

    for (std::size_t start = 0; start < batch.size(); start += kRowsPerInsert) {
      std::size_t end = std::min(batch.size(), start + kRowsPerInsert);
      std::string sql =
          "INSERT INTO audit_records (seq, time, key, decision, prev_hash, hash, json) VALUES ";
      std::vector<std::string> params;
      params.reserve((end - start) * 7);
      for (std::size_t i = start; i < end; ++i) {
        const Record& r = batch[i];
        std::size_t n = params.size();
        sql += (i == start ? "(" : ",(");
        for (std::size_t k = 1; k <= 7; ++k) {
          sql += "$" + std::to_string(n + k) + (k == 1 ? "::bigint" : "") + (k < 7 ? "," : ")");
        }
        params.insert(params.end(), {std::to_string(r.seq), r.time, r.key, r.decision, r.prev_hash,
                                     r.hash, json[i]});
      }
      SIGNET_ASSIGN_OR_RETURN(PgResult inserted,
                              writer_.ExecParams(sql, params, "insert the records"));
      (void)inserted;
    }
    SIGNET_ASSIGN_OR_RETURN(
        PgResult updated,
        writer_.ExecParams(
            "UPDATE audit_head SET last_seq = $1::bigint, last_hash = $2 WHERE id = 1",
            {std::to_string(next.last_seq), next.last_hash}, "update the head"));
    if (std::string(PQcmdTuples(updated.get())) != "1") {
      return FailedPrecondition(writer_.name() + ": the head row is missing");
    }
    commit_sent = true;
    SIGNET_ASSIGN_OR_RETURN(PgResult committed, writer_.Exec("COMMIT", "commit"));
    if (std::string(PQcmdStatus(committed.get())) != "COMMIT") {
      return Unavailable(writer_.name() + ": the commit was rolled back");
    }
    return {};
  }

  Status TryScan(const ListFilter& filter, Head* head,
                 const std::function<bool(StoredRow&)>& row_sink, bool& delivered) {
    SIGNET_ASSIGN_OR_RETURN(
        PgResult begun,
        reader_.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin a read"));
    (void)begun;
    if (head != nullptr) {
      SIGNET_ASSIGN_OR_RETURN(*head, ReadHead(reader_));
    }
    std::vector<std::string> params = {std::to_string(filter.after_seq)};
    std::string sql =
        "DECLARE signet_audit_scan NO SCROLL CURSOR FOR SELECT seq, hash, prev_hash, key, "
        "decision, json FROM audit_records WHERE seq > $1::bigint";
    if (!filter.key.empty()) {
      params.push_back(filter.key);
      sql += " AND key = $" + std::to_string(params.size());
    }
    if (!filter.decision.empty()) {
      params.push_back(filter.decision);
      sql += " AND decision = $" + std::to_string(params.size());
    }
    sql += " ORDER BY seq";
    if (filter.limit != 0) {
      params.push_back(std::to_string(filter.limit));
      sql += " LIMIT $" + std::to_string(params.size()) + "::bigint";
    }
    SIGNET_ASSIGN_OR_RETURN(PgResult declared, reader_.ExecParams(sql, params, "read the records"));
    (void)declared;
    StoredRow row;
    bool more = true;
    while (more) {
      SIGNET_ASSIGN_OR_RETURN(PgResult page, reader_.Exec("FETCH " + std::to_string(kFetchRows) +
                                                              " FROM signet_audit_scan",
                                                          "read the records"));
      int n = PQntuples(page.get());
      if (n == 0) break;
      for (int i = 0; i < n && more; ++i) {
        row.seq = std::strtoll(PQgetvalue(page.get(), i, 0), nullptr, 10);
        row.hash = PQgetvalue(page.get(), i, 1);
        row.prev_hash = PQgetvalue(page.get(), i, 2);
        row.key = PQgetvalue(page.get(), i, 3);
        row.decision = PQgetvalue(page.get(), i, 4);
        row.json.assign(PQgetvalue(page.get(), i, 5),
                        static_cast<std::size_t>(PQgetlength(page.get(), i, 5)));
        delivered = true;
        more = row_sink(row);
      }
    }
    SIGNET_ASSIGN_OR_RETURN(PgResult done, reader_.Exec("COMMIT", "end the read"));
    (void)done;
    return {};
  }

  StoreOptions options_;
  Connection writer_;  // group-commit leader only
  std::mutex reader_mu_;
  Connection reader_;  // List, Verify, ForEach, Ping (under reader_mu_)
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url,
                                                 const StoreOptions& options) {
  auto store = std::make_unique<PgStore>(url, options);
  SIGNET_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace signet::audit
