// The PostgreSQL backend of the Store (see store/store.h for the contract and
// docs/storage.md for the schema and the ordering argument).
//
// Each call borrows a session (one connection) from a pool and runs in its
// own transaction. Writes first lock the one row of store_lock, so writers
// on every node run one after another; reads run at REPEATABLE READ.
#include "store/postgres/postgres_store.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>

#include "core/ids.h"
#include "crypto/digest.h"
#include "journal/chain.h"
#include "store/journal_rows.h"
#include "store/postgres/pg_db.h"
#include "store/postgres/pg_files.h"
#include "store/postgres/pg_listen.h"
#include "store/sqlite/content_files.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store/store_rules.h"

namespace sened {
namespace {

// A connection lost while the hub runs: its callers (participants, over the
// API) learn that the database is unreachable, not where it is; libpq's
// message, with host, port and user, goes to the hub's log only.
Status unreachable(const Status& lost) {
  spdlog::warn("store: {}", lost.message());
  return unavailable("the hub's database is unreachable; try again later");
}

using namespace store_rules;  // NOLINT: the rules both backends share

using pg::Blob;
using pg::Connection;
using pg::Statement;

struct Migration {
  int version;
  const char* sql;
};

// Append only: a released migration is never edited, a change is a new one.
// Text columns compare byte by byte (COLLATE "C"), as SQLite's do, whatever
// the database's locale: ids, times and dates are ordered as strings.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE DOMAIN ctext AS TEXT COLLATE "C";

-- Every write transaction locks this one row first: writes from all nodes
-- are serialised, so the journal and the event feed grow without gaps and
-- in commit order (a sequence would leave gaps on rollback).
CREATE TABLE store_lock (id INTEGER PRIMARY KEY CHECK (id = 1));
INSERT INTO store_lock VALUES (1);

CREATE TABLE participants (
  id ctext PRIMARY KEY,
  category ctext NOT NULL,
  obligation ctext NOT NULL,
  deadline ctext NOT NULL,
  name_az ctext NOT NULL,
  name_en ctext NOT NULL,
  name_ru ctext NOT NULL,
  status ctext NOT NULL,
  journal_seq BIGINT NOT NULL
);

CREATE TABLE certificates (
  serial ctext PRIMARY KEY,
  position BIGINT GENERATED ALWAYS AS IDENTITY,
  participant ctext NOT NULL REFERENCES participants(id),
  fingerprint ctext NOT NULL UNIQUE,
  subject ctext NOT NULL,
  not_before ctext NOT NULL,
  not_after ctext NOT NULL,
  revoked INTEGER NOT NULL,
  revoked_at ctext NOT NULL,
  pem ctext NOT NULL,
  journal_seq BIGINT NOT NULL
);
CREATE INDEX certificates_by_participant ON certificates(participant);

CREATE TABLE documents (
  id ctext PRIMARY KEY,
  seq BIGINT NOT NULL UNIQUE,
  sender ctext NOT NULL REFERENCES participants(id),
  sender_ref ctext NOT NULL,
  kind ctext NOT NULL,
  subject ctext NOT NULL,
  urgency ctext NOT NULL,
  reg_number ctext NOT NULL,
  reg_date ctext NOT NULL,
  in_reply_to ctext REFERENCES documents(id),
  due_date ctext NOT NULL,
  meta_digest ctext NOT NULL,
  created_at ctext NOT NULL,
  journal_seq BIGINT NOT NULL,
  UNIQUE (sender, sender_ref)
);
CREATE INDEX documents_by_sender ON documents(sender, seq);

CREATE TABLE deliveries (
  document_id ctext NOT NULL REFERENCES documents(id),
  recipient ctext NOT NULL REFERENCES participants(id),
  position INTEGER NOT NULL,
  document_seq BIGINT NOT NULL,
  role ctext NOT NULL CHECK (role IN ('to', 'cc')),
  status ctext NOT NULL,
  updated_at ctext NOT NULL,
  delivered_at ctext NOT NULL,
  reg_number ctext NOT NULL,
  reg_date ctext NOT NULL,
  reason ctext NOT NULL,
  executor ctext NOT NULL DEFAULT '',
  reply ctext NOT NULL DEFAULT '',
  overdue INTEGER NOT NULL DEFAULT 0,
  journal_seq BIGINT NOT NULL,
  PRIMARY KEY (document_id, recipient)
);
CREATE INDEX deliveries_by_recipient ON deliveries(recipient, document_seq);

CREATE TABLE files (
  document_id ctext NOT NULL REFERENCES documents(id),
  idx INTEGER NOT NULL,
  name BYTEA NOT NULL,
  media_type ctext NOT NULL,
  size BIGINT NOT NULL,
  sha256 ctext NOT NULL,
  role ctext NOT NULL,
  content BYTEA,
  cas_path ctext,
  PRIMARY KEY (document_id, idx),
  CHECK ((content IS NULL) <> (cas_path IS NULL))
);

CREATE TABLE journal (
  seq BIGINT PRIMARY KEY,
  time ctext NOT NULL,
  actor ctext NOT NULL,
  kind ctext NOT NULL,
  document ctext NOT NULL,
  recipient ctext NOT NULL,
  content_digest ctext NOT NULL,
  prev_hash ctext NOT NULL,
  hash ctext NOT NULL
);
CREATE INDEX journal_by_document ON journal(document, seq);

-- The hub itself never rewrites the journal; these make an accidental
-- UPDATE, DELETE or TRUNCATE fail. Someone who drops them is caught by the
-- hash chain.
CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only';
END
$$;
CREATE TRIGGER journal_no_change BEFORE UPDATE OR DELETE ON journal
  FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
  FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- Each participant's feed: one row per event it should see, written in the
-- same transaction as the change. seq is the cursor clients resume from.
CREATE TABLE events (
  seq BIGINT PRIMARY KEY,
  participant ctext NOT NULL,
  type ctext NOT NULL,
  document ctext NOT NULL,
  sender ctext NOT NULL,
  recipient ctext NOT NULL,
  status ctext NOT NULL,
  at ctext NOT NULL,
  actor ctext NOT NULL,
  reg_number ctext NOT NULL,
  reg_date ctext NOT NULL,
  reason ctext NOT NULL,
  executor ctext NOT NULL,
  reply ctext NOT NULL
);
CREATE INDEX events_by_participant ON events(participant, seq);

-- The journal's Merkle tree (journal/tree.h): each entry's secret salt and
-- public leaf data, and every perfect subtree the leaves complete: node
-- (level, idx) is the root of leaves [idx * 2^level, (idx + 1) * 2^level).
CREATE TABLE journal_leaves (
  seq BIGINT PRIMARY KEY,
  salt ctext NOT NULL,
  leaf BYTEA NOT NULL
);
CREATE TABLE journal_nodes (
  level INTEGER NOT NULL,
  idx BIGINT NOT NULL,
  hash BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TRIGGER journal_leaves_no_change BEFORE UPDATE OR DELETE ON journal_leaves
  FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_leaves_no_truncate BEFORE TRUNCATE ON journal_leaves
  FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_nodes_no_change BEFORE UPDATE OR DELETE ON journal_nodes
  FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_nodes_no_truncate BEFORE TRUNCATE ON journal_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- Signed tree heads, one per size, and their witnesses' cosignatures.
CREATE TABLE checkpoints (
  size BIGINT PRIMARY KEY,
  root BYTEA NOT NULL,
  note ctext NOT NULL,
  timestamp_token BYTEA NOT NULL,
  created_at ctext NOT NULL
);
CREATE TABLE checkpoint_cosignatures (
  size BIGINT NOT NULL REFERENCES checkpoints(size),
  name ctext NOT NULL,
  line ctext NOT NULL,
  PRIMARY KEY (size, name)
);

CREATE TABLE event_positions (
  participant ctext PRIMARY KEY,
  cursor BIGINT NOT NULL
);

CREATE TABLE webhooks (
  participant ctext PRIMARY KEY REFERENCES participants(id),
  url ctext NOT NULL,
  secret ctext NOT NULL,
  created_at ctext NOT NULL,
  cursor BIGINT NOT NULL,
  failures INTEGER NOT NULL,
  last_error ctext NOT NULL,
  last_attempt_at ctext NOT NULL,
  last_success_at ctext NOT NULL,
  next_attempt_at ctext NOT NULL
);
)sql"},
    // Document signatures and encryption flags (docs/signatures.md), and the
    // hub's signed receipts (docs/receipts.md): the SQLite store's migration 4.
    {2, R"sql(
ALTER TABLE files ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE files ADD COLUMN signature BYTEA;
ALTER TABLE files ADD COLUMN signature_status ctext NOT NULL DEFAULT '';
ALTER TABLE files ADD COLUMN signer ctext NOT NULL DEFAULT '';
ALTER TABLE files ADD COLUMN signature_sha256 ctext NOT NULL DEFAULT '';

CREATE TABLE receipts (
  journal_seq BIGINT PRIMARY KEY,
  document_id ctext NOT NULL REFERENCES documents(id),
  participant ctext NOT NULL,
  der BYTEA NOT NULL
);
)sql"},
    // Leases (store.h, acquire_lease): which node runs the work that must
    // run on one node at a time. expires_at is on the server's clock.
    {3, R"sql(
CREATE TABLE leases (
  name ctext PRIMARY KEY,
  holder ctext NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
);
)sql"},
    // Files kept in the database, chunked (store/postgres/pg_files.h): a
    // files row is then neither inline nor in the folder but `chunked`, its
    // bytes the file_chunks of its sha256.
    {4, R"sql(
CREATE TABLE file_contents (
  sha256 ctext PRIMARY KEY,
  size BIGINT NOT NULL,
  chunks BIGINT NOT NULL
);
CREATE TABLE file_chunks (
  sha256 ctext NOT NULL,
  n BIGINT NOT NULL,
  bytes BYTEA NOT NULL,
  PRIMARY KEY (sha256, n)
);
-- Most large files are compressed already: out of line, uncompressed, saves
-- the server a compression attempt per chunk.
ALTER TABLE file_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;

ALTER TABLE files ADD COLUMN chunked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE files DROP CONSTRAINT files_check;
ALTER TABLE files ADD CONSTRAINT files_one_place
  CHECK (num_nonnulls(content, cas_path) + chunked = 1);
)sql"},
};

static_assert(std::size(kMigrations) == postgres::kSchemaVersion);

// --- rows ------------------------------------------------------------------

constexpr const char* kSelectParticipant =
    "SELECT id, category, obligation, deadline, name_az, name_en, name_ru, status "
    "FROM participants WHERE id = ?";
constexpr const char* kSelectParticipants =
    "SELECT id, category, obligation, deadline, name_az, name_en, name_ru, status "
    "FROM participants ORDER BY id";

Result<Participant> participant_from(const Statement& q) {
  Participant p{q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5), q.text(6)};
  auto status = parse_participant_status(q.text(7));
  if (!status) return internal_error("participant " + p.id + " has a bad status in the database");
  p.status = *status;
  return p;
}

constexpr const char* kSelectCertificateBySerial =
    "SELECT serial, participant, fingerprint, subject, not_before, not_after, revoked, "
    "revoked_at, pem FROM certificates WHERE serial = ?";
constexpr const char* kSelectCertificateByFingerprint =
    "SELECT serial, participant, fingerprint, subject, not_before, not_after, revoked, "
    "revoked_at, pem FROM certificates WHERE fingerprint = ?";
constexpr const char* kSelectCertificates =
    "SELECT serial, participant, fingerprint, subject, not_before, not_after, revoked, "
    "revoked_at, pem FROM certificates ORDER BY position";

Certificate certificate_from(const Statement& q) {
  return Certificate{q.text(0), q.text(1),         q.text(2), q.text(3), q.text(4),
                     q.text(5), q.integer(6) != 0, q.text(7), q.text(8)};
}

constexpr const char* kSelectDelivery =
    "SELECT document_id, recipient, role, status, updated_at, delivered_at, reg_number, "
    "reg_date, reason, executor, reply, overdue FROM deliveries "
    "WHERE document_id = ? AND recipient = ?";
constexpr const char* kSelectDeliveries =
    "SELECT document_id, recipient, role, status, updated_at, delivered_at, reg_number, "
    "reg_date, reason, executor, reply, overdue FROM deliveries WHERE document_id = ? "
    "ORDER BY position";

Result<Delivery> delivery_from(const Statement& q) {
  auto status = parse_delivery_status(q.text(3));
  if (!status) return internal_error("delivery of " + q.text(0) + " has a bad status");
  return Delivery{q.text(0), q.text(1), q.text(2), *status,   q.text(4),  q.text(5),
                  q.text(6), q.text(7), q.text(8), q.text(9), q.text(10), q.integer(11) != 0};
}

JournalEntry journal_entry_from(const Statement& q) {
  return JournalEntry{q.integer(0), q.text(1), q.text(2), q.text(3), q.text(4),
                      q.text(5),    q.text(6), q.text(7), q.text(8), ""};
}

// An entry with its salt: kSelectJournalWithSalt's columns.
JournalEntry salted_journal_entry_from(const Statement& q) {
  JournalEntry e = journal_entry_from(q);
  e.salt = q.is_null(9) ? "" : q.text(9);
  return e;
}

#define SENED_SELECT_JOURNAL_WITH_SALT                                                 \
  "SELECT j.seq, j.time, j.actor, j.kind, j.document, j.recipient, j.content_digest, " \
  "j.prev_hash, j.hash, l.salt FROM journal j LEFT JOIN journal_leaves l ON l.seq = j.seq "

// Reads all rows of a query into values made by `from` (returning T or
// Result<T>).
template <typename T, typename From>
Result<std::vector<T>> collect(Statement& q, From from) {
  std::vector<T> out;
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    if constexpr (std::is_same_v<decltype(from(q)), T>) {
      out.push_back(from(q));
    } else {
      auto value = from(q);
      if (!value.ok()) return value.status();
      out.push_back(std::move(*value));
    }
  }
}

const Status& status_of(const Status& s) { return s; }
template <typename T>
const Status& status_of(const Result<T>& r) {
  return r.status();
}

// --- audit types -------------------------------------------------------------

// A content file that audit() must hash. Content files never change once
// written, so they are hashed after the read transaction, outside the mutex.
struct ContentFileCheck {
  int64_t seq;       // the document's journal entry
  std::string row;   // e.g. "files row (id, 1)"
  std::string path;  // empty for a file chunked in the database
  uint64_t size;
  std::string sha256;
};

// What audit() gathers while it reads.
struct AuditState {
  bool check_files = false;
  std::vector<AuditProblem> problems;
  std::vector<ContentFileCheck> content_files;
  std::vector<ContentFileCheck> chunked_files;
  // Per participant, its latest participant.added or .updated entry (seq,
  // content digest): a participant.status entry covers only the status, so
  // the other fields are checked against that one.
  std::map<std::string, std::pair<int64_t, std::string>> full_participant_entry;

  void add(int64_t seq, std::string problem) { problems.push_back({seq, std::move(problem)}); }
};

// Certificate rows by (participant, content digest), which is all a
// certificate entry names: the serial and journal_seq of each.
using CertificateIndex =
    std::map<std::pair<std::string, std::string>, std::pair<std::string, int64_t>>;

// Why writes stopped (empty while healthy), shared by every session of one
// store: a failed fsync of the shared file area stops them all.
class StopState {
 public:
  void stop(const std::string& why) {
    std::lock_guard lock(mu_);
    if (why_.empty()) why_ = why;
  }
  std::string why() const {
    std::lock_guard lock(mu_);
    return why_;
  }

 private:
  mutable std::mutex mu_;
  std::string why_;
};

// The whole Store on one connection, for one thread at a time: each call is
// one transaction. PostgresStore hands sessions out from a pool, so that
// calls on different threads run at once on different connections.
class PostgresSession final : public Store {
 public:
  PostgresSession(const PostgresOptions& options, std::unique_ptr<Connection> db,
                  std::shared_ptr<StopState> stop, std::shared_ptr<pg::ReaderConnections> readers)
      : options_(options),
        db_(std::move(db)),
        stop_(std::move(stop)),
        readers_(std::move(readers)) {}

  bool healthy() const { return db_->healthy(); }

  Status put_participant(const Participant& p, const std::string& actor) override;
  Result<Participant> get_participant(const std::string& id) override;
  Result<std::vector<Participant>> list_participants() override;
  Status set_participant_status(const std::string& id, ParticipantStatus status,
                                const std::string& actor) override;

  Status add_certificate(const Certificate& cert, const std::string& actor) override;
  Result<Certificate> find_certificate_by_fingerprint(const std::string& fingerprint) override;
  Result<std::vector<Certificate>> list_certificates() override;
  Status revoke_certificate(const std::string& serial, const std::string& at,
                            const std::string& actor) override;

  std::string staging_dir() const override { return options_.files_dir + "/.staging"; }
  Result<SubmitOutcome> submit(const NewDocument& doc) override;
  Result<Document> get_document(const std::string& id) override;
  Result<std::vector<Delivery>> deliveries(const std::string& document_id) override;
  Result<FileContent> open_file(const std::string& document_id, int index) override;
  Result<std::string> open_signature(const std::string& document_id, int index) override;
  Result<std::optional<std::string>> find_receipt(int64_t journal_seq) override;
  Result<std::string> keep_receipt(int64_t journal_seq, const std::string& document_id,
                                   const std::string& participant, const std::string& der) override;
  Result<InboxPage> inbox(const std::string& participant, int64_t after_seq, bool all,
                          int limit) override;
  Result<OutboxPage> outbox(const std::string& participant, int64_t after_seq, int limit) override;
  Result<DeliveryChange> update_delivery(const std::string& document_id,
                                         const std::string& recipient,
                                         const DeliveryUpdate& update) override;
  Result<std::vector<DeliveryChange>> recall(const std::string& document_id,
                                             const std::string& sender,
                                             const std::string& recipient,
                                             const std::string& reason,
                                             const std::string& at) override;
  Result<int> expire_deliveries(const std::string& created_before, const std::string& at) override;
  Result<int> mark_overdue(const std::string& today, const std::string& at) override;

  Result<std::vector<Event>> events(const std::string& participant, int64_t after,
                                    int limit) override;
  Result<int64_t> last_event_cursor() override;
  Result<int64_t> event_position(const std::string& participant) override;
  Result<int64_t> acknowledge_events(const std::string& participant, int64_t cursor) override;

  Status put_webhook(const Webhook& hook) override;
  Result<Webhook> get_webhook(const std::string& participant) override;
  Status delete_webhook(const std::string& participant) override;
  Result<std::vector<Webhook>> list_webhooks() override;
  Status record_webhook_attempt(const std::string& participant, bool success, int64_t cursor,
                                const std::string& error, const std::string& at,
                                const std::string& next_attempt_at) override;

  Result<std::vector<JournalEntry>> history(const std::string& document_id) override;
  Result<std::vector<JournalEntry>> journal(int64_t after_seq, int limit) override;
  Result<int64_t> highest_referenced_journal_seq() override;

  Result<uint64_t> journal_size() override {
    return read([&] { return journal_rows::tree_size(*db_); });
  }
  Result<std::string> tree_root(uint64_t size) override {
    return read([&] { return journal_rows::tree_root(*db_, size); });
  }
  Result<std::vector<std::string>> inclusion_proof(uint64_t index, uint64_t size) override {
    return read([&] { return journal_rows::inclusion_proof(*db_, index, size); });
  }
  Result<std::vector<std::string>> consistency_proof(uint64_t from, uint64_t to) override {
    return read([&] { return journal_rows::consistency_proof(*db_, from, to); });
  }
  Result<std::vector<std::string>> leaf_data(uint64_t begin, uint64_t end) override {
    return read([&] { return journal_rows::leaf_data(*db_, begin, end); });
  }
  Result<std::vector<std::string>> node_hashes(int level, uint64_t begin, uint64_t end) override {
    return read([&] { return journal_rows::node_hashes(*db_, level, begin, end); });
  }
  Status put_checkpoint(const StoredCheckpoint& c) override {
    return write([&] { return journal_rows::put_checkpoint(*db_, c); });
  }
  Result<std::optional<StoredCheckpoint>> latest_checkpoint() override {
    return read([&] { return journal_rows::latest_checkpoint(*db_); });
  }
  Result<std::optional<StoredCheckpoint>> checkpoint(uint64_t size) override {
    return read([&] { return journal_rows::checkpoint(*db_, size); });
  }
  Status add_checkpoint_cosignature(uint64_t size, const std::string& line) override {
    return write([&] { return journal_rows::add_checkpoint_cosignature(*db_, size, line); });
  }
  Status set_checkpoint_timestamp(uint64_t size, const std::string& der) override {
    return write([&] { return journal_rows::set_checkpoint_timestamp(*db_, size, der); });
  }
  Result<std::vector<AuditProblem>> audit(bool check_files) override;

  Result<bool> acquire_lease(const std::string& name, const std::string& holder,
                             std::chrono::milliseconds ttl) override;
  Status release_lease(const std::string& name, const std::string& holder) override;
  // The pool (PostgresStore) owns the watch; a single session has none.
  Result<std::unique_ptr<ChangeWatch>> watch_changes(ChangeCallback) override {
    return std::unique_ptr<ChangeWatch>();
  }

 private:
  // Runs `body` in a write transaction under the mutex and commits it.
  template <typename F>
  auto write(F&& body) -> decltype(body());
  // The same, with `before` run in the transaction before the store lock is
  // taken: work that other writers need not wait for (file chunks).
  template <typename B, typename F>
  auto write_after(B&& before, F&& body) -> decltype(body());
  // Runs `body` in a read transaction under the mutex (one consistent view).
  template <typename F>
  auto read(F&& body) -> decltype(body());
  Status begin(const char* sql);
  Status commit();
  void rollback();
  void stop(const std::string& why);
  Status stopped_status() const;

  // The helpers below run inside read() or write(): the mutex is held and a
  // transaction is open.
  Result<Participant> load_participant(const std::string& id);
  Status save_participant(const Participant& p, int64_t journal_seq);
  Result<Certificate> load_certificate(const char* sql, const std::string& key);
  Status check_certificate_is_new(const Certificate& cert);
  Result<int64_t> append_journal(const JournalEvent& event);

  Result<SubmitOutcome> submit_locked(const NewDocument& doc, const std::string& digest);
  Result<SubmitOutcome> resubmitted(const std::string& id, const std::string& stored_digest,
                                    const std::string& digest, const NewDocument& doc);
  Status check_sender(const std::string& sender);
  Status check_recipients(const std::vector<Recipient>& recipients);
  Status check_in_reply_to(const DocumentMeta& meta);
  Status check_files(const NewDocument& doc);
  Result<int64_t> next_document_seq();
  Status insert_document(const NewDocument& doc, int64_t seq, const std::string& digest,
                         int64_t journal_seq);
  Status insert_deliveries(const NewDocument& doc, const std::vector<Recipient>& recipients,
                           int64_t seq, int64_t journal_seq);
  Status store_files(const NewDocument& doc);
  Status put_chunked_files(const NewDocument& doc);
  Status store_file(const std::string& document_id, int index, const StagedFile& file);
  Status store_file_bytes(const std::string& document_id, int index, const StagedFile& file);
  Result<std::string> kept_receipt(int64_t journal_seq);

  Status check_document_exists(const std::string& id);
  Result<Document> load_document(const std::string& id);
  Result<std::vector<Delivery>> load_deliveries(const std::string& id);
  Result<std::vector<FileInfo>> load_files(const std::string& id);
  Result<Delivery> load_delivery(const std::string& id, const std::string& recipient);
  Result<std::vector<std::string>> select_ids(Statement& q);

  Result<DeliveryChange> repeated_update(const Delivery& current, const DeliveryUpdate& update);
  Status apply_step(Delivery& d, const DeliveryUpdate& step, const std::string& actor,
                    const std::string& sender);
  Status save_delivery(const Delivery& d, int64_t journal_seq);
  Status check_reply(const std::string& document_id, const std::string& recipient,
                     const std::string& reply);
  Result<std::string> sender_of(const std::string& document_id);
  Status add_event(const std::string& participant, std::string_view type, const Delivery& d,
                   const std::string& sender, const std::string& actor, const std::string& at);
  Status add_event_pair(std::string_view type, const Delivery& d, const std::string& sender,
                        const std::string& actor, const std::string& at);

  // audit(): first every journal entry is checked to name a row that still
  // exists and names it or a later entry; then every row is checked against
  // the entry it names. Together they make each row match its latest entry.
  Status audit_journal(AuditState& state);
  Result<CertificateIndex> certificate_index();
  Status audit_entry(const JournalEntry& e, const CertificateIndex& certs, AuditState& state);
  Result<std::optional<JournalEntry>> named_entry(const std::string& row, int64_t seq,
                                                  std::initializer_list<std::string_view> kinds,
                                                  const std::string& document,
                                                  const std::string& recipient, AuditState& state);
  Status audit_documents(AuditState& state);
  Status audit_document(const Statement& q, AuditState& state);
  Result<std::vector<Recipient>> stored_recipients(NewDocument& doc);
  Status audit_deliveries(AuditState& state);
  Status audit_delivery(const Statement& q, AuditState& state);
  Status audit_delivery_step(const std::string& row, const Delivery& d, int64_t journal_seq,
                             AuditState& state);
  Status audit_queued_delivery(const std::string& row, const Delivery& d, int64_t journal_seq,
                               AuditState& state);
  Status audit_files(AuditState& state);
  void audit_file(const Statement& q, AuditState& state);
  Status audit_chunked_files(AuditState& state);
  Status audit_participants(AuditState& state);
  Status audit_participant(const Participant& p, int64_t journal_seq, AuditState& state);
  Status audit_certificates(AuditState& state);

  const PostgresOptions& options_;  // owned by the PostgresStore, which outlives its sessions
  std::unique_ptr<Connection> db_;
  std::shared_ptr<StopState> stop_;
  // Participants whose events the open write transaction added; told to
  // every node by a notification sent in that transaction (pg_listen.h).
  std::set<std::string> notify_;
  std::shared_ptr<pg::ReaderConnections> readers_;  // for chunked files' readers
};

// --- transactions ----------------------------------------------------------

// A pooled connection may have been dropped by the server while it sat idle
// (a restart, a failover, an idle timeout). A failed BEGIN has done nothing,
// so it is safe to reconnect once and begin again.
Status PostgresSession::begin(const char* sql) {
  Status st = db_->exec(sql);
  if (st.ok() || db_->healthy()) return st;
  if (Status st = db_->reconnect(); !st.ok()) return unreachable(st);
  return db_->exec(sql);
}

template <typename F>
auto PostgresSession::write(F&& body) -> decltype(body()) {
  return write_after([] { return Status(); }, std::forward<F>(body));
}

template <typename B, typename F>
auto PostgresSession::write_after(B&& before, F&& body) -> decltype(body()) {
  if (std::string why = stop_->why(); !why.empty()) return stopped_status();
  if (Status st = begin("BEGIN"); !st.ok()) return st;
  if (Status st = before(); !st.ok()) {
    rollback();
    return st;
  }
  // Taken first by every writer on every node: from here on this transaction
  // is the only writer, and (READ COMMITTED) each statement sees everything
  // committed before the lock was granted.
  if (Status st = db_->exec("SELECT id FROM store_lock FOR UPDATE"); !st.ok()) {
    rollback();
    return st;
  }

  notify_.clear();
  auto result = body();
  if (!status_of(result).ok()) {
    rollback();
    return stop_->why().empty() ? result : stopped_status();
  }
  // Inside the transaction: PostgreSQL sends it only if the commit succeeds,
  // and only after it, so a woken node always finds the events.
  if (!notify_.empty()) {
    Statement q = db_->prepare("SELECT pg_notify(?, ?)");
    q.bind(pg::kEventsChannel, pg::notify_payload(notify_));
    if (Status st = q.run(); !st.ok()) {
      rollback();
      return st;
    }
  }
  if (Status st = commit(); !st.ok()) return st;
  return result;
}

template <typename F>
auto PostgresSession::read(F&& body) -> decltype(body()) {
  // REPEATABLE READ: every statement of the call sees the same snapshot.
  if (Status st = begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !st.ok()) {
    return st;
  }
  auto result = body();
  rollback();  // nothing was written: ending the read transaction either way is the same
  return result;
}

Status PostgresSession::commit() {
  // A COMMIT that fails on a lost connection leaves the outcome unknown; the
  // caller sees kUnavailable and may retry (submit is idempotent by
  // sender_ref, status updates by their repeat rule).
  Status st = db_->exec("COMMIT");
  if (!st.ok()) rollback();
  return st;
}

void PostgresSession::rollback() {
  // Fails harmlessly when the server has already ended the transaction.
  Status ignored = db_->exec("ROLLBACK");
  (void)ignored;
}

void PostgresSession::stop(const std::string& why) { stop_->stop(why); }

Status PostgresSession::stopped_status() const {
  return unavailable("store stopped after a failed write: " + stop_->why());
}

// --- journal ---------------------------------------------------------------

Result<int64_t> PostgresSession::append_journal(const JournalEvent& event) {
  JournalEntry e{0,
                 event.time,
                 event.actor,
                 std::string(event.kind),
                 event.document,
                 event.recipient,
                 event.content_digest,
                 std::string(journal::kGenesisHash),
                 "",
                 ""};
  {
    // The head is read inside the write transaction, so no other writer can
    // append between this read and the insert below.
    Statement head = db_->prepare("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1");
    Result<bool> row = head.next();
    if (!row.ok()) return row.status();
    if (*row) {
      e.seq = head.integer(0);
      e.prev_hash = head.text(1);
    }
  }
  ++e.seq;
  e.hash = journal::entry_hash(e);

  Statement insert = db_->prepare(
      "INSERT INTO journal (seq, time, actor, kind, document, recipient, content_digest, "
      "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(e.seq, e.time, e.actor, e.kind, e.document, e.recipient, e.content_digest,
              e.prev_hash, e.hash);
  SENED_RETURN_IF_ERROR(insert.run());
  // The leaf and the tree nodes it completes commit with the entry.
  Result<std::string> salt = journal_rows::append_leaf(*db_, e.seq, e.hash);
  if (!salt.ok()) return salt.status();
  return e.seq;
}

Result<std::vector<JournalEntry>> PostgresSession::history(const std::string& document_id) {
  return read([&]() -> Result<std::vector<JournalEntry>> {
    SENED_RETURN_IF_ERROR(check_document_exists(document_id));
    Statement q =
        db_->prepare(SENED_SELECT_JOURNAL_WITH_SALT "WHERE j.document = ? ORDER BY j.seq");
    q.bind(document_id);
    return collect<JournalEntry>(q, salted_journal_entry_from);
  });
}

Result<std::vector<JournalEntry>> PostgresSession::journal(int64_t after_seq, int limit) {
  if (limit <= 0) return invalid_argument("limit must be positive");
  return read([&]() -> Result<std::vector<JournalEntry>> {
    Statement q =
        db_->prepare(SENED_SELECT_JOURNAL_WITH_SALT "WHERE j.seq > ? ORDER BY j.seq LIMIT ?");
    q.bind(after_seq, limit);
    return collect<JournalEntry>(q, salted_journal_entry_from);
  });
}

Result<int64_t> PostgresSession::highest_referenced_journal_seq() {
  return read([&]() -> Result<int64_t> {
    Statement q = db_->prepare(
        "SELECT max(m) FROM ("
        " SELECT max(journal_seq) AS m FROM documents"
        " UNION ALL SELECT max(journal_seq) FROM deliveries"
        " UNION ALL SELECT max(journal_seq) FROM participants"
        " UNION ALL SELECT max(journal_seq) FROM certificates) AS highest");
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    return *row ? q.integer(0) : int64_t{0};  // NULL (no rows anywhere) reads as 0
  });
}

// --- participants ----------------------------------------------------------

Result<Participant> PostgresSession::load_participant(const std::string& id) {
  Statement q = db_->prepare(kSelectParticipant);
  q.bind(id);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return not_found("unknown participant " + id);
  return participant_from(q);
}

Status PostgresSession::save_participant(const Participant& p, int64_t journal_seq) {
  Statement q = db_->prepare(
      "INSERT INTO participants (id, category, obligation, deadline, name_az, name_en, name_ru, "
      "status, journal_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
      "ON CONFLICT (id) DO UPDATE SET category = ?2, obligation = ?3, deadline = ?4, "
      "name_az = ?5, name_en = ?6, name_ru = ?7, status = ?8, journal_seq = ?9");
  q.bind(p.id, p.category, p.obligation, p.deadline, p.name_az, p.name_en, p.name_ru,
         to_string(p.status), journal_seq);
  return q.run();
}

Status PostgresSession::put_participant(const Participant& p, const std::string& actor) {
  return write([&]() -> Status {
    Result<Participant> existing = load_participant(p.id);
    if (!existing.ok() && existing.status().code() != Code::kNotFound) return existing.status();
    // Re-importing an unchanged registry must not grow the journal.
    if (existing.ok() && same_participant(*existing, p)) return Status();

    auto kind = existing.ok() ? journal::kParticipantUpdated : journal::kParticipantAdded;
    Result<int64_t> seq =
        append_journal({now_rfc3339(), actor, kind, "", p.id, participant_digest(p)});
    if (!seq.ok()) return seq.status();
    return save_participant(p, *seq);
  });
}

Result<Participant> PostgresSession::get_participant(const std::string& id) {
  return read([&] { return load_participant(id); });
}

Result<std::vector<Participant>> PostgresSession::list_participants() {
  return read([&] {
    Statement q = db_->prepare(kSelectParticipants);
    return collect<Participant>(q, participant_from);
  });
}

Status PostgresSession::set_participant_status(const std::string& id, ParticipantStatus status,
                                               const std::string& actor) {
  return write([&]() -> Status {
    Result<Participant> p = load_participant(id);
    if (!p.ok()) return p.status();
    if (p->status == status) return Status();
    p->status = status;

    std::string digest = journal::content_digest({{"status", std::string(to_string(status))}});
    Result<int64_t> seq =
        append_journal({now_rfc3339(), actor, journal::kParticipantStatus, "", id, digest});
    if (!seq.ok()) return seq.status();
    return save_participant(*p, *seq);
  });
}

// --- certificates ----------------------------------------------------------

Result<Certificate> PostgresSession::load_certificate(const char* sql, const std::string& key) {
  Statement q = db_->prepare(sql);
  q.bind(key);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return not_found("no certificate " + key);
  return certificate_from(q);
}

Status PostgresSession::check_certificate_is_new(const Certificate& cert) {
  Result<Certificate> same_serial = load_certificate(kSelectCertificateBySerial, cert.serial);
  if (same_serial.ok()) return conflict("certificate serial " + cert.serial + " is registered");
  Result<Certificate> same_fingerprint =
      load_certificate(kSelectCertificateByFingerprint, cert.fingerprint);
  if (same_fingerprint.ok()) {
    return conflict("certificate fingerprint " + cert.fingerprint + " is registered");
  }
  return Status();
}

Status PostgresSession::add_certificate(const Certificate& cert, const std::string& actor) {
  return write([&]() -> Status {
    Result<Participant> owner = load_participant(cert.participant);
    if (!owner.ok()) return owner.status();
    SENED_RETURN_IF_ERROR(check_certificate_is_new(cert));

    Result<int64_t> seq = append_journal({now_rfc3339(), actor, journal::kCertificateIssued, "",
                                          cert.participant, certificate_digest(cert)});
    if (!seq.ok()) return seq.status();
    Statement q = db_->prepare(
        "INSERT INTO certificates (serial, participant, fingerprint, subject, not_before, "
        "not_after, revoked, revoked_at, pem, journal_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(cert.serial, cert.participant, cert.fingerprint, cert.subject, cert.not_before,
           cert.not_after, cert.revoked, cert.revoked_at, cert.pem, *seq);
    return q.run();
  });
}

Result<Certificate> PostgresSession::find_certificate_by_fingerprint(
    const std::string& fingerprint) {
  return read([&] { return load_certificate(kSelectCertificateByFingerprint, fingerprint); });
}

Result<std::vector<Certificate>> PostgresSession::list_certificates() {
  return read([&] {
    Statement q = db_->prepare(kSelectCertificates);
    return collect<Certificate>(q, certificate_from);
  });
}

Status PostgresSession::revoke_certificate(const std::string& serial, const std::string& at,
                                           const std::string& actor) {
  return write([&]() -> Status {
    Result<Certificate> cert = load_certificate(kSelectCertificateBySerial, serial);
    if (!cert.ok()) return cert.status();
    if (cert->revoked) return Status();

    Result<int64_t> seq = append_journal({at, actor, journal::kCertificateRevoked, "",
                                          cert->participant, certificate_digest(*cert)});
    if (!seq.ok()) return seq.status();
    Statement q = db_->prepare(
        "UPDATE certificates SET revoked = 1, revoked_at = ?, journal_seq = ? WHERE serial = ?");
    q.bind(at, *seq, serial);
    return q.run();
  });
}

// --- submit ----------------------------------------------------------------

Result<SubmitOutcome> PostgresSession::submit(const NewDocument& doc) {
  std::string digest = meta_digest(doc);
  // Large files go into the database before the store lock is taken, so that
  // other nodes' writes do not wait while their chunks stream in.
  Result<SubmitOutcome> outcome = write_after([&] { return put_chunked_files(doc); },
                                              [&] { return submit_locked(doc, digest); });

  // The bytes of small files (and of chunked ones) now live in committed
  // rows: their temp files are no longer needed. (Large ones kept in the
  // folder were renamed away already.)
  if (outcome.ok() && outcome->created) {
    for (const auto& f : doc.files) {
      if (f.info.size <= options_.inline_file_limit || options_.files_in_database) {
        ::unlink(f.temp_path.c_str());
      }
    }
  }
  return outcome;
}

Result<SubmitOutcome> PostgresSession::submit_locked(const NewDocument& doc,
                                                     const std::string& digest) {
  Statement earlier =
      db_->prepare("SELECT id, meta_digest FROM documents WHERE sender = ? AND sender_ref = ?");
  earlier.bind(doc.sender, doc.meta.sender_ref);
  Result<bool> found = earlier.next();
  if (!found.ok()) return found.status();
  if (*found) return resubmitted(earlier.text(0), earlier.text(1), digest, doc);

  // Everything that can refuse the document runs before any file is moved.
  std::vector<Recipient> recipients = recipients_of(doc.meta);
  SENED_RETURN_IF_ERROR(check_sender(doc.sender));
  SENED_RETURN_IF_ERROR(check_recipients(recipients));
  SENED_RETURN_IF_ERROR(check_in_reply_to(doc.meta));
  SENED_RETURN_IF_ERROR(check_files(doc));

  Result<int64_t> seq = next_document_seq();
  if (!seq.ok()) return seq.status();
  Result<int64_t> journal_seq =
      append_journal({doc.created_at, doc.sender, journal::kDocumentSubmitted, doc.id, "",
                      submitted_digest(digest, recipients, infos_of(doc.files))});
  if (!journal_seq.ok()) return journal_seq.status();
  SENED_RETURN_IF_ERROR(insert_document(doc, *seq, digest, *journal_seq));
  SENED_RETURN_IF_ERROR(insert_deliveries(doc, recipients, *seq, *journal_seq));
  // Files last: large ones are renamed and their folders fsynced here, all
  // before write() commits, so the committed rows point at durable files.
  SENED_RETURN_IF_ERROR(store_files(doc));

  Result<Document> stored = load_document(doc.id);
  if (!stored.ok()) return stored.status();
  return SubmitOutcome{std::move(*stored), true};
}

Result<SubmitOutcome> PostgresSession::resubmitted(const std::string& id,
                                                   const std::string& stored_digest,
                                                   const std::string& digest,
                                                   const NewDocument& doc) {
  if (stored_digest != digest) {
    return conflict("sender_ref " + doc.meta.sender_ref + " already used for document " + id +
                    " with different content");
  }
  Result<Document> first = load_document(id);
  if (!first.ok()) return first.status();
  return SubmitOutcome{std::move(*first), false};
}

Status PostgresSession::check_sender(const std::string& sender) {
  Result<Participant> p = load_participant(sender);
  if (!p.ok() && p.status().code() == Code::kNotFound) {
    return permission_denied("unknown sender " + sender);
  }
  if (!p.ok()) return p.status();
  if (p->status != ParticipantStatus::kActive) {
    return permission_denied("sender " + sender + " is not active");
  }
  return Status();
}

Status PostgresSession::check_recipients(const std::vector<Recipient>& recipients) {
  if (recipients.empty()) return invalid_argument("the document has no recipient");
  for (const auto& r : recipients) {
    Result<Participant> p = load_participant(r.id);
    if (!p.ok() && p.status().code() == Code::kNotFound) {
      return invalid_argument("unknown recipient " + r.id);
    }
    if (!p.ok()) return p.status();
    if (p->status != ParticipantStatus::kActive) {
      return invalid_argument("recipient " + r.id + " is not active");
    }
  }
  return Status();
}

Status PostgresSession::check_in_reply_to(const DocumentMeta& meta) {
  if (!meta.in_reply_to) return Status();
  Status st = check_document_exists(*meta.in_reply_to);
  if (st.code() == Code::kNotFound) return invalid_argument("in_reply_to " + st.message());
  return st;
}

Status PostgresSession::check_files(const NewDocument& doc) {
  for (const auto& f : doc.files) {
    // The digest becomes a path below files_dir: it must be plain hex.
    if (!crypto::is_sha256_hex(f.info.sha256)) {
      return invalid_argument("file " + f.info.name + " has a malformed sha256");
    }
  }
  return Status();
}

Result<int64_t> PostgresSession::next_document_seq() {
  Statement q = db_->prepare("SELECT coalesce(max(seq), 0) + 1 FROM documents");
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  return q.integer(0);
}

Status PostgresSession::insert_document(const NewDocument& doc, int64_t seq,
                                        const std::string& digest, int64_t journal_seq) {
  const DocumentMeta& m = doc.meta;
  Statement q = db_->prepare(
      "INSERT INTO documents (id, seq, sender, sender_ref, kind, subject, urgency, reg_number, "
      "reg_date, in_reply_to, due_date, meta_digest, created_at, journal_seq) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(doc.id, seq, doc.sender, m.sender_ref, m.kind, m.subject, m.urgency, m.reg_number,
         m.reg_date, m.in_reply_to, m.due_date, digest, doc.created_at, journal_seq);
  return q.run();
}

Status PostgresSession::insert_deliveries(const NewDocument& doc,
                                          const std::vector<Recipient>& recipients, int64_t seq,
                                          int64_t journal_seq) {
  for (size_t i = 0; i < recipients.size(); ++i) {
    Statement q = db_->prepare(
        "INSERT INTO deliveries (document_id, recipient, position, document_seq, role, status, "
        "updated_at, delivered_at, reg_number, reg_date, reason, journal_seq) "
        "VALUES (?, ?, ?, ?, ?, 'queued', ?, '', '', '', '', ?)");
    q.bind(doc.id, recipients[i].id, static_cast<int64_t>(i), seq, recipients[i].role,
           doc.created_at, journal_seq);
    SENED_RETURN_IF_ERROR(q.run());

    Delivery queued;
    queued.document_id = doc.id;
    queued.recipient = recipients[i].id;
    queued.role = recipients[i].role;
    SENED_RETURN_IF_ERROR(add_event(recipients[i].id, "document.new", queued, doc.sender,
                                    doc.sender, doc.created_at));
  }
  return Status();
}

// In sha256 order, so that two transactions writing the same contents wait
// for each other in one order and never deadlock.
Status PostgresSession::put_chunked_files(const NewDocument& doc) {
  if (!options_.files_in_database) return Status();
  std::vector<const StagedFile*> large;
  for (const auto& f : doc.files) {
    if (f.info.size <= options_.inline_file_limit) continue;
    if (!crypto::is_sha256_hex(f.info.sha256)) {
      return invalid_argument("file " + f.info.name + " has a malformed sha256");
    }
    large.push_back(&f);
  }
  std::sort(large.begin(), large.end(), [](const StagedFile* a, const StagedFile* b) {
    return a->info.sha256 < b->info.sha256;
  });
  for (const StagedFile* f : large) {
    SENED_RETURN_IF_ERROR(pg::put_file_chunks(*db_, *f));
  }
  return Status();
}

Status PostgresSession::store_files(const NewDocument& doc) {
  for (size_t i = 0; i < doc.files.size(); ++i) {
    SENED_RETURN_IF_ERROR(store_file(doc.id, static_cast<int>(i), doc.files[i]));
  }
  return Status();
}

// The file's row, then its signature fields (all of them empty when it came
// without a signature).
Status PostgresSession::store_file(const std::string& document_id, int index,
                                   const StagedFile& file) {
  SENED_RETURN_IF_ERROR(store_file_bytes(document_id, index, file));
  const FileInfo& info = file.info;
  Statement q = db_->prepare(
      "UPDATE files SET encrypted = ?, signature_status = ?, signer = ?, signature_sha256 = ?, "
      "signature = ? WHERE document_id = ? AND idx = ?");
  std::optional<std::string> no_signature;
  if (file.signature) {
    q.bind(info.encrypted ? 1 : 0, info.signature_status, info.signer, info.signature_sha256,
           Blob{*file.signature}, document_id, index);
  } else {
    q.bind(info.encrypted ? 1 : 0, info.signature_status, info.signer, info.signature_sha256,
           no_signature, document_id, index);
  }
  return q.run();
}

Status PostgresSession::store_file_bytes(const std::string& document_id, int index,
                                         const StagedFile& file) {
  const FileInfo& info = file.info;
  std::string role = info.role.empty() ? (index == 0 ? "main" : "attachment") : info.role;
  Statement q = db_->prepare(
      "INSERT INTO files (document_id, idx, name, media_type, size, sha256, role, content, "
      "cas_path, chunked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  std::optional<std::string> none;

  if (info.size <= options_.inline_file_limit) {
    Result<std::string> bytes = sqlite::read_staged_file(file);
    if (!bytes.ok()) return bytes.status();
    q.bind(document_id, index, Blob{info.name}, info.media_type, static_cast<int64_t>(info.size),
           info.sha256, role, Blob{*bytes}, none, 0);
    return q.run();
  }
  if (options_.files_in_database) {
    // put_chunked_files() wrote the chunks earlier in this transaction.
    q.bind(document_id, index, Blob{info.name}, info.media_type, static_cast<int64_t>(info.size),
           info.sha256, role, none, none, 1);
    return q.run();
  }

  Result<std::string> path = sqlite::adopt_content_file(options_.files_dir, file);
  if (!path.ok()) {
    // kUnavailable from the file area is a failed fsync.
    if (path.status().code() == Code::kUnavailable) stop(path.status().message());
    return path.status();
  }
  q.bind(document_id, index, Blob{info.name}, info.media_type, static_cast<int64_t>(info.size),
         info.sha256, role, none, std::optional<std::string>(*path), 0);
  return q.run();
}

// --- documents -------------------------------------------------------------

Status PostgresSession::check_document_exists(const std::string& id) {
  Statement q = db_->prepare("SELECT 1 FROM documents WHERE id = ?");
  q.bind(id);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  return *row ? Status() : not_found("unknown document " + id);
}

Result<std::vector<Delivery>> PostgresSession::load_deliveries(const std::string& id) {
  Statement q = db_->prepare(kSelectDeliveries);
  q.bind(id);
  return collect<Delivery>(q, delivery_from);
}

Result<Delivery> PostgresSession::load_delivery(const std::string& id,
                                                const std::string& recipient) {
  Statement q = db_->prepare(kSelectDelivery);
  q.bind(id, recipient);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return not_found("document " + id + " is not addressed to " + recipient);
  return delivery_from(q);
}

Result<std::vector<FileInfo>> PostgresSession::load_files(const std::string& id) {
  Statement q = db_->prepare(
      "SELECT idx, name, media_type, size, sha256, role, encrypted, signature_status, signer, "
      "signature_sha256, coalesce(length(signature), 0) FROM files WHERE document_id = ? "
      "ORDER BY idx");
  q.bind(id);
  return collect<FileInfo>(q, [](const Statement& r) {
    FileInfo f;
    f.index = static_cast<int>(r.integer(0));
    f.name = r.blob(1);
    f.media_type = r.text(2);
    f.size = static_cast<uint64_t>(r.integer(3));
    f.sha256 = r.text(4);
    f.role = r.text(5);
    f.encrypted = r.integer(6) != 0;
    f.signature_status = r.text(7);
    f.signer = r.text(8);
    f.signature_sha256 = r.text(9);
    f.signature_size = static_cast<uint64_t>(r.integer(10));
    return f;
  });
}

Result<Document> PostgresSession::load_document(const std::string& id) {
  Statement q = db_->prepare(
      "SELECT seq, sender, sender_ref, kind, subject, urgency, reg_number, reg_date, "
      "in_reply_to, due_date, created_at FROM documents WHERE id = ?");
  q.bind(id);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return not_found("unknown document " + id);

  Document d;
  d.id = id;
  d.seq = q.integer(0);
  d.sender = q.text(1);
  d.meta.sender_ref = q.text(2);
  d.meta.kind = q.text(3);
  d.meta.subject = q.text(4);
  d.meta.urgency = q.text(5);
  d.meta.reg_number = q.text(6);
  d.meta.reg_date = q.text(7);
  if (!q.is_null(8)) d.meta.in_reply_to = q.text(8);
  d.meta.due_date = q.text(9);
  d.created_at = q.text(10);

  // to and cc are the deliveries' recipients, in the order stored.
  Result<std::vector<Delivery>> deliveries = load_deliveries(id);
  if (!deliveries.ok()) return deliveries.status();
  for (const auto& dl : *deliveries)
    (dl.role == "to" ? d.meta.to : d.meta.cc).push_back(dl.recipient);

  Result<std::vector<FileInfo>> files = load_files(id);
  if (!files.ok()) return files.status();
  d.files = std::move(*files);
  for (const auto& f : d.files) d.meta.files.push_back({f.name, f.sha256, f.size, std::nullopt});
  return d;
}

Result<Document> PostgresSession::get_document(const std::string& id) {
  return read([&] { return load_document(id); });
}

Result<std::vector<Delivery>> PostgresSession::deliveries(const std::string& document_id) {
  return read([&]() -> Result<std::vector<Delivery>> {
    SENED_RETURN_IF_ERROR(check_document_exists(document_id));
    return load_deliveries(document_id);
  });
}

Result<FileContent> PostgresSession::open_file(const std::string& document_id, int index) {
  return read([&]() -> Result<FileContent> {
    SENED_RETURN_IF_ERROR(check_document_exists(document_id));
    Statement q = db_->prepare(
        "SELECT name, media_type, size, sha256, role, content, cas_path, chunked FROM files "
        "WHERE document_id = ? AND idx = ?");
    q.bind(document_id, index);
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row)
      return not_found("document " + document_id + " has no file " + std::to_string(index));

    FileContent out;
    out.info.index = index;
    out.info.name = q.blob(0);
    out.info.media_type = q.text(1);
    out.info.size = static_cast<uint64_t>(q.integer(2));
    out.info.sha256 = q.text(3);
    out.info.role = q.text(4);
    if (q.integer(7) != 0) {
      out.reader = pg::chunk_reader(readers_, out.info.sha256, out.info.size);
    } else if (q.is_null(5)) {
      out.path = options_.files_dir + "/" + q.text(6);
    } else {
      out.inline_bytes = q.blob(5);
    }
    return out;
  });
}

Result<std::string> PostgresSession::open_signature(const std::string& document_id, int index) {
  return read([&]() -> Result<std::string> {
    Statement q = db_->prepare(
        "SELECT signature FROM files WHERE document_id = ? AND idx = ? AND signature IS NOT NULL");
    q.bind(document_id, index);
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return not_found("file " + std::to_string(index) + " has no signature");
    return q.blob(0);
  });
}

// --- receipts --------------------------------------------------------------

Result<std::optional<std::string>> PostgresSession::find_receipt(int64_t journal_seq) {
  return read([&]() -> Result<std::optional<std::string>> {
    Statement q = db_->prepare("SELECT der FROM receipts WHERE journal_seq = ?");
    q.bind(journal_seq);
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(q.blob(0));
  });
}

// Writers on every node hold the store lock, so the first receipt committed
// for an entry is the one every later call reads back.
Result<std::string> PostgresSession::keep_receipt(int64_t journal_seq,
                                                  const std::string& document_id,
                                                  const std::string& participant,
                                                  const std::string& der) {
  return write([&]() -> Result<std::string> {
    Statement insert = db_->prepare(
        "INSERT INTO receipts (journal_seq, document_id, participant, der) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (journal_seq) DO NOTHING");
    insert.bind(journal_seq, document_id, participant, Blob{der});
    SENED_RETURN_IF_ERROR(insert.run());
    return kept_receipt(journal_seq);
  });
}

Result<std::string> PostgresSession::kept_receipt(int64_t journal_seq) {
  Statement q = db_->prepare("SELECT der FROM receipts WHERE journal_seq = ?");
  q.bind(journal_seq);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return internal_error("a receipt just kept is missing");
  return q.blob(0);
}

Result<std::vector<std::string>> PostgresSession::select_ids(Statement& q) {
  return collect<std::string>(q, [](const Statement& r) { return r.text(0); });
}

Result<InboxPage> PostgresSession::inbox(const std::string& participant, int64_t after_seq,
                                         bool all, int limit) {
  if (limit <= 0) return invalid_argument("limit must be positive");
  return read([&]() -> Result<InboxPage> {
    Statement q = db_->prepare(
        "SELECT document_id FROM deliveries WHERE recipient = ? AND document_seq > ? "
        "AND (?::boolean OR status = 'queued') ORDER BY document_seq LIMIT ?");
    q.bind(participant, after_seq, all, limit);
    Result<std::vector<std::string>> ids = select_ids(q);
    if (!ids.ok()) return ids.status();

    InboxPage page{{}, after_seq};
    for (const auto& id : *ids) {
      Result<Document> doc = load_document(id);
      if (!doc.ok()) return doc.status();
      Result<Delivery> delivery = load_delivery(id, participant);
      if (!delivery.ok()) return delivery.status();
      page.next_after = doc->seq;
      page.items.push_back({std::move(*doc), std::move(*delivery)});
    }
    return page;
  });
}

Result<OutboxPage> PostgresSession::outbox(const std::string& participant, int64_t after_seq,
                                           int limit) {
  if (limit <= 0) return invalid_argument("limit must be positive");
  return read([&]() -> Result<OutboxPage> {
    Statement q =
        db_->prepare("SELECT id FROM documents WHERE sender = ? AND seq > ? ORDER BY seq LIMIT ?");
    q.bind(participant, after_seq, limit);
    Result<std::vector<std::string>> ids = select_ids(q);
    if (!ids.ok()) return ids.status();

    OutboxPage page{{}, after_seq};
    for (const auto& id : *ids) {
      Result<Document> doc = load_document(id);
      if (!doc.ok()) return doc.status();
      Result<std::vector<Delivery>> deliveries = load_deliveries(id);
      if (!deliveries.ok()) return deliveries.status();
      page.next_after = doc->seq;
      page.items.push_back({std::move(*doc), std::move(*deliveries)});
    }
    return page;
  });
}

// --- deliveries ------------------------------------------------------------

Result<DeliveryChange> PostgresSession::repeated_update(const Delivery& current,
                                                        const DeliveryUpdate& update) {
  // A repeat of the recorded step is acknowledged, not journaled again; the
  // same status with other details would rewrite history and is refused.
  bool same = true;
  switch (current.status) {
    case DeliveryStatus::kRegistered:
      same = current.reg_number == update.reg_number && current.reg_date == update.reg_date;
      break;
    case DeliveryStatus::kRejected:
      same = current.reason == update.reason;
      break;
    case DeliveryStatus::kAssigned:
      same = current.executor == update.executor;
      break;
    case DeliveryStatus::kExecuted:
      same = current.reply == update.reply;
      break;
    default:
      break;
  }
  if (same) {
    return DeliveryChange{current, false};
  }
  return conflict(state_of(current) + " with different details");
}

Result<std::string> PostgresSession::sender_of(const std::string& document_id) {
  Statement q = db_->prepare("SELECT sender FROM documents WHERE id = ?");
  q.bind(document_id);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return not_found("unknown document " + document_id);
  return q.text(0);
}

Status PostgresSession::add_event(const std::string& participant, std::string_view type,
                                  const Delivery& d, const std::string& sender,
                                  const std::string& actor, const std::string& at) {
  Statement q = db_->prepare(
      "INSERT INTO events (seq, participant, type, document, sender, recipient, status, at, "
      "actor, reg_number, reg_date, reason, executor, reply) "
      "VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM events), "
      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(participant, type, d.document_id, sender, d.recipient, to_string(d.status), at, actor,
         d.reg_number, d.reg_date, d.reason, d.executor, d.reply);
  notify_.insert(participant);
  return q.run();
}

// Both sides hear of every step: the sender (its outbox) and the recipient.
Status PostgresSession::add_event_pair(std::string_view type, const Delivery& d,
                                       const std::string& sender, const std::string& actor,
                                       const std::string& at) {
  SENED_RETURN_IF_ERROR(add_event(d.recipient, type, d, sender, actor, at));
  if (sender == d.recipient) return Status();
  return add_event(sender, type, d, sender, actor, at);
}

Status PostgresSession::save_delivery(const Delivery& d, int64_t journal_seq) {
  Statement q = db_->prepare(
      "UPDATE deliveries SET status = ?, updated_at = ?, delivered_at = ?, reg_number = ?, "
      "reg_date = ?, reason = ?, executor = ?, reply = ?, overdue = ?, journal_seq = ? "
      "WHERE document_id = ? AND recipient = ?");
  q.bind(to_string(d.status), d.updated_at, d.delivered_at, d.reg_number, d.reg_date, d.reason,
         d.executor, d.reply, d.overdue, journal_seq, d.document_id, d.recipient);
  return q.run();
}

Status PostgresSession::apply_step(Delivery& d, const DeliveryUpdate& step,
                                   const std::string& actor, const std::string& sender) {
  d.status = step.status;
  d.updated_at = step.at;
  if (step.status == DeliveryStatus::kDelivered) d.delivered_at = step.at;
  // Registration details stay through the later steps; each step sets its own.
  if (step.status == DeliveryStatus::kRegistered) {
    d.reg_number = step.reg_number;
    d.reg_date = step.reg_date;
  }
  d.reason = step.reason;
  if (step.status == DeliveryStatus::kAssigned) d.executor = step.executor;
  d.reply = step.reply;

  Result<int64_t> seq = append_journal({step.at, actor, journal_kind(step.status), d.document_id,
                                        d.recipient, delivery_digest(step_of(d), d.overdue)});
  if (!seq.ok()) return seq.status();
  SENED_RETURN_IF_ERROR(save_delivery(d, *seq));
  return add_event_pair("document.status", d, sender, actor, step.at);
}

Status PostgresSession::check_reply(const std::string& document_id, const std::string& recipient,
                                    const std::string& reply) {
  Statement q = db_->prepare("SELECT sender, in_reply_to FROM documents WHERE id = ?");
  q.bind(reply);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row || q.text(0) != recipient) {
    return invalid_argument("reply " + reply + " is not a document sent by " + recipient);
  }
  if (q.is_null(1) || q.text(1) != document_id) {
    return invalid_argument("reply " + reply + " is not in_reply_to " + document_id);
  }
  return Status();
}

Result<DeliveryChange> PostgresSession::update_delivery(const std::string& document_id,
                                                        const std::string& recipient,
                                                        const DeliveryUpdate& update) {
  if (update.status == DeliveryStatus::kQueued || update.status == DeliveryStatus::kRecalled ||
      update.status == DeliveryStatus::kExpired) {
    return invalid_argument("a recipient cannot set a delivery to " +
                            std::string(to_string(update.status)));
  }
  return write([&]() -> Result<DeliveryChange> {
    Result<Delivery> current = load_delivery(document_id, recipient);
    if (!current.ok()) return current.status();
    bool reassign = update.status == DeliveryStatus::kAssigned &&
                    current->status == DeliveryStatus::kAssigned &&
                    current->executor != update.executor;
    if (current->status == update.status && !reassign) return repeated_update(*current, update);
    if (!is_legal(current->status, update.status)) return conflict(state_of(*current));
    if (!update.reply.empty())
      SENED_RETURN_IF_ERROR(check_reply(document_id, recipient, update.reply));
    Result<std::string> sender = sender_of(document_id);
    if (!sender.ok()) return sender.status();

    Delivery d = std::move(*current);
    if (d.status == DeliveryStatus::kQueued && update.status != DeliveryStatus::kDelivered) {
      // A later step proves the document arrived (a gateway that reconnects
      // may report registration before delivery): record that first.
      DeliveryUpdate delivered{DeliveryStatus::kDelivered, "", "", "", update.at, "", ""};
      SENED_RETURN_IF_ERROR(apply_step(d, delivered, recipient, *sender));
    }
    SENED_RETURN_IF_ERROR(apply_step(d, update, recipient, *sender));
    return DeliveryChange{std::move(d), true};
  });
}

Result<std::vector<DeliveryChange>> PostgresSession::recall(const std::string& document_id,
                                                            const std::string& sender,
                                                            const std::string& recipient,
                                                            const std::string& reason,
                                                            const std::string& at) {
  return write([&]() -> Result<std::vector<DeliveryChange>> {
    Result<std::string> owner = sender_of(document_id);
    if (!owner.ok()) return owner.status();
    if (*owner != sender) return not_found("unknown document " + document_id);
    Result<std::vector<Delivery>> all = load_deliveries(document_id);
    if (!all.ok()) return all.status();

    std::vector<DeliveryChange> out;
    std::string states;
    for (Delivery& d : *all) {
      if (!recipient.empty() && d.recipient != recipient) continue;
      if (d.status == DeliveryStatus::kQueued) {
        SENED_RETURN_IF_ERROR(
            apply_step(d, {DeliveryStatus::kRecalled, "", "", reason, at, "", ""}, sender, sender));
        out.push_back({d, true});
      } else {
        out.push_back({d, false});
        if (d.status != DeliveryStatus::kRecalled)
          states += (states.empty() ? "" : "; ") + state_of(d);
      }
    }
    if (out.empty())
      return not_found("document " + document_id + " is not addressed to " + recipient);
    bool any = std::any_of(out.begin(), out.end(), [](const auto& c) { return c.changed; });
    bool all_recalled = states.empty();
    if (!any && !all_recalled) return conflict("nothing left to recall: " + states);
    return out;
  });
}

// A delivery a sweep will change: document id, recipient, sender.
using DueDelivery = std::tuple<std::string, std::string, std::string>;
DueDelivery due_from(const Statement& q) { return {q.text(0), q.text(1), q.text(2)}; }

Result<int> PostgresSession::expire_deliveries(const std::string& created_before,
                                               const std::string& at) {
  return write([&]() -> Result<int> {
    Statement q = db_->prepare(
        "SELECT l.document_id, l.recipient, d.sender FROM deliveries l "
        "JOIN documents d ON d.id = l.document_id "
        "WHERE l.status = 'queued' AND d.created_at < ? ORDER BY l.document_seq, l.position");
    q.bind(created_before);
    Result<std::vector<DueDelivery>> due = collect<DueDelivery>(q, due_from);
    if (!due.ok()) return due.status();
    for (const auto& [id, recipient, sender] : *due) {
      Result<Delivery> d = load_delivery(id, recipient);
      if (!d.ok()) return d.status();
      SENED_RETURN_IF_ERROR(
          apply_step(*d, {DeliveryStatus::kExpired, "", "", "", at, "", ""}, "hub", sender));
    }
    return static_cast<int>(due->size());
  });
}

Result<int> PostgresSession::mark_overdue(const std::string& today, const std::string& at) {
  return write([&]() -> Result<int> {
    Statement q = db_->prepare(
        "SELECT l.document_id, l.recipient, d.sender FROM deliveries l "
        "JOIN documents d ON d.id = l.document_id "
        "WHERE d.due_date <> '' AND d.due_date < ? AND l.overdue = 0 "
        "AND l.status NOT IN ('executed', 'rejected', 'recalled', 'expired') "
        "ORDER BY l.document_seq, l.position");
    q.bind(today);
    Result<std::vector<DueDelivery>> due = collect<DueDelivery>(q, due_from);
    if (!due.ok()) return due.status();
    for (const auto& [id, recipient, sender] : *due) {
      Result<Delivery> d = load_delivery(id, recipient);
      if (!d.ok()) return d.status();
      // The flag joins the delivery's state: the entry covers the whole row,
      // so an audit still sees every field.
      d->overdue = true;
      Result<int64_t> seq = append_journal({at, "hub", journal::kDeliveryOverdue, id, recipient,
                                            delivery_digest(step_of(*d), true)});
      if (!seq.ok()) return seq.status();
      SENED_RETURN_IF_ERROR(save_delivery(*d, *seq));
      SENED_RETURN_IF_ERROR(add_event_pair("document.overdue", *d, sender, "hub", at));
    }
    return static_cast<int>(due->size());
  });
}

// --- events ----------------------------------------------------------------

Result<std::vector<Event>> PostgresSession::events(const std::string& participant, int64_t after,
                                                   int limit) {
  if (limit <= 0) return invalid_argument("limit must be positive");
  return read([&]() -> Result<std::vector<Event>> {
    Statement q = db_->prepare(
        "SELECT seq, participant, type, document, sender, recipient, status, at, actor, "
        "reg_number, reg_date, reason, executor, reply FROM events "
        "WHERE participant = ? AND seq > ? ORDER BY seq LIMIT ?");
    q.bind(participant, after, limit);
    return collect<Event>(q, [](const Statement& r) {
      return Event{r.integer(0), r.text(1),  r.text(2),  r.text(3), r.text(4),
                   r.text(5),    r.text(6),  r.text(7),  r.text(8), r.text(9),
                   r.text(10),   r.text(11), r.text(12), r.text(13)};
    });
  });
}

Result<int64_t> PostgresSession::last_event_cursor() {
  return read([&]() -> Result<int64_t> {
    Statement q = db_->prepare("SELECT coalesce(max(seq), 0) FROM events");
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    return q.integer(0);
  });
}

Result<int64_t> PostgresSession::event_position(const std::string& participant) {
  return read([&]() -> Result<int64_t> {
    Statement q = db_->prepare("SELECT cursor FROM event_positions WHERE participant = ?");
    q.bind(participant);
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    return *row ? q.integer(0) : 0;
  });
}

Result<int64_t> PostgresSession::acknowledge_events(const std::string& participant,
                                                    int64_t cursor) {
  if (cursor < 0) return invalid_argument("a cursor is not negative");
  return write([&]() -> Result<int64_t> {
    Statement last = db_->prepare("SELECT coalesce(max(seq), 0) FROM events");
    Result<bool> row = last.next();
    if (!row.ok()) return row.status();
    if (cursor > last.integer(0)) {
      return invalid_argument("cursor " + std::to_string(cursor) + " is beyond the last event");
    }
    Statement q = db_->prepare(
        "INSERT INTO event_positions (participant, cursor) VALUES (?, ?) "
        "ON CONFLICT (participant) DO UPDATE SET cursor = greatest(event_positions.cursor, "
        "excluded.cursor) "
        "RETURNING cursor");
    q.bind(participant, cursor);
    Result<bool> saved = q.next();
    if (!saved.ok()) return saved.status();
    return q.integer(0);
  });
}

// --- webhooks --------------------------------------------------------------

#define SENED_SELECT_WEBHOOKS                                                   \
  "SELECT participant, url, secret, created_at, cursor, failures, last_error, " \
  "last_attempt_at, last_success_at, next_attempt_at FROM webhooks"

Webhook webhook_from(const Statement& q) {
  return Webhook{
      q.text(0), q.text(1), q.text(2), q.text(3), q.integer(4), static_cast<int>(q.integer(5)),
      q.text(6), q.text(7), q.text(8), q.text(9)};
}

// --- leases ------------------------------------------------------------------

Result<bool> PostgresSession::acquire_lease(const std::string& name, const std::string& holder,
                                            std::chrono::milliseconds ttl) {
  if (name.empty() || holder.empty() || ttl.count() <= 0) {
    return invalid_argument("a lease needs a name, a holder and a positive ttl");
  }
  // One statement in its own transaction, outside store_lock (no journal is
  // written): a free or expired lease is taken, the holder's own renewed,
  // anyone else's left alone, and then no row comes back. Concurrent takers
  // of a free lease meet on its primary key, so only one gets a row. Times
  // are the server's, so the nodes' clocks play no part.
  auto attempt = [&]() -> Result<bool> {
    Statement q = db_->prepare(
        "INSERT INTO leases (name, holder, expires_at) "
        "VALUES (?1, ?2, clock_timestamp() + ?3::bigint * interval '1 millisecond') "
        "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
        "expires_at = EXCLUDED.expires_at "
        "WHERE leases.expires_at <= clock_timestamp() OR leases.holder = EXCLUDED.holder "
        "RETURNING holder");
    q.bind(name, holder, static_cast<int64_t>(ttl.count()));
    return q.next();
  };
  Result<bool> held = attempt();
  // A pooled connection the server dropped while idle: the statement did
  // nothing, or took the lease for this same holder; both are safe to repeat.
  if (held.ok() || db_->healthy()) return held;
  if (Status st = db_->reconnect(); !st.ok()) return unreachable(st);
  return attempt();
}

Status PostgresSession::release_lease(const std::string& name, const std::string& holder) {
  Statement q = db_->prepare("DELETE FROM leases WHERE name = ? AND holder = ?");
  q.bind(name, holder);
  Status st = q.run();
  if (st.ok() || db_->healthy()) return st;
  if (Status st = db_->reconnect(); !st.ok()) return unreachable(st);
  Statement again = db_->prepare("DELETE FROM leases WHERE name = ? AND holder = ?");
  again.bind(name, holder);
  return again.run();
}

Status PostgresSession::put_webhook(const Webhook& hook) {
  return write([&]() -> Status {
    Statement last = db_->prepare("SELECT coalesce(max(seq), 0) FROM events");
    Result<bool> row = last.next();
    if (!row.ok()) return row.status();
    Statement q = db_->prepare(
        "INSERT INTO webhooks (participant, url, secret, created_at, cursor, failures, "
        "last_error, last_attempt_at, last_success_at, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?, 0, '', '', '', '') "
        "ON CONFLICT (participant) DO UPDATE SET url = excluded.url, secret = excluded.secret, "
        "created_at = excluded.created_at, cursor = excluded.cursor, failures = 0, "
        "last_error = '', last_attempt_at = '', last_success_at = '', next_attempt_at = ''");
    q.bind(hook.participant, hook.url, hook.secret, hook.created_at, last.integer(0));
    return q.run();
  });
}

Result<Webhook> PostgresSession::get_webhook(const std::string& participant) {
  return read([&]() -> Result<Webhook> {
    Statement q = db_->prepare(SENED_SELECT_WEBHOOKS " WHERE participant = ?");
    q.bind(participant);
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return not_found("no webhook registered for " + participant);
    return webhook_from(q);
  });
}

Status PostgresSession::delete_webhook(const std::string& participant) {
  return write([&]() -> Status {
    Statement q = db_->prepare("DELETE FROM webhooks WHERE participant = ? RETURNING participant");
    q.bind(participant);
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return not_found("no webhook registered for " + participant);
    return Status();
  });
}

Result<std::vector<Webhook>> PostgresSession::list_webhooks() {
  return read([&]() -> Result<std::vector<Webhook>> {
    Statement q = db_->prepare(SENED_SELECT_WEBHOOKS " ORDER BY participant");
    return collect<Webhook>(q, webhook_from);
  });
}

Status PostgresSession::record_webhook_attempt(const std::string& participant, bool success,
                                               int64_t cursor, const std::string& error,
                                               const std::string& at,
                                               const std::string& next_attempt_at) {
  return write([&]() -> Status {
    Statement q = db_->prepare(
        success
            ? "UPDATE webhooks SET cursor = greatest(cursor, ?), failures = 0, last_error = '', "
              "last_attempt_at = ?, last_success_at = ?, next_attempt_at = '' "
              "WHERE participant = ?"
            : "UPDATE webhooks SET failures = failures + 1, last_error = ?, "
              "last_attempt_at = ?, next_attempt_at = ? WHERE participant = ?");
    if (success) {
      q.bind(cursor, at, at, participant);
    } else {
      q.bind(error, at, next_attempt_at, participant);
    }
    return q.run();
  });
}

// --- audit -----------------------------------------------------------------

constexpr const char* kSelectJournalEntry =
    "SELECT seq, time, actor, kind, document, recipient, content_digest, prev_hash, hash "
    "FROM journal WHERE seq = ?";

// The journal_seq of the row a lookup found, or nothing if there is none.
Result<std::optional<int64_t>> named_seq(Statement& q) {
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(q.integer(0));
}

// An entry changed `row`: the row must still exist and name this entry or a
// later one, else it was deleted or set back to an older state.
void check_target(const JournalEntry& e, const std::string& row, std::optional<int64_t> named,
                  AuditState& state) {
  if (!named) {
    state.add(e.seq,
              entry_name(e.seq) + " (" + e.kind + ") names " + row + ", which does not exist");
  } else if (*named < e.seq) {
    state.add(e.seq, row + " names " + entry_name(*named) + ", older than its change in " +
                         entry_name(e.seq));
  }
}

// Checks a content file's size and hash. `hashed` remembers the digest of
// each path already read, since documents share content files.
void audit_content_file(const ContentFileCheck& check, std::map<std::string, std::string>& hashed,
                        AuditState& state) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(check.path, ec);
  if (ec) {
    state.add(check.seq,
              check.row + ": content file " + check.path + " cannot be read: " + ec.message());
    return;
  }
  if (size != check.size) {
    state.add(check.seq, check.row + ": content file " + check.path + " has " +
                             std::to_string(size) + " bytes, not " + std::to_string(check.size));
    return;
  }
  auto it = hashed.find(check.path);
  if (it == hashed.end()) {
    Result<std::string> digest = crypto::sha256_file_hex(check.path);
    it = hashed.emplace(check.path, digest.ok() ? *digest : "").first;
  }
  if (it->second != check.sha256) {
    state.add(check.seq,
              check.row + ": content file " + check.path + " does not hash to its sha256");
  }
}

Result<std::vector<AuditProblem>> PostgresSession::audit(bool check_files) {
  Result<AuditState> state = read([&]() -> Result<AuditState> {
    AuditState s;
    s.check_files = check_files;
    SENED_RETURN_IF_ERROR(audit_journal(s));
    SENED_RETURN_IF_ERROR(audit_documents(s));
    SENED_RETURN_IF_ERROR(audit_deliveries(s));
    SENED_RETURN_IF_ERROR(audit_files(s));
    SENED_RETURN_IF_ERROR(audit_chunked_files(s));
    SENED_RETURN_IF_ERROR(audit_participants(s));
    SENED_RETURN_IF_ERROR(audit_certificates(s));
    return s;
  });
  if (!state.ok()) return state.status();

  // Outside the mutex: hashing large files must not hold up the hub.
  std::map<std::string, std::string> hashed;  // a shared content file is read once
  for (const auto& check : state->content_files) audit_content_file(check, hashed, *state);

  std::vector<AuditProblem> problems = std::move(state->problems);
  std::stable_sort(problems.begin(), problems.end(),
                   [](const AuditProblem& a, const AuditProblem& b) { return a.seq < b.seq; });
  return problems;
}

Result<CertificateIndex> PostgresSession::certificate_index() {
  Statement q =
      db_->prepare("SELECT serial, participant, fingerprint, journal_seq FROM certificates");
  CertificateIndex index;
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return index;
    Certificate c = certificate_key(q.text(0), q.text(1), q.text(2));
    index[{c.participant, certificate_digest(c)}] = {c.serial, q.integer(3)};
  }
}

Status PostgresSession::audit_journal(AuditState& state) {
  Result<CertificateIndex> certs = certificate_index();
  if (!certs.ok()) return certs.status();
  Statement q = db_->prepare(
      "SELECT seq, time, actor, kind, document, recipient, content_digest, prev_hash, hash "
      "FROM journal ORDER BY seq");
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return Status();
    SENED_RETURN_IF_ERROR(audit_entry(journal_entry_from(q), *certs, state));
  }
}

Status PostgresSession::audit_entry(const JournalEntry& e, const CertificateIndex& certs,
                                    AuditState& state) {
  if (e.kind == journal::kDocumentSubmitted) {
    Statement q = db_->prepare("SELECT journal_seq FROM documents WHERE id = ?");
    q.bind(e.document);
    Result<std::optional<int64_t>> named = named_seq(q);
    if (!named.ok()) return named.status();
    check_target(e, row_name("documents", e.document), *named, state);
  } else if (is_delivery_kind(e.kind)) {
    Statement q =
        db_->prepare("SELECT journal_seq FROM deliveries WHERE document_id = ? AND recipient = ?");
    q.bind(e.document, e.recipient);
    Result<std::optional<int64_t>> named = named_seq(q);
    if (!named.ok()) return named.status();
    check_target(e, row_name("deliveries", e.document, e.recipient), *named, state);
  } else if (is_participant_kind(e.kind)) {
    if (e.kind != journal::kParticipantStatus) {
      state.full_participant_entry[e.recipient] = {e.seq, e.content_digest};
    }
    Statement q = db_->prepare("SELECT journal_seq FROM participants WHERE id = ?");
    q.bind(e.recipient);
    Result<std::optional<int64_t>> named = named_seq(q);
    if (!named.ok()) return named.status();
    check_target(e, row_name("participants", e.recipient), *named, state);
  } else if (is_certificate_kind(e.kind)) {
    auto it = certs.find({e.recipient, e.content_digest});
    std::string row = it == certs.end() ? "a certificates row of " + e.recipient
                                        : row_name("certificates", it->second.first);
    check_target(e, row, it == certs.end() ? std::nullopt : std::optional(it->second.second),
                 state);
  } else {
    state.add(e.seq, entry_name(e.seq) + " has an unknown kind " + e.kind);
  }
  return Status();
}

Result<std::optional<JournalEntry>> PostgresSession::named_entry(
    const std::string& row, int64_t seq, std::initializer_list<std::string_view> kinds,
    const std::string& document, const std::string& recipient, AuditState& state) {
  Statement q = db_->prepare(kSelectJournalEntry);
  q.bind(seq);
  Result<bool> found = q.next();
  if (!found.ok()) return found.status();
  if (!*found) {
    state.add(seq, row + " names " + entry_name(seq) + ", which does not exist");
    return std::optional<JournalEntry>();
  }
  JournalEntry e = journal_entry_from(q);
  if (std::find(kinds.begin(), kinds.end(), e.kind) == kinds.end()) {
    state.add(seq, row + " names " + entry_name(seq) + ", which is a " + e.kind + " entry");
    return std::optional<JournalEntry>();
  }
  if (e.document != document || e.recipient != recipient) {
    state.add(seq, row + " names " + entry_name(seq) + ", which is about another row");
    return std::optional<JournalEntry>();
  }
  return std::optional<JournalEntry>(std::move(e));
}

// --- audit: documents and deliveries ---------------------------------------

Status PostgresSession::audit_documents(AuditState& state) {
  Statement q = db_->prepare(
      "SELECT id, sender, sender_ref, kind, subject, urgency, reg_number, reg_date, in_reply_to, "
      "due_date, created_at, meta_digest, journal_seq FROM documents ORDER BY seq");
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return Status();
    SENED_RETURN_IF_ERROR(audit_document(q, state));
  }
}

// Fills doc.meta.to and .cc from the deliveries, in position order.
Result<std::vector<Recipient>> PostgresSession::stored_recipients(NewDocument& doc) {
  Statement q = db_->prepare(
      "SELECT recipient, role FROM deliveries WHERE document_id = ? ORDER BY position");
  q.bind(doc.id);
  Result<std::vector<Recipient>> recipients = collect<Recipient>(q, [](const Statement& r) {
    return Recipient{r.text(0), r.text(1)};
  });
  if (!recipients.ok()) return recipients.status();
  for (const auto& r : *recipients) (r.role == "to" ? doc.meta.to : doc.meta.cc).push_back(r.id);
  return recipients;
}

// The submission as submit() saw it, rebuilt from the document row `q`
// (without its to, cc and files, which come from other tables).
NewDocument submission_from(const Statement& q) {
  NewDocument doc;
  doc.id = q.text(0);
  doc.sender = q.text(1);
  DocumentMeta& m = doc.meta;
  m.sender_ref = q.text(2);
  m.kind = q.text(3);
  m.subject = q.text(4);
  m.urgency = q.text(5);
  m.reg_number = q.text(6);
  m.reg_date = q.text(7);
  if (!q.is_null(8)) m.in_reply_to = q.text(8);
  m.due_date = q.text(9);
  doc.created_at = q.text(10);
  return doc;
}

Status PostgresSession::audit_document(const Statement& q, AuditState& state) {
  NewDocument doc = submission_from(q);
  std::string stored_digest = q.text(11);
  int64_t seq = q.integer(12);
  Result<std::vector<Recipient>> recipients = stored_recipients(doc);
  if (!recipients.ok()) return recipients.status();
  Result<std::vector<FileInfo>> files = load_files(doc.id);
  if (!files.ok()) return files.status();
  for (auto& f : *files) doc.files.push_back({std::move(f), "", std::nullopt});

  // The entry commits to meta_digest and the recipients; meta_digest to the
  // other fields and the files.
  std::string row = row_name("documents", doc.id);
  Result<std::optional<JournalEntry>> entry =
      named_entry(row, seq, {journal::kDocumentSubmitted}, doc.id, "", state);
  if (!entry.ok()) return entry.status();
  if (*entry && ((*entry)->actor != doc.sender || (*entry)->time != doc.created_at ||
                 (*entry)->content_digest !=
                     submitted_digest(stored_digest, *recipients, infos_of(doc.files)))) {
    state.add(seq, row + " does not match " + entry_name(seq));
  }
  // A sender that named a recipient twice hashed both mentions, which the
  // deliveries no longer show: such a document is reported here too.
  if (meta_digest(doc) != stored_digest) {
    state.add(seq, row + " does not match its meta_digest (" + entry_name(seq) + ")");
  }
  return Status();
}

Status PostgresSession::audit_deliveries(AuditState& state) {
  Statement q = db_->prepare(
      "SELECT l.document_id, l.recipient, l.role, l.status, l.updated_at, l.delivered_at, "
      "l.reg_number, l.reg_date, l.reason, l.journal_seq, l.document_seq, d.seq, "
      "l.executor, l.reply, l.overdue FROM deliveries l LEFT JOIN documents d ON d.id = "
      "l.document_id "
      "ORDER BY l.document_seq, l.position");
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return Status();
    SENED_RETURN_IF_ERROR(audit_delivery(q, state));
  }
}

Status PostgresSession::audit_delivery(const Statement& q, AuditState& state) {
  std::string row = row_name("deliveries", q.text(0), q.text(1));
  int64_t seq = q.integer(9);
  if (q.is_null(11)) {
    state.add(seq, row + " belongs to no documents row");
  } else if (q.integer(10) != q.integer(11)) {
    state.add(seq, row + " has document_seq " + std::to_string(q.integer(10)) +
                       " but its document has seq " + std::to_string(q.integer(11)));
  }
  auto status = parse_delivery_status(q.text(3));
  if (!status) {
    state.add(seq, row + " has an unknown status " + q.text(3));
    return Status();
  }
  Delivery d{q.text(0), q.text(1), q.text(2), *status,    q.text(4),  q.text(5),
             q.text(6), q.text(7), q.text(8), q.text(12), q.text(13), q.integer(14) != 0};
  return audit_delivery_step(row, d, seq, state);
}

Status PostgresSession::audit_delivery_step(const std::string& row, const Delivery& d, int64_t seq,
                                            AuditState& state) {
  if (d.status == DeliveryStatus::kQueued && !d.overdue) {
    return audit_queued_delivery(row, d, seq, state);
  }

  // The row names its latest step, or the overdue flag set after it; either
  // entry covers every field of the row.
  std::string kind = "delivery." + std::string(to_string(d.status));
  std::string_view overdue = d.overdue ? journal::kDeliveryOverdue : std::string_view(kind);
  Result<std::optional<JournalEntry>> entry =
      named_entry(row, seq, {kind, overdue}, d.document_id, d.recipient, state);
  if (!entry.ok()) return entry.status();
  if (!*entry) return Status();
  if ((*entry)->content_digest != delivery_digest(step_of(d), d.overdue)) {
    state.add(seq, row + " does not match " + entry_name(seq));
    return Status();
  }
  if (d.delivered_at.empty() &&
      (d.status == DeliveryStatus::kQueued || d.status == DeliveryStatus::kRecalled ||
       d.status == DeliveryStatus::kExpired)) {
    return Status();  // never delivered
  }

  // delivered_at is the `at` of the delivery.delivered entry, possibly an
  // earlier one than the entry the row names.
  Statement q = db_->prepare(
      "SELECT 1 FROM journal WHERE document = ? AND recipient = ? AND kind = ? "
      "AND content_digest IN (?, ?)");
  DeliveryUpdate delivered{DeliveryStatus::kDelivered, "", "", "", d.delivered_at, "", ""};
  q.bind(d.document_id, d.recipient, journal::kDeliveryDelivered, delivery_digest(delivered),
         delivery_digest(delivered, true));
  Result<bool> found = q.next();
  if (!found.ok()) return found.status();
  if (!*found) state.add(seq, row + " has a delivered_at that no delivery.delivered entry has");
  return Status();
}

Status PostgresSession::audit_queued_delivery(const std::string& row, const Delivery& d,
                                              int64_t seq, AuditState& state) {
  // Still as submitted: the document's entry covers it, at its time.
  Result<std::optional<JournalEntry>> entry =
      named_entry(row, seq, {journal::kDocumentSubmitted}, d.document_id, "", state);
  if (!entry.ok()) return entry.status();
  bool pristine =
      d.delivered_at.empty() && d.reg_number.empty() && d.reg_date.empty() && d.reason.empty();
  if (*entry && (!pristine || d.updated_at != (*entry)->time)) {
    state.add(seq, row + " does not match " + entry_name(seq));
  }
  return Status();
}

// --- audit: files ------------------------------------------------------------

Status PostgresSession::audit_files(AuditState& state) {
  Statement q = db_->prepare(
      "SELECT f.document_id, f.idx, f.size, f.sha256, f.content, f.cas_path, d.journal_seq, "
      "f.signature, f.signature_sha256, f.chunked "
      "FROM files f LEFT JOIN documents d ON d.id = f.document_id "
      "ORDER BY f.document_id, f.idx");
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return Status();
    audit_file(q, state);
  }
}

void PostgresSession::audit_file(const Statement& q, AuditState& state) {
  std::string row = row_name("files", q.text(0), std::to_string(q.integer(1)));
  int64_t seq = q.is_null(6) ? 0 : q.integer(6);
  if (q.is_null(6)) state.add(seq, row + " belongs to no documents row");
  auto size = static_cast<uint64_t>(q.integer(2));
  std::string sha256 = q.text(3);
  // The journal covers the signature's digest; the bytes must still match it.
  std::string signature_digest = q.is_null(7) ? "" : crypto::sha256_hex(q.blob(7));
  if (signature_digest != q.text(8)) {
    state.add(seq, row + " has a signature that does not hash to its signature_sha256");
  }

  if (q.integer(9) != 0) {
    if (state.check_files) state.chunked_files.push_back({seq, row, "", size, sha256});
    return;
  }
  if (!q.is_null(4)) {
    std::string bytes = q.blob(4);
    if (bytes.size() != size) state.add(seq, row + " does not match its size");
    if (crypto::sha256_hex(bytes) != sha256) state.add(seq, row + " does not hash to its sha256");
    return;
  }
  // The path is derived from the digest; any other path serves other bytes.
  std::string cas_path = q.text(5);
  if (!crypto::is_sha256_hex(sha256) || cas_path != sha256.substr(0, 2) + "/" + sha256) {
    state.add(seq, row + " names content file " + cas_path + ", not the path of its sha256");
    return;
  }
  if (state.check_files) {
    state.content_files.push_back({seq, row, options_.files_dir + "/" + cas_path, size, sha256});
  }
}

// Reads every chunked file's chunks inside the read transaction (one
// snapshot; writers are not held up, they never wait for readers). Files
// sharing a content are read once.
Status PostgresSession::audit_chunked_files(AuditState& state) {
  std::map<std::string, std::string> checked;  // sha256 -> what is wrong ("" if nothing)
  for (const auto& f : state.chunked_files) {
    auto it = checked.find(f.sha256);
    if (it == checked.end()) {
      Result<std::string> problem = pg::check_file_chunks(*db_, f.sha256, f.size);
      if (!problem.ok()) return problem.status();
      it = checked.emplace(f.sha256, *problem).first;
    }
    if (!it->second.empty()) state.add(f.seq, f.row + ": " + it->second);
  }
  return Status();
}

// --- audit: participants and certificates ------------------------------------

Status PostgresSession::audit_participants(AuditState& state) {
  Statement q = db_->prepare(
      "SELECT id, category, obligation, deadline, name_az, name_en, name_ru, status, journal_seq "
      "FROM participants ORDER BY id");
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return Status();
    Participant p{q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5), q.text(6)};
    auto status = parse_participant_status(q.text(7));
    if (!status) {
      state.add(q.integer(8),
                row_name("participants", p.id) + " has an unknown status " + q.text(7));
      continue;
    }
    p.status = *status;
    SENED_RETURN_IF_ERROR(audit_participant(p, q.integer(8), state));
  }
}

Status PostgresSession::audit_participant(const Participant& p, int64_t seq, AuditState& state) {
  std::string row = row_name("participants", p.id);
  Result<std::optional<JournalEntry>> entry = named_entry(
      row, seq,
      {journal::kParticipantAdded, journal::kParticipantUpdated, journal::kParticipantStatus}, "",
      p.id, state);
  if (!entry.ok()) return entry.status();
  if (!*entry) return Status();

  const JournalEntry& e = **entry;
  if (e.kind != journal::kParticipantStatus) {
    if (e.content_digest != participant_digest(p))
      state.add(seq, row + " does not match " + entry_name(seq));
    return Status();
  }
  if (e.content_digest != journal::content_digest({{"status", std::string(to_string(p.status))}})) {
    state.add(seq, row + " does not match " + entry_name(seq));
  }
  // The names and the rest were last journaled by the latest added/updated entry.
  auto full = state.full_participant_entry.find(p.id);
  if (full == state.full_participant_entry.end()) {
    state.add(seq, row + " has no participant.added entry");
  } else if (!matches_but_status(p, full->second.second)) {
    state.add(full->second.first, row + " does not match " + entry_name(full->second.first));
  }
  return Status();
}

Status PostgresSession::audit_certificates(AuditState& state) {
  Statement q = db_->prepare(
      "SELECT serial, participant, fingerprint, revoked, revoked_at, journal_seq "
      "FROM certificates ORDER BY serial");
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return Status();
    Certificate c = certificate_key(q.text(0), q.text(1), q.text(2));
    c.revoked = q.integer(3) != 0;
    c.revoked_at = q.text(4);
    int64_t seq = q.integer(5);

    std::string row_text = row_name("certificates", c.serial);
    auto kind = c.revoked ? journal::kCertificateRevoked : journal::kCertificateIssued;
    Result<std::optional<JournalEntry>> entry =
        named_entry(row_text, seq, {kind}, "", c.participant, state);
    if (!entry.ok()) return entry.status();
    // A revocation's entry time is its revoked_at.
    std::string revoked_at = c.revoked ? (*entry ? (*entry)->time : c.revoked_at) : "";
    if (*entry &&
        ((*entry)->content_digest != certificate_digest(c) || c.revoked_at != revoked_at)) {
      state.add(seq, row_text + " does not match " + entry_name(seq));
    }
  }
}

// --- opening ---------------------------------------------------------------

Result<int64_t> applied_version(Connection& db) {
  Statement q = db.prepare("SELECT coalesce(max(version), 0) FROM schema_migrations");
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  return q.integer(0);
}

// Runs one migration in its own transaction (PostgreSQL's DDL is
// transactional: a failed migration leaves nothing behind).
Status apply_migration(Connection& db, const Migration& m) {
  SENED_RETURN_IF_ERROR(db.exec("BEGIN"));
  Result<int64_t> version = applied_version(db);
  Status st = version.ok() ? Status() : version.status();
  if (st.ok() && *version < m.version) {
    st = db.exec(m.sql);
    if (st.ok()) {
      Statement q = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
      q.bind(m.version, now_rfc3339());
      st = q.run();
    }
  }
  if (st.ok()) st = db.exec("COMMIT");
  if (!st.ok()) {
    Status ignored = db.exec("ROLLBACK");
    (void)ignored;
  }
  return st.ok() ? st : st.with_context("migration " + std::to_string(m.version));
}

Status migrate_locked(Connection& db) {
  SENED_RETURN_IF_ERROR(
      db.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
              "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"));
  Result<int64_t> version = applied_version(db);
  if (!version.ok()) return version.status();
  if (*version > postgres::kSchemaVersion) {
    return internal_error("database schema version " + std::to_string(*version) +
                          " is newer than this program's " +
                          std::to_string(postgres::kSchemaVersion));
  }
  for (const Migration& m : kMigrations) SENED_RETURN_IF_ERROR(apply_migration(db, m));
  return Status();
}

// Two nodes starting at once would both find the schema missing: a session
// advisory lock, keyed by the schema the tables go to, lets one migrate while
// the other waits and then finds nothing left to do.
Status migrate(Connection& db) {
  SENED_RETURN_IF_ERROR(db.exec(
      "SELECT pg_advisory_lock(hashtext(coalesce(current_schema(), '') || '/sened-migrations'))"));
  Status st = migrate_locked(db);
  Status unlocked = db.exec(
      "SELECT pg_advisory_unlock(hashtext(coalesce(current_schema(), '') || "
      "'/sened-migrations'))");
  return st.ok() ? unlocked : st;
}

// The Store that callers see: each call borrows a session (one connection)
// from the pool for its transaction and gives it back afterwards.
class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PostgresOptions options) : options_(std::move(options)) {}

  // Takes `db` as the pool's first idle connection.
  void adopt(std::unique_ptr<Connection> db) {
    idle_.push_back(std::make_unique<PostgresSession>(options_, std::move(db), stop_, readers_));
  }

  Status put_participant(const Participant& p, const std::string& actor) override {
    return call([&](Store& s) { return s.put_participant(p, actor); });
  }
  Result<Participant> get_participant(const std::string& id) override {
    return call([&](Store& s) { return s.get_participant(id); });
  }
  Result<std::vector<Participant>> list_participants() override {
    return call([&](Store& s) { return s.list_participants(); });
  }
  Status set_participant_status(const std::string& id, ParticipantStatus status,
                                const std::string& actor) override {
    return call([&](Store& s) { return s.set_participant_status(id, status, actor); });
  }

  Status add_certificate(const Certificate& cert, const std::string& actor) override {
    return call([&](Store& s) { return s.add_certificate(cert, actor); });
  }
  Result<Certificate> find_certificate_by_fingerprint(const std::string& fingerprint) override {
    return call([&](Store& s) { return s.find_certificate_by_fingerprint(fingerprint); });
  }
  Result<std::vector<Certificate>> list_certificates() override {
    return call([&](Store& s) { return s.list_certificates(); });
  }
  Status revoke_certificate(const std::string& serial, const std::string& at,
                            const std::string& actor) override {
    return call([&](Store& s) { return s.revoke_certificate(serial, at, actor); });
  }

  std::string staging_dir() const override { return options_.files_dir + "/.staging"; }
  Result<SubmitOutcome> submit(const NewDocument& doc) override {
    return call([&](Store& s) { return s.submit(doc); });
  }
  Result<Document> get_document(const std::string& id) override {
    return call([&](Store& s) { return s.get_document(id); });
  }
  Result<std::vector<Delivery>> deliveries(const std::string& document_id) override {
    return call([&](Store& s) { return s.deliveries(document_id); });
  }
  Result<FileContent> open_file(const std::string& document_id, int index) override {
    return call([&](Store& s) { return s.open_file(document_id, index); });
  }
  Result<InboxPage> inbox(const std::string& participant, int64_t after_seq, bool all,
                          int limit) override {
    return call([&](Store& s) { return s.inbox(participant, after_seq, all, limit); });
  }
  Result<OutboxPage> outbox(const std::string& participant, int64_t after_seq, int limit) override {
    return call([&](Store& s) { return s.outbox(participant, after_seq, limit); });
  }
  Result<DeliveryChange> update_delivery(const std::string& document_id,
                                         const std::string& recipient,
                                         const DeliveryUpdate& update) override {
    return call([&](Store& s) { return s.update_delivery(document_id, recipient, update); });
  }
  Result<std::vector<DeliveryChange>> recall(const std::string& document_id,
                                             const std::string& sender,
                                             const std::string& recipient,
                                             const std::string& reason,
                                             const std::string& at) override {
    return call([&](Store& s) { return s.recall(document_id, sender, recipient, reason, at); });
  }
  Result<int> expire_deliveries(const std::string& created_before, const std::string& at) override {
    return call([&](Store& s) { return s.expire_deliveries(created_before, at); });
  }
  Result<int> mark_overdue(const std::string& today, const std::string& at) override {
    return call([&](Store& s) { return s.mark_overdue(today, at); });
  }

  Result<std::vector<Event>> events(const std::string& participant, int64_t after,
                                    int limit) override {
    return call([&](Store& s) { return s.events(participant, after, limit); });
  }
  Result<int64_t> last_event_cursor() override {
    return call([&](Store& s) { return s.last_event_cursor(); });
  }
  Result<int64_t> event_position(const std::string& participant) override {
    return call([&](Store& s) { return s.event_position(participant); });
  }
  Result<int64_t> acknowledge_events(const std::string& participant, int64_t cursor) override {
    return call([&](Store& s) { return s.acknowledge_events(participant, cursor); });
  }

  Status put_webhook(const Webhook& hook) override {
    return call([&](Store& s) { return s.put_webhook(hook); });
  }
  Result<Webhook> get_webhook(const std::string& participant) override {
    return call([&](Store& s) { return s.get_webhook(participant); });
  }
  Status delete_webhook(const std::string& participant) override {
    return call([&](Store& s) { return s.delete_webhook(participant); });
  }
  Result<std::vector<Webhook>> list_webhooks() override {
    return call([&](Store& s) { return s.list_webhooks(); });
  }
  Status record_webhook_attempt(const std::string& participant, bool success, int64_t cursor,
                                const std::string& error, const std::string& at,
                                const std::string& next_attempt_at) override {
    return call([&](Store& s) {
      return s.record_webhook_attempt(participant, success, cursor, error, at, next_attempt_at);
    });
  }

  Result<std::vector<JournalEntry>> history(const std::string& document_id) override {
    return call([&](Store& s) { return s.history(document_id); });
  }
  Result<std::vector<JournalEntry>> journal(int64_t after_seq, int limit) override {
    return call([&](Store& s) { return s.journal(after_seq, limit); });
  }
  Result<int64_t> highest_referenced_journal_seq() override {
    return call([&](Store& s) { return s.highest_referenced_journal_seq(); });
  }
  Result<uint64_t> journal_size() override {
    return call([&](Store& s) { return s.journal_size(); });
  }
  Result<std::string> tree_root(uint64_t size) override {
    return call([&](Store& s) { return s.tree_root(size); });
  }
  Result<std::vector<std::string>> inclusion_proof(uint64_t index, uint64_t size) override {
    return call([&](Store& s) { return s.inclusion_proof(index, size); });
  }
  Result<std::vector<std::string>> consistency_proof(uint64_t from, uint64_t to) override {
    return call([&](Store& s) { return s.consistency_proof(from, to); });
  }
  Result<std::vector<std::string>> leaf_data(uint64_t begin, uint64_t end) override {
    return call([&](Store& s) { return s.leaf_data(begin, end); });
  }
  Result<std::vector<std::string>> node_hashes(int level, uint64_t begin, uint64_t end) override {
    return call([&](Store& s) { return s.node_hashes(level, begin, end); });
  }
  Status put_checkpoint(const StoredCheckpoint& c) override {
    return call([&](Store& s) { return s.put_checkpoint(c); });
  }
  Result<std::optional<StoredCheckpoint>> latest_checkpoint() override {
    return call([&](Store& s) { return s.latest_checkpoint(); });
  }
  Result<std::optional<StoredCheckpoint>> checkpoint(uint64_t size) override {
    return call([&](Store& s) { return s.checkpoint(size); });
  }
  Status add_checkpoint_cosignature(uint64_t size, const std::string& line) override {
    return call([&](Store& s) { return s.add_checkpoint_cosignature(size, line); });
  }
  Status set_checkpoint_timestamp(uint64_t size, const std::string& der) override {
    return call([&](Store& s) { return s.set_checkpoint_timestamp(size, der); });
  }

  Result<std::string> open_signature(const std::string& document_id, int index) override {
    return call([&](Store& s) { return s.open_signature(document_id, index); });
  }
  Result<std::optional<std::string>> find_receipt(int64_t journal_seq) override {
    return call([&](Store& s) { return s.find_receipt(journal_seq); });
  }
  Result<std::string> keep_receipt(int64_t journal_seq, const std::string& document_id,
                                   const std::string& participant,
                                   const std::string& der) override {
    return call(
        [&](Store& s) { return s.keep_receipt(journal_seq, document_id, participant, der); });
  }

  Result<std::vector<AuditProblem>> audit(bool check_files) override {
    return call([&](Store& s) { return s.audit(check_files); });
  }

  Result<bool> acquire_lease(const std::string& name, const std::string& holder,
                             std::chrono::milliseconds ttl) override {
    return call([&](Store& s) { return s.acquire_lease(name, holder, ttl); });
  }
  Status release_lease(const std::string& name, const std::string& holder) override {
    return call([&](Store& s) { return s.release_lease(name, holder); });
  }
  // A listener on a connection of its own, outside the pool.
  Result<std::unique_ptr<ChangeWatch>> watch_changes(ChangeCallback on_change) override {
    return pg::watch_changes(options_.conninfo, std::move(on_change));
  }

 private:
  // Runs `body` on an idle session, or on a new one when none is idle. A
  // session whose connection broke is dropped, so the next call reconnects.
  template <typename F>
  auto call(F&& body) -> decltype(body(std::declval<Store&>())) {
    Result<std::unique_ptr<PostgresSession>> session = acquire();
    if (!session.ok()) return session.status();
    auto result = body(**session);
    release(std::move(*session));
    return result;
  }

  Result<std::unique_ptr<PostgresSession>> acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        std::unique_ptr<PostgresSession> s = std::move(idle_.back());
        idle_.pop_back();
        if (s->healthy()) return s;
      }
    }
    Result<std::unique_ptr<Connection>> db = Connection::open(options_.conninfo);
    if (!db.ok()) return unreachable(db.status());
    return std::make_unique<PostgresSession>(options_, std::move(*db), stop_, readers_);
  }

  void release(std::unique_ptr<PostgresSession> session) {
    if (!session->healthy()) return;
    std::lock_guard lock(mu_);
    if (static_cast<int>(idle_.size()) < options_.idle_connections) {
      idle_.push_back(std::move(session));
    }
  }

  const PostgresOptions options_;
  std::shared_ptr<StopState> stop_ = std::make_shared<StopState>();
  std::shared_ptr<pg::ReaderConnections> readers_ =
      std::make_shared<pg::ReaderConnections>(options_.conninfo);
  std::mutex mu_;
  std::vector<std::unique_ptr<PostgresSession>> idle_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& options) {
  if (options.files_dir.empty())
    return invalid_argument("the PostgreSQL store needs a files folder");
  std::string staging = options.files_dir + "/.staging";
  SENED_RETURN_IF_ERROR(sqlite::ensure_dir(staging));
  SENED_RETURN_IF_ERROR(sqlite::remove_stale_staged_files(staging, sqlite::kStaleStagingAge));

  Result<std::unique_ptr<Connection>> db = Connection::open(options.conninfo);
  if (!db.ok()) return db.status();
  if (!options.create) {
    Statement q = (*db)->prepare(
        "SELECT count(*) FROM pg_catalog.pg_tables "
        "WHERE schemaname = current_schema() AND tablename = 'schema_migrations'");
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row || q.integer(0) == 0) {
      return not_found(
          "no Sened store in that PostgreSQL database or schema: make one with sened admin init "
          "--store or sened admin store copy --to, or check the address");
    }
  }
  SENED_RETURN_IF_ERROR(migrate(**db));
  auto store = std::make_unique<PostgresStore>(options);
  store->adopt(std::move(*db));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace sened
