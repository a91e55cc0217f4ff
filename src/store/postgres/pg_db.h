// A thin RAII layer over libpq, used only by the PostgreSQL store.
//
// Connection owns one server connection and the statements prepared on it;
// Statement is one execution of such a prepared statement, with its bound
// values and its result rows. Values always travel as parameters
// (PQexecPrepared): SQL text given to exec() and prepare() is static, never
// built from data. The SQL may use `?` or `?N` placeholders, which prepare()
// turns into PostgreSQL's `$N` (outside quoted text), so that the two
// backends read alike.
//
// Not thread-safe: a Connection is used by one thread at a time (the store
// hands connections out from a pool).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace sened::pg {

class Connection;

// Bytes bound as a bytea (binary parameter) rather than text.
struct Blob {
  std::string_view bytes;
};

// One execution of a statement prepared on a Connection.
class Statement {
 public:
  Statement(Connection* conn, std::string name, Status prepare_status);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds the values to parameters 1, 2, 3, ... in order.
  template <typename... Args>
  Statement& bind(const Args&... values) {
    (bind_one(values), ...);
    return *this;
  }

  // Executes on the first call, then moves through the rows: true with a row
  // to read, false when done.
  Result<bool> next();
  // Executes a statement whose rows (if any) are not wanted.
  Status run();

  std::string text(int column) const;
  // A bytea column, unescaped.
  std::string blob(int column) const;
  int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  void bind_one(std::string_view text);
  void bind_one(const std::string& text) { bind_one(std::string_view(text)); }
  void bind_one(const char* text) { bind_one(std::string_view(text)); }
  void bind_one(int64_t value);
  void bind_one(int value) { bind_one(static_cast<int64_t>(value)); }
  void bind_one(bool value);
  void bind_one(Blob value);
  void bind_one(const std::optional<std::string>& text);
  Status execute();

  Connection* conn_;
  std::string name_;
  Status status_;  // the first preparation or binding error, reported by next()/run()
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<int> formats_;  // 0 text, 1 binary
  PGresult* result_ = nullptr;
  int row_ = -1;
};

class Connection {
 public:
  // Connects with a libpq connection string or postgresql:// URL.
  // kUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<Connection>> open(const std::string& conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs static SQL (no values), possibly several statements.
  Status exec(const char* sql);
  // A statement for `sql` (static text), prepared once per connection.
  Statement prepare(const char* sql);

  // A Status for a failed result (or a failed call when `result` is null):
  // kConflict for an integrity violation (SQLSTATE class 23), kInvalidArgument
  // for bad data (class 22), kUnavailable when the connection is lost or the
  // server is shutting down or gave up on a lock, kInternal otherwise.
  Status error(const PGresult* result, std::string_view what);
  // False once the connection is broken; the pool then drops it.
  bool healthy() const;
  // Reconnects with the same parameters (after the server dropped the
  // connection); statements are prepared again on their next use.
  Status reconnect();

  PGconn* handle() { return conn_; }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}

  PGconn* conn_;
  std::unordered_map<std::string, std::string> statements_;  // sql -> name
};

// `sql` with `?` and `?N` placeholders turned into `$N`, outside quoted text.
std::string to_dollar_placeholders(std::string_view sql);

}  // namespace sened::pg
