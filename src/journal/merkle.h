// Merkle tree hashing for the verifiable journal (RFC 6962, restated in RFC 9162).
//
// The journal's entries are the leaves of one append-only Merkle tree. A
// tree head (size and root) commits to every entry; an inclusion proof shows
// that one entry is in a tree head, and a consistency proof shows that a
// later tree head extends an earlier one without changing anything. The
// hashing is RFC 6962's, so third-party tools can check our proofs:
//
//   leaf hash = SHA-256(0x00 || leaf data)
//   node hash = SHA-256(0x01 || left || right)
//   root of n > 1 leaves = node hash(root of the first k, root of the rest),
//                          with k the largest power of two smaller than n
//   root of no leaves = SHA-256 of the empty string
//
// Every hash here is 32 raw bytes in a std::string. All free functions are
// pure and thread-safe. CompactTree is a plain value: thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sened::journal {

// Size in bytes of every hash in the tree.
inline constexpr size_t kMerkleHashSize = 32;
// Domain separation bytes: a leaf can never be mistaken for an inner node.
inline constexpr char kLeafHashPrefix = '\x00';
inline constexpr char kNodeHashPrefix = '\x01';

// SHA-256(0x00 || leaf_data).
std::string leaf_hash(std::string_view leaf_data);
// SHA-256(0x01 || left || right). Both are expected to be 32-byte hashes.
std::string node_hash(std::string_view left, std::string_view right);
// SHA-256(""), the root of the empty tree.
std::string empty_root();

// The root of the tree over all of `leaf_hashes` (RFC 6962 MTH).
std::string root_from_leaves(const std::vector<std::string>& leaf_hashes);

// Proof generation from the full list of leaf hashes, as the store keeps
// them. Both recurse over the leaves and cost O(tree_size) hashes per proof:
// fine for the journal's size today; a store of subtree hashes (tiles) would
// make them O(log n).
//
// The inclusion proof (RFC 6962 PATH) of leaf `index` in the tree made of the
// first `tree_size` leaves. kInvalidArgument if `tree_size` exceeds the
// leaves held or `index` is not below `tree_size`.
Result<std::vector<std::string>> inclusion_proof(const std::vector<std::string>& leaf_hashes,
                                                 uint64_t index, uint64_t tree_size);
// The consistency proof (RFC 6962 PROOF) from the tree of the first
// `old_size` leaves to the tree of the first `new_size`. Empty when
// `old_size` is 0 or equals `new_size`: there is nothing to prove.
// kInvalidArgument if `new_size` exceeds the leaves held or `old_size`
// exceeds `new_size`.
Result<std::vector<std::string>> consistency_proof(const std::vector<std::string>& leaf_hashes,
                                                   uint64_t old_size, uint64_t new_size);

// Offline checks, needing nothing but their arguments. Ok if the proof holds;
// otherwise kInvalidArgument with a message naming why (a hash not 32 bytes,
// an index or size out of range, a proof too short or too long, a root that
// does not match).
//
// Note that a proof does not pin the tree size by itself: RFC 9162's
// algorithms accept a few sizes near the true one for the same proof and
// root. Take size and root together from a signed checkpoint.
//
// RFC 9162 section 2.1.3.2.
Status verify_inclusion(std::string_view leaf_hash, uint64_t index, uint64_t tree_size,
                        const std::vector<std::string>& proof, std::string_view root);
// RFC 9162 section 2.1.4.2, plus the trivial cases it leaves out: equal sizes
// (empty proof, equal roots) and an empty old tree (empty proof, old root
// the empty root).
Status verify_consistency(uint64_t old_size, uint64_t new_size, std::string_view old_root,
                          std::string_view new_root, const std::vector<std::string>& proof);
// True when `proof` is a well-formed consistency proof that leads to
// `new_root` but to an old root other than `old_root`: whoever signed both
// roots committed to two trees of which neither extends the other. A junk
// proof cannot do this (it would need a hash preimage), so unlike a failed
// verify_consistency() this is evidence of a fork. It cannot be shown when
// old_size is a power of two: such a proof leaves out the old root.
bool proves_fork(uint64_t old_size, uint64_t new_size, std::string_view old_root,
                 std::string_view new_root, const std::vector<std::string>& proof);

// An append-only tree that keeps only the roots of its maximal perfect
// subtrees (one per set bit of the size, O(log n) hashes): enough to give
// the root after every append without rereading the leaves, for signing
// checkpoints as the journal grows.
class CompactTree {
 public:
  // Adds one leaf. Precondition: `leaf_hash` is 32 bytes (a leaf_hash()).
  void append(std::string_view leaf_hash);
  // Number of leaves appended so far.
  uint64_t size() const { return size_; }
  // The root of the tree over all leaves appended; empty_root() when none.
  std::string root() const;

 private:
  // Roots of the perfect subtrees, leftmost (largest) first.
  std::vector<std::string> subtrees_;
  uint64_t size_ = 0;
};

}  // namespace sened::journal
