#include "store/sqlite/sqlite_journal.h"

#include <openssl/rand.h>

#include <map>

#include "crypto/digest.h"
#include "journal/checkpoint.h"
#include "journal/merkle.h"
#include "journal/tree.h"

namespace sened::sqlite {

const char* const kJournalTreeSql = R"sql(
-- One row per journal entry: its secret salt and its public leaf data
-- (journal/tree.h). Kept beside the journal table, whose rows the triggers
-- of migration 1 make immutable.
CREATE TABLE journal_leaves (
  seq INTEGER PRIMARY KEY,
  salt TEXT NOT NULL,
  leaf BLOB NOT NULL
) STRICT;

-- Every perfect subtree the leaves complete: node (level, idx) is the root
-- of leaves [idx * 2^level, (idx + 1) * 2^level), level 0 the leaf hashes.
CREATE TABLE journal_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER journal_leaves_no_update BEFORE UPDATE ON journal_leaves
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_leaves_no_delete BEFORE DELETE ON journal_leaves
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_nodes_no_update BEFORE UPDATE ON journal_nodes
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_nodes_no_delete BEFORE DELETE ON journal_nodes
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;

-- Signed tree heads, one per size.
CREATE TABLE checkpoints (
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  note TEXT NOT NULL,
  timestamp_token BLOB NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE checkpoint_cosignatures (
  size INTEGER NOT NULL REFERENCES checkpoints(size),
  name TEXT NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (size, name)
) STRICT;
)sql";

namespace {

Result<std::string> read_node(Database& db, journal::NodeId id) {
  Statement q = db.prepare("SELECT hash FROM journal_nodes WHERE level = ? AND idx = ?");
  q.bind(id.level, static_cast<int64_t>(id.index));
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) {
    return internal_error("journal node (" + std::to_string(id.level) + ", " +
                          std::to_string(id.index) + ") is missing");
  }
  return q.blob(0);
}

journal::NodeReader reader(Database& db) {
  return [&db](journal::NodeId id) { return read_node(db, id); };
}

Status check_size(Database& db, uint64_t size) {
  Result<uint64_t> n = tree_size(db);
  if (!n.ok()) return n.status();
  if (size > *n) {
    return invalid_argument("tree size " + std::to_string(size) + " beyond the journal's " +
                            std::to_string(*n));
  }
  return Status();
}

Result<std::vector<std::string>> cosignatures(Database& db, uint64_t size) {
  Statement q = db.prepare("SELECT line FROM checkpoint_cosignatures WHERE size = ? ORDER BY name");
  q.bind(static_cast<int64_t>(size));
  std::vector<std::string> out;
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(q.text(0));
  }
}

Result<std::optional<StoredCheckpoint>> one_checkpoint(Database& db, Statement& q) {
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<StoredCheckpoint>();
  StoredCheckpoint c;
  c.size = static_cast<uint64_t>(q.integer(0));
  c.root = q.blob(1);
  c.note = q.text(2);
  c.timestamp_token = q.blob(3);
  c.created_at = q.text(4);
  Result<std::vector<std::string>> cos = cosignatures(db, c.size);
  if (!cos.ok()) return cos.status();
  c.cosignatures = std::move(*cos);
  return std::optional<StoredCheckpoint>(std::move(c));
}

Status require_checkpoint(Database& db, uint64_t size) {
  Result<std::optional<StoredCheckpoint>> c = checkpoint(db, size);
  if (!c.ok()) return c.status();
  if (!*c) return not_found("no checkpoint of size " + std::to_string(size));
  return Status();
}

}  // namespace

Result<std::string> append_leaf(Database& db, int64_t seq, const std::string& hash_hex) {
  std::string salt(journal::kLeafSaltSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    return internal_error("no randomness for a journal salt");
  }
  std::optional<std::string> hash = crypto::from_hex(hash_hex);
  if (!hash || hash->size() != journal::kMerkleHashSize) {
    return internal_error("journal entry " + std::to_string(seq) + " has a malformed hash");
  }
  std::string data = journal::leaf_data(salt, *hash);
  std::string salt_hex = crypto::to_hex(salt);

  Statement leaf = db.prepare("INSERT INTO journal_leaves (seq, salt, leaf) VALUES (?, ?, ?)");
  leaf.bind(seq, salt_hex, Blob{data});
  SENED_RETURN_IF_ERROR(leaf.run());

  auto nodes = journal::nodes_for_append(static_cast<uint64_t>(seq - 1), journal::leaf_hash(data),
                                         reader(db));
  if (!nodes.ok()) return nodes.status();
  for (const auto& [id, h] : *nodes) {
    Statement insert = db.prepare("INSERT INTO journal_nodes (level, idx, hash) VALUES (?, ?, ?)");
    insert.bind(id.level, static_cast<int64_t>(id.index), Blob{h});
    SENED_RETURN_IF_ERROR(insert.run());
  }
  return salt_hex;
}

Status backfill_leaves(Database& db) {
  // Entries are read whole first: a statement must not stay open across the
  // inserts that follow.
  Statement q = db.prepare(
      "SELECT j.seq, j.hash FROM journal j LEFT JOIN journal_leaves l ON l.seq = j.seq "
      "WHERE l.seq IS NULL ORDER BY j.seq");
  std::vector<std::pair<int64_t, std::string>> missing;
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    missing.emplace_back(q.integer(0), q.text(1));
  }
  for (const auto& [seq, hash] : missing) {
    Result<std::string> salt = append_leaf(db, seq, hash);
    if (!salt.ok()) return salt.status();
  }
  return Status();
}

Result<uint64_t> tree_size(Database& db) {
  Statement q = db.prepare("SELECT coalesce(max(seq), 0) FROM journal_leaves");
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  return static_cast<uint64_t>(q.integer(0));
}

Result<std::string> tree_root(Database& db, uint64_t size) {
  SENED_RETURN_IF_ERROR(check_size(db, size));
  return journal::stored_root(size, reader(db));
}

Result<std::vector<std::string>> inclusion_proof(Database& db, uint64_t index, uint64_t size) {
  SENED_RETURN_IF_ERROR(check_size(db, size));
  return journal::stored_inclusion_proof(index, size, reader(db));
}

Result<std::vector<std::string>> consistency_proof(Database& db, uint64_t from, uint64_t to) {
  SENED_RETURN_IF_ERROR(check_size(db, to));
  return journal::stored_consistency_proof(from, to, reader(db));
}

Result<std::vector<std::string>> leaf_data(Database& db, uint64_t begin, uint64_t end) {
  if (begin > end) return invalid_argument("leaf range ends before it begins");
  SENED_RETURN_IF_ERROR(check_size(db, end));
  Statement q =
      db.prepare("SELECT leaf FROM journal_leaves WHERE seq > ? AND seq <= ? ORDER BY seq");
  q.bind(static_cast<int64_t>(begin), static_cast<int64_t>(end));
  std::vector<std::string> out;
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(q.blob(0));
  }
  if (out.size() != end - begin) return internal_error("journal leaves are missing");
  return out;
}

Result<std::vector<std::string>> node_hashes(Database& db, int level, uint64_t begin,
                                             uint64_t end) {
  if (begin > end || level < 0 || level > 63) return invalid_argument("bad node range");
  Statement q = db.prepare(
      "SELECT hash FROM journal_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx");
  q.bind(level, static_cast<int64_t>(begin), static_cast<int64_t>(end));
  std::vector<std::string> out;
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(q.blob(0));
  }
  if (out.size() != end - begin) return invalid_argument("those tree nodes do not exist yet");
  return out;
}

Status put_checkpoint(Database& db, const StoredCheckpoint& c) {
  Result<std::string> root = tree_root(db, c.size);
  if (!root.ok()) return root.status();
  if (*root != c.root) return invalid_argument("checkpoint root is not the journal's root");
  Statement q = db.prepare(
      "INSERT INTO checkpoints (size, root, note, timestamp_token, created_at) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (size) DO NOTHING");
  q.bind(static_cast<int64_t>(c.size), Blob{c.root}, c.note, Blob{c.timestamp_token}, c.created_at);
  SENED_RETURN_IF_ERROR(q.run());
  for (const std::string& line : c.cosignatures) {
    SENED_RETURN_IF_ERROR(add_checkpoint_cosignature(db, c.size, line));
  }
  return Status();
}

Result<std::optional<StoredCheckpoint>> latest_checkpoint(Database& db) {
  Statement q = db.prepare(
      "SELECT size, root, note, timestamp_token, created_at FROM checkpoints "
      "ORDER BY size DESC LIMIT 1");
  return one_checkpoint(db, q);
}

Result<std::optional<StoredCheckpoint>> checkpoint(Database& db, uint64_t size) {
  Statement q = db.prepare(
      "SELECT size, root, note, timestamp_token, created_at FROM checkpoints WHERE size = ?");
  q.bind(static_cast<int64_t>(size));
  return one_checkpoint(db, q);
}

Status add_checkpoint_cosignature(Database& db, uint64_t size, const std::string& line) {
  std::optional<std::string> name = journal::signature_line_key_name(line);
  if (!name) return invalid_argument("not a signature line");
  SENED_RETURN_IF_ERROR(require_checkpoint(db, size));
  Statement q = db.prepare(
      "INSERT INTO checkpoint_cosignatures (size, name, line) VALUES (?, ?, ?) "
      "ON CONFLICT (size, name) DO UPDATE SET line = excluded.line");
  q.bind(static_cast<int64_t>(size), *name, line);
  return q.run();
}

Status set_checkpoint_timestamp(Database& db, uint64_t size, const std::string& der) {
  SENED_RETURN_IF_ERROR(require_checkpoint(db, size));
  Statement q = db.prepare("UPDATE checkpoints SET timestamp_token = ? WHERE size = ?");
  q.bind(Blob{der}, static_cast<int64_t>(size));
  return q.run();
}

}  // namespace sened::sqlite
