#include "journal/tree.h"

#include <bit>

#include "crypto/digest.h"
#include "journal/chain.h"
#include "journal/merkle.h"

namespace sened::journal {

namespace {

// The largest power of two strictly smaller than n. Precondition: n >= 2.
uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

// RFC 6962 PATH over leaves [b, e) for absolute leaf m, bottom-up.
void path_ranges(uint64_t m, uint64_t b, uint64_t e, std::vector<LeafRange>& out) {
  if (e - b == 1) return;
  uint64_t k = split_point(e - b);
  if (m < b + k) {
    path_ranges(m, b, b + k, out);
    out.push_back({b + k, e});
  } else {
    path_ranges(m, b + k, e, out);
    out.push_back({b, b + k});
  }
}

// RFC 6962 SUBPROOF(m, D[b:e], complete), m counted from b.
void subproof_ranges(uint64_t m, uint64_t b, uint64_t e, bool complete,
                     std::vector<LeafRange>& out) {
  if (m == e - b) {
    if (!complete) out.push_back({b, e});
    return;
  }
  uint64_t k = split_point(e - b);
  if (m <= k) {
    subproof_ranges(m, b, b + k, complete, out);
    out.push_back({b + k, e});
  } else {
    subproof_ranges(m - k, b + k, e, false, out);
    out.push_back({b, b + k});
  }
}

Result<std::vector<std::string>> hashes_of(const std::vector<LeafRange>& ranges,
                                           const NodeReader& read) {
  std::vector<std::string> out;
  out.reserve(ranges.size());
  for (const LeafRange& r : ranges) {
    Result<std::string> h = range_hash(r, read);
    if (!h.ok()) return h.status();
    out.push_back(std::move(*h));
  }
  return out;
}

}  // namespace

std::string leaf_data(std::string_view salt, std::string_view entry_hash_raw) {
  std::string encoded;
  append_length_prefixed(encoded, kLeafDataTag);
  append_length_prefixed(encoded, salt);
  append_length_prefixed(encoded, entry_hash_raw);
  return crypto::sha256(encoded);
}

Result<std::string> leaf_data_of(const JournalEntry& e) {
  std::optional<std::string> salt = crypto::from_hex(e.salt);
  if (!salt || salt->size() != kLeafSaltSize) {
    return invalid_argument("entry " + std::to_string(e.seq) + " has no valid salt");
  }
  std::optional<std::string> hash = crypto::from_hex(e.hash);
  if (!crypto::is_sha256_hex(e.hash) || !hash) {
    return invalid_argument("entry " + std::to_string(e.seq) + " has no valid hash");
  }
  return leaf_data(*salt, *hash);
}

std::vector<NodeId> completed_nodes(uint64_t leaf_index) {
  std::vector<NodeId> out{{0, leaf_index}};
  for (uint64_t i = leaf_index; (i & 1) != 0;) {
    i >>= 1;
    out.push_back({out.back().level + 1, i});
  }
  return out;
}

std::vector<NodeId> cover(LeafRange range) {
  std::vector<NodeId> out;
  uint64_t p = range.begin;
  while (p < range.end) {
    // The highest level at which p is aligned and the node still fits.
    int level = p == 0 ? 63 : std::countr_zero(p);
    while (level > 0 && (uint64_t{1} << level) > range.end - p) --level;
    out.push_back({level, p >> level});
    p += uint64_t{1} << level;
  }
  return out;
}

std::vector<LeafRange> inclusion_ranges(uint64_t index, uint64_t size) {
  std::vector<LeafRange> out;
  path_ranges(index, 0, size, out);
  return out;
}

std::vector<LeafRange> consistency_ranges(uint64_t from, uint64_t to) {
  std::vector<LeafRange> out;
  subproof_ranges(from, 0, to, true, out);
  return out;
}

Result<std::vector<std::pair<NodeId, std::string>>> nodes_for_append(uint64_t leaf_index,
                                                                     std::string_view leaf_hash,
                                                                     const NodeReader& read) {
  std::vector<std::pair<NodeId, std::string>> out;
  for (const NodeId& id : completed_nodes(leaf_index)) {
    if (id.level == 0) {
      out.emplace_back(id, std::string(leaf_hash));
      continue;
    }
    // The right child was computed just before; the left one is stored.
    Result<std::string> left = read({id.level - 1, id.index * 2});
    if (!left.ok()) return left.status();
    out.emplace_back(id, node_hash(*left, out.back().second));
  }
  return out;
}

Result<std::string> range_hash(LeafRange range, const NodeReader& read) {
  std::vector<NodeId> nodes = cover(range);
  // Smaller subtrees hang on the right at every split: fold from the right.
  Result<std::string> acc = read(nodes.back());
  if (!acc.ok()) return acc.status();
  std::string r = std::move(*acc);
  for (size_t i = nodes.size() - 1; i-- > 0;) {
    Result<std::string> left = read(nodes[i]);
    if (!left.ok()) return left.status();
    r = node_hash(*left, r);
  }
  return r;
}

Result<std::string> stored_root(uint64_t size, const NodeReader& read) {
  if (size == 0) return empty_root();
  return range_hash({0, size}, read);
}

Result<std::vector<std::string>> stored_inclusion_proof(uint64_t index, uint64_t size,
                                                        const NodeReader& read) {
  if (index >= size) return invalid_argument("leaf index not below the tree size");
  return hashes_of(inclusion_ranges(index, size), read);
}

Result<std::vector<std::string>> stored_consistency_proof(uint64_t from, uint64_t to,
                                                          const NodeReader& read) {
  if (from > to) return invalid_argument("old size beyond the new size");
  if (from == 0 || from == to) return std::vector<std::string>{};
  return hashes_of(consistency_ranges(from, to), read);
}

}  // namespace sened::journal
