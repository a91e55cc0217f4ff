#include "journal/merkle.h"

#include <cstdlib>
#include <span>

#include "crypto/digest.h"

namespace sened::journal {

namespace {

using Leaves = std::span<const std::string>;

// The largest power of two strictly smaller than n. Precondition: n >= 2.
size_t split_point(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// RFC 6962 MTH over a non-empty range of leaf hashes.
std::string subtree_root(Leaves leaves) {
  if (leaves.size() == 1) return leaves[0];
  size_t k = split_point(leaves.size());
  return node_hash(subtree_root(leaves.first(k)), subtree_root(leaves.subspan(k)));
}

// RFC 6962 PATH(m, D[n]), appended to `out` bottom-up. Precondition: m < n.
void path(size_t m, Leaves leaves, std::vector<std::string>& out) {
  if (leaves.size() == 1) return;
  size_t k = split_point(leaves.size());
  if (m < k) {
    path(m, leaves.first(k), out);
    out.push_back(subtree_root(leaves.subspan(k)));
  } else {
    path(m - k, leaves.subspan(k), out);
    out.push_back(subtree_root(leaves.first(k)));
  }
}

// RFC 6962 SUBPROOF(m, D[n], b), appended to `out`. Precondition: 0 < m <= n.
void subproof(size_t m, Leaves leaves, bool complete, std::vector<std::string>& out) {
  if (m == leaves.size()) {
    // The old tree is a whole subtree here; its root is only needed when the
    // verifier cannot already know it.
    if (!complete) out.push_back(subtree_root(leaves));
    return;
  }
  size_t k = split_point(leaves.size());
  if (m <= k) {
    subproof(m, leaves.first(k), complete, out);
    out.push_back(subtree_root(leaves.subspan(k)));
  } else {
    subproof(m - k, leaves.subspan(k), false, out);
    out.push_back(subtree_root(leaves.first(k)));
  }
}

bool is_hash(std::string_view h) { return h.size() == kMerkleHashSize; }

Status check_hashes(const std::vector<std::string>& proof) {
  for (const std::string& p : proof) {
    if (!is_hash(p)) return invalid_argument("a proof hash is not 32 bytes");
  }
  return Status::ok_status();
}

bool lsb(uint64_t x) { return (x & 1) != 0; }

// The two roots a consistency proof leads to (RFC 9162 section 2.1.4.2,
// for 0 < old_size < new_size), or why the proof is malformed.
struct ConsistencyRoots {
  std::string old_root;
  std::string new_root;
};
Result<ConsistencyRoots> consistency_roots(uint64_t old_size, uint64_t new_size,
                                           std::string_view old_root,
                                           const std::vector<std::string>& proof) {
  if (proof.empty()) return invalid_argument("consistency proof is empty");

  // When the old tree is a perfect subtree, its root starts the path.
  std::vector<std::string_view> path_hashes;
  if ((old_size & (old_size - 1)) == 0) path_hashes.push_back(old_root);
  for (const std::string& p : proof) path_hashes.push_back(p);

  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while (lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr(path_hashes[0]);
  std::string sr(path_hashes[0]);
  for (size_t i = 1; i < path_hashes.size(); ++i) {
    std::string_view c = path_hashes[i];
    if (sn == 0) return invalid_argument("consistency proof too long");
    if (lsb(fn) || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      while (!lsb(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }

  if (sn != 0) return invalid_argument("consistency proof too short");
  return ConsistencyRoots{std::move(fr), std::move(sr)};
}

Status verify_consistency_path(uint64_t old_size, uint64_t new_size, std::string_view old_root,
                               std::string_view new_root, const std::vector<std::string>& proof) {
  Result<ConsistencyRoots> roots = consistency_roots(old_size, new_size, old_root, proof);
  if (!roots.ok()) return roots.status();
  if (roots->new_root != new_root) {
    return invalid_argument("consistency proof does not lead to the new root");
  }
  if (roots->old_root != old_root) {
    return invalid_argument("consistency proof does not lead to the old root");
  }
  return Status::ok_status();
}

}  // namespace

std::string leaf_hash(std::string_view leaf_data) {
  crypto::Sha256 h;
  h.update(std::string_view(&kLeafHashPrefix, 1));
  h.update(leaf_data);
  return h.finish();
}

std::string node_hash(std::string_view left, std::string_view right) {
  crypto::Sha256 h;
  h.update(std::string_view(&kNodeHashPrefix, 1));
  h.update(left);
  h.update(right);
  return h.finish();
}

std::string empty_root() { return crypto::sha256(""); }

std::string root_from_leaves(const std::vector<std::string>& leaf_hashes) {
  if (leaf_hashes.empty()) return empty_root();
  return subtree_root(leaf_hashes);
}

Result<std::vector<std::string>> inclusion_proof(const std::vector<std::string>& leaf_hashes,
                                                 uint64_t index, uint64_t tree_size) {
  if (tree_size > leaf_hashes.size()) return invalid_argument("tree size beyond the leaves held");
  if (index >= tree_size) return invalid_argument("leaf index not below the tree size");
  std::vector<std::string> out;
  path(index, Leaves(leaf_hashes).first(tree_size), out);
  return out;
}

Result<std::vector<std::string>> consistency_proof(const std::vector<std::string>& leaf_hashes,
                                                   uint64_t old_size, uint64_t new_size) {
  if (new_size > leaf_hashes.size()) return invalid_argument("new size beyond the leaves held");
  if (old_size > new_size) return invalid_argument("old size beyond the new size");
  std::vector<std::string> out;
  if (old_size == 0) return out;
  subproof(old_size, Leaves(leaf_hashes).first(new_size), true, out);
  return out;
}

Status verify_inclusion(std::string_view leaf_hash, uint64_t index, uint64_t tree_size,
                        const std::vector<std::string>& proof, std::string_view root) {
  if (!is_hash(leaf_hash) || !is_hash(root)) return invalid_argument("a hash is not 32 bytes");
  SENED_RETURN_IF_ERROR(check_hashes(proof));
  if (index >= tree_size) return invalid_argument("leaf index not below the tree size");

  // Climb from the leaf: fn is the node's index at the current level, sn the
  // index of the last node at that level.
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return invalid_argument("inclusion proof too long");
    if (lsb(fn) || fn == sn) {
      r = node_hash(p, r);
      // A last node that is a left child has no sibling at some levels: skip them.
      while (!lsb(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return invalid_argument("inclusion proof too short");
  if (r != root) return invalid_argument("inclusion proof does not lead to the root");
  return Status::ok_status();
}

Status verify_consistency(uint64_t old_size, uint64_t new_size, std::string_view old_root,
                          std::string_view new_root, const std::vector<std::string>& proof) {
  if (!is_hash(old_root) || !is_hash(new_root)) return invalid_argument("a root is not 32 bytes");
  SENED_RETURN_IF_ERROR(check_hashes(proof));
  if (old_size > new_size) return invalid_argument("old size beyond the new size");

  if (old_size == 0 || old_size == new_size) {
    if (!proof.empty()) return invalid_argument("consistency proof should be empty");
    if (old_size == 0 && old_root != empty_root()) {
      return invalid_argument("old root of an empty tree is not the empty root");
    }
    if (old_size != 0 && old_root != new_root) {
      return invalid_argument("roots of the same size differ");
    }
    return Status::ok_status();
  }
  return verify_consistency_path(old_size, new_size, old_root, new_root, proof);
}

void CompactTree::append(std::string_view leaf_hash) {
  if (!is_hash(leaf_hash)) std::abort();  // a caller bug: the tree would commit to garbage

  // Each trailing set bit of the size is a perfect subtree of the same height
  // as the new node: merge them, as binary addition carries.
  std::string node(leaf_hash);
  for (uint64_t s = size_; lsb(s); s >>= 1) {
    node = node_hash(subtrees_.back(), node);
    subtrees_.pop_back();
  }
  subtrees_.push_back(std::move(node));
  ++size_;
}

std::string CompactTree::root() const {
  if (subtrees_.empty()) return empty_root();
  // The smaller subtrees sit on the right at every split, so fold from the right.
  std::string r = subtrees_.back();
  for (size_t i = subtrees_.size() - 1; i-- > 0;) r = node_hash(subtrees_[i], r);
  return r;
}

bool proves_fork(uint64_t old_size, uint64_t new_size, std::string_view old_root,
                 std::string_view new_root, const std::vector<std::string>& proof) {
  if (!is_hash(old_root) || !is_hash(new_root) || !check_hashes(proof).ok()) return false;
  if (old_size == 0 || old_size >= new_size) return false;
  Result<ConsistencyRoots> roots = consistency_roots(old_size, new_size, old_root, proof);
  return roots.ok() && roots->new_root == new_root && roots->old_root != old_root;
}

}  // namespace sened::journal
