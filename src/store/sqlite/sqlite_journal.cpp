#include "store/sqlite/sqlite_journal.h"

#include <utility>
#include <vector>

#include "store/journal_rows.h"

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
    Result<std::string> salt = journal_rows::append_leaf(db, seq, hash);
    if (!salt.ok()) return salt.status();
  }
  return Status();
}

}  // namespace sened::sqlite
