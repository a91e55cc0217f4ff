// SQLite's migration 3: the tables of the journal's Merkle tree and of its
// checkpoints (see docs/storage.md; store/journal_rows.h reads and writes
// them), and the back-fill of leaves for entries written before it.
#pragma once

#include "core/status.h"
#include "store/sqlite/sqlite_db.h"

namespace sened::sqlite {

// The SQL of migration 3.
extern const char* const kJournalTreeSql;

// Gives every entry without a leaf its salt and leaf, in seq order
// (migration 3 on a journal written before it).
Status backfill_leaves(Database& db);

}  // namespace sened::sqlite
