// The audit log: one append-only record per request (allowed or denied),
// hash-chained so that editing or deleting a record is detected.
//
//   record.hash = SHA-256( prev_hash_hex || "\n" || CanonicalJson(record without hash) )
//
// where CanonicalJson is nlohmann::json::dump() of an object (keys sorted,
// no whitespace) and the first record's prev_hash is 64 zeros.
//
// Stores: SQLite (a file; the embedded default) and PostgreSQL (several
// server replicas share one chain). Append is durable before it returns:
// the server returns a signature only after its record is committed (fail
// closed). Concurrent Appends are group-committed (one transaction and one
// fsync for all records waiting), which keeps the chain linear and the
// throughput high.
//
// Thread-safety: a Store may be used from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"

namespace signet::audit {

struct Record {
  std::int64_t seq = 0;  // assigned by the store, 1, 2, ...
  std::string time;      // RFC 3339 UTC with milliseconds, set by the caller
  std::string request_id;
  std::string issuer;
  std::string subject;
  std::map<std::string, std::string> claims;  // the claims policy used
  std::string key;                            // key name
  std::string certificate_sha256;             // hex of the leaf certificate's DER, or ""
  std::string format;
  std::string artifact;
  std::uint64_t artifact_size = 0;
  std::string content_digest;  // "sha256:<hex>"
  std::string tbs_digest;      // "sha256:<hex>"
  std::string decision;        // "allow", "deny", "error"
  std::string reason;
  std::string client;     // client address
  std::string prev_hash;  // hex, set by the store
  std::string hash;       // hex, set by the store

  [[nodiscard]] nlohmann::json ToJson() const;  // every field, hash included
  static Result<Record> FromJson(const nlohmann::json& j);
  // The hash this record should carry given its prev_hash.
  [[nodiscard]] std::string ComputeHash() const;
};

struct ListFilter {
  std::int64_t after_seq = 0;  // records with seq > after_seq
  std::size_t limit = 100;     // 0: no limit
  std::string key;             // "" any
  std::string decision;        // "" any
};

struct VerifyResult {
  std::int64_t records = 0;  // records checked (when !ok: those before first_bad_seq)
  bool ok = true;
  std::int64_t first_bad_seq = 0;  // when !ok: the first record that breaks the chain
  std::string reason;              // "hash mismatch", "seq 41 missing", "prev_hash mismatch"
  std::string head_hash;           // when ok: the last record's hash (64 zeros when empty);
                                   // publish it to anchor the chain (docs/audit.md)
};

class Store {
 public:
  virtual ~Store() = default;
  // Appends the records (in order) as one durable commit and returns them
  // with seq, prev_hash and hash set. Fails (nothing appended) when the
  // store is unavailable: the caller must not release any signature.
  virtual Result<std::vector<Record>> Append(std::vector<Record> records) = 0;
  virtual Result<std::vector<Record>> List(const ListFilter& filter) = 0;
  // Walks the whole chain in seq order (streaming).
  virtual Result<VerifyResult> Verify() = 0;
  // Calls `sink` for every record in seq order (streaming).
  virtual Status ForEach(const std::function<Status(const Record&)>& sink) = 0;
  // True when the store answers (for /healthz).
  virtual Status Ping() = 0;
};

struct StoreOptions {
  // Readers (`signet audit list|verify|export`): the store must exist already
  // (no file or table is created) and Append fails.
  bool read_only = false;
  // How long one commit waits for the store's write lock (another process
  // or replica committing) before Append fails with kUnavailable: SQLite
  // busy_timeout, PostgreSQL lock_timeout.
  int lock_timeout_ms = 10000;
};

// Opens (creating tables if needed) the store named by `url`:
//   sqlite:/path/audit.db, or a plain path    SQLite (WAL, synchronous=FULL)
//   postgresql://user@host:port/db?...         PostgreSQL (libpq conninfo URI; also postgres://)
// A password in a PostgreSQL URL is never printed in errors.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const StoreOptions& options = {});

// The store kinds this build can open ("sqlite", and "postgresql" when built
// with SIGNET_WITH_POSTGRES), for `signet version`.
std::vector<std::string> StoreKinds();

// Resolves a store URL read from a config file: a relative SQLite path
// ("sqlite:audit.db" or "audit.db") becomes relative to `base_dir`; "" means
// "sqlite:audit.db"; other URLs are returned unchanged.
std::string ResolveStoreUrl(const std::string& url, const std::string& base_dir);

// `url` with any password (user:PASSWORD@, ?password=...) replaced by "***",
// for messages and logs.
std::string RedactUrl(const std::string& url);

// RFC 3339 UTC with milliseconds for "now" (for Record::time).
std::string NowRfc3339();

}  // namespace signet::audit
