#include "test_db.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "audit/pg_store.h"

namespace signet::audit::testing {

std::string BackendName(Backend b) { return b == Backend::kSqlite ? "Sqlite" : "Postgres"; }

namespace {

// ---------------------------------------------------------------------------
// SQLite

class SqliteDb final : public TestDb {
 public:
  SqliteDb() : path_(dir_.File("audit.db")) {}
  ~SqliteDb() override {
    if (lock_ != nullptr) sqlite3_close_v2(lock_);
  }

  [[nodiscard]] Backend backend() const override { return Backend::kSqlite; }
  [[nodiscard]] std::string url() const override { return "sqlite:" + path_; }
  [[nodiscard]] std::string UnreachableUrl() const override {
    return "sqlite:" + dir_.File("no-such-dir/audit.db");
  }

  std::string Exec(const std::string& sql) override {
    sqlite3* db = Open();
    char* msg = nullptr;
    std::string err;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      err = msg != nullptr ? msg : "sqlite error";
    }
    sqlite3_free(msg);
    sqlite3_close_v2(db);
    return err;
  }

  std::string Query(const std::string& sql) override {
    sqlite3* db = Open();
    sqlite3_stmt* s = nullptr;
    std::string value;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close_v2(db);
    return value;
  }

  void Lock() override {
    if (lock_ == nullptr) lock_ = Open();
    sqlite3_exec(lock_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  }
  void Unlock() override {
    if (lock_ != nullptr) sqlite3_exec(lock_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  void InstallPoisonTrigger() override {
    Exec(
        "CREATE TRIGGER poison BEFORE INSERT ON audit_records WHEN NEW.json LIKE '%poison%' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned record'); END");
  }

  void BreakConnections() override {}
  void MakeUnavailable() override { Lock(); }

 private:
  sqlite3* Open() {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    sqlite3_busy_timeout(db, 5000);
    return db;
  }

  signet::testing::TempDir dir_;
  std::string path_;
  sqlite3* lock_ = nullptr;
};

// ---------------------------------------------------------------------------
// PostgreSQL

// `url` with its database (the path) replaced by `db`.
std::string WithDatabase(const std::string& url, const std::string& db) {
  std::size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  std::size_t slash = url.find('/', start);
  std::size_t query = url.find('?', start);
  std::string base = url.substr(0, std::min(slash, query));
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + db + rest;
}

std::string AdminUrl(std::string& why, bool& skip) {
  if (const char* u = std::getenv("SIGNET_TEST_PG_URL"); u != nullptr && *u != '\0') return u;
  const char* file = std::getenv("SIGNET_TEST_PG_URL_FILE");
  if (file == nullptr || *file == '\0') {
    skip = true;
    why =
        "PostgreSQL not configured: run through ctest (fixture audit.pg_cluster) or set "
        "SIGNET_TEST_PG_URL";
    return "";
  }
  std::ifstream in(file);
  std::string url;
  if (!(in >> url)) why = std::string("cannot read the PostgreSQL URL from ") + file;
  return url;
}

class PgDb final : public TestDb {
 public:
  PgDb(std::string admin_url, std::string name)
      : admin_url_(std::move(admin_url)), name_(std::move(name)) {}
  ~PgDb() override {
    if (lock_ != nullptr) PQfinish(lock_);
    if (!dropped_) Run(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }

  static std::string Run(const std::string& url, const std::string& sql,
                         std::string* value = nullptr) {
    PGconn* c = PQconnectdb(url.c_str());
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      ExecStatusType st = PQresultStatus(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        err = PQresultErrorMessage(r);
      } else if (value != nullptr && PQntuples(r) > 0) {
        *value = PQgetvalue(r, 0, 0);
      }
      PQclear(r);
    }
    PQfinish(c);
    return err;
  }

  [[nodiscard]] Backend backend() const override { return Backend::kPostgres; }
  [[nodiscard]] std::string url() const override { return WithDatabase(admin_url_, name_); }
  [[nodiscard]] std::string UnreachableUrl() const override {
    return "postgresql://postgres@127.0.0.1:1/" + name_ + "?connect_timeout=2";
  }
  std::string Exec(const std::string& sql) override { return Run(url(), sql); }
  std::string Query(const std::string& sql) override {
    std::string value;
    Run(url(), sql, &value);
    return value;
  }

  void Lock() override {
    if (lock_ == nullptr) lock_ = PQconnectdb(url().c_str());
    PQclear(
        PQexec(lock_, ("SELECT pg_advisory_lock(" + std::to_string(kAuditLockKey) + ")").c_str()));
  }
  void Unlock() override {
    if (lock_ == nullptr) return;
    PQclear(PQexec(lock_,
                   ("SELECT pg_advisory_unlock(" + std::to_string(kAuditLockKey) + ")").c_str()));
  }

  void InstallPoisonTrigger() override {
    Exec(
        "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.json LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned record'; END IF; "
        "RETURN NEW; END $$; "
        "CREATE TRIGGER poison BEFORE INSERT ON audit_records FOR EACH ROW "
        "EXECUTE FUNCTION poison()");
  }

  void BreakConnections() override {
    Run(admin_url_,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name_ + "'");
  }

  void MakeUnavailable() override {
    if (lock_ != nullptr) {
      PQfinish(lock_);
      lock_ = nullptr;
    }
    Run(admin_url_, "DROP DATABASE " + name_ + " WITH (FORCE)");
    dropped_ = true;
  }

 private:
  std::string admin_url_;
  std::string name_;
  PGconn* lock_ = nullptr;
  bool dropped_ = false;
};

}  // namespace

std::unique_ptr<TestDb> TestDb::Create(Backend backend, std::string& why, bool& skip) {
  skip = false;
  if (backend == Backend::kSqlite) return std::make_unique<SqliteDb>();
  std::string admin = AdminUrl(why, skip);
  if (admin.empty()) return nullptr;
  static std::atomic<int> counter{0};
  std::string name = "signet_audit_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  if (std::string err = PgDb::Run(admin, "CREATE DATABASE " + name); !err.empty()) {
    why = "cannot create database " + name + ": " + err;
    return nullptr;
  }
  return std::make_unique<PgDb>(admin, name);
}

}  // namespace signet::audit::testing
