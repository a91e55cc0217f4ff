#include "journal/chain.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sened::journal {
namespace {

// A well-formed journal of `n` entries, chained from the genesis hash.
std::vector<JournalEntry> make_journal(int n) {
  std::vector<JournalEntry> entries;
  std::string prev(kGenesisHash);
  for (int i = 1; i <= n; ++i) {
    JournalEntry e;
    e.seq = i;
    e.time = "2026-12-04T17:30:0" + std::to_string(i % 10) + ".000Z";
    e.actor = "az.finance";
    e.kind = std::string(kDocumentSubmitted);
    e.document = "0193a1b2-0000-7000-8000-00000000000" + std::to_string(i % 10);
    e.recipient = "az.justice";
    e.content_digest = content_digest({{"n", std::to_string(i)}});
    e.prev_hash = prev;
    e.hash = entry_hash(e);
    prev = e.hash;
    entries.push_back(e);
  }
  return entries;
}

VerifyReport verify(const std::vector<JournalEntry>& entries, int64_t highest_referenced) {
  ChainVerifier verifier;
  for (const auto& e : entries) verifier.add(e);
  return verifier.finish(highest_referenced);
}

TEST(EntryHash, IsLowercaseHexOfSixtyFourCharacters) {
  std::string h = make_journal(1)[0].hash;
  ASSERT_EQ(h.size(), 64u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(EntryHash, MatchesTheDocumentedEncoding) {
  // The worked example of docs/journal.md: if this changes, so must the doc.
  JournalEntry e;
  e.seq = 1;
  e.time = "2026-12-04T17:30:00.000Z";
  e.actor = "operator";
  e.kind = "participant.added";
  e.recipient = "az.finance";
  e.content_digest = content_digest({{"status", "active"}});
  e.prev_hash = std::string(kGenesisHash);
  EXPECT_EQ(e.content_digest, "a6f67df4e553b0f2b0ae42debd483dd1c3eb0a30b52f01baeb30de41866a60c8");
  EXPECT_EQ(entry_hash(e), "6bb732bedf1a4ec5da65b8ae03879f8c2e241814e795a8f587a8d87244832d68");
}

TEST(EntryHash, ChangesWhenFieldBoundariesMove) {
  JournalEntry a = make_journal(1)[0];
  JournalEntry b = a;
  a.actor = "az.fin";
  a.kind = "ance" + a.kind;
  b.actor = "az.finance";
  EXPECT_NE(entry_hash(a), entry_hash(b));
}

TEST(ContentDigest, DependsOnTheOrderOfFields) {
  EXPECT_NE(content_digest({{"a", "1"}, {"b", "2"}}), content_digest({{"b", "2"}, {"a", "1"}}));
}

TEST(ChainVerifier, AcceptsAnIntactJournal) {
  auto entries = make_journal(5);
  VerifyReport r = verify(entries, 5);
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 5);
  EXPECT_EQ(r.first_bad_seq, 0);
  EXPECT_EQ(r.head_hash, entries.back().hash);
}

TEST(ChainVerifier, AcceptsAnEmptyJournalWithTheGenesisHead) {
  VerifyReport r = verify({}, 0);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries, 0);
  EXPECT_EQ(r.head_hash, kGenesisHash);
}

TEST(ChainVerifier, DetectsAnEditedFieldAtItsSeq) {
  auto entries = make_journal(5);
  entries[2].recipient = "az.health";
  VerifyReport r = verify(entries, 5);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
  EXPECT_EQ(r.problem, "entry 3 does not match its hash");
  EXPECT_EQ(r.head_hash, entries[1].hash);
}

TEST(ChainVerifier, DetectsAnEditThatRecomputedItsOwnHashAtTheNextEntry) {
  auto entries = make_journal(5);
  entries[2].actor = "az.health";
  entries[2].hash = entry_hash(entries[2]);
  VerifyReport r = verify(entries, 5);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4);
  EXPECT_EQ(r.problem, "entry 4 does not link to the entry before it");
}

TEST(ChainVerifier, DetectsADroppedEntry) {
  auto entries = make_journal(5);
  entries.erase(entries.begin() + 1);
  VerifyReport r = verify(entries, 5);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
  EXPECT_EQ(r.problem, "entry 2 missing or out of order");
}

TEST(ChainVerifier, DetectsTwoSwappedEntries) {
  auto entries = make_journal(5);
  std::swap(entries[1], entries[2]);
  VerifyReport r = verify(entries, 5);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
  EXPECT_EQ(r.problem, "entry 2 missing or out of order");
}

TEST(ChainVerifier, DetectsSwappedContentUnderKeptSeqNumbers) {
  auto entries = make_journal(5);
  std::swap(entries[1], entries[2]);
  entries[1].seq = 2;
  entries[2].seq = 3;
  VerifyReport r = verify(entries, 5);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 2);
}

TEST(ChainVerifier, DetectsATruncatedJournalThroughTheHighestReference) {
  auto entries = make_journal(5);
  entries.pop_back();
  VerifyReport r = verify(entries, 5);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5);
  EXPECT_EQ(r.problem, "journal ends at 4 but entry 5 is referenced");
  EXPECT_EQ(r.head_hash, entries.back().hash);
}

TEST(ChainVerifier, KeepsTheFirstProblemOnly) {
  auto entries = make_journal(5);
  entries[1].time = "edited";
  entries[3].time = "edited";
  VerifyReport r = verify(entries, 9);
  EXPECT_EQ(r.first_bad_seq, 2);
  EXPECT_EQ(r.entries, 2);
  EXPECT_EQ(r.problem, "entry 2 does not match its hash");
}

}  // namespace
}  // namespace sened::journal
