// The PostgreSQL backend of the Store, for several hub nodes sharing one
// database (see store/store.h for the contract and docs/storage.md for the
// schema and the argument for its ordering and durability).
//
// Several processes may open the same database at once: start-up migrations
// run under a session advisory lock, and every write transaction first locks
// the one row of `store_lock`, so writes from all nodes are serialised and
// the journal stays one gap-free chain. Small files live in the database,
// large ones either in a content-addressed folder that all nodes share
// (`files_dir`, the same layout as the SQLite store's) or, chunked, in the
// database too (PostgresOptions::files_in_database).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "store/store.h"

namespace sened {

struct PostgresOptions {
  // A libpq connection string or postgresql:// URL (e.g. with
  // `?options=-csearch_path%3Dmy_schema` to use a schema of its own).
  std::string conninfo;
  std::string files_dir;                   // shared content-addressed folder
  uint64_t inline_file_limit = 64 * 1024;  // files up to this size live in the database
  // Larger files: false keeps them in `files_dir`, true in the database,
  // chunked (store/postgres/pg_files.h); `files_dir` then holds only the
  // uploads' staging folder. Either way files written under the other
  // setting stay readable.
  bool files_in_database = false;
  // False: a database (or schema) without the store's tables is kNotFound
  // instead of being set up.
  bool create = true;
  // Idle connections kept for reuse; more are opened when more calls run at
  // once, and closed again when they return beyond this number.
  int idle_connections = 8;
};

namespace postgres {

// The highest migration this program knows; a database at a higher version
// was written by a newer program and is refused.
inline constexpr int kSchemaVersion = 4;

}  // namespace postgres

// Connects, runs pending migrations (once, even when several nodes start at
// the same moment) and returns the store. kUnavailable when the server cannot
// be reached; kInternal for a database of a newer schema version.
Result<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& options);

}  // namespace sened
