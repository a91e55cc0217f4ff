// JournalWatch against a fake hub that answers the journal routes the way
// the hub's journal API does (GET /v1/journal/checkpoint, /v1/journal/key,
// /v1/journal/proof/consistency), from a journal built in the test.
#include "gateway/journal_watch.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "crypto/digest.h"
#include "gateway/gateway.h"
#include "journal/checkpoint.h"
#include "journal/cosignature.h"
#include "journal/merkle.h"
#include "support/test_support.h"

namespace sened::gateway {
namespace {

namespace fs = std::filesystem;
constexpr const char* kOrigin = "sened.test/journal";

struct FakeHub {
  journal::NoteKey key = *journal::make_note_key(kOrigin);
  std::vector<std::string> leaves;
  std::vector<journal::NoteKey> witnesses;  // cosign every served checkpoint
  bool down = false;
  bool no_journal = false;
  size_t shown = 0;  // when set, the size of the checkpoint served (a lagging node)
  int requests = 0;

  void grow(const std::string& tag, int n) {
    for (int i = 0; i < n; ++i) {
      leaves.push_back(journal::leaf_hash(tag + " " + std::to_string(leaves.size())));
    }
  }
  std::string note() const {
    std::string body =
        journal::checkpoint_body({kOrigin, leaves.size(), journal::root_from_leaves(leaves), {}});
    std::vector<std::string> lines;
    for (const auto& w : witnesses) lines.push_back(*journal::make_cosignature_line(body, w, 7));
    return *journal::add_signature_lines(*journal::sign_note(body, key), lines);
  }
  Result<HubAnswer> get(const std::string& target) {
    ++requests;
    if (down) return unavailable("connection refused");
    if (no_journal) return HubAnswer{404, R"({"error":{"code":"not_found"}})"};
    if (target == "/v1/journal/checkpoint") return HubAnswer{200, note()};
    if (target == "/v1/journal/key") {
      return HubAnswer{200, boost::json::serialize(boost::json::object{
                                {"origin", kOrigin}, {"vkey", journal::verifier_key_string(key)}})};
    }
    uint64_t from = 0, to = 0;
    if (std::sscanf(target.c_str(), "/v1/journal/proof/consistency?from=%lu&to=%lu", &from, &to) ==
        2) {
      auto proof = journal::consistency_proof(leaves, from, to);
      if (!proof.ok()) return HubAnswer{400, "{}"};
      boost::json::array list;
      for (const auto& h : *proof) list.emplace_back(crypto::base64_encode(h).c_str());
      return HubAnswer{200, boost::json::serialize(boost::json::object{
                                {"from", from}, {"to", to}, {"consistency_proof", list}})};
    }
    return HubAnswer{404, "{}"};
  }
  HubGet getter() {
    return [this](const std::string& t) { return get(t); };
  }
};

class JournalWatchTest : public ::testing::Test {
 protected:
  std::unique_ptr<JournalWatch> open(JournalWatchOptions o = {}) {
    auto w = JournalWatch::open(dir_.path(), std::move(o));
    EXPECT_TRUE(w.ok()) << w.status().to_string();
    return w.ok() ? std::move(*w) : nullptr;
  }
  std::string warning_path() const { return dir_ / kJournalWarningFile; }
  std::string warning_kind() const {
    auto v = boost::json::parse(testing::read_file(warning_path()));
    return std::string(v.as_object().at("kind").as_string().c_str());
  }
  void SetUp() override {
    fs::create_directories(dir_ / "status");
    fs::create_directories(dir_ / ".gateway");
  }

  testing::TempDir dir_;
  FakeHub hub_;
};

TEST_F(JournalWatchTest, TrustsTheLogKeyOnFirstUseAndRemembersIt) {
  hub_.grow("doc", 3);
  auto watch = open();
  ASSERT_TRUE(watch->check(hub_.getter()).ok());
  EXPECT_EQ(watch->last_size(), 3u);
  EXPECT_TRUE(fs::exists(dir_ / kJournalWatchFile));

  // After a restart, a hub that switched keys is caught.
  hub_.key = *journal::make_note_key(kOrigin);
  hub_.grow("doc", 1);
  auto again = open();
  EXPECT_EQ(again->check(hub_.getter()).code(), Code::kPermissionDenied);
  EXPECT_EQ(warning_kind(), "checkpoint");
}

TEST_F(JournalWatchTest, AcceptsAGrowingJournalAndCountsWitnesses) {
  journal::NoteKey w1 = *journal::make_note_key("w1.test/witness");
  journal::NoteKey w2 = *journal::make_note_key("w2.test/witness");
  hub_.witnesses = {w1, w2};
  JournalWatchOptions o;
  o.log_vkey = journal::verifier_key_string(hub_.key);
  o.witness_vkeys = {journal::witness_verifier_key_string(w1),
                     journal::witness_verifier_key_string(w2)};
  o.witness_threshold = 2;
  auto watch = open(o);
  for (int step = 0; step < 4; ++step) {
    hub_.grow("doc", 1 + step);
    ASSERT_TRUE(watch->check(hub_.getter()).ok()) << step;
  }
  EXPECT_EQ(watch->last_size(), 10u);
  EXPECT_FALSE(fs::exists(warning_path()));
}

TEST_F(JournalWatchTest, WarnsOnAForkAndKeepsTheWarning) {
  hub_.grow("doc", 6);
  auto watch = open();
  ASSERT_TRUE(watch->check(hub_.getter()).ok());

  // The hub now shows this gateway a history that diverges after entry 4.
  hub_.leaves.resize(4);
  hub_.grow("forged", 5);
  Status st = watch->check(hub_.getter());
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("not consistent"), std::string::npos) << st.message();
  EXPECT_EQ(warning_kind(), "inconsistent");
  EXPECT_EQ(watch->last_size(), 6u);

  // Still forked on the next look; the evidence file stays.
  hub_.grow("forged", 1);
  EXPECT_EQ(watch->check(hub_.getter()).code(), Code::kPermissionDenied);
  EXPECT_EQ(warning_kind(), "inconsistent");
  auto saved = boost::json::parse(testing::read_file(warning_path())).as_object();
  EXPECT_EQ(saved.at("last_good_size").as_int64(), 6);
}

TEST_F(JournalWatchTest, AForkTheWitnessesRefusedIsNamedAsAFork) {
  // The witnesses cosign the honest history only; the fork lacks them, and
  // the warning must still name the fork, not the missing cosignatures.
  journal::NoteKey w1 = *journal::make_note_key("w1.test/witness");
  hub_.witnesses = {w1};
  JournalWatchOptions o;
  o.witness_vkeys = {journal::witness_verifier_key_string(w1)};
  o.witness_threshold = 1;
  hub_.grow("doc", 6);
  auto watch = open(o);
  ASSERT_TRUE(watch->check(hub_.getter()).ok());

  hub_.witnesses.clear();
  hub_.leaves.resize(4);
  hub_.grow("forged", 5);
  Status st = watch->check(hub_.getter());
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("forked"), std::string::npos) << st.message();
  EXPECT_EQ(warning_kind(), "inconsistent");
}

TEST_F(JournalWatchTest, WarnsOnAnotherRootAtTheSameSize) {
  hub_.grow("doc", 5);
  auto watch = open();
  ASSERT_TRUE(watch->check(hub_.getter()).ok());
  hub_.leaves.clear();
  hub_.grow("other", 5);
  EXPECT_EQ(watch->check(hub_.getter()).code(), Code::kPermissionDenied);
  EXPECT_EQ(warning_kind(), "inconsistent");
}

TEST_F(JournalWatchTest, TooFewWitnessesWarnsUntilTheyCosign) {
  journal::NoteKey w1 = *journal::make_note_key("w1.test/witness");
  JournalWatchOptions o;
  o.witness_vkeys = {journal::witness_verifier_key_string(w1)};
  o.witness_threshold = 1;
  auto watch = open(o);
  hub_.grow("doc", 2);
  Status st = watch->check(hub_.getter());
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("0 of 1"), std::string::npos) << st.message();
  EXPECT_EQ(warning_kind(), "checkpoint");
  EXPECT_EQ(watch->last_size(), 0u);

  hub_.witnesses = {w1};
  EXPECT_TRUE(watch->check(hub_.getter()).ok());
  EXPECT_FALSE(fs::exists(warning_path()));
}

TEST_F(JournalWatchTest, SmallerConsistentCheckpointIsFineButNotRemembered) {
  hub_.grow("doc", 8);
  auto watch = open();
  ASSERT_TRUE(watch->check(hub_.getter()).ok());
  hub_.shown = 5;  // a lagging node: a prefix of what was seen
  EXPECT_TRUE(watch->check(hub_.getter()).ok());
  EXPECT_EQ(watch->last_size(), 8u);
}

TEST_F(JournalWatchTest, UnreachableHubOrHubWithoutJournalIsNoWarning) {
  auto watch = open();
  hub_.down = true;
  EXPECT_EQ(watch->check(hub_.getter()).code(), Code::kUnavailable);
  hub_.down = false;
  hub_.no_journal = true;
  EXPECT_EQ(watch->check(hub_.getter()).code(), Code::kUnavailable);
  EXPECT_FALSE(fs::exists(warning_path()));
}

TEST_F(JournalWatchTest, TickChecksAfterADocumentAndNotBefore) {
  JournalWatchOptions o;
  o.interval = std::chrono::hours(1);
  auto watch = open(o);
  hub_.grow("doc", 1);
  watch->tick(hub_.getter());  // the first tick always checks
  int after_first = hub_.requests;
  EXPECT_GT(after_first, 0);
  watch->tick(hub_.getter());
  EXPECT_EQ(hub_.requests, after_first);
  hub_.grow("doc", 1);
  watch->document_received();
  watch->tick(hub_.getter());
  EXPECT_GT(hub_.requests, after_first);
  EXPECT_EQ(watch->last_size(), 2u);
}

TEST_F(JournalWatchTest, OpenRefusesBadOptions) {
  JournalWatchOptions too_high;
  too_high.witness_threshold = 1;
  EXPECT_EQ(JournalWatch::open(dir_.path(), too_high).status().code(), Code::kInvalidArgument);
  JournalWatchOptions bad_witness;
  bad_witness.witness_vkeys = {journal::verifier_key_string(hub_.key)};  // a log key, type 0x01
  EXPECT_EQ(JournalWatch::open(dir_.path(), bad_witness).status().code(), Code::kInvalidArgument);
  JournalWatchOptions bad_log;
  bad_log.log_vkey = "nope";
  EXPECT_EQ(JournalWatch::open(dir_.path(), bad_log).status().code(), Code::kInvalidArgument);

  hub_.grow("doc", 1);
  ASSERT_TRUE(open()->check(hub_.getter()).ok());
  JournalWatchOptions other_key;
  other_key.log_vkey = journal::verifier_key_string(*journal::make_note_key(kOrigin));
  EXPECT_EQ(JournalWatch::open(dir_.path(), other_key).status().code(), Code::kInvalidArgument);
}

TEST(GatewayJournalOptionsTest, BadJournalOptionsLeaveNoGatewayFolder) {
  testing::TempDir dir;
  GatewayOptions o;
  o.dir = dir / "gateway";
  o.hub.url = "https://127.0.0.1:1";
  o.journal.witness_threshold = 2;
  auto g = Gateway::open(o);
  EXPECT_EQ(g.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(o.dir));
}

}  // namespace
}  // namespace sened::gateway
