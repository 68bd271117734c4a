// Test support for the audit store suite: one fresh, real database per test
// (a SQLite file in a temp dir, or a new database in the PostgreSQL cluster
// that the ctest fixture started with tests/tools/pg_cluster.sh), plus raw
// SQL access to it for tampering and for holding the store's write lock.
//
// PostgreSQL is found through SIGNET_TEST_PG_URL (an admin URL) or
// SIGNET_TEST_PG_URL_FILE (a file holding it, written by the fixture). When
// neither is set the PostgreSQL tests skip; when the file variable is set
// but the file is missing they fail (the fixture did not run).
//
// Not thread-safe: use from the test's main thread.
#pragma once

#include <memory>
#include <string>

#include "test_keys.h"

namespace signet::audit::testing {

enum class Backend { kSqlite, kPostgres };

std::string BackendName(Backend b);

class TestDb {
 public:
  // A fresh empty database. On failure returns null and sets `why`;
  // `skip` is true when the backend is simply not configured.
  static std::unique_ptr<TestDb> Create(Backend backend, std::string& why, bool& skip);
  virtual ~TestDb() = default;

  [[nodiscard]] virtual Backend backend() const = 0;
  // The store URL for OpenStore.
  [[nodiscard]] virtual std::string url() const = 0;
  // A URL of the same kind that cannot be opened (missing directory,
  // closed port).
  [[nodiscard]] virtual std::string UnreachableUrl() const = 0;
  // Runs SQL on a connection of its own; returns "" or the error.
  virtual std::string Exec(const std::string& sql) = 0;
  // The first column of the first row of a query ("" when none).
  virtual std::string Query(const std::string& sql) = 0;
  // Holds the lock every commit takes (SQLite: BEGIN IMMEDIATE; PostgreSQL:
  // pg_advisory_lock on kAuditLockKey) until Unlock().
  virtual void Lock() = 0;
  virtual void Unlock() = 0;
  // Makes inserts of rows whose JSON contains "poison" fail inside the
  // transaction (a trigger).
  virtual void InstallPoisonTrigger() = 0;
  // Closes the store's open connections from the server side (PostgreSQL:
  // pg_terminate_backend). SQLite has none to break: does nothing.
  virtual void BreakConnections() = 0;
  // Makes the store unavailable for good (PostgreSQL: DROP DATABASE ... WITH
  // (FORCE); SQLite: the write lock held until destruction).
  virtual void MakeUnavailable() = 0;
};

}  // namespace signet::audit::testing
