// Offline verification of journal exports (journal/export.h) on logs built
// in memory: partial exports that drop, repeat or reorder entries, earlier
// checkpoints compared through embedded consistency proofs, forks named, and
// checkpoints that cannot be compared never passing as checked.
#include "journal/export.h"

#include <gtest/gtest.h>

#include "crypto/digest.h"
#include "journal/chain.h"
#include "journal/merkle.h"
#include "journal/tree.h"

namespace sened::journal {
namespace {

constexpr const char* kOrigin = "sened.example/journal";

// A journal of entries with their leaves, and signed checkpoints of it.
class Log {
 public:
  explicit Log(const NoteKey& key) : key_(key) {}

  // Appends an entry; `history` makes two logs of equal length differ.
  void append(const std::string& history = "main") {
    JournalEntry e;
    e.seq = static_cast<int64_t>(entries_.size()) + 1;
    e.time = "2026-12-04T17:30:00.000Z";
    e.actor = "az.mddt";
    e.kind = "document.submitted";
    e.document = "doc-" + std::to_string(e.seq % 3);
    e.content_digest = crypto::sha256_hex(history + std::to_string(e.seq));
    e.prev_hash = entries_.empty() ? std::string(kGenesisHash) : entries_.back().hash;
    e.salt = crypto::sha256_hex("salt" + std::to_string(e.seq));
    e.hash = entry_hash(e);
    auto data = leaf_data_of(e);
    ASSERT_TRUE(data.ok()) << data.status().message();
    leaves_.push_back(leaf_hash(*data));
    entries_.push_back(e);
  }
  void grow(size_t n, const std::string& history = "main") {
    for (size_t i = 0; i < n; ++i) append(history);
  }

  std::string checkpoint(uint64_t size) const {
    std::vector<std::string> prefix(leaves_.begin(), leaves_.begin() + static_cast<long>(size));
    auto note = sign_note(checkpoint_body({kOrigin, size, root_from_leaves(prefix), {}}), key_);
    EXPECT_TRUE(note.ok());
    return *note;
  }

  // A partial export at the log's size of the entries with these seqs, in
  // the order given, each with its inclusion proof.
  JournalExport partial(const std::vector<int64_t>& seqs) const {
    JournalExport e;
    e.checkpoint = checkpoint(leaves_.size());
    for (int64_t seq : seqs) {
      auto proof = inclusion_proof(leaves_, static_cast<uint64_t>(seq - 1), leaves_.size());
      EXPECT_TRUE(proof.ok());
      e.entries.push_back({entries_[static_cast<size_t>(seq - 1)], *proof});
    }
    return e;
  }

  ConsistencyProof consistency_from(uint64_t from) const {
    auto proof = consistency_proof(leaves_, from, leaves_.size());
    EXPECT_TRUE(proof.ok());
    return {from, *proof};
  }

  std::vector<JournalEntry>& entries() { return entries_; }
  std::vector<std::string>& leaves() { return leaves_; }

 private:
  NoteKey key_;
  std::vector<JournalEntry> entries_;
  std::vector<std::string> leaves_;
};

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = make_note_key(kOrigin);
    ASSERT_TRUE(key.ok());
    key_ = *key;
    log_ = std::make_unique<Log>(key_);
    log_->grow(10);
  }

  ExportReport verify(const JournalExport& e, const std::vector<std::string>& earlier = {}) {
    auto r = verify_export(e, key_, earlier);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : ExportReport{};
  }

  static bool has(const ExportReport& r, const std::string& kind, int64_t seq) {
    for (const auto& p : r.problems) {
      if (p.kind == kind && p.seq == seq) return true;
    }
    return false;
  }

  NoteKey key_;
  std::unique_ptr<Log> log_;
};

TEST_F(ExportTest, APartialExportOfADocumentVerifies) {
  ExportReport r = verify(log_->partial({3, 6, 9}));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.size, 10u);
  EXPECT_EQ(r.entries, 3u);
}

TEST_F(ExportTest, ADuplicatedEntryInAPartialExportIsNamed) {
  ExportReport r = verify(log_->partial({3, 6, 6, 9}));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has(r, "duplicate entry", 6));
}

TEST_F(ExportTest, ReorderedEntriesInAPartialExportAreNamed) {
  ExportReport r = verify(log_->partial({3, 9, 6}));
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(has(r, "reordered entries", 6));
  EXPECT_NE(r.problems[0].message.find("entries 9 and 6"), std::string::npos);
}

TEST_F(ExportTest, ADuplicatedEntryInACompleteExportIsNamed) {
  JournalExport e;
  e.checkpoint = log_->checkpoint(10);
  e.complete = true;
  for (const JournalEntry& x : log_->entries()) e.entries.push_back({x, {}});
  e.entries.insert(e.entries.begin() + 4, e.entries[4]);
  ExportReport r = verify(e);
  EXPECT_TRUE(has(r, "duplicate entry", 5));
}

TEST_F(ExportTest, ConsecutiveEntriesThatDoNotLinkAreNamed) {
  // A log whose own chain is broken at entry 5: each leaf still proves its
  // inclusion, but 4 and 5 side by side show the break.
  Log broken(key_);
  broken.grow(4);
  broken.append();
  JournalEntry& fifth = broken.entries()[4];
  fifth.prev_hash = std::string(64, 'a');
  fifth.hash = entry_hash(fifth);
  broken.leaves()[4] = leaf_hash(*leaf_data_of(fifth));
  broken.grow(2);
  EXPECT_TRUE(verify(broken.partial({2, 5})).ok());  // not consecutive: nothing to link
  ExportReport r = verify(broken.partial({4, 5}));
  EXPECT_TRUE(has(r, "tampered entry", 5));
}

TEST_F(ExportTest, AnEarlierCheckpointIsComparedThroughTheEmbeddedConsistencyProof) {
  std::string earlier = log_->checkpoint(7);
  JournalExport e = log_->partial({3, 9});
  e.consistency.push_back(log_->consistency_from(7));
  ExportReport r = verify(e, {earlier});
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.unchecked.empty());
}

TEST_F(ExportTest, AnEarlierCheckpointWithoutAProofIsNotVerified) {
  ExportReport r = verify(log_->partial({3, 9}), {log_->checkpoint(7)});
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.unchecked.size(), 1u);
  EXPECT_NE(r.unchecked[0].find("cannot compare checkpoint of size 7: the export carries no "
                                "consistency proof to it"),
            std::string::npos)
      << r.unchecked[0];
}

TEST_F(ExportTest, ANewerCheckpointIsNotVerified) {
  std::string newer = [&] {
    Log longer(key_);
    longer.grow(12);
    return longer.checkpoint(12);
  }();
  ExportReport r = verify(log_->partial({3}), {newer});
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.unchecked.size(), 1u);
  EXPECT_NE(r.unchecked[0].find("size 12: it is newer"), std::string::npos) << r.unchecked[0];
}

TEST_F(ExportTest, AForkFromABackupAtAnOlderSizeIsNamedThroughTheConsistencyProof) {
  // A copy of the log taken at size 5 grows on its own to 7 and is signed
  // with the same key, while the real log grows to 10.
  Log fork(key_);
  fork.grow(5);
  fork.grow(2, "fork");
  std::string forked = fork.checkpoint(7);
  JournalExport e = log_->partial({3, 9});
  e.consistency.push_back(log_->consistency_from(7));
  ExportReport r = verify(e, {forked});
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(has(r, "fork", 0));
  EXPECT_EQ(r.problems[0].message.rfind("the hub signed a checkpoint of size 7", 0), 0u)
      << r.problems[0].message;
}

TEST_F(ExportTest, AnAlteredConsistencyProofIsNamedNotTakenForAFork) {
  JournalExport e = log_->partial({3});
  e.consistency.push_back(log_->consistency_from(7));
  e.consistency[0].proof[0][0] ^= 1;
  ExportReport r = verify(e, {log_->checkpoint(7)});
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has(r, "bad proof", 0));
  EXPECT_FALSE(has(r, "fork", 0));
}

TEST_F(ExportTest, AProofFromAnotherSizeDoesNotCountForTheCheckpoint) {
  JournalExport e = log_->partial({3});
  e.consistency.push_back(log_->consistency_from(6));
  ExportReport r = verify(e, {log_->checkpoint(7)});
  EXPECT_EQ(r.unchecked.size(), 1u);
}

TEST_F(ExportTest, ConsistencyProofsSurviveTheJsonRoundTrip) {
  JournalExport e = log_->partial({3, 9});
  e.consistency.push_back(log_->consistency_from(7));
  auto parsed = parse_export(export_to_json(e));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->consistency.size(), 1u);
  EXPECT_EQ(parsed->consistency[0].from, 7u);
  EXPECT_EQ(parsed->consistency[0].proof, e.consistency[0].proof);
  EXPECT_TRUE(verify(*parsed, {log_->checkpoint(7)}).ok());
}

TEST_F(ExportTest, AMalformedConsistencyProofIsRefusedByTheParser) {
  std::string json = export_to_json(log_->partial({3}));
  std::string tail = ",\"consistency_proofs\":[{\"from\":-1,\"consistency_proof\":[]}]}";
  auto negative = parse_export(json.substr(0, json.rfind('}')) + tail);
  EXPECT_EQ(negative.status().code(), Code::kInvalidArgument);
  tail = ",\"consistency_proofs\":[{\"from\":3,\"consistency_proof\":[\"AAAA\"]}]}";
  auto short_hash = parse_export(json.substr(0, json.rfind('}')) + tail);
  EXPECT_EQ(short_hash.status().code(), Code::kInvalidArgument);
  EXPECT_NE(short_hash.status().message().find("from size 3"), std::string::npos);
}

TEST_F(ExportTest, ACertificateGivenAsTheLogKeyIsNamed) {
  auto r = parse_log_key("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", kOrigin);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("a PEM CERTIFICATE was given"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace sened::journal
