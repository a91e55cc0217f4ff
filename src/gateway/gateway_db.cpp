#include "gateway/gateway_db.h"

#include "core/ids.h"

namespace sened::gateway {

using sqlite::Statement;

namespace {

// Waits this long for the other connection (`sened gateway status` reading
// beside a running gateway) before answering kUnavailable.
constexpr int kBusyTimeoutMs = 5000;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS packages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  sender_ref TEXT NOT NULL,
  state TEXT NOT NULL,
  picked INTEGER NOT NULL DEFAULT 0,
  filed INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  document TEXT NOT NULL DEFAULT '',
  answer TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  spooled_at TEXT NOT NULL,
  done_at TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS packages_state ON packages(state, seq);
CREATE TABLE IF NOT EXISTS received (
  document TEXT PRIMARY KEY,
  cursor TEXT NOT NULL,
  state TEXT NOT NULL,
  handed_over INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS status_files (
  cursor TEXT PRIMARY KEY,
  document TEXT NOT NULL,
  seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
  id INTEGER PRIMARY KEY, at TEXT NOT NULL, what TEXT NOT NULL, reason TEXT NOT NULL);
)sql";

SpooledPackage read_package_row(const Statement& s) {
  SpooledPackage p;
  p.id = s.text(0);
  p.name = s.text(1);
  p.sender_ref = s.text(2);
  p.state = s.text(3);
  p.attempts = s.integer(4);
  p.document = s.text(5);
  p.answer = s.text(6);
  p.error = s.text(7);
  return p;
}

}  // namespace

Result<std::unique_ptr<GatewayDb>> GatewayDb::open(const std::string& path) {
  auto db = sqlite::Database::open(path);
  if (!db.ok()) return db.status();
  sqlite3_busy_timeout((*db)->handle(), kBusyTimeoutMs);
  // WAL lets `gateway status` read beside the gateway; FULL makes each commit
  // durable before the gateway acts on it.
  SENED_RETURN_IF_ERROR((*db)->exec("PRAGMA journal_mode=WAL"));
  SENED_RETURN_IF_ERROR((*db)->exec("PRAGMA synchronous=FULL"));
  SENED_RETURN_IF_ERROR((*db)->exec(kSchema));
  return std::unique_ptr<GatewayDb>(new GatewayDb(std::move(*db)));
}

Status GatewayDb::add_package(const std::string& id, const std::string& name,
                              const std::string& ref) {
  std::lock_guard lock(mu_);
  return db_
      ->prepare(
          "INSERT INTO packages(id, name, sender_ref, state, spooled_at) "
          "VALUES (?, ?, ?, 'queued', ?)")
      .bind(id, name, ref, now_rfc3339())
      .run();
}

Result<std::optional<std::string>> GatewayDb::unpicked(const std::string& name) {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare("SELECT id FROM packages WHERE name = ? AND picked = 0");
  s.bind(name);
  auto row = s.next();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(s.text(0));
}

Status GatewayDb::mark_picked(const std::string& id) {
  std::lock_guard lock(mu_);
  return db_->prepare("UPDATE packages SET picked = 1 WHERE id = ?").bind(id).run();
}

Result<std::optional<SpooledPackage>> GatewayDb::next_queued() {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare(
      "SELECT id, name, sender_ref, state, attempts, document, answer, error FROM packages "
      "WHERE state = 'queued' ORDER BY seq LIMIT 1");
  auto row = s.next();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<SpooledPackage>();
  return std::optional<SpooledPackage>(read_package_row(s));
}

Status GatewayDb::record_attempt(const std::string& id, const std::string& error) {
  std::lock_guard lock(mu_);
  return db_->prepare("UPDATE packages SET attempts = attempts + 1, error = ? WHERE id = ?")
      .bind(error, id)
      .run();
}

Status GatewayDb::finish(const std::string& id, const std::string& state,
                         const std::string& document, const std::string& answer,
                         const std::string& error) {
  std::lock_guard lock(mu_);
  return db_
      ->prepare(
          "UPDATE packages SET state = ?, document = ?, answer = ?, error = ?, "
          "done_at = ?, attempts = attempts + 1 WHERE id = ?")
      .bind(state, document, answer, error, now_rfc3339(), id)
      .run();
}

Result<std::vector<SpooledPackage>> GatewayDb::unfiled() {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare(
      "SELECT id, name, sender_ref, state, attempts, document, answer, error FROM packages "
      "WHERE state != 'queued' AND filed = 0 ORDER BY seq");
  std::vector<SpooledPackage> out;
  for (;;) {
    auto row = s.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(read_package_row(s));
  }
}

Status GatewayDb::mark_filed(const std::string& id) {
  std::lock_guard lock(mu_);
  return db_->prepare("UPDATE packages SET filed = 1 WHERE id = ?").bind(id).run();
}

Result<std::vector<std::string>> GatewayDb::spool_ids() {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare("SELECT id FROM packages WHERE filed = 0");
  std::vector<std::string> out;
  for (;;) {
    auto row = s.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(s.text(0));
  }
}

Result<std::optional<std::string>> GatewayDb::received_state(const std::string& document) {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare("SELECT state FROM received WHERE document = ?");
  s.bind(document);
  auto row = s.next();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(s.text(0));
}

Status GatewayDb::set_received(const std::string& document, const std::string& cursor,
                               const std::string& state) {
  std::lock_guard lock(mu_);
  return db_
      ->prepare(
          "INSERT INTO received(document, cursor, state, updated_at) "
          "VALUES (?, ?, ?, ?) ON CONFLICT(document) DO UPDATE SET "
          "state = excluded.state, updated_at = excluded.updated_at")
      .bind(document, cursor, state, now_rfc3339())
      .run();
}

Result<std::vector<std::string>> GatewayDb::received_in_state(const std::string& state) {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare("SELECT document FROM received WHERE state = ? ORDER BY cursor");
  s.bind(state);
  std::vector<std::string> out;
  for (;;) {
    auto row = s.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(s.text(0));
  }
}

Result<std::vector<std::string>> GatewayDb::not_handed_over() {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare("SELECT document FROM received WHERE handed_over = 0 ORDER BY rowid");
  std::vector<std::string> out;
  for (;;) {
    auto row = s.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(s.text(0));
  }
}

Status GatewayDb::mark_handed_over(const std::string& document) {
  std::lock_guard lock(mu_);
  return db_->prepare("UPDATE received SET handed_over = 1 WHERE document = ?")
      .bind(document)
      .run();
}

Result<int64_t> GatewayDb::next_arrival() {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare(
      "INSERT INTO settings(key, value) VALUES ('arrival', '1') ON CONFLICT(key) DO UPDATE "
      "SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER)");
  auto row = s.next();
  if (!row.ok()) return row.status();
  if (!*row) return internal_error("no arrival number returned");
  int64_t n = s.integer(0);
  auto done = s.next();  // finish the statement so that it commits
  if (!done.ok()) return done.status();
  return n;
}

Result<int64_t> GatewayDb::status_sequence(const std::string& cursor, const std::string& document) {
  std::lock_guard lock(mu_);
  {
    Statement s = db_->prepare("SELECT seq FROM status_files WHERE cursor = ?");
    s.bind(cursor);
    auto row = s.next();
    if (!row.ok()) return row.status();
    if (*row) return s.integer(0);
  }
  Statement s = db_->prepare(
      "INSERT INTO status_files(cursor, document, seq) SELECT ?, ?, "
      "COALESCE(MAX(seq), 0) + 1 FROM status_files WHERE document = ? RETURNING seq");
  s.bind(cursor, document, document);
  auto row = s.next();
  if (!row.ok()) return row.status();
  if (!*row) return internal_error("no sequence returned");
  int64_t seq = s.integer(0);
  auto done = s.next();  // finish the statement so that it commits
  if (!done.ok()) return done.status();
  return seq;
}

Result<std::optional<std::string>> GatewayDb::setting(const std::string& key) {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare("SELECT value FROM settings WHERE key = ?");
  s.bind(key);
  auto row = s.next();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(s.text(0));
}

Status GatewayDb::set_setting(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  return db_
      ->prepare(
          "INSERT INTO settings(key, value) VALUES (?, ?) "
          "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .bind(key, value)
      .run();
}

Status GatewayDb::add_failure(const std::string& what, const std::string& reason) {
  std::lock_guard lock(mu_);
  return db_->prepare("INSERT INTO failures(at, what, reason) VALUES (?, ?, ?)")
      .bind(now_rfc3339(), what, reason)
      .run();
}

Result<std::vector<FailureRecord>> GatewayDb::recent_failures(int limit) {
  std::lock_guard lock(mu_);
  Statement s = db_->prepare("SELECT at, what, reason FROM failures ORDER BY id DESC LIMIT ?");
  s.bind(limit);
  std::vector<FailureRecord> out;
  for (;;) {
    auto row = s.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({s.text(0), s.text(1), s.text(2)});
  }
}

Result<int64_t> GatewayDb::count(const char* sql) {
  Statement s = db_->prepare(sql);
  auto row = s.next();
  if (!row.ok()) return row.status();
  return *row ? s.integer(0) : 0;
}

Result<GatewayCounts> GatewayDb::counts() {
  std::lock_guard lock(mu_);
  GatewayCounts c;
  struct Query {
    int64_t* out;
    const char* sql;
  };
  const Query queries[] = {
      {&c.queued, "SELECT COUNT(*) FROM packages WHERE state = 'queued'"},
      {&c.sent, "SELECT COUNT(*) FROM packages WHERE state = 'sent'"},
      {&c.failed, "SELECT COUNT(*) FROM packages WHERE state = 'failed'"},
      {&c.received, "SELECT COUNT(*) FROM received"},
      {&c.not_taken, "SELECT COUNT(*) FROM received WHERE state != 'taken'"},
      {&c.failures, "SELECT COUNT(*) FROM failures"},
      {&c.status_files, "SELECT COUNT(*) FROM status_files"},
  };
  for (const Query& q : queries) {
    auto n = count(q.sql);
    if (!n.ok()) return n.status();
    *q.out = *n;
  }
  return c;
}

}  // namespace sened::gateway
