// Constants of the SQLite store that tests and tools need to see. The store
// itself is reached through open_sqlite_store() in store/store.h; its schema
// is described in docs/storage.md.
#pragma once

#include <chrono>
#include <cstddef>

namespace sened::sqlite {

// The highest migration this program knows. A database whose
// schema_migrations holds a higher version was written by a newer program and
// is refused.
inline constexpr int kSchemaVersion = 5;

// Temp files in the staging folder older than this are removed when the store
// opens: their upload was cut short by a crash. Younger ones may belong to an
// upload still running in another process that shares the folder.
inline constexpr std::chrono::seconds kStaleStagingAge = std::chrono::hours(1);

// Group commit: concurrent submits share one transaction and one fsync, at
// most this many to a batch (a bound on how long the first one waits).
inline constexpr size_t kMaxSubmitBatch = 256;
// The longest a batch waits for SqliteOptions::gather_submits (tests only).
inline constexpr std::chrono::seconds kGatherWait = std::chrono::seconds(10);

// How long a writer waits for another process's write lock before a call
// fails with kUnavailable.
inline constexpr int kBusyTimeoutMs = 5000;

}  // namespace sened::sqlite
