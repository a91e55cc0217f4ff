// The SQLite rows of the journal's Merkle tree and of its checkpoints (the
// tables of migration 3, see docs/storage.md). Free functions over an open
// Database, called by SqliteStore inside its own transactions (and by
// migration 3 to fill in the leaves of entries written before it): they
// never begin or end a transaction themselves.
//
// Thread-compatible: the caller holds the store's mutex.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

namespace sened::sqlite {

// The SQL of migration 3.
extern const char* const kJournalTreeSql;

// Draws a salt for entry `seq` (hex chain hash `hash_hex`), stores it with
// the leaf data and the nodes the leaf completes. Returns the salt as hex.
// Precondition: entries 1..seq-1 already have their leaves.
Result<std::string> append_leaf(Database& db, int64_t seq, const std::string& hash_hex);
// Gives every entry without a leaf its salt and leaf, in seq order
// (migration 3 on a journal written before it).
Status backfill_leaves(Database& db);

Result<uint64_t> tree_size(Database& db);
Result<std::string> tree_root(Database& db, uint64_t size);
Result<std::vector<std::string>> inclusion_proof(Database& db, uint64_t index, uint64_t size);
Result<std::vector<std::string>> consistency_proof(Database& db, uint64_t from, uint64_t to);
Result<std::vector<std::string>> leaf_data(Database& db, uint64_t begin, uint64_t end);
Result<std::vector<std::string>> node_hashes(Database& db, int level, uint64_t begin, uint64_t end);

Status put_checkpoint(Database& db, const StoredCheckpoint& c);
Result<std::optional<StoredCheckpoint>> latest_checkpoint(Database& db);
Result<std::optional<StoredCheckpoint>> checkpoint(Database& db, uint64_t size);
Status add_checkpoint_cosignature(Database& db, uint64_t size, const std::string& line);
Status set_checkpoint_timestamp(Database& db, uint64_t size, const std::string& der);

}  // namespace sened::sqlite
