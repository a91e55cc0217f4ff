// The rows of the journal's Merkle tree and of its checkpoints (the tables
// journal_leaves, journal_nodes, checkpoints and checkpoint_cosignatures; see
// docs/storage.md), read and written the same way by both stores. Free
// functions over an open connection, instantiated for sqlite::Database and
// pg::Connection, called by the stores inside their own transactions: they
// never begin or end a transaction themselves, and the caller serialises
// appends (so leaves are appended in seq order).
//
// Thread-compatible: one connection is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace sened::journal_rows {

// Draws a salt for entry `seq` (hex chain hash `hash_hex`), stores it with
// the leaf data and the nodes the leaf completes. Returns the salt as hex.
// Precondition: entries 1..seq-1 already have their leaves.
template <class Db>
Result<std::string> append_leaf(Db& db, int64_t seq, const std::string& hash_hex);

template <class Db>
Result<uint64_t> tree_size(Db& db);
template <class Db>
Result<std::string> tree_root(Db& db, uint64_t size);
template <class Db>
Result<std::vector<std::string>> inclusion_proof(Db& db, uint64_t index, uint64_t size);
template <class Db>
Result<std::vector<std::string>> consistency_proof(Db& db, uint64_t from, uint64_t to);
template <class Db>
Result<std::vector<std::string>> leaf_data(Db& db, uint64_t begin, uint64_t end);
template <class Db>
Result<std::vector<std::string>> node_hashes(Db& db, int level, uint64_t begin, uint64_t end);

template <class Db>
Status put_checkpoint(Db& db, const StoredCheckpoint& c);
template <class Db>
Result<std::optional<StoredCheckpoint>> latest_checkpoint(Db& db);
template <class Db>
Result<std::optional<StoredCheckpoint>> checkpoint(Db& db, uint64_t size);
template <class Db>
Status add_checkpoint_cosignature(Db& db, uint64_t size, const std::string& line);
template <class Db>
Status set_checkpoint_timestamp(Db& db, uint64_t size, const std::string& der);

}  // namespace sened::journal_rows
