// Stored-hash Merkle tree algorithms for the journal (RFC 6962 hashing).
//
// The store keeps, besides each leaf, every perfect subtree ("node") that
// the leaves complete: node (level L, index i) is the root of leaves
// [i * 2^L, (i + 1) * 2^L). When leaf n is appended, the nodes it completes
// are (0, n), then (1, n / 2) if n is odd, and so on up while the index is
// odd. With those rows any root, inclusion proof, consistency proof or tile
// costs O(log n) node reads instead of rereading every leaf. This header
// holds the pure arithmetic; a store only reads and writes node rows through
// a NodeReader, so every backend shares it.
//
// Leaf data (the public part of an entry) is
//   SHA-256(lp("sened-leaf-v1") || lp(salt) || lp(entry hash))
// with lp() the 8-byte big-endian length prefix of chain.h, `salt` the 32
// random bytes the store drew for the entry and `entry hash` the 32 raw bytes
// of the entry's v1 chain hash. The Merkle leaf hash is leaf_hash(leaf data).
// Without the salt nobody can test a guess of an entry against its leaf.
//
// All functions are pure and thread-safe (a NodeReader is called only from
// the calling thread).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/domain.h"
#include "core/status.h"

namespace sened::journal {

// First field of every leaf data encoding.
inline constexpr std::string_view kLeafDataTag = "sened-leaf-v1";
// Bytes of a leaf salt (hex in JournalEntry::salt: twice as many digits).
inline constexpr size_t kLeafSaltSize = 32;

// Leaf data of an entry from its raw salt and raw 32-byte chain hash.
std::string leaf_data(std::string_view salt, std::string_view entry_hash_raw);
// Leaf data of an entry as stored (hex salt and hex hash). kInvalidArgument
// when the salt is not 64 hex digits or the hash is not a SHA-256 hex.
Result<std::string> leaf_data_of(const JournalEntry& e);

// A perfect subtree: the root of leaves [index << level, (index + 1) << level).
struct NodeId {
  int level = 0;
  uint64_t index = 0;
  auto operator<=>(const NodeId&) const = default;
};

// A range of leaves [begin, end).
struct LeafRange {
  uint64_t begin = 0;
  uint64_t end = 0;
  auto operator<=>(const LeafRange&) const = default;
};

// The nodes completed by appending leaf `leaf_index`, bottom-up, starting
// with (0, leaf_index).
std::vector<NodeId> completed_nodes(uint64_t leaf_index);

// The largest aligned perfect subtrees that cover [begin, end), left to
// right. Precondition: begin < end.
std::vector<NodeId> cover(LeafRange range);

// The leaf ranges whose roots form RFC 6962 PATH(index, size) and
// PROOF(from, to), in proof order. Preconditions: index < size;
// 0 < from < to (the empty proofs of the trivial cases need no ranges).
std::vector<LeafRange> inclusion_ranges(uint64_t index, uint64_t size);
std::vector<LeafRange> consistency_ranges(uint64_t from, uint64_t to);

// Reads one stored node's 32-byte hash; kNotFound if the store lacks it.
using NodeReader = std::function<Result<std::string>(NodeId)>;

// The hashes of the nodes that leaf `leaf_index`, whose leaf hash is given,
// completes, in completed_nodes() order. Reads the left siblings (nodes
// stored by earlier appends) through `read`.
Result<std::vector<std::pair<NodeId, std::string>>> nodes_for_append(uint64_t leaf_index,
                                                                     std::string_view leaf_hash,
                                                                     const NodeReader& read);

// RFC 6962 MTH of the leaves in `range`, from stored nodes. Precondition:
// the range is one of an RFC 6962 tree's subtrees (as every range above is):
// `begin` is a multiple of a power of two at least the range's width.
Result<std::string> range_hash(LeafRange range, const NodeReader& read);

// Root of the first `size` leaves (empty_root() for 0).
Result<std::string> stored_root(uint64_t size, const NodeReader& read);
// Proofs identical to merkle.h's leaf-list ones. kInvalidArgument for index
// >= size or from > to; the caller checks that `size`/`to` exists.
Result<std::vector<std::string>> stored_inclusion_proof(uint64_t index, uint64_t size,
                                                        const NodeReader& read);
Result<std::vector<std::string>> stored_consistency_proof(uint64_t from, uint64_t to,
                                                          const NodeReader& read);

}  // namespace sened::journal
