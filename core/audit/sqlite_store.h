// Internal to core/audit: the SQLite store (a file; the embedded default).
//
// Schema (created when missing):
//   audit_records(seq INTEGER PRIMARY KEY, time, key, decision, prev_hash,
//                 hash, json TEXT)        json: the record as canonical JSON
//   audit_head(id = 1, last_seq, last_hash)  updated in the same transaction
// journal_mode=WAL, synchronous=FULL (the WAL is fsynced at every commit),
// busy_timeout = StoreOptions::lock_timeout_ms. Readers in other processes
// (`signet audit list` beside a running server) read a snapshot while the
// writer appends.
//
// Thread-safety: the writer connection is used only by the group-commit
// leader; every read opens its own connection.
#pragma once

#include <memory>
#include <string>

#include "audit/audit.h"

namespace signet::audit {

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                               const StoreOptions& options);

}  // namespace signet::audit
