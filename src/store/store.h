// The Store: everything the hub keeps, behind one interface.
//
// Two backends implement it (SQLite, the embedded default, and later
// PostgreSQL); callers never know which. Every mutating call is atomic: it
// either commits completely, including its journal entries, or changes
// nothing. A call returns only after its commit is durable (fsync).
//
// Thread safety: all methods may be called from any thread at once; the
// backend serialises writers itself. Methods block on disk, so the hub calls
// them from its blocking executor, never from a network thread.
//
// Errors: kNotFound for a missing participant/document/certificate,
// kConflict for a state clash (duplicate, illegal transition, idempotency key
// reused with other content), kInvalidArgument for bad references (unknown
// recipient), kUnavailable after a failed fsync (the store then refuses all
// writes until restarted), kInternal for anything else.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/domain.h"
#include "core/status.h"

namespace sened {

// A file an upload has already written to `temp_path` (inside the store's
// staging folder, see Store::staging_dir); the store makes durable what it
// keeps (small files inside its commit, large ones fsynced before they are
// renamed), so the caller need not fsync it. `info` holds its size
// and SHA-256 as computed while streaming. The store moves or copies it on
// submit; the caller deletes temp files that the store did not take.
struct StagedFile {
  FileInfo info;
  // Where the upload staged the bytes; empty when `content` holds them.
  std::string temp_path;
  // The file's detached CMS signature (DER), kept inline; when set,
  // info.signature_* describe it (status, signer, digest, size).
  std::optional<std::string> signature;
  // The bytes of a small file that the upload kept in memory (see
  // exchange/api.cpp): creating and removing a staging file per document
  // costs more CPU than the rest of a submit. The stores read files through
  // sqlite::read_staged_file and sqlite::adopt_content_file, which take both.
  // Last, so that brace initialisers naming the fields above stay valid.
  std::optional<std::string> content;
};

struct NewDocument {
  std::string id;  // UUIDv7 made by the caller
  std::string sender;
  DocumentMeta meta;
  std::vector<StagedFile> files;
  std::string created_at;  // RFC 3339 UTC
};

struct SubmitOutcome {
  Document document;
  bool created = false;  // false: an earlier submission with the same sender_ref
};

// Reads a stored file's bytes piece by piece, for files that are neither
// small enough to hand out whole nor on a file system (the PostgreSQL
// store's chunked files). It holds what it needs to reach the store's
// database on its own, so it may outlive the call that made it, but not the
// store. One caller at a time: not thread-safe.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // Copies up to `size` bytes starting at `offset` into `out`; returns how
  // many, fewer than `size` only at the end of the file. kInternal when the
  // stored bytes are missing or shorter than the file's recorded size;
  // kUnavailable when the database cannot be reached.
  virtual Result<size_t> read_at(uint64_t offset, char* out, size_t size) = 0;
};

// Where a stored file's bytes are: inline (small files kept in the database),
// at `path` (content-addressed folder) or behind `reader` (chunks in the
// database). Exactly one is set.
struct FileContent {
  FileInfo info;
  std::optional<std::string> inline_bytes;
  std::optional<std::string> path;
  std::shared_ptr<FileReader> reader;
};

// Calls `sink` with the file's bytes in order, in pieces of at most
// `piece` bytes, whichever way they are stored (never the whole file at once
// unless it is inline). Stops at the first error from the reader or the sink.
Status for_each_piece(const FileContent& content, size_t piece,
                      const std::function<Status(std::string_view)>& sink);

// A status change asked for by a recipient. `status` is kDelivered,
// kRegistered, kRejected, kAssigned or kExecuted.
struct DeliveryUpdate {
  DeliveryStatus status = DeliveryStatus::kDelivered;
  std::string reg_number;  // registered only
  std::string reg_date;    // registered only
  std::string reason;      // rejected (and recalled) only
  std::string at;          // RFC 3339 UTC
  std::string executor;    // assigned only
  std::string reply;       // executed only, optional: the reply document's id
};

// One event of a participant's feed (see docs/api.md, "Events"). Cursors are
// the events' global sequence numbers: increasing, with gaps per participant.
struct Event {
  int64_t cursor = 0;
  std::string participant;  // whose feed it is in
  std::string type;         // document.new, document.status, document.overdue
  std::string document;
  std::string sender;     // the document's sender
  std::string recipient;  // whose delivery the event is about
  std::string status;     // that delivery's status after the event
  std::string at;         // RFC 3339 UTC
  std::string actor;      // participant id, or "hub" for expiry and overdue
  std::string reg_number;
  std::string reg_date;
  std::string reason;
  std::string executor;
  std::string reply;
};

// A participant's webhook: where the hub POSTs its events, and how far the
// pushing got. `cursor` is the last event the endpoint accepted.
struct Webhook {
  std::string participant;
  std::string url;
  std::string secret;  // hex; HMAC-SHA256 key of the signature header
  std::string created_at;
  int64_t cursor = 0;
  int failures = 0;  // consecutive failed attempts
  std::string last_error;
  std::string last_attempt_at;
  std::string last_success_at;
  std::string next_attempt_at;  // empty: as soon as an event waits
};

struct DeliveryChange {
  Delivery delivery;
  bool changed = false;  // false: the same update was already recorded
};

struct InboxItem {
  Document document;
  Delivery delivery;  // the caller's own delivery
};

struct InboxPage {
  std::vector<InboxItem> items;  // in hub order (Document::seq ascending)
  int64_t next_after = 0;        // pass as `after_seq` to continue
};

struct OutboxItem {
  Document document;
  std::vector<Delivery> deliveries;
};

struct OutboxPage {
  std::vector<OutboxItem> items;
  int64_t next_after = 0;
};

// A signed tree head as the hub keeps it (see docs/checkpoints.md).
struct StoredCheckpoint {
  uint64_t size = 0;
  std::string root;  // 32 raw bytes
  // The hub-signed note text as served, without cosignatures.
  std::string note;
  // Extra signature lines of witnesses, each "— <name> <base64>\n", one per
  // key name.
  std::vector<std::string> cosignatures;
  std::string timestamp_token;  // RFC 3161 TimeStampToken, DER; may be empty
  std::string created_at;       // RFC 3339 UTC
};

// A disagreement between the stored rows and the journal, found by audit().
struct AuditProblem {
  int64_t seq = 0;      // the journal entry concerned (0 if none applies)
  std::string problem;  // what is wrong, naming the row
};

// A running watch for changes committed by other processes (see
// Store::watch_changes). Destroying it stops the watching and joins its
// thread; after the destructor returns the callback is not called again.
class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;
};

// Called by a ChangeWatch, on its own thread, with the participants whose
// events changed; a list holding "*" means anyone's (after a reconnect, when
// notifications may have been lost, or when the list was too long to send).
using ChangeCallback = std::function<void(const std::vector<std::string>& participants)>;

class Store {
 public:
  virtual ~Store() = default;

  // --- participants (journaled: participant.added, participant.updated,
  // participant.status) ---
  // Inserts or, when the id exists, updates names/category/obligation/deadline
  // and status.
  virtual Status put_participant(const Participant& p, const std::string& actor) = 0;
  virtual Result<Participant> get_participant(const std::string& id) = 0;
  virtual Result<std::vector<Participant>> list_participants() = 0;
  virtual Status set_participant_status(const std::string& id, ParticipantStatus status,
                                        const std::string& actor) = 0;

  // --- certificates (journaled: certificate.issued, certificate.revoked) ---
  // kConflict if the serial or fingerprint is already registered; kNotFound
  // if the participant does not exist.
  virtual Status add_certificate(const Certificate& cert, const std::string& actor) = 0;
  virtual Result<Certificate> find_certificate_by_fingerprint(const std::string& fingerprint) = 0;
  virtual Result<std::vector<Certificate>> list_certificates() = 0;
  // Marks it revoked (idempotent). kNotFound for an unknown serial.
  virtual Status revoke_certificate(const std::string& serial, const std::string& at,
                                    const std::string& actor) = 0;

  // --- documents ---
  // Folder where uploads stage their temp files (same file system as the
  // content-addressed folder, so a rename moves them).
  virtual std::string staging_dir() const = 0;

  // Stores the document, its files, one queued delivery per recipient (to
  // then cc, duplicates removed) and a document.submitted journal entry, in
  // one durable commit. If (sender, sender_ref) exists: returns it with
  // created=false when the metadata and file digests are the same, else
  // kConflict. kInvalidArgument when a recipient is unknown or not active.
  virtual Result<SubmitOutcome> submit(const NewDocument& doc) = 0;
  virtual Result<Document> get_document(const std::string& id) = 0;
  virtual Result<std::vector<Delivery>> deliveries(const std::string& document_id) = 0;
  virtual Result<FileContent> open_file(const std::string& document_id, int index) = 0;
  // The detached signature (DER) that came with a file; kNotFound if the
  // document, the file or its signature does not exist.
  virtual Result<std::string> open_signature(const std::string& document_id, int index) = 0;

  // --- receipts (docs/receipts.md): signed once, then kept unchanged ---
  // The receipt kept for journal entry `journal_seq`, or nullopt.
  virtual Result<std::optional<std::string>> find_receipt(int64_t journal_seq) = 0;
  // Keeps `der` as the receipt of entry `journal_seq` (of `document_id`,
  // for `participant`) unless one is kept already; returns the kept one, so
  // that two racing signers agree on a single receipt.
  virtual Result<std::string> keep_receipt(int64_t journal_seq, const std::string& document_id,
                                           const std::string& participant,
                                           const std::string& der) = 0;

  // Documents addressed to `participant` with seq > after_seq, in hub order;
  // only those still queued unless `all`.
  virtual Result<InboxPage> inbox(const std::string& participant, int64_t after_seq, bool all,
                                  int limit) = 0;
  virtual Result<OutboxPage> outbox(const std::string& participant, int64_t after_seq,
                                    int limit) = 0;

  // Applies a recipient's status change and journals it (delivery.delivered,
  // delivery.registered, delivery.rejected). Legal: queued->delivered,
  // delivered->registered|rejected, and queued->registered|rejected (the
  // implied delivered step is recorded first, with its own entry). Repeating
  // the current status with the same details returns changed=false and
  // journals nothing; anything else illegal is kConflict with the current
  // state in the message. kNotFound if the document is not addressed to
  // `recipient`.
  virtual Result<DeliveryChange> update_delivery(const std::string& document_id,
                                                 const std::string& recipient,
                                                 const DeliveryUpdate& update) = 0;

  // Lifecycle steps after registration (kAssigned, kExecuted) go through
  // update_delivery too: registered -> assigned -> executed, registered ->
  // executed, assigned -> assigned with another executor (reassignment);
  // from queued the implied delivered step is recorded first. An executed
  // step naming a reply must name a document the recipient sent in reply to
  // this one (else kInvalidArgument).

  // The sender withdraws a document: each of its deliveries still queued
  // (only `recipient`'s when not empty) becomes recalled, journaled
  // (delivery.recalled). kNotFound unless `sender` sent it; kConflict, with
  // the states, when no delivery concerned is queued any more. Deliveries
  // already recalled count as done (repeat: changed=false).
  virtual Result<std::vector<DeliveryChange>> recall(const std::string& document_id,
                                                     const std::string& sender,
                                                     const std::string& recipient,
                                                     const std::string& reason,
                                                     const std::string& at) = 0;
  // Every delivery still queued of a document created before `created_before`
  // becomes expired (delivery.expired, actor "hub"). Returns how many.
  virtual Result<int> expire_deliveries(const std::string& created_before,
                                        const std::string& at) = 0;
  // Every delivery of a document whose due date (ISO date) is before `today`,
  // not yet executed, rejected, recalled or expired, and not flagged yet, is
  // flagged overdue (delivery.overdue; a document.overdue event to both
  // sides). Returns how many.
  virtual Result<int> mark_overdue(const std::string& today, const std::string& at) = 0;

  // --- events (written in the same commit as the change they report) ---
  // `participant`'s events with cursor > after, oldest first, at most limit.
  virtual Result<std::vector<Event>> events(const std::string& participant, int64_t after,
                                            int limit) = 0;
  // The highest cursor handed out so far (0 when none).
  virtual Result<int64_t> last_event_cursor() = 0;
  // The position a participant acknowledged (0 when never).
  virtual Result<int64_t> event_position(const std::string& participant) = 0;
  // Moves the position forward to `cursor` (never back: a lower one changes
  // nothing). kInvalidArgument beyond last_event_cursor().
  virtual Result<int64_t> acknowledge_events(const std::string& participant, int64_t cursor) = 0;

  // --- webhooks ---
  // Registers or replaces the participant's webhook; its cursor starts at the
  // current last event (no backlog is pushed).
  virtual Status put_webhook(const Webhook& hook) = 0;
  virtual Result<Webhook> get_webhook(const std::string& participant) = 0;
  virtual Status delete_webhook(const std::string& participant) = 0;
  virtual Result<std::vector<Webhook>> list_webhooks() = 0;
  // Records an attempt: on success the cursor moves to `cursor` and failures
  // reset; on failure failures grows and `error`, `next_attempt_at` are kept.
  virtual Status record_webhook_attempt(const std::string& participant, bool success,
                                        int64_t cursor, const std::string& error,
                                        const std::string& at,
                                        const std::string& next_attempt_at) = 0;

  // --- journal ---
  // Every entry about one document, in order.
  virtual Result<std::vector<JournalEntry>> history(const std::string& document_id) = 0;
  // Entries with seq > after_seq, at most `limit`, in order.
  virtual Result<std::vector<JournalEntry>> journal(int64_t after_seq, int limit) = 0;
  // The highest journal seq that a document or delivery row claims to have
  // written (used by verify to notice a truncated journal).
  virtual Result<int64_t> highest_referenced_journal_seq() = 0;

  // --- the journal's Merkle tree (see journal/tree.h) ---
  // Leaf i is entry seq i + 1; every entry appended also stores its salt,
  // its leaf data and the tree nodes it completes, in the same commit.
  // Sizes beyond journal_size() and indexes not below the size are
  // kInvalidArgument. Hashes are 32 raw bytes.
  virtual Result<uint64_t> journal_size() = 0;
  virtual Result<std::string> tree_root(uint64_t size) = 0;
  virtual Result<std::vector<std::string>> inclusion_proof(uint64_t index, uint64_t size) = 0;
  virtual Result<std::vector<std::string>> consistency_proof(uint64_t from, uint64_t to) = 0;
  // Leaf data (32 bytes each) of leaves [begin, end), for tiles and exports.
  virtual Result<std::vector<std::string>> leaf_data(uint64_t begin, uint64_t end) = 0;
  // Hashes of the stored nodes (level, index) for index in [begin, end):
  // the contents of a tlog tile. kInvalidArgument if one is not stored yet.
  virtual Result<std::vector<std::string>> node_hashes(int level, uint64_t begin, uint64_t end) = 0;

  // --- checkpoints ---
  // Stores a signed tree head; a second one for the same size changes
  // nothing (idempotent). kInvalidArgument if `size` exceeds journal_size()
  // or `root` is not tree_root(size).
  virtual Status put_checkpoint(const StoredCheckpoint& checkpoint) = 0;
  // The one with the highest size, or nullopt when none is stored.
  virtual Result<std::optional<StoredCheckpoint>> latest_checkpoint() = 0;
  virtual Result<std::optional<StoredCheckpoint>> checkpoint(uint64_t size) = 0;
  // Adds a witness's signature line ("— name base64\n"), replacing an
  // earlier line of the same key name. kNotFound for an unknown size,
  // kInvalidArgument for a malformed line.
  virtual Status add_checkpoint_cosignature(uint64_t size, const std::string& line) = 0;
  // Sets the RFC 3161 token (DER) of a checkpoint. kNotFound for an unknown size.
  virtual Status set_checkpoint_timestamp(uint64_t size, const std::string& der) = 0;

  // Cross-checks the stored rows against the journal, so that an edit of a
  // row outside the hub is noticed even when the journal itself is intact:
  // every document, delivery, participant and certificate row must match the
  // content digest of the journal entry it names (journal_seq); every
  // document and certificate that the journal says was submitted or issued
  // must still exist; no row may exist without its journal entry; and, with
  // `check_files`, every stored file's bytes must hash to its recorded
  // SHA-256. Returns the problems in journal order (empty when consistent).
  virtual Result<std::vector<AuditProblem>> audit(bool check_files) = 0;

  // --- leases: one holder at a time for work that must run on one node ---
  // Takes lease `name` for `holder`, or renews it when `holder` has it,
  // until now + ttl on the database's clock (so the nodes' clocks do not
  // matter). Returns true when `holder` holds it after the call, false when
  // another holder's lease has not expired yet. Atomic: two holders racing
  // for a free lease never both get true. kInvalidArgument for an empty name
  // or holder or a ttl that is not positive. Not journaled.
  virtual Result<bool> acquire_lease(const std::string& name, const std::string& holder,
                                     std::chrono::milliseconds ttl) = 0;
  // Gives the lease up at once when `holder` has it; otherwise changes
  // nothing (no error: an expired or taken-over lease is already given up).
  virtual Status release_lease(const std::string& name, const std::string& holder) = 0;

  // --- changes made by other processes on the same database ---
  // Starts watching for events committed by any process (other hub nodes)
  // and calls `on_change` for each commit that wrote events, after the
  // commit. Notifications may be lost on a reconnect; the watch then calls
  // `on_change` with "*" so that readers catch up from their cursors.
  // Returns nullptr when the backend has no other writers to hear of (the
  // embedded store: one process owns it), kUnavailable when the watch cannot
  // start.
  virtual Result<std::unique_ptr<ChangeWatch>> watch_changes(ChangeCallback on_change) = 0;
};

struct SqliteOptions {
  std::string database_path;               // e.g. DIR/sened.db
  std::string files_dir;                   // content-addressed folder, e.g. DIR/files
  uint64_t inline_file_limit = 64 * 1024;  // files up to this size live in the database
  // Tests only: a batch of concurrent submits (group commit) waits until this
  // many are queued, or sqlite::kGatherWait has passed, before it writes, so
  // that a test can put chosen submits into one transaction. 1: never wait.
  size_t gather_submits = 1;
};

// Opens (creating if needed) the SQLite store and runs pending migrations.
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

}  // namespace sened
