#include "journal/witness.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/digest.h"
#include "journal/checkpoint.h"
#include "journal/cosignature.h"
#include "journal/merkle.h"
#include "support/test_support.h"

namespace sened::journal {
namespace {

constexpr const char* kOrigin = "sened.test/journal";

// A journal as the hub keeps it: leaves, and a signing key for checkpoints.
struct Log {
  NoteKey key = *make_note_key(kOrigin);
  std::vector<std::string> leaves;

  explicit Log(const std::string& tag, int n = 0) { grow(tag, n); }
  void grow(const std::string& tag, int n) {
    for (int i = 0; i < n; ++i) {
      leaves.push_back(leaf_hash(tag + " entry " + std::to_string(leaves.size())));
    }
  }
  std::string vkey() const { return verifier_key_string(key); }
  std::string body(uint64_t size) const {
    std::vector<std::string> prefix(leaves.begin(), leaves.begin() + static_cast<long>(size));
    return checkpoint_body({kOrigin, size, root_from_leaves(prefix), {}});
  }
  std::string note(uint64_t size) const { return *sign_note(body(size), key); }
  // The add-checkpoint request body from `old_size` to `size`.
  std::string request(uint64_t old_size, uint64_t size) const {
    std::string out = "old " + std::to_string(old_size) + "\n";
    std::vector<std::string> proof = *consistency_proof(leaves, old_size, size);
    for (const std::string& h : proof) {
      out += crypto::base64_encode(h) + "\n";
    }
    return out + "\n" + note(size);
  }
};

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Witness::init(dir_.path(), "witness.test/w1").ok());
    reopen();
    ASSERT_TRUE(witness_->add_log(kOrigin, log_.vkey()).ok());
  }
  void reopen() {
    witness_.reset();
    auto w = Witness::open(dir_.path());
    ASSERT_TRUE(w.ok()) << w.status().to_string();
    witness_ = std::move(*w);
    witness_->set_clock([] { return uint64_t{1700000000}; });
  }
  NoteKey witness_vkey() const { return *parse_witness_verifier_key(witness_->verifier_key()); }
  WitnessedLog state() const { return witness_->logs()->at(0); }
  void expect_state(uint64_t size) const {
    WitnessedLog s = state();
    EXPECT_EQ(s.size, size);
    if (size > 0) {
      std::vector<std::string> prefix(log_.leaves.begin(),
                                      log_.leaves.begin() + static_cast<long>(size));
      EXPECT_EQ(s.root, root_from_leaves(prefix));
    }
  }

  testing::TempDir dir_;
  Log log_{"main", 10};
  std::unique_ptr<Witness> witness_;
};

TEST_F(WitnessTest, CosignsAChainOfConsistentCheckpoints) {
  uint64_t old = 0;
  for (uint64_t size : {1u, 3u, 4u, 7u, 10u}) {
    WitnessAnswer a = witness_->add_checkpoint(log_.request(old, size));
    ASSERT_EQ(a.status, 200) << a.body;
    Result<uint64_t> t = verify_cosignature_line(a.body, log_.body(size), witness_vkey());
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    EXPECT_EQ(*t, 1700000000u);
    std::string cosigned = *add_signature_lines(log_.note(size), {a.body});
    EXPECT_TRUE(check_witness_threshold(cosigned, {witness_vkey()}, 1).ok());
    expect_state(size);
    old = size;
  }
}

TEST_F(WitnessTest, RecosignsTheSameCheckpoint) {
  ASSERT_EQ(witness_->add_checkpoint(log_.request(0, 5)).status, 200);
  WitnessAnswer again = witness_->add_checkpoint(log_.request(5, 5));
  EXPECT_EQ(again.status, 200) << again.body;
  expect_state(5);
}

TEST_F(WitnessTest, RefusesForkedLogWith422AndKeepsState) {
  ASSERT_EQ(witness_->add_checkpoint(log_.request(0, 7)).status, 200);
  // Same key and first 6 entries, then others: the view shown to someone else.
  Log fork("main", 6);
  fork.key = log_.key;
  fork.grow("fork", 6);
  WitnessAnswer a = witness_->add_checkpoint(fork.request(7, 12));
  EXPECT_EQ(a.status, 422) << a.body;
  EXPECT_NE(a.body.find("shows a fork"), std::string::npos) << a.body;
  expect_state(7);
  // The log's own proof leads to its signed root from another 7-entry tree:
  // that is evidence, and it is kept.
  EXPECT_EQ(*witness_->refused_count(kOrigin), 1);
  // The same request again is refused again but kept once.
  EXPECT_EQ(witness_->add_checkpoint(fork.request(7, 12)).status, 422);
  EXPECT_EQ(*witness_->refused_count(kOrigin), 1);
  // The honest continuation is still cosigned.
  EXPECT_EQ(witness_->add_checkpoint(log_.request(7, 10)).status, 200);
}

TEST_F(WitnessTest, RefusesOtherRootAtSameSizeWith409) {
  ASSERT_EQ(witness_->add_checkpoint(log_.request(0, 6)).status, 200);
  Log other("other", 6);
  other.key = log_.key;
  WitnessAnswer a = witness_->add_checkpoint(other.request(6, 6));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body, "6\n");
  expect_state(6);
  EXPECT_EQ(*witness_->refused_count(kOrigin), 1);
}

TEST_F(WitnessTest, WrongOldSizeGets409WithKnownSize) {
  ASSERT_EQ(witness_->add_checkpoint(log_.request(0, 4)).status, 200);
  WitnessAnswer a = witness_->add_checkpoint(log_.request(3, 8));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.content_type, kTlogSizeContentType);
  EXPECT_EQ(a.body, "4\n");
  expect_state(4);
  // A client that did not know the size learns it from an "old 0" request.
  WitnessAnswer probe = witness_->add_checkpoint(log_.request(0, 8));
  EXPECT_EQ(probe.status, 409);
  EXPECT_EQ(probe.body, "4\n");
}

TEST_F(WitnessTest, BadLogSignatureGets403) {
  Log impostor("main", 10);  // same entries, another key
  WitnessAnswer a = witness_->add_checkpoint(impostor.request(0, 5));
  EXPECT_EQ(a.status, 403) << a.body;
  expect_state(0);

  std::string note = log_.note(5);
  size_t sig = note.rfind(' ') + 1;
  note[sig] = note[sig] == 'A' ? 'B' : 'A';
  WitnessAnswer tampered = witness_->add_checkpoint("old 0\n\n" + note);
  EXPECT_EQ(tampered.status, 403) << tampered.body;
  expect_state(0);
}

TEST_F(WitnessTest, UnknownOriginGets404) {
  std::vector<std::string> leaves{leaf_hash("x")};
  NoteKey key = *make_note_key("elsewhere.test/log");
  std::string note =
      *sign_note(checkpoint_body({"elsewhere.test/log", 1, root_from_leaves(leaves), {}}), key);
  EXPECT_EQ(witness_->add_checkpoint("old 0\n\n" + note).status, 404);
}

TEST_F(WitnessTest, MalformedRequestsGet400AndChangeNothing) {
  std::string note = log_.note(5);
  std::string proof_line = crypto::base64_encode(std::string(32, 'x')) + "\n";
  std::string too_many;
  for (int i = 0; i < 64; ++i) too_many += proof_line;
  for (const std::string& bad : std::vector<std::string>{
           std::string(""),
           std::string("old 0"),
           "old\n\n" + note,
           "old 01\n\n" + note,
           "old -1\n\n" + note,
           "old 0 \n\n" + note,
           "new 0\n\n" + note,
           "old 0\n" + note,
           "old 0\nnot base64!\n\n" + note,
           "old 0\n" + crypto::base64_encode("short") + "\n\n" + note,
           "old 0\n" + too_many + "\n" + note,
           std::string("old 0\n\nnot a checkpoint\n"),
           "old 0\n\n" + log_.body(5),
           "old 6\n\n" + note,  // old size above the checkpoint's
           std::string("old 99999999999999999999\n\n") + note,
       }) {
    WitnessAnswer a = witness_->add_checkpoint(bad);
    EXPECT_EQ(a.status, 400) << bad << " -> " << a.body;
  }
  expect_state(0);
  EXPECT_EQ(*witness_->refused_count(kOrigin), 0);
}

TEST_F(WitnessTest, ProofThatDoesNotVerifyGets422) {
  ASSERT_EQ(witness_->add_checkpoint(log_.request(0, 4)).status, 200);
  std::string req = log_.request(4, 9);
  size_t first = req.find('\n') + 1;
  req[first] = req[first] == 'A' ? 'B' : 'A';
  EXPECT_EQ(witness_->add_checkpoint(req).status, 422);
  // A proof of the right shape made of made-up hashes.
  std::string bogus =
      "old 4\n" + crypto::base64_encode(std::string(32, 'q')) + "\n\n" + log_.note(9);
  EXPECT_EQ(witness_->add_checkpoint(bogus).status, 422);
  // And no proof at all.
  EXPECT_EQ(witness_->add_checkpoint("old 4\n\n" + log_.note(9)).status, 422);
  expect_state(4);
  // None of these proves a fork: anyone can send them with the log's public
  // checkpoint, so none is kept as evidence (which they could crowd out).
  EXPECT_EQ(*witness_->refused_count(kOrigin), 0);
}

TEST_F(WitnessTest, AForkFromAPowerOfTwoSizeIsRefusedButLeavesNoEvidence) {
  // The proof from a perfect old tree leaves the old root out, so a failed
  // check cannot tell a fork from a junk proof.
  ASSERT_EQ(witness_->add_checkpoint(log_.request(0, 8)).status, 200);
  Log fork("main", 6);
  fork.key = log_.key;
  fork.grow("fork", 6);
  fork.grow("more", 2);
  WitnessAnswer a = witness_->add_checkpoint(fork.request(8, 14));
  EXPECT_EQ(a.status, 422) << a.body;
  expect_state(8);
  EXPECT_EQ(*witness_->refused_count(kOrigin), 0);
}

TEST_F(WitnessTest, IgnoresSignaturesFromUnknownKeys) {
  NoteKey stranger = *make_note_key("stranger.test/key");
  std::string note = log_.note(3) + *make_cosignature_line(log_.body(3), stranger, 1);
  std::string req = "old 0\n\n" + note;
  EXPECT_EQ(witness_->add_checkpoint(req).status, 200);
}

TEST_F(WitnessTest, StateSurvivesRestart) {
  ASSERT_EQ(witness_->add_checkpoint(log_.request(0, 7)).status, 200);
  reopen();
  expect_state(7);
  WitnessAnswer stale = witness_->add_checkpoint(log_.request(0, 9));
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body, "7\n");
  EXPECT_EQ(witness_->add_checkpoint(log_.request(7, 9)).status, 200);
}

TEST_F(WitnessTest, AddLogIsIdempotentButNeverChangesTheKey) {
  EXPECT_TRUE(witness_->add_log(kOrigin, log_.vkey()).ok());
  NoteKey other = *make_note_key(kOrigin);
  EXPECT_EQ(witness_->add_log(kOrigin, verifier_key_string(other)).code(), Code::kConflict);
  EXPECT_EQ(witness_->add_log(kOrigin, "garbage").code(), Code::kInvalidArgument);
  EXPECT_EQ(witness_->add_log("", log_.vkey()).code(), Code::kInvalidArgument);
  EXPECT_EQ(witness_->add_log("two\nlines", log_.vkey()).code(), Code::kInvalidArgument);
  // A witness key (type 0x04) is not a log key.
  EXPECT_EQ(witness_->add_log("x.test/log", witness_->verifier_key()).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(witness_->logs()->size(), 1u);
}

TEST(WitnessInitTest, RefusesSecondInitAndBadName) {
  testing::TempDir dir;
  EXPECT_EQ(Witness::init(dir / "w", "bad name").code(), Code::kInvalidArgument);
  ASSERT_TRUE(Witness::init(dir / "w", "witness.test/w1").ok());
  EXPECT_EQ(Witness::init(dir / "w", "witness.test/w1").code(), Code::kConflict);
  EXPECT_EQ(Witness::open(dir / "nothing").status().code(), Code::kNotFound);
  auto w = Witness::open(dir / "w");
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(parse_witness_verifier_key((*w)->verifier_key()).ok());
}

}  // namespace
}  // namespace sened::journal
