// A thin RAII layer over the sqlite3 C API, used only by the SQLite store.
//
// Database owns one connection and a cache of prepared statements; Statement
// borrows a cached statement for one use and resets it when it dies. Values
// always travel as bound parameters: SQL text given to exec() and prepare()
// is static, never built from data.
//
// Not thread-safe: the store serialises every use behind its own mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace sened::sqlite {

class Database;

// Bytes bound as a BLOB rather than TEXT.
struct Blob {
  std::string_view bytes;
};

// A prepared statement borrowed from Database::prepare for one execution.
class Statement {
 public:
  Statement(Database* db, sqlite3_stmt* stmt, Status prepare_status);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds the values to parameters 1, 2, 3, ... in order.
  template <typename... Args>
  Statement& bind(const Args&... values) {
    int index = 0;
    (bind_one(++index, values), ...);
    return *this;
  }

  // Steps once: true with a row to read, false when done.
  Result<bool> next();
  // Steps a statement that returns no rows.
  Status run();

  std::string text(int column) const;
  std::string blob(int column) const;
  int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  void bind_one(int index, std::string_view text);
  void bind_one(int index, const std::string& text) { bind_one(index, std::string_view(text)); }
  void bind_one(int index, const char* text) { bind_one(index, std::string_view(text)); }
  void bind_one(int index, int64_t value);
  void bind_one(int index, int value) { bind_one(index, static_cast<int64_t>(value)); }
  void bind_one(int index, bool value) { bind_one(index, static_cast<int64_t>(value)); }
  void bind_one(int index, Blob value);
  void bind_one(int index, const std::optional<std::string>& text);
  void check_bind(int rc);

  Database* db_;
  sqlite3_stmt* stmt_;
  Status status_;  // the first preparation or binding error, reported by next()/run()
};

class Database {
 public:
  // Opens or creates the database file with extended result codes on.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs static SQL (no values), possibly several statements.
  Status exec(const char* sql);
  // A cached prepared statement for `sql`, which must be static text.
  Statement prepare(const char* sql);

  // A Status for the result code `rc`: kConflict for a constraint,
  // kUnavailable for a busy or locked database, kInternal otherwise. Notes
  // I/O errors and corruption for take_io_failure().
  Status error(int rc, std::string_view what);
  // True if an I/O error or corruption was seen since the last call.
  bool take_io_failure();

  sqlite3* handle() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  bool io_failure_ = false;
};

}  // namespace sened::sqlite
