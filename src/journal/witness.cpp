#include "journal/witness.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/fd.h"
#include "crypto/digest.h"
#include "journal/cosignature.h"
#include "journal/merkle.h"
#include "store/sqlite/sqlite_db.h"

namespace sened::journal {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
  origin TEXT PRIMARY KEY,
  log_vkey TEXT NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  root BLOB NOT NULL DEFAULT x'',
  note TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS refused (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  origin TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  note TEXT NOT NULL
);
)sql";

constexpr std::string_view kTextType = "text/plain; charset=utf-8";

WitnessAnswer fail(int status, std::string why) {
  return WitnessAnswer{status, std::string(kTextType), why + "\n", why};
}

WitnessAnswer size_conflict(uint64_t known, std::string why) {
  return WitnessAnswer{409, std::string(kTlogSizeContentType), std::to_string(known) + "\n",
                       std::move(why)};
}

uint64_t system_seconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Plain decimal, no leading zero unless the value is 0, no overflow.
std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

struct ParsedRequest {
  uint64_t old_size = 0;
  std::vector<std::string> proof;
  std::string_view note;
};

// "old N\n", up to 63 base64 hash lines, "\n", then the signed checkpoint.
Result<ParsedRequest> parse_request(std::string_view body) {
  if (body.size() > kMaxWitnessRequestBytes) return invalid_argument("request body too large");
  ParsedRequest out;
  size_t nl = body.find('\n');
  if (nl == std::string_view::npos || !body.starts_with("old ")) {
    return invalid_argument("request does not start with an old size line");
  }
  std::optional<uint64_t> old = parse_decimal(body.substr(4, nl - 4));
  if (!old) return invalid_argument("old size is not a plain decimal number");
  out.old_size = *old;
  size_t pos = nl + 1;
  for (;;) {
    nl = body.find('\n', pos);
    if (nl == std::string_view::npos) return invalid_argument("request has no empty line");
    std::string_view line = body.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) break;
    if (out.proof.size() == kMaxWitnessProofLines) {
      return invalid_argument("more than 63 consistency proof lines");
    }
    std::optional<std::string> hash = crypto::base64_decode(line);
    if (!hash || hash->size() != kMerkleHashSize || crypto::base64_encode(*hash) != line) {
      return invalid_argument("a consistency proof line is not a base64 32-byte hash");
    }
    out.proof.push_back(std::move(*hash));
  }
  out.note = body.substr(pos);
  return out;
}

Status write_new_file(const std::string& path, const std::string& bytes, int mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return unavailable("cannot create " + path);
  bool ok = write_all(fd, bytes) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return unavailable("cannot write " + path);
  return Status::ok_status();
}

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return unavailable("cannot open " + dir);
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? Status::ok_status() : unavailable("cannot fsync " + dir);
}

Result<std::unique_ptr<sqlite::Database>> open_db(const std::string& path) {
  auto db = sqlite::Database::open(path);
  if (!db.ok()) return db.status();
  sqlite3_busy_timeout((*db)->handle(), 5000);
  // FULL: a cosignature only leaves after the state that justifies it is on disk.
  SENED_RETURN_IF_ERROR((*db)->exec("PRAGMA journal_mode=WAL"));
  SENED_RETURN_IF_ERROR((*db)->exec("PRAGMA synchronous=FULL"));
  SENED_RETURN_IF_ERROR((*db)->exec(kSchema));
  return std::move(*db);
}

struct LogRow {
  std::string log_vkey;
  uint64_t size = 0;
  std::string root;
};

Result<std::optional<LogRow>> read_log(sqlite::Database& db, const std::string& origin) {
  auto st = db.prepare("SELECT log_vkey, size, root FROM logs WHERE origin = ?");
  st.bind(origin);
  Result<bool> row = st.next();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<LogRow>();
  return std::optional<LogRow>(
      LogRow{st.text(0), static_cast<uint64_t>(st.integer(1)), st.blob(2)});
}

// Commits on success, rolls back if destroyed without commit().
class Transaction {
 public:
  explicit Transaction(sqlite::Database& db) : db_(db) {}
  ~Transaction() {
    if (open_) (void)db_.exec("ROLLBACK");
  }
  Status begin() {
    SENED_RETURN_IF_ERROR(db_.exec("BEGIN IMMEDIATE"));
    open_ = true;
    return Status::ok_status();
  }
  Status commit() {
    open_ = false;
    return db_.exec("COMMIT");
  }

 private:
  sqlite::Database& db_;
  bool open_ = false;
};

}  // namespace

Witness::Witness(NoteKey key, std::unique_ptr<sqlite::Database> db)
    : key_(std::move(key)), db_(std::move(db)), clock_(system_seconds) {}

Witness::~Witness() = default;

Status Witness::init(const std::string& dir, const std::string& name) {
  if (!valid_key_name(name)) return invalid_argument("invalid witness name: " + name);
  std::string key_path = dir + "/" + std::string(kWitnessKeyFile);
  std::string db_path = dir + "/" + std::string(kWitnessDbFile);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return unavailable("cannot create " + dir + ": " + ec.message());
  if (fs::exists(key_path) || fs::exists(db_path)) {
    return conflict(dir + " already holds a witness");
  }

  Result<NoteKey> key = make_note_key(name);
  if (!key.ok()) return key.status();
  auto db = open_db(db_path);
  if (!db.ok()) return db.status();
  auto st = (*db)->prepare("INSERT INTO meta (key, value) VALUES ('name', ?)");
  st.bind(name);
  SENED_RETURN_IF_ERROR(st.run());
  // The key is written last: a folder with a key is a complete witness.
  SENED_RETURN_IF_ERROR(write_new_file(key_path, key->private_key_pem, 0600));
  return fsync_dir(dir);
}

Result<std::unique_ptr<Witness>> Witness::open(const std::string& dir) {
  std::string key_path = dir + "/" + std::string(kWitnessKeyFile);
  std::string db_path = dir + "/" + std::string(kWitnessDbFile);
  if (!fs::exists(key_path) || !fs::exists(db_path)) {
    return not_found(dir + " is not a witness folder (run `sened witness init`)");
  }
  auto db = open_db(db_path);
  if (!db.ok()) return db.status();
  auto st = (*db)->prepare("SELECT value FROM meta WHERE key = 'name'");
  Result<bool> row = st.next();
  if (!row.ok()) return row.status();
  if (!*row) return not_found("witness database has no name");
  std::string name = st.text(0);

  std::ifstream in(key_path, std::ios::binary);
  std::stringstream pem;
  pem << in.rdbuf();
  if (!in) return unavailable("cannot read " + key_path);
  Result<NoteKey> key = load_note_key(name, pem.str());
  if (!key.ok()) return key.status().with_context(key_path);
  return std::unique_ptr<Witness>(new Witness(std::move(*key), std::move(*db)));
}

std::string Witness::verifier_key() const { return witness_verifier_key_string(key_); }

Status Witness::add_log(const std::string& origin, const std::string& log_vkey) {
  Result<Checkpoint> probe =
      parse_checkpoint_body(origin + "\n0\n" + crypto::base64_encode(empty_root()) + "\n");
  if (origin.empty() || !probe.ok() || probe->origin != origin) {
    return invalid_argument("invalid log origin: " + origin);
  }
  Result<NoteKey> key = parse_verifier_key(log_vkey);
  if (!key.ok()) return key.status().with_context("log key");

  std::lock_guard lock(mu_);
  auto existing = read_log(*db_, origin);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    if ((*existing)->log_vkey == log_vkey) return Status::ok_status();
    return conflict("log " + origin + " is already witnessed with another key");
  }
  auto st = db_->prepare("INSERT INTO logs (origin, log_vkey) VALUES (?, ?)");
  st.bind(origin, log_vkey);
  return st.run();
}

Result<std::vector<WitnessedLog>> Witness::logs() const {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT origin, log_vkey, size, root FROM logs ORDER BY origin");
  std::vector<WitnessedLog> out;
  for (;;) {
    Result<bool> row = st.next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({st.text(0), st.text(1), static_cast<uint64_t>(st.integer(2)), st.blob(3)});
  }
  return out;
}

Result<int> Witness::refused_count(const std::string& origin) const {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT COUNT(*) FROM refused WHERE origin = ?");
  st.bind(origin);
  Result<bool> row = st.next();
  if (!row.ok()) return row.status();
  return static_cast<int>(st.integer(0));
}

WitnessAnswer Witness::add_checkpoint(std::string_view request_body) {
  Result<ParsedRequest> req = parse_request(request_body);
  if (!req.ok()) return fail(400, req.status().message());
  return add_parsed(req->old_size, req->proof, req->note);
}

WitnessAnswer Witness::add_parsed(uint64_t old_size, const std::vector<std::string>& proof,
                                  std::string_view note) {
  Result<NoteParts> parts = split_note(note);
  if (!parts.ok()) return fail(400, "checkpoint: " + parts.status().message());
  Result<Checkpoint> cp = parse_checkpoint_body(parts->body);
  if (!cp.ok()) return fail(400, "checkpoint: " + cp.status().message());

  std::lock_guard lock(mu_);
  Transaction tx(*db_);
  if (Status st = tx.begin(); !st.ok()) return fail(503, "witness state: " + st.message());
  auto row = read_log(*db_, cp->origin);
  if (!row.ok()) return fail(500, "witness state: " + row.status().message());
  if (!row->has_value()) return fail(404, "unknown log origin " + cp->origin);
  const LogRow& known = **row;

  // Only the log's own key counts; other signature lines are ignored.
  Result<NoteKey> log_key = parse_verifier_key(known.log_vkey);
  if (!log_key.ok()) return fail(500, "stored log key: " + log_key.status().message());
  Result<VerifiedNote> opened = open_note(note, {*log_key});
  if (!opened.ok()) {
    int status = opened.status().code() == Code::kPermissionDenied ? 403 : 400;
    return fail(status, "checkpoint signature: " + opened.status().message());
  }

  if (old_size > cp->size) return fail(400, "old size is larger than the checkpoint size");
  if (old_size != known.size) {
    return size_conflict(known.size, "old size " + std::to_string(old_size) +
                                         " is not the last cosigned size " +
                                         std::to_string(known.size));
  }
  if (old_size == cp->size && old_size > 0 && cp->root != known.root) {
    record_refused(cp->origin, note);
    (void)tx.commit();
    return size_conflict(known.size, "same size as the last cosigned checkpoint, other root");
  }
  std::string old_root = known.size == 0 ? empty_root() : known.root;
  if (Status st = verify_consistency(old_size, cp->size, old_root, cp->root, proof); !st.ok()) {
    // Anyone can pair the log's public checkpoint with a junk proof, so a
    // failed proof is kept as evidence only when it proves a fork: it leads
    // to the signed new root from an old root other than the cosigned one.
    if (proves_fork(old_size, cp->size, old_root, cp->root, proof)) {
      record_refused(cp->origin, note);
      (void)tx.commit();
      return fail(422,
                  "consistency proof shows a fork: the checkpoint's tree does not extend "
                  "the last cosigned one");
    }
    return fail(422, "consistency proof does not verify: " + st.message());
  }

  // Compare-and-swap on the size inside the transaction: the state moves
  // only forward from the exact tree this request was checked against.
  uint64_t now = clock_();
  auto up = db_->prepare(
      "UPDATE logs SET size = ?, root = ?, note = ?, updated_at = ? WHERE origin = ? AND size = ?");
  up.bind(static_cast<int64_t>(cp->size), sqlite::Blob{cp->root}, std::string(note),
          static_cast<int64_t>(now), cp->origin, static_cast<int64_t>(known.size));
  if (Status st = up.run(); !st.ok()) return fail(503, "witness state: " + st.message());
  if (sqlite3_changes(db_->handle()) != 1) return fail(503, "witness state changed meanwhile");
  if (Status st = tx.commit(); !st.ok()) return fail(503, "witness state: " + st.message());

  Result<std::string> line = make_cosignature_line(parts->body, key_, now);
  if (!line.ok()) return fail(500, "cosigning: " + line.status().message());
  return WitnessAnswer{200, std::string(kTextType), *line, "cosigned"};
}

void Witness::record_refused(const std::string& origin, std::string_view note) {
  // Evidence of a misbehaving log; losing it does not change any answer.
  // The same note again adds nothing: a replay cannot push other evidence out.
  auto ins = db_->prepare(
      "INSERT INTO refused (origin, received_at, note) SELECT ?, ?, ? WHERE NOT EXISTS "
      "(SELECT 1 FROM refused WHERE origin = ? AND note = ?)");
  ins.bind(origin, static_cast<int64_t>(clock_()), std::string(note), origin, std::string(note));
  (void)ins.run();
  auto trim = db_->prepare(
      "DELETE FROM refused WHERE origin = ? AND id NOT IN "
      "(SELECT id FROM refused WHERE origin = ? ORDER BY id DESC LIMIT ?)");
  trim.bind(origin, origin, kMaxRefusedPerLog);
  (void)trim.run();
}

}  // namespace sened::journal
