// Internal to core/audit: the PostgreSQL store (libpq), for several server
// replicas appending to one chain.
//
// Schema (created when missing, under the advisory lock):
//   audit_records(seq BIGINT PRIMARY KEY, time, key, decision, prev_hash,
//                 hash, json TEXT)
//   audit_head(id = 1, last_seq, last_hash)
// Every commit runs BEGIN; pg_advisory_xact_lock(kAuditLockKey); read head;
// INSERT; UPDATE head; COMMIT with synchronous_commit=on, so replicas
// serialise their batches into one linear chain. lock_timeout bounds the
// wait for that lock (StoreOptions::lock_timeout_ms).
//
// A broken connection is re-established once per operation; a commit is
// retried on the new connection only when the old one broke before COMMIT
// was sent (otherwise the outcome is unknown and Append fails: no signature
// is released, and at worst the chain holds a record for a request that got
// an error).
//
// Thread-safety: the writer connection is used only by the group-commit
// leader; reads share one connection under a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "audit/audit.h"

namespace signet::audit {

// pg_advisory_xact_lock key every Signet replica takes to append ("SIGNET").
inline constexpr std::int64_t kAuditLockKey = 0x5349474E4554;

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url,
                                                 const StoreOptions& options);

}  // namespace signet::audit
