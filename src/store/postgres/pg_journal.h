// The PostgreSQL rows of the journal's Merkle tree and of its checkpoints
// (the same tables as the SQLite store's migration 3, in PostgreSQL's
// migration 1; see docs/storage.md). Free functions over an open Connection,
// called by the PostgreSQL store inside its own transactions (writes hold
// its store_lock, so leaves are appended in seq order): they never begin or
// end a transaction themselves.
//
// Thread-compatible: one connection is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/postgres/pg_db.h"
#include "store/store.h"

namespace sened::pg {

// Draws a salt for entry `seq` (hex chain hash `hash_hex`), stores it with
// the leaf data and the nodes the leaf completes. Returns the salt as hex.
// Precondition: entries 1..seq-1 already have their leaves.
Result<std::string> append_leaf(Connection& db, int64_t seq, const std::string& hash_hex);

Result<uint64_t> tree_size(Connection& db);
Result<std::string> tree_root(Connection& db, uint64_t size);
Result<std::vector<std::string>> inclusion_proof(Connection& db, uint64_t index, uint64_t size);
Result<std::vector<std::string>> consistency_proof(Connection& db, uint64_t from, uint64_t to);
Result<std::vector<std::string>> leaf_data(Connection& db, uint64_t begin, uint64_t end);
Result<std::vector<std::string>> node_hashes(Connection& db, int level, uint64_t begin,
                                             uint64_t end);

Status put_checkpoint(Connection& db, const StoredCheckpoint& c);
Result<std::optional<StoredCheckpoint>> latest_checkpoint(Connection& db);
Result<std::optional<StoredCheckpoint>> checkpoint(Connection& db, uint64_t size);
Status add_checkpoint_cosignature(Connection& db, uint64_t size, const std::string& line);
Status set_checkpoint_timestamp(Connection& db, uint64_t size, const std::string& der);

}  // namespace sened::pg
