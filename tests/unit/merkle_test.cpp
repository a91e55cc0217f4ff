#include "journal/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/digest.h"

namespace sened::journal {
namespace {

using crypto::from_hex;
using crypto::to_hex;

// The eight leaves of the certificate-transparency test tree.
std::vector<std::string> ct_leaf_hashes() {
  std::vector<std::string> data = {
      "",
      std::string(1, '\x00'),
      "\x10",
      "\x20\x21",
      "\x30\x31",
      "\x40\x41\x42\x43",
      "\x50\x51\x52\x53\x54\x55\x56\x57",
      "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
  };
  std::vector<std::string> out;
  for (const std::string& d : data) out.push_back(leaf_hash(d));
  return out;
}

// Published roots of the test tree for sizes 0..8.
const std::vector<std::string> kCtRoots = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<std::string> hex_all(const std::vector<std::string>& hashes) {
  std::vector<std::string> out;
  for (const std::string& h : hashes) out.push_back(to_hex(h));
  return out;
}

std::string raw(std::string_view hex) { return *from_hex(hex); }

// Leaf hashes of n distinct entries.
std::vector<std::string> make_leaves(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(leaf_hash("entry " + std::to_string(i)));
  return out;
}

std::string flip_byte(std::string h, size_t at) {
  h[at % h.size()] ^= 0x01;
  return h;
}

// ceil(log2(n)) for n >= 1.
size_t ceil_log2(uint64_t n) {
  size_t bits = 0;
  while ((uint64_t{1} << bits) < n) ++bits;
  return bits;
}

TEST(MerkleTest, HashesLeavesAndNodesWithDistinctPrefixes) {
  EXPECT_EQ(to_hex(leaf_hash("")), kCtRoots[1]);
  std::string l = leaf_hash("a"), r = leaf_hash("b");
  EXPECT_EQ(node_hash(l, r), crypto::sha256(std::string(1, '\x01') + l + r));
  EXPECT_NE(leaf_hash(l + r), node_hash(l, r));
}

TEST(MerkleTest, EmptyTreeRootIsSha256OfNothing) {
  EXPECT_EQ(to_hex(root_from_leaves({})), kCtRoots[0]);
  EXPECT_EQ(to_hex(CompactTree().root()), kCtRoots[0]);
}

TEST(MerkleTest, RootsMatchCertificateTransparencyVectors) {
  std::vector<std::string> leaves = ct_leaf_hashes();
  for (size_t n = 0; n <= leaves.size(); ++n) {
    std::vector<std::string> prefix(leaves.begin(), leaves.begin() + n);
    EXPECT_EQ(to_hex(root_from_leaves(prefix)), kCtRoots[n]) << "size " << n;
  }
}

TEST(MerkleTest, InclusionProofsMatchCertificateTransparencyVectors) {
  std::vector<std::string> leaves = ct_leaf_hashes();
  EXPECT_TRUE(inclusion_proof(leaves, 0, 1)->empty());
  EXPECT_EQ(hex_all(*inclusion_proof(leaves, 0, 8)),
            (std::vector<std::string>{
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(hex_all(*inclusion_proof(leaves, 5, 8)),
            (std::vector<std::string>{
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_EQ(hex_all(*inclusion_proof(leaves, 2, 3)),
            (std::vector<std::string>{
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}));
  EXPECT_EQ(hex_all(*inclusion_proof(leaves, 1, 5)),
            (std::vector<std::string>{
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}));
}

TEST(MerkleTest, ConsistencyProofsMatchCertificateTransparencyVectors) {
  std::vector<std::string> leaves = ct_leaf_hashes();
  EXPECT_TRUE(consistency_proof(leaves, 1, 1)->empty());
  EXPECT_EQ(hex_all(*consistency_proof(leaves, 1, 8)),
            (std::vector<std::string>{
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(hex_all(*consistency_proof(leaves, 6, 8)),
            (std::vector<std::string>{
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_EQ(hex_all(*consistency_proof(leaves, 2, 5)),
            (std::vector<std::string>{
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}));
}

TEST(MerkleTest, ProofGenerationRefusesSizesOutsideTheLeaves) {
  std::vector<std::string> leaves = make_leaves(8);
  EXPECT_EQ(inclusion_proof(leaves, 8, 8).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(inclusion_proof(leaves, 0, 9).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(inclusion_proof(leaves, 0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(consistency_proof(leaves, 3, 9).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(consistency_proof(leaves, 5, 4).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(consistency_proof(leaves, 0, 8)->empty());
}

TEST(MerkleTest, EveryInclusionProofUpToSize64VerifiesAndIsShort) {
  std::vector<std::string> leaves = make_leaves(64);
  for (uint64_t n = 1; n <= 64; ++n) {
    std::vector<std::string> prefix(leaves.begin(), leaves.begin() + n);
    std::string root = root_from_leaves(prefix);
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = inclusion_proof(leaves, i, n);
      ASSERT_TRUE(proof.ok());
      EXPECT_LE(proof->size(), ceil_log2(n)) << "n=" << n << " i=" << i;
      EXPECT_TRUE(verify_inclusion(leaves[i], i, n, *proof, root).ok()) << "n=" << n << " i=" << i;
    }
  }
}

TEST(MerkleTest, TamperedInclusionProofsFail) {
  std::vector<std::string> leaves = make_leaves(64);
  for (uint64_t n = 1; n <= 64; ++n) {
    std::vector<std::string> prefix(leaves.begin(), leaves.begin() + n);
    std::string root = root_from_leaves(prefix);
    for (uint64_t i = 0; i < n; ++i) {
      std::vector<std::string> proof = *inclusion_proof(leaves, i, n);
      auto rejects = [&](std::string_view leaf, uint64_t index, uint64_t size,
                         const std::vector<std::string>& p, std::string_view r) {
        return verify_inclusion(leaf, index, size, p, r).code() == Code::kInvalidArgument;
      };
      SCOPED_TRACE("n=" + std::to_string(n) + " i=" + std::to_string(i));
      for (size_t j = 0; j < proof.size(); ++j) {
        std::vector<std::string> bad = proof;
        bad[j] = flip_byte(bad[j], j * 7 + i);
        EXPECT_TRUE(rejects(leaves[i], i, n, bad, root));
      }
      EXPECT_TRUE(rejects(flip_byte(leaves[i], i), i, n, proof, root));
      EXPECT_TRUE(rejects(leaves[i], i, n, proof, flip_byte(root, n)));
      if (n > 1) {
        EXPECT_TRUE(rejects(leaves[i], (i + 1) % n, n, proof, root));
      }
      EXPECT_TRUE(rejects(leaves[i], i, 2 * n, proof, root));
      EXPECT_TRUE(rejects(leaves[i], i, i, proof, root));
      if (!proof.empty()) {
        EXPECT_TRUE(rejects(leaves[i], i, n, {proof.begin(), proof.end() - 1}, root));
      }
      std::vector<std::string> longer = proof;
      longer.push_back(root);
      EXPECT_TRUE(rejects(leaves[i], i, n, longer, root));
    }
  }
}

TEST(MerkleTest, InclusionCheckNamesWhyItFailed) {
  std::vector<std::string> leaves = make_leaves(8);
  std::string root = root_from_leaves(leaves);
  std::vector<std::string> proof = *inclusion_proof(leaves, 5, 8);
  Status short_hash = verify_inclusion("short", 5, 8, proof, root);
  EXPECT_EQ(short_hash.code(), Code::kInvalidArgument);
  EXPECT_NE(short_hash.message().find("32 bytes"), std::string::npos);
  Status mismatch = verify_inclusion(leaves[4], 5, 8, proof, root);
  EXPECT_NE(mismatch.message().find("root"), std::string::npos);
  Status too_short = verify_inclusion(leaves[5], 5, 8, {proof[0]}, root);
  EXPECT_NE(too_short.message().find("too short"), std::string::npos);
}

// RFC 9162's check takes the tree size only through the shifts it makes, so
// the proof of leaf 5 in a tree of 8 also passes for a claimed size of 7.
// That is why the size and root must come together from a signed checkpoint.
TEST(MerkleTest, InclusionProofAloneDoesNotPinTheTreeSize) {
  std::vector<std::string> leaves = make_leaves(8);
  std::string root = root_from_leaves(leaves);
  std::vector<std::string> proof = *inclusion_proof(leaves, 5, 8);
  EXPECT_TRUE(verify_inclusion(leaves[5], 5, 7, proof, root).ok());
  std::vector<std::string> seven(leaves.begin(), leaves.begin() + 7);
  EXPECT_EQ(verify_inclusion(leaves[5], 5, 7, proof, root_from_leaves(seven)).code(),
            Code::kInvalidArgument);
}

TEST(MerkleTest, EveryConsistencyProofUpToSize40Verifies) {
  std::vector<std::string> leaves = make_leaves(40);
  for (uint64_t n = 1; n <= 40; ++n) {
    std::string new_root = root_from_leaves({leaves.begin(), leaves.begin() + n});
    for (uint64_t m = 0; m <= n; ++m) {
      std::string old_root = root_from_leaves({leaves.begin(), leaves.begin() + m});
      auto proof = consistency_proof(leaves, m, n);
      ASSERT_TRUE(proof.ok());
      // One more than an inclusion proof at most: the old root itself when it
      // is not a perfect subtree.
      EXPECT_LE(proof->size(), ceil_log2(n) + 1) << "m=" << m << " n=" << n;
      EXPECT_TRUE(verify_consistency(m, n, old_root, new_root, *proof).ok())
          << "m=" << m << " n=" << n;
    }
  }
}

// A forked log's own consistency proof, checked against the honest old
// root, leads to the signed new root from another old tree: proves_fork. An
// honest proof, a tampered one or a made-up one never does.
TEST(MerkleTest, AForkedLogsOwnProofProvesTheFork) {
  std::vector<std::string> honest = make_leaves(40);
  for (uint64_t m = 2; m <= 24; ++m) {
    if ((m & (m - 1)) == 0) continue;  // a perfect old tree leaves its root out of the proof
    for (uint64_t shared = 0; shared < m; shared += 3) {
      std::vector<std::string> forked(honest.begin(), honest.begin() + shared);
      for (uint64_t i = shared; i < 40; ++i)
        forked.push_back(leaf_hash("fork " + std::to_string(i)));
      std::string old_root = root_from_leaves({honest.begin(), honest.begin() + m});
      for (uint64_t n = m + 1; n <= 40; n += 5) {
        SCOPED_TRACE("m=" + std::to_string(m) + " n=" + std::to_string(n) +
                     " shared=" + std::to_string(shared));
        std::string forked_root = root_from_leaves({forked.begin(), forked.begin() + n});
        std::vector<std::string> proof = *consistency_proof(forked, m, n);
        EXPECT_FALSE(verify_consistency(m, n, old_root, forked_root, proof).ok());
        EXPECT_TRUE(proves_fork(m, n, old_root, forked_root, proof));
        std::vector<std::string> junk = proof;
        junk.back() = flip_byte(junk.back(), 1);
        EXPECT_FALSE(proves_fork(m, n, old_root, forked_root, junk));
        std::string honest_root = root_from_leaves({honest.begin(), honest.begin() + n});
        EXPECT_FALSE(proves_fork(m, n, old_root, honest_root, *consistency_proof(honest, m, n)));
      }
    }
  }
  EXPECT_FALSE(proves_fork(0, 5, empty_root(), root_from_leaves(make_leaves(5)), {}));
}

TEST(MerkleTest, TamperedConsistencyProofsFail) {
  std::vector<std::string> leaves = make_leaves(40);
  for (uint64_t n = 1; n <= 40; ++n) {
    std::string new_root = root_from_leaves({leaves.begin(), leaves.begin() + n});
    for (uint64_t m = 1; m <= n; ++m) {
      std::string old_root = root_from_leaves({leaves.begin(), leaves.begin() + m});
      std::vector<std::string> proof = *consistency_proof(leaves, m, n);
      auto rejects = [](uint64_t om, uint64_t on, std::string_view o, std::string_view r,
                        const std::vector<std::string>& p) {
        return verify_consistency(om, on, o, r, p).code() == Code::kInvalidArgument;
      };
      SCOPED_TRACE("m=" + std::to_string(m) + " n=" + std::to_string(n));
      for (size_t j = 0; j < proof.size(); ++j) {
        std::vector<std::string> bad = proof;
        bad[j] = flip_byte(bad[j], j * 5 + m);
        EXPECT_TRUE(rejects(m, n, old_root, new_root, bad));
      }
      EXPECT_TRUE(rejects(m, n, flip_byte(old_root, m), new_root, proof));
      EXPECT_TRUE(rejects(m, n, old_root, flip_byte(new_root, n), proof));
      if (m < n) {
        EXPECT_TRUE(rejects(n, m, new_root, old_root, proof));
      }
      if (!proof.empty()) {
        EXPECT_TRUE(rejects(m, n, old_root, new_root, {proof.begin(), proof.end() - 1}));
      }
      std::vector<std::string> longer = proof;
      longer.push_back(new_root);
      EXPECT_TRUE(rejects(m, n, old_root, new_root, longer));
    }
  }
}

TEST(MerkleTest, ConsistencyFromEmptyOrEqualTreesNeedsNoProof) {
  std::vector<std::string> leaves = make_leaves(6);
  std::string root = root_from_leaves(leaves);
  EXPECT_TRUE(verify_consistency(0, 6, empty_root(), root, {}).ok());
  EXPECT_TRUE(verify_consistency(6, 6, root, root, {}).ok());
  EXPECT_EQ(verify_consistency(0, 6, root, root, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(verify_consistency(6, 6, root, empty_root(), {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(verify_consistency(6, 6, root, root, {root}).code(), Code::kInvalidArgument);
  EXPECT_EQ(verify_consistency(7, 6, root, root, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(verify_consistency(3, 6, root, root, {}).code(), Code::kInvalidArgument);
}

TEST(MerkleTest, CompactTreeRootMatchesFullRootUpTo300Leaves) {
  std::vector<std::string> leaves = make_leaves(300);
  CompactTree tree;
  EXPECT_EQ(tree.root(), root_from_leaves({}));
  for (size_t n = 1; n <= leaves.size(); ++n) {
    tree.append(leaves[n - 1]);
    EXPECT_EQ(tree.size(), n);
    EXPECT_EQ(tree.root(), root_from_leaves({leaves.begin(), leaves.begin() + n})) << "n=" << n;
  }
}

TEST(MerkleTest, CompactTreeMatchesCertificateTransparencyRoots) {
  std::vector<std::string> leaves = ct_leaf_hashes();
  CompactTree tree;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    tree.append(leaves[n - 1]);
    EXPECT_EQ(tree.root(), raw(kCtRoots[n]));
  }
}

}  // namespace
}  // namespace sened::journal
