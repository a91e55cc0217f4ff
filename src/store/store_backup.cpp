#include "store/store_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "crypto/digest.h"
#include "store/sqlite/content_files.h"

namespace sened {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSqliteScheme = "sqlite:";
// How long the snapshot waits for a writer's lock before giving up.
constexpr int kBusyTimeoutMs = 10000;
constexpr size_t kCopyPiece = 1024 * 1024;

using Database = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;

Result<std::string> database_path(const StoreLocation& where) {
  if (!where.address.starts_with(kSqliteScheme) || where.address.size() == kSqliteScheme.size()) {
    return invalid_argument(
        "backup and restore here are for a sqlite: store; back up a PostgreSQL store with "
        "pg_dump (docs/backup.md)");
  }
  std::string path = where.address.substr(kSqliteScheme.size());
  if (path.front() != '/') path = where.data_dir + "/" + path;
  return path;
}

Status errno_status(const std::string& what, int err) {
  std::string message = what + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM || err == EROFS) return permission_denied(message);
  if (err == ENOENT || err == ENOTDIR) return not_found(message);
  if (err == EEXIST) return conflict(message);
  return internal_error(message);
}

Result<Database> open_database(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db(raw, sqlite3_close);
  if (rc != SQLITE_OK) {
    return internal_error("cannot open " + path + ": " + sqlite3_errstr(rc));
  }
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  return db;
}

Status fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status("cannot open " + path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status() : errno_status("fsync of " + path + " failed", err);
}

// Copies `from` to the new file `to` (never overwriting), then fsyncs it.
Status copy_file_synced(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return errno_status("cannot open " + from, errno);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return errno_status("cannot create " + to, err);
  }
  std::vector<char> buffer(kCopyPiece);
  Status st;
  for (;;) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = errno_status("cannot read " + from, errno);
      break;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        st = errno_status("cannot write " + to, errno);
        break;
      }
      done += w;
    }
    if (!st.ok()) break;
  }
  if (st.ok() && ::fsync(out) != 0) st = errno_status("fsync of " + to + " failed", errno);
  ::close(in);
  ::close(out);
  return st;
}

// The snapshot: one backup step copying every page inside one read
// transaction of the source, so writers (WAL) go on meanwhile and the copy
// is the database as of one commit.
Status snapshot(const std::string& source_path, const std::string& target_path) {
  Result<Database> source = open_database(source_path, SQLITE_OPEN_READONLY);
  if (!source.ok()) return source.status();
  Result<Database> target = open_database(target_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!target.ok()) return target.status();
  sqlite3_backup* backup = sqlite3_backup_init(target->get(), "main", source->get(), "main");
  if (backup == nullptr) {
    return internal_error("cannot start the backup: " + std::string(sqlite3_errmsg(target->get())));
  }
  int rc = sqlite3_backup_step(backup, -1);
  int finished = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE || finished != SQLITE_OK) {
    return internal_error("the backup of " + source_path +
                          " failed: " + sqlite3_errstr(rc != SQLITE_DONE ? rc : finished));
  }
  target->reset();  // closes it: its WAL, if any, is checkpointed and removed
  return fsync_path(target_path);
}

// The content files a database names, relative to the files folder.
Result<std::vector<std::string>> named_content_files(const std::string& database) {
  Result<Database> db = open_database(database, SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.status();
  sqlite3_stmt* raw = nullptr;
  const char* sql = "SELECT DISTINCT cas_path FROM files WHERE cas_path IS NOT NULL";
  if (sqlite3_prepare_v2(db->get(), sql, -1, &raw, nullptr) != SQLITE_OK) {
    return internal_error("cannot read " + database + ": " + sqlite3_errmsg(db->get()));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> q(raw, sqlite3_finalize);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 0)));
  }
  if (rc != SQLITE_DONE) return internal_error("cannot read " + database);
  return out;
}

// True when the file at `path` holds the bytes its content address
// ("<aa>/<sha256>") names.
Result<bool> holds_its_content(const std::string& path, const std::string& name) {
  Result<std::string> digest = crypto::sha256_file_hex(path);
  if (!digest.ok()) return digest.status();
  return *digest == name.substr(3);
}

// Copies the named content files from `from_dir` to `to_dir` (same layout).
// Every file is checked against its address: a damaged source fails the copy
// naming the file, and a damaged file already at the target is replaced (it
// is written beside it and renamed over it); a good one is kept.
Status copy_content_files(const std::vector<std::string>& names, const std::string& from_dir,
                          const std::string& to_dir, BackupReport& report) {
  std::vector<std::string> folders;
  for (const auto& name : names) {
    // A name is "<aa>/<sha256>": nothing in it may climb out of the folder.
    if (name.size() != 67 || name[2] != '/' || name.find("..") != std::string::npos) {
      return internal_error("files row names a malformed content file " + name);
    }
    std::string folder = to_dir + "/" + name.substr(0, 2);
    SENED_RETURN_IF_ERROR(sqlite::ensure_dir(folder));
    std::string source = from_dir + "/" + name;
    std::string target = to_dir + "/" + name;
    std::error_code ec;
    uint64_t size = fs::file_size(source, ec);
    if (ec) return internal_error("content file " + source + " is missing");
    Result<bool> good_source = holds_its_content(source, name);
    if (!good_source.ok()) return good_source.status();
    if (!*good_source) {
      return internal_error("content file " + source + " does not hold the bytes its name says");
    }
    bool present = fs::exists(target, ec);
    if (present) {
      Result<bool> good_target = holds_its_content(target, name);
      if (!good_target.ok()) return good_target.status();
      present = *good_target;
    }
    if (!present) {
      std::string temp = target + ".copying";
      fs::remove(temp, ec);  // a copy cut short before
      Status copied = copy_file_synced(source, temp);
      if (copied.ok() && ::rename(temp.c_str(), target.c_str()) != 0) {
        copied = errno_status("cannot rename " + temp + " to " + target, errno);
      }
      if (!copied.ok()) {
        fs::remove(temp, ec);
        return copied;
      }
      folders.push_back(folder);
    }
    ++report.files;
    report.bytes += size;
  }
  for (const auto& folder : folders) SENED_RETURN_IF_ERROR(sqlite::sync_dir(folder));
  return Status();
}

std::string parent_of(const std::string& path) {
  std::string parent = fs::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// The backup into `work` (a fresh folder), then its files.
Status write_backup(const std::string& database, const StoreLocation& from, const std::string& work,
                    BackupReport& report) {
  SENED_RETURN_IF_ERROR(snapshot(database, work + "/" + kBackupDatabase));
  Result<std::vector<std::string>> names = named_content_files(work + "/" + kBackupDatabase);
  if (!names.ok()) return names.status();
  SENED_RETURN_IF_ERROR(sqlite::ensure_dir(work + "/" + kBackupFiles));
  SENED_RETURN_IF_ERROR(
      copy_content_files(*names, from.files_dir, work + "/" + kBackupFiles, report));
  return sqlite::sync_dir(work);
}

}  // namespace

Result<BackupReport> backup_sqlite_store(const StoreLocation& from, const std::string& to) {
  Result<std::string> database = database_path(from);
  if (!database.ok()) return database.status();
  if (!fs::is_regular_file(*database)) {
    return not_found("no SQLite database at " + *database + " (nothing to back up)");
  }
  if (to.empty()) return invalid_argument("no backup folder given: --to NEW_FOLDER");
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) {
    return conflict(to + " already exists; a backup never overwrites");
  }
  // Inside the content folder the backup would become part of what it copies.
  std::error_code ec;
  fs::path files = fs::weakly_canonical(from.files_dir, ec);
  fs::path target = fs::weakly_canonical(fs::absolute(to, ec), ec);
  auto [inside, rest] = std::mismatch(files.begin(), files.end(), target.begin(), target.end());
  if (!files.empty() && inside == files.end()) {
    return invalid_argument(to + " is inside the store's files folder " + from.files_dir +
                            "; put the backup elsewhere");
  }
  // Written under a temporary name beside `to`, then renamed: `to` appears
  // only complete, and never replaces anything.
  std::string work = to + ".partial-" + std::to_string(::getpid());
  if (::mkdir(work.c_str(), 0700) != 0) return errno_status("cannot create " + work, errno);
  BackupReport report;
  report.database = to + "/" + kBackupDatabase;
  Status written = write_backup(*database, from, work, report);
  if (written.ok() &&
      ::renameat2(AT_FDCWD, work.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    written = errno_status("cannot rename " + work + " to " + to, errno);
  }
  if (!written.ok()) {
    std::error_code ec;
    fs::remove_all(work, ec);
    return written;
  }
  SENED_RETURN_IF_ERROR(sqlite::sync_dir(parent_of(to)));
  return report;
}

Result<BackupReport> restore_sqlite_store(const std::string& from, const StoreLocation& to) {
  Result<std::string> database = database_path(to);
  if (!database.ok()) return database.status();
  std::string source = from + "/" + kBackupDatabase;
  if (!fs::is_regular_file(source)) return not_found(from + " holds no backup (no sened.db)");
  for (const char* suffix : {"", "-wal"}) {
    if (fs::exists(*database + suffix)) {
      return conflict("a database exists at " + *database + suffix +
                      " already; restore into a fresh place (stop the hub, move it away)");
    }
  }
  // Files first: the database must never name a file that is not there.
  Result<std::vector<std::string>> names = named_content_files(source);
  if (!names.ok()) return names.status();
  BackupReport report;
  report.database = *database;
  SENED_RETURN_IF_ERROR(sqlite::ensure_dir(to.files_dir));
  SENED_RETURN_IF_ERROR(
      copy_content_files(*names, from + "/" + kBackupFiles, to.files_dir, report));

  SENED_RETURN_IF_ERROR(sqlite::ensure_dir(parent_of(*database)));
  std::string temp = *database + ".restoring";
  std::error_code ec;
  fs::remove(temp, ec);  // a restore cut short before
  Status copied = copy_file_synced(source, temp);
  if (copied.ok() &&
      ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, database->c_str(), RENAME_NOREPLACE) != 0) {
    copied = errno_status("cannot rename " + temp + " to " + *database, errno);
  }
  if (!copied.ok()) {
    fs::remove(temp, ec);
    return copied;
  }
  SENED_RETURN_IF_ERROR(sqlite::sync_dir(parent_of(*database)));
  return report;
}

}  // namespace sened
