#include "store/sqlite/sqlite_db.h"

#include <algorithm>
#include <utility>

namespace sened::sqlite {

Statement::Statement(Database* db, sqlite3_stmt* stmt, Status prepare_status)
    : db_(db), stmt_(stmt), status_(std::move(prepare_status)) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::check_bind(int rc) {
  if (rc != SQLITE_OK && status_.ok()) status_ = db_->error(rc, "bind");
}

void Statement::bind_one(int index, std::string_view text) {
  if (stmt_ == nullptr) return;
  // A non-null pointer even for "" so that empty text stays '' and not NULL.
  const char* data = text.empty() ? "" : text.data();
  check_bind(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

void Statement::bind_one(int index, int64_t value) {
  if (stmt_ == nullptr) return;
  check_bind(sqlite3_bind_int64(stmt_, index, value));
}

void Statement::bind_one(int index, Blob value) {
  if (stmt_ == nullptr) return;
  const char* data = value.bytes.empty() ? "" : value.bytes.data();
  check_bind(sqlite3_bind_blob64(stmt_, index, data, value.bytes.size(), SQLITE_TRANSIENT));
}

void Statement::bind_one(int index, const std::optional<std::string>& text) {
  if (stmt_ == nullptr) return;
  if (text.has_value()) {
    bind_one(index, std::string_view(*text));
  } else {
    check_bind(sqlite3_bind_null(stmt_, index));
  }
}

Result<bool> Statement::next() {
  if (!status_.ok()) return status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->error(rc, "step");
}

Status Statement::run() {
  Result<bool> row = next();
  if (!row.ok()) return row.status();
  if (*row) return internal_error("statement returned a row where none was expected");
  return Status();
}

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

std::string Statement::blob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // sqlite3_open_v2 hands out a handle even on failure; it must be closed.
  std::unique_ptr<Database> db(new Database(raw));
  if (rc != SQLITE_OK) {
    return internal_error("cannot open database " + path + ": " + sqlite3_errstr(rc));
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Database::exec(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return Status();
  // Name the statement by its start: a migration's full text is too long.
  std::string_view what(sql);
  return error(rc, what.substr(0, std::min(what.find('\n', 1), size_t{40})));
}

Statement Database::prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return Statement(this, it->second, Status());

  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Statement(this, nullptr, error(rc, "prepare"));
  statements_.emplace(sql, stmt);
  return Statement(this, stmt, Status());
}

Status Database::error(int rc, std::string_view what) {
  int primary = rc & 0xff;
  if (primary == SQLITE_IOERR || primary == SQLITE_CORRUPT) io_failure_ = true;
  std::string message = std::string(what) + ": " + sqlite3_errmsg(db_);
  if (primary == SQLITE_CONSTRAINT) return conflict(std::move(message));
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return unavailable(std::move(message));
  return internal_error(std::move(message));
}

bool Database::take_io_failure() { return std::exchange(io_failure_, false); }

}  // namespace sened::sqlite
