#include "store/postgres/pg_db.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace sened::pg {

Statement::Statement(Connection* conn, std::string name, Status prepare_status)
    : conn_(conn), name_(std::move(name)), status_(std::move(prepare_status)) {}

Statement::~Statement() {
  if (result_ != nullptr) PQclear(result_);
}

void Statement::bind_one(std::string_view text) {
  // libpq passes text parameters as C strings: a NUL byte would silently cut
  // the value short, so such a value is refused instead.
  if (text.find('\0') != std::string_view::npos && status_.ok()) {
    status_ = invalid_argument("a text value holds a NUL byte");
  }
  values_.emplace_back(text);
  nulls_.push_back(false);
  formats_.push_back(0);
}

void Statement::bind_one(int64_t value) { bind_one(std::string_view(std::to_string(value))); }

// "1" and "0" read as true and false in a boolean context and as numbers in
// an integer one, as SQLite's 1 and 0 do.
void Statement::bind_one(bool value) { bind_one(std::string_view(value ? "1" : "0")); }

void Statement::bind_one(Blob value) {
  values_.emplace_back(value.bytes);
  nulls_.push_back(false);
  formats_.push_back(1);
}

void Statement::bind_one(const std::optional<std::string>& text) {
  if (text.has_value()) {
    bind_one(std::string_view(*text));
    return;
  }
  values_.emplace_back();
  nulls_.push_back(true);
  formats_.push_back(0);
}

Status Statement::execute() {
  if (!status_.ok()) return status_;
  std::vector<const char*> values(values_.size());
  std::vector<int> lengths(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) {
    values[i] = nulls_[i] ? nullptr : values_[i].c_str();
    lengths[i] = static_cast<int>(values_[i].size());
  }
  result_ = PQexecPrepared(conn_->handle(), name_.c_str(), static_cast<int>(values.size()),
                           values.data(), lengths.data(), formats_.data(), 0);
  ExecStatusType st = result_ == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result_);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    status_ = conn_->error(result_, "execute");
    return status_;
  }
  return Status();
}

Result<bool> Statement::next() {
  if (result_ == nullptr) SENED_RETURN_IF_ERROR(execute());
  if (!status_.ok()) return status_;
  ++row_;
  return row_ < PQntuples(result_);
}

Status Statement::run() {
  if (result_ == nullptr) SENED_RETURN_IF_ERROR(execute());
  return status_;
}

std::string Statement::text(int column) const {
  return std::string(PQgetvalue(result_, row_, column), PQgetlength(result_, row_, column));
}

std::string Statement::blob(int column) const {
  size_t n = 0;
  auto* raw = reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row_, column));
  unsigned char* bytes = PQunescapeBytea(raw, &n);
  if (bytes == nullptr) return std::string();
  std::string out(reinterpret_cast<char*>(bytes), n);
  PQfreemem(bytes);
  return out;
}

int64_t Statement::integer(int column) const {
  // Booleans come back as "t"/"f".
  const char* v = PQgetvalue(result_, row_, column);
  if (v[0] == 't') return 1;
  if (v[0] == 'f') return 0;
  return std::strtoll(v, nullptr, 10);
}

bool Statement::is_null(int column) const { return PQgetisnull(result_, row_, column) != 0; }

Result<std::unique_ptr<Connection>> Connection::open(const std::string& conninfo) {
  PGconn* raw = PQconnectdb(conninfo.c_str());
  // PQconnectdb hands out a handle even on failure; it must be finished.
  std::unique_ptr<Connection> conn(new Connection(raw));
  if (raw == nullptr || PQstatus(raw) != CONNECTION_OK) {
    std::string why = raw == nullptr ? "out of memory" : PQerrorMessage(raw);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return unavailable("cannot connect to PostgreSQL: " + why);
  }
  // Notices (e.g. "relation already exists, skipping") are not errors.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  return conn;
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool Connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

Status Connection::reconnect() {
  statements_.clear();  // they lived in the server session that ended
  PQreset(conn_);
  if (healthy()) return Status();
  std::string why = PQerrorMessage(conn_);
  while (!why.empty() && why.back() == '\n') why.pop_back();
  return unavailable("cannot reconnect to PostgreSQL: " + why);
}

Status Connection::exec(const char* sql) {
  PGresult* result = PQexec(conn_, sql);
  ExecStatusType st = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  Status out;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    // Name the statement by its start: a migration's full text is too long.
    std::string_view what(sql);
    out = error(result, what.substr(0, std::min(what.find('\n', 1), size_t{40})));
  }
  PQclear(result);
  return out;
}

Statement Connection::prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return Statement(this, it->second, Status());

  std::string name = "s" + std::to_string(statements_.size() + 1);
  std::string text = to_dollar_placeholders(sql);
  PGresult* result = PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr);
  ExecStatusType st = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  Status status;
  if (st != PGRES_COMMAND_OK) {
    status = error(result, "prepare");
  } else {
    statements_.emplace(sql, name);
  }
  PQclear(result);
  return Statement(this, std::move(name), std::move(status));
}

Status Connection::error(const PGresult* result, std::string_view what) {
  std::string message = result != nullptr ? PQresultErrorMessage(result) : "";
  if (message.empty()) message = PQerrorMessage(conn_);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  message = std::string(what) + ": " + message;

  const char* field = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view sqlstate = field != nullptr ? field : "";
  if (!healthy() || sqlstate.starts_with("08") || sqlstate.starts_with("57P") ||
      sqlstate == "55P03" || sqlstate == "40001" || sqlstate == "40P01") {
    return unavailable(std::move(message));
  }
  if (sqlstate.starts_with("23")) return conflict(std::move(message));
  if (sqlstate.starts_with("22")) return invalid_argument(std::move(message));
  return internal_error(std::move(message));
}

std::string to_dollar_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 0;
  char quote = 0;  // the quote character we are inside, or 0
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      out += '$';
      if (i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') continue;  // ?N
      out += std::to_string(++next);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace sened::pg
