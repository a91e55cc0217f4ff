// Online backup and restore of the SQLite store (see docs/backup.md; a
// PostgreSQL store is backed up with pg_dump instead).
//
// A backup is a new folder holding `sened.db`, a consistent snapshot of the
// database taken with SQLite's online backup API while the hub keeps
// running, and `files/`, the content files that snapshot names, in the same
// content-addressed layout. The files are copied after the snapshot: content
// files are written before the rows that name them commit and are never
// changed or removed, so every file the snapshot names exists by then.
// Everything is fsynced before the folder appears under its name.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "store/open_store.h"

namespace sened {

struct BackupReport {
  std::string database;  // the database file written
  int64_t files = 0;     // content files copied
  uint64_t bytes = 0;    // their total size
};

// The database file's name inside a backup folder, and its files folder.
inline constexpr const char* kBackupDatabase = "sened.db";
inline constexpr const char* kBackupFiles = "files";

// Writes a backup of the SQLite store `from` into the new folder `to`.
// Errors, each before anything is left behind: kInvalidArgument for a store
// that is not sqlite:; kNotFound when its database file does not exist (the
// store is not created); kConflict when `to` exists already (a backup never
// overwrites); kPermissionDenied or kNotFound when `to` cannot be created
// there; kInternal when a file the snapshot names is missing or a write
// fails.
Result<BackupReport> backup_sqlite_store(const StoreLocation& from, const std::string& to);

// Puts the backup folder `from` in place as the SQLite store `to` (whose
// hub must be stopped): its content files into to.files_dir first, then the
// database, so the database never names a missing file. kConflict when a
// database exists at the target already (restore goes into a fresh place);
// kNotFound when `from` holds no backup; kInvalidArgument for a store that
// is not sqlite:.
Result<BackupReport> restore_sqlite_store(const std::string& from, const StoreLocation& to);

}  // namespace sened
