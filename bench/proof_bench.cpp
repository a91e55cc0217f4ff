// Proof sizes and times of the journal's Merkle tree at 1, 10^3 and 10^6
// entries: an inclusion proof of a leaf in the middle and a consistency
// proof from half the size, made from stored subtree hashes with
// journal/tree.h (what the stores do, here over nodes kept in memory rather
// than SQLite rows) and checked with merkle.h's RFC 9162 verifiers. Prints
// figures; asserts nothing about time.
//
//   build/proof_bench [--repeat N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "journal/merkle.h"
#include "journal/tree.h"

namespace {

using sened::Result;
using sened::journal::NodeId;
using Clock = std::chrono::steady_clock;

// Stored nodes by level, as a store keeps them after each append.
class MemoryTree {
 public:
  void append(const std::string& leaf) {
    auto nodes = sened::journal::nodes_for_append(size_, leaf, reader());
    if (!nodes.ok()) std::abort();
    for (auto& [id, h] : *nodes) {
      if (levels_.size() <= static_cast<size_t>(id.level)) levels_.resize(id.level + 1);
      levels_[id.level].push_back(std::move(h));
    }
    ++size_;
  }
  sened::journal::NodeReader reader() const {
    return [this](NodeId id) -> Result<std::string> {
      if (static_cast<size_t>(id.level) >= levels_.size() || id.index >= levels_[id.level].size()) {
        return sened::not_found("node");
      }
      return levels_[id.level][id.index];
    };
  }
  uint64_t size() const { return size_; }

 private:
  std::vector<std::vector<std::string>> levels_;
  uint64_t size_ = 0;
};

std::string leaf(uint64_t i) {
  char data[32] = {};
  std::memcpy(data, &i, sizeof i);
  return sened::journal::leaf_hash(std::string_view(data, sizeof data));
}

template <typename F>
double micros_per_call(int repeat, F&& f) {
  auto start = Clock::now();
  for (int i = 0; i < repeat; ++i) f();
  std::chrono::duration<double, std::micro> d = Clock::now() - start;
  return d.count() / repeat;
}

void measure(const MemoryTree& t, uint64_t n, int repeat) {
  auto read = t.reader();
  std::string root = *sened::journal::stored_root(n, read);
  uint64_t index = n / 2;
  uint64_t old_size = n / 2;
  std::string old_root = *sened::journal::stored_root(old_size, read);

  std::vector<std::string> inclusion, consistency;
  double make_inc = micros_per_call(
      repeat, [&] { inclusion = *sened::journal::stored_inclusion_proof(index, n, read); });
  double check_inc = micros_per_call(repeat, [&] {
    if (!sened::journal::verify_inclusion(leaf(index), index, n, inclusion, root).ok()) {
      std::abort();
    }
  });
  double make_con = micros_per_call(
      repeat, [&] { consistency = *sened::journal::stored_consistency_proof(old_size, n, read); });
  double check_con = micros_per_call(repeat, [&] {
    if (!sened::journal::verify_consistency(old_size, n, old_root, root, consistency).ok()) {
      std::abort();
    }
  });
  std::printf(
      "%9llu | %3zu hashes %5zu B %8.2f us %8.2f us | %3zu hashes %5zu B %8.2f us %8.2f us\n",
      static_cast<unsigned long long>(n), inclusion.size(), inclusion.size() * 32, make_inc,
      check_inc, consistency.size(), consistency.size() * 32, make_con, check_con);
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 1000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::atoi(argv[i + 1]);
  }
  std::printf(
      "  entries |    inclusion proof of leaf n/2: size, make, check    |"
      " consistency proof n/2 -> n: size, make, check\n");
  MemoryTree t;
  for (uint64_t n : {uint64_t{1}, uint64_t{1000}, uint64_t{1000000}}) {
    while (t.size() < n) t.append(leaf(t.size()));
    measure(t, n, repeat);
  }
  return 0;
}
