// The stored-hash algorithms of journal/tree.h against merkle.h's
// leaf-list reference: same roots and proofs for every size up to 70 and a
// few larger random ones.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "crypto/digest.h"
#include "journal/merkle.h"
#include "journal/tree.h"

namespace sened::journal {
namespace {

// A tree kept the way a store keeps it: only the nodes appends complete.
class NodeTable {
 public:
  void append(const std::string& leaf) {
    auto nodes = nodes_for_append(leaves_.size(), leaf, reader());
    ASSERT_TRUE(nodes.ok()) << nodes.status().message();
    for (auto& [id, h] : *nodes) nodes_[id] = h;
    leaves_.push_back(leaf);
  }
  NodeReader reader() {
    return [this](NodeId id) -> Result<std::string> {
      ++reads_;
      auto it = nodes_.find(id);
      if (it == nodes_.end()) return not_found("node");
      return it->second;
    };
  }
  const std::vector<std::string>& leaves() const { return leaves_; }
  size_t node_count() const { return nodes_.size(); }
  int reads_ = 0;

 private:
  std::map<NodeId, std::string> nodes_;
  std::vector<std::string> leaves_;
};

std::string leaf(uint64_t i) { return leaf_hash("entry " + std::to_string(i)); }

TEST(JournalTreeTest, CompletedNodesClimbWhileTheIndexIsOdd) {
  EXPECT_EQ(completed_nodes(0), (std::vector<NodeId>{{0, 0}}));
  EXPECT_EQ(completed_nodes(1), (std::vector<NodeId>{{0, 1}, {1, 0}}));
  EXPECT_EQ(completed_nodes(6), (std::vector<NodeId>{{0, 6}}));
  EXPECT_EQ(completed_nodes(7), (std::vector<NodeId>{{0, 7}, {1, 3}, {2, 1}, {3, 0}}));
}

TEST(JournalTreeTest, CoverSplitsARangeIntoAlignedPerfectSubtrees) {
  EXPECT_EQ(cover({0, 7}), (std::vector<NodeId>{{2, 0}, {1, 2}, {0, 6}}));
  EXPECT_EQ(cover({8, 16}), (std::vector<NodeId>{{3, 1}}));
  EXPECT_EQ(cover({4, 5}), (std::vector<NodeId>{{0, 4}}));
}

TEST(JournalTreeTest, StoresOneNodePerLeafAndPerCompletedSubtree) {
  NodeTable t;
  for (uint64_t i = 0; i < 64; ++i) t.append(leaf(i));
  EXPECT_EQ(t.node_count(), 127u);  // a perfect tree of 64 leaves
}

TEST(JournalTreeTest, RootsAndProofsMatchTheLeafListReferenceForAllSmallSizes) {
  NodeTable t;
  for (uint64_t n = 1; n <= 70; ++n) {
    t.append(leaf(n - 1));
    auto root = stored_root(n, t.reader());
    ASSERT_TRUE(root.ok());
    ASSERT_EQ(*root, root_from_leaves(t.leaves())) << "size " << n;
    for (uint64_t i = 0; i < n; ++i) {
      auto got = stored_inclusion_proof(i, n, t.reader());
      auto want = inclusion_proof(t.leaves(), i, n);
      ASSERT_TRUE(got.ok() && want.ok());
      ASSERT_EQ(*got, *want) << "inclusion " << i << " of " << n;
    }
    for (uint64_t m = 0; m <= n; ++m) {
      auto got = stored_consistency_proof(m, n, t.reader());
      auto want = consistency_proof(t.leaves(), m, n);
      ASSERT_TRUE(got.ok() && want.ok());
      ASSERT_EQ(*got, *want) << "consistency " << m << " to " << n;
    }
  }
  EXPECT_EQ(*stored_root(0, t.reader()), empty_root());
}

TEST(JournalTreeTest, ProofsOfRandomLargerTreesVerifyAndMatchTheReference) {
  NodeTable t;
  for (uint64_t i = 0; i < 3000; ++i) t.append(leaf(i));
  std::mt19937_64 rng(42);
  for (int k = 0; k < 40; ++k) {
    uint64_t n = 1 + rng() % 3000;
    uint64_t i = rng() % n;
    uint64_t m = rng() % (n + 1);
    std::vector<std::string> prefix(t.leaves().begin(), t.leaves().begin() + n);
    auto got = stored_inclusion_proof(i, n, t.reader());
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, *inclusion_proof(t.leaves(), i, n));
    std::string root = root_from_leaves(prefix);
    EXPECT_TRUE(verify_inclusion(t.leaves()[i], i, n, *got, root).ok());
    auto cons = stored_consistency_proof(m, n, t.reader());
    ASSERT_TRUE(cons.ok());
    EXPECT_EQ(*cons, *consistency_proof(t.leaves(), m, n));
    std::vector<std::string> old(t.leaves().begin(), t.leaves().begin() + m);
    EXPECT_TRUE(verify_consistency(m, n, root_from_leaves(old), root, *cons).ok());
  }
}

TEST(JournalTreeTest, AProofReadsLogarithmicallyManyNodes) {
  NodeTable t;
  for (uint64_t i = 0; i < 4096 + 5; ++i) t.append(leaf(i));
  t.reads_ = 0;
  ASSERT_TRUE(stored_inclusion_proof(1234, 4096 + 5, t.reader()).ok());
  EXPECT_LE(t.reads_, 2 * 13 + 4);
}

TEST(JournalTreeTest, RejectsAnIndexNotBelowTheSize) {
  NodeTable t;
  t.append(leaf(0));
  EXPECT_EQ(stored_inclusion_proof(1, 1, t.reader()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(stored_consistency_proof(2, 1, t.reader()).status().code(), Code::kInvalidArgument);
}

TEST(JournalTreeTest, LeafDataDependsOnTheSaltAndTheEntryHash) {
  JournalEntry e;
  e.seq = 1;
  e.hash = crypto::sha256_hex("entry");
  e.salt = std::string(64, 'a');
  auto a = leaf_data_of(e);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 32u);
  e.salt = std::string(64, 'b');
  EXPECT_NE(*leaf_data_of(e), *a);
  e.salt = "abc";
  EXPECT_EQ(leaf_data_of(e).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sened::journal
