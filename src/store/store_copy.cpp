#include "store/store_copy.h"

#include <sqlite3.h>

#include <memory>

#include "store/postgres/pg_db.h"
#include "store/postgres/pg_files.h"
#include "store/sqlite/sqlite_db.h"

namespace sened {
namespace {

// Every table both schemas share, parents before children, with its columns
// and the order that keeps references valid (documents by seq, so that a
// reply follows the document it answers). Certificates keep their
// registration order, which PostgreSQL gives them anew in `position`.
struct Table {
  const char* name;
  const char* columns;
  const char* order;
};

constexpr Table kTables[] = {
    {"participants",
     "id, category, obligation, deadline, name_az, name_en, name_ru, status, journal_seq", "id"},
    {"certificates",
     "serial, participant, fingerprint, subject, not_before, not_after, revoked, revoked_at, pem, "
     "journal_seq",
     "rowid"},
    {"documents",
     "id, seq, sender, sender_ref, kind, subject, urgency, reg_number, reg_date, in_reply_to, "
     "due_date, meta_digest, created_at, journal_seq",
     "seq"},
    {"deliveries",
     "document_id, recipient, position, document_seq, role, status, updated_at, delivered_at, "
     "reg_number, reg_date, reason, executor, reply, overdue, journal_seq",
     "document_seq, position"},
    {"files",
     "document_id, idx, name, media_type, size, sha256, role, content, cas_path, encrypted, "
     "signature, signature_status, signer, signature_sha256",
     "document_id, idx"},
    {"journal", "seq, time, actor, kind, document, recipient, content_digest, prev_hash, hash",
     "seq"},
    {"journal_leaves", "seq, salt, leaf", "seq"},
    {"journal_nodes", "level, idx, hash", "level, idx"},
    {"checkpoints", "size, root, note, timestamp_token, created_at", "size"},
    {"checkpoint_cosignatures", "size, name, line", "size, name"},
    {"receipts", "journal_seq, document_id, participant, der", "journal_seq"},
    {"events",
     "seq, participant, type, document, sender, recipient, status, at, actor, reg_number, "
     "reg_date, reason, executor, reply",
     "seq"},
    {"event_positions", "participant, cursor", "participant"},
    {"webhooks",
     "participant, url, secret, created_at, cursor, failures, last_error, last_attempt_at, "
     "last_success_at, next_attempt_at",
     "participant"},
};

int column_count(const char* columns) {
  int n = 1;
  for (const char* c = columns; *c != '\0'; ++c) n += *c == ',';
  return n;
}

// "INSERT INTO t (a, b) VALUES (?, ?)": built from the constant names above,
// never from data.
std::string insert_sql(const Table& t) {
  std::string marks;
  for (int i = 0; i < column_count(t.columns); ++i) marks += i == 0 ? "?" : ", ?";
  return std::string("INSERT INTO ") + t.name + " (" + t.columns + ") VALUES (" + marks + ")";
}

std::string select_sql(const Table& t) {
  return std::string("SELECT ") + t.columns + " FROM " + t.name + " ORDER BY " + t.order;
}

// Binds column `i` of the SQLite row to the PostgreSQL insert, keeping its
// type: NULL, integer, text, or bytes.
void bind_column(sqlite3_stmt* row, int i, pg::Statement& insert) {
  switch (sqlite3_column_type(row, i)) {
    case SQLITE_NULL:
      insert.bind(std::optional<std::string>());
      break;
    case SQLITE_INTEGER:
      insert.bind(static_cast<int64_t>(sqlite3_column_int64(row, i)));
      break;
    case SQLITE_BLOB: {
      const void* p = sqlite3_column_blob(row, i);
      std::string_view bytes(static_cast<const char*>(p), sqlite3_column_bytes(row, i));
      insert.bind(pg::Blob{p == nullptr ? std::string_view("") : bytes});
      break;
    }
    default: {
      const auto* p = sqlite3_column_text(row, i);
      insert.bind(std::string_view(reinterpret_cast<const char*>(p), sqlite3_column_bytes(row, i)));
    }
  }
}

Result<int64_t> copy_table(sqlite3* source, pg::Connection& target, const Table& t) {
  sqlite3_stmt* raw = nullptr;
  std::string select = select_sql(t);
  if (sqlite3_prepare_v2(source, select.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return internal_error(std::string("reading ") + t.name + ": " + sqlite3_errmsg(source));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> row(raw, sqlite3_finalize);
  std::string insert_text = insert_sql(t);
  int64_t n = 0;
  int columns = column_count(t.columns);
  for (;;) {
    int rc = sqlite3_step(row.get());
    if (rc == SQLITE_DONE) return n;
    if (rc != SQLITE_ROW) {
      return internal_error(std::string("reading ") + t.name + ": " + sqlite3_errmsg(source));
    }
    pg::Statement insert = target.prepare(insert_text.c_str());
    for (int i = 0; i < columns; ++i) bind_column(row.get(), i, insert);
    Status st = insert.run();
    if (!st.ok()) return st.with_context(std::string("copying ") + t.name);
    ++n;
  }
}

Result<int64_t> target_count(pg::Connection& target, const Table& t) {
  std::string sql = std::string("SELECT count(*) FROM ") + t.name;
  pg::Statement q = target.prepare(sql.c_str());
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  return q.integer(0);
}

// Any row in a table the copy fills means the target is in use (a hub that
// started on it once has signed a checkpoint already): the copy would mix
// two histories, so it is refused before anything is written.
Status check_target_is_empty(pg::Connection& target) {
  for (const Table& t : kTables) {
    Result<int64_t> n = target_count(target, t);
    if (!n.ok()) return n.status();
    if (*n != 0) {
      return conflict(std::string("the target store is not empty: it already has ") +
                      std::to_string(*n) + " " + t.name +
                      " rows (copy into a new database or schema)");
    }
  }
  return Status();
}

// The copy proper, inside the target's open transaction.
Result<CopyReport> copy_rows(sqlite3* source, pg::Connection& target) {
  SENED_RETURN_IF_ERROR(check_target_is_empty(target));
  CopyReport report;
  for (const Table& t : kTables) {
    Result<int64_t> n = copy_table(source, target, t);
    if (!n.ok()) return n.status();
    Result<int64_t> stored = target_count(target, t);
    if (!stored.ok()) return stored.status();
    if (*stored != *n) {
      return internal_error(std::string(t.name) + ": copied " + std::to_string(*n) +
                            " rows but the target holds " + std::to_string(*stored));
    }
    report.tables.emplace_back(t.name, *n);
  }
  return report;
}

// For a target that keeps large files in the database: every content file
// the copied rows name is streamed from the folder into chunks, and the rows
// then say so. A missing or changed content file fails the whole copy.
Result<int64_t> move_files_into_database(pg::Connection& target, const std::string& files_dir) {
  pg::Statement q = target.prepare(
      "SELECT sha256, min(size), min(cas_path) FROM files WHERE cas_path IS NOT NULL "
      "GROUP BY sha256 ORDER BY sha256");
  int64_t n = 0;
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    StagedFile file;
    file.temp_path = files_dir + "/" + q.text(2);
    file.info.sha256 = q.text(0);
    file.info.size = static_cast<uint64_t>(q.integer(1));
    const std::string& path = file.temp_path;
    Status st = pg::put_file_chunks(target, file);
    if (!st.ok()) return st.with_context("moving content file " + path + " into the database");
    ++n;
  }
  pg::Statement update =
      target.prepare("UPDATE files SET cas_path = NULL, chunked = 1 WHERE cas_path IS NOT NULL");
  SENED_RETURN_IF_ERROR(update.run());
  return n;
}

Result<CopyReport> copy_in_transactions(sqlite3* source, pg::Connection& target,
                                        const StoreLocation& from, const StoreLocation& to) {
  // One read transaction: a consistent snapshot of every table.
  if (sqlite3_exec(source, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return internal_error(std::string("cannot read the source: ") + sqlite3_errmsg(source));
  }
  SENED_RETURN_IF_ERROR(target.exec("BEGIN"));
  Status locked = target.exec("SELECT id FROM store_lock FOR UPDATE");
  Result<CopyReport> report = locked.ok() ? copy_rows(source, target) : locked;
  if (report.ok() && to.files_in_database) {
    Result<int64_t> moved = move_files_into_database(target, from.files_dir);
    if (moved.ok()) {
      report->tables.emplace_back("file_contents", *moved);
    } else {
      report = moved.status();
    }
  }
  Status done = report.ok() ? target.exec("COMMIT") : target.exec("ROLLBACK");
  sqlite3_exec(source, "ROLLBACK", nullptr, nullptr, nullptr);
  if (!report.ok()) return report;
  if (!done.ok()) return done;
  return report;
}

}  // namespace

Result<CopyReport> copy_store(const StoreLocation& from, const StoreLocation& to) {
  SENED_RETURN_IF_ERROR(check_store_address(from.address));
  SENED_RETURN_IF_ERROR(check_store_address(to.address));
  if (!from.address.starts_with("sqlite:") || to.address.starts_with("sqlite:")) {
    return invalid_argument("store copy goes from a sqlite: store to a postgresql:// one");
  }
  // Opening migrates both to this program's schema, so the columns match.
  // The SQLite source keeps its large files in the folder whatever the
  // configuration now says for the target.
  // The source must exist; the target is made here when it is new.
  StoreLocation folder_source = from;
  folder_source.files_in_database = false;
  folder_source.create = false;
  StoreLocation new_target = to;
  new_target.create = true;
  for (const StoreLocation* where :
       std::initializer_list<const StoreLocation*>{&folder_source, &new_target}) {
    Result<std::unique_ptr<Store>> opened = open_store(*where);
    if (!opened.ok()) return opened.status();
  }

  std::string path = from.address.substr(std::string_view("sqlite:").size());
  if (path.front() != '/') path = from.data_dir + "/" + path;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> source(raw, sqlite3_close_v2);
  if (rc != SQLITE_OK) return internal_error("cannot open " + path + ": " + sqlite3_errstr(rc));
  Result<std::unique_ptr<pg::Connection>> target = pg::Connection::open(to.address);
  if (!target.ok()) return target.status();
  return copy_in_transactions(source.get(), **target, from, to);
}

}  // namespace sened
