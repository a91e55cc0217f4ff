// See journal_rows.h. One implementation for both stores: their row APIs
// (sqlite::Database, pg::Connection) take the same SQL with ? parameters.
#include "store/journal_rows.h"

#include <openssl/rand.h>

#include <map>

#include "crypto/digest.h"
#include "journal/checkpoint.h"
#include "journal/merkle.h"
#include "journal/tree.h"
#include "store/postgres/pg_db.h"
#include "store/sqlite/sqlite_db.h"

namespace sened::journal_rows {

// The statement and blob types of each backend's row API.
template <class Db>
struct RowsOf;
template <>
struct RowsOf<sqlite::Database> {
  using Statement = sqlite::Statement;
  using Blob = sqlite::Blob;
};
template <>
struct RowsOf<pg::Connection> {
  using Statement = pg::Statement;
  using Blob = pg::Blob;
};

namespace {

template <class Db>
Result<std::string> read_node(Db& db, journal::NodeId id) {
  auto q = db.prepare("SELECT hash FROM journal_nodes WHERE level = ? AND idx = ?");
  q.bind(id.level, static_cast<int64_t>(id.index));
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) {
    return internal_error("journal node (" + std::to_string(id.level) + ", " +
                          std::to_string(id.index) + ") is missing");
  }
  return q.blob(0);
}

template <class Db>
journal::NodeReader reader(Db& db) {
  return [&db](journal::NodeId id) { return read_node(db, id); };
}

template <class Db>
Status check_size(Db& db, uint64_t size) {
  Result<uint64_t> n = tree_size(db);
  if (!n.ok()) return n.status();
  if (size > *n) {
    return invalid_argument("tree size " + std::to_string(size) + " beyond the journal's " +
                            std::to_string(*n));
  }
  return Status();
}

template <class Db>
Result<std::vector<std::string>> cosignatures(Db& db, uint64_t size) {
  auto q = db.prepare("SELECT line FROM checkpoint_cosignatures WHERE size = ? ORDER BY name");
  q.bind(static_cast<int64_t>(size));
  std::vector<std::string> out;
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(q.text(0));
  }
}

template <class Db>
Result<std::optional<StoredCheckpoint>> one_checkpoint(Db& db, typename RowsOf<Db>::Statement& q) {
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

template <class Db>
Status require_checkpoint(Db& db, uint64_t size) {
  Result<std::optional<StoredCheckpoint>> c = checkpoint(db, size);
  if (!c.ok()) return c.status();
  if (!*c) return not_found("no checkpoint of size " + std::to_string(size));
  return Status();
}

}  // namespace

template <class Db>
Result<std::string> append_leaf(Db& db, int64_t seq, const std::string& hash_hex) {
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

  auto leaf = db.prepare("INSERT INTO journal_leaves (seq, salt, leaf) VALUES (?, ?, ?)");
  leaf.bind(seq, salt_hex, typename RowsOf<Db>::Blob{data});
  SENED_RETURN_IF_ERROR(leaf.run());

  auto nodes = journal::nodes_for_append(static_cast<uint64_t>(seq - 1), journal::leaf_hash(data),
                                         reader(db));
  if (!nodes.ok()) return nodes.status();
  for (const auto& [id, h] : *nodes) {
    auto insert = db.prepare("INSERT INTO journal_nodes (level, idx, hash) VALUES (?, ?, ?)");
    insert.bind(id.level, static_cast<int64_t>(id.index), typename RowsOf<Db>::Blob{h});
    SENED_RETURN_IF_ERROR(insert.run());
  }
  return salt_hex;
}

template <class Db>
Result<uint64_t> tree_size(Db& db) {
  auto q = db.prepare("SELECT coalesce(max(seq), 0) FROM journal_leaves");
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  return static_cast<uint64_t>(q.integer(0));
}

template <class Db>
Result<std::string> tree_root(Db& db, uint64_t size) {
  SENED_RETURN_IF_ERROR(check_size(db, size));
  return journal::stored_root(size, reader(db));
}

template <class Db>
Result<std::vector<std::string>> inclusion_proof(Db& db, uint64_t index, uint64_t size) {
  SENED_RETURN_IF_ERROR(check_size(db, size));
  return journal::stored_inclusion_proof(index, size, reader(db));
}

template <class Db>
Result<std::vector<std::string>> consistency_proof(Db& db, uint64_t from, uint64_t to) {
  SENED_RETURN_IF_ERROR(check_size(db, to));
  return journal::stored_consistency_proof(from, to, reader(db));
}

// The first column of every row `q` gives, as bytes.
template <class Statement>
Result<std::vector<std::string>> first_blobs(Statement& q) {
  std::vector<std::string> out;
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(q.blob(0));
  }
}

template <class Db>
Result<std::vector<std::string>> leaf_data(Db& db, uint64_t begin, uint64_t end) {
  if (begin > end) return invalid_argument("leaf range ends before it begins");
  SENED_RETURN_IF_ERROR(check_size(db, end));
  auto q = db.prepare("SELECT leaf FROM journal_leaves WHERE seq > ? AND seq <= ? ORDER BY seq");
  q.bind(static_cast<int64_t>(begin), static_cast<int64_t>(end));
  Result<std::vector<std::string>> out = first_blobs(q);
  if (out.ok() && out->size() != end - begin) return internal_error("journal leaves are missing");
  return out;
}

template <class Db>
Result<std::vector<std::string>> node_hashes(Db& db, int level, uint64_t begin, uint64_t end) {
  if (begin > end || level < 0 || level > 63) return invalid_argument("bad node range");
  auto q = db.prepare(
      "SELECT hash FROM journal_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx");
  q.bind(level, static_cast<int64_t>(begin), static_cast<int64_t>(end));
  Result<std::vector<std::string>> out = first_blobs(q);
  if (out.ok() && out->size() != end - begin) {
    return invalid_argument("those tree nodes do not exist yet");
  }
  return out;
}

template <class Db>
Status put_checkpoint(Db& db, const StoredCheckpoint& c) {
  Result<std::string> root = tree_root(db, c.size);
  if (!root.ok()) return root.status();
  if (*root != c.root) return invalid_argument("checkpoint root is not the journal's root");
  auto q = db.prepare(
      "INSERT INTO checkpoints (size, root, note, timestamp_token, created_at) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (size) DO NOTHING");
  q.bind(static_cast<int64_t>(c.size), typename RowsOf<Db>::Blob{c.root}, c.note,
         typename RowsOf<Db>::Blob{c.timestamp_token}, c.created_at);
  SENED_RETURN_IF_ERROR(q.run());
  for (const std::string& line : c.cosignatures) {
    SENED_RETURN_IF_ERROR(add_checkpoint_cosignature(db, c.size, line));
  }
  return Status();
}

template <class Db>
Result<std::optional<StoredCheckpoint>> latest_checkpoint(Db& db) {
  auto q = db.prepare(
      "SELECT size, root, note, timestamp_token, created_at FROM checkpoints "
      "ORDER BY size DESC LIMIT 1");
  return one_checkpoint(db, q);
}

template <class Db>
Result<std::optional<StoredCheckpoint>> checkpoint(Db& db, uint64_t size) {
  auto q = db.prepare(
      "SELECT size, root, note, timestamp_token, created_at FROM checkpoints WHERE size = ?");
  q.bind(static_cast<int64_t>(size));
  return one_checkpoint(db, q);
}

template <class Db>
Status add_checkpoint_cosignature(Db& db, uint64_t size, const std::string& line) {
  std::optional<std::string> name = journal::signature_line_key_name(line);
  if (!name) return invalid_argument("not a signature line");
  SENED_RETURN_IF_ERROR(require_checkpoint(db, size));
  auto q = db.prepare(
      "INSERT INTO checkpoint_cosignatures (size, name, line) VALUES (?, ?, ?) "
      "ON CONFLICT (size, name) DO UPDATE SET line = excluded.line");
  q.bind(static_cast<int64_t>(size), *name, line);
  return q.run();
}

template <class Db>
Status set_checkpoint_timestamp(Db& db, uint64_t size, const std::string& der) {
  SENED_RETURN_IF_ERROR(require_checkpoint(db, size));
  auto q = db.prepare("UPDATE checkpoints SET timestamp_token = ? WHERE size = ?");
  q.bind(typename RowsOf<Db>::Blob{der}, static_cast<int64_t>(size));
  return q.run();
}

// The two backends this file serves: each function instantiated for Db.
#define SENED_JOURNAL_ROWS_FOR(Db)                                                      \
  template Result<std::string> append_leaf(Db&, int64_t, const std::string&);           \
  template Result<uint64_t> tree_size(Db&);                                             \
  template Result<std::string> tree_root(Db&, uint64_t);                                \
  template Result<std::vector<std::string>> inclusion_proof(Db&, uint64_t, uint64_t);   \
  template Result<std::vector<std::string>> consistency_proof(Db&, uint64_t, uint64_t); \
  template Result<std::vector<std::string>> leaf_data(Db&, uint64_t, uint64_t);         \
  template Result<std::vector<std::string>> node_hashes(Db&, int, uint64_t, uint64_t);  \
  template Status put_checkpoint(Db&, const StoredCheckpoint&);                         \
  template Result<std::optional<StoredCheckpoint>> latest_checkpoint(Db&);              \
  template Result<std::optional<StoredCheckpoint>> checkpoint(Db&, uint64_t);           \
  template Status add_checkpoint_cosignature(Db&, uint64_t, const std::string&);        \
  template Status set_checkpoint_timestamp(Db&, uint64_t, const std::string&);
SENED_JOURNAL_ROWS_FOR(sqlite::Database)
SENED_JOURNAL_ROWS_FOR(pg::Connection)
#undef SENED_JOURNAL_ROWS_FOR

}  // namespace sened::journal_rows
