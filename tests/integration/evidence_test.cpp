// EvidenceCollector against the real `sened witness` binary and a local TSA
// (`openssl ts -reply` over loopback HTTP). The hub's store is stood in for
// by an in-memory journal behind the CheckpointLog hooks: the store methods
// are wired by the hub, not here.
#include "exchange/evidence.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/timestamp.h"
#include "journal/checkpoint.h"
#include "journal/cosignature.h"
#include "journal/merkle.h"
#include "support/test_support.h"
#include "support/tsa_responder.h"
#include "support/witness_service.h"

namespace sened::exchange {
namespace {

constexpr const char* kOrigin = "sened.test/journal";

// The hub's journal and checkpoints, in memory.
class FakeJournal {
 public:
  explicit FakeJournal(journal::NoteKey key) : key_(std::move(key)) {}

  // Appends entries ("documents accepted") and signs a checkpoint of the new size.
  void accept(const std::string& tag, int n) {
    std::lock_guard lock(mu_);
    for (int i = 0; i < n; ++i) {
      leaves_.push_back(journal::leaf_hash(tag + " " + std::to_string(leaves_.size())));
    }
    uint64_t size = leaves_.size();
    notes_[size] = *journal::sign_note(
        journal::checkpoint_body({kOrigin, size, journal::root_from_leaves(leaves_), {}}), key_);
  }
  CheckpointLog hooks() {
    CheckpointLog log;
    log.latest = [this]() -> Result<std::optional<CheckpointLog::Latest>> {
      std::lock_guard lock(mu_);
      if (notes_.empty()) return std::optional<CheckpointLog::Latest>();
      auto& [size, note] = *notes_.rbegin();
      return std::optional<CheckpointLog::Latest>(
          CheckpointLog::Latest{size, note, cosignatures_[size], timestamps_.count(size) > 0});
    };
    log.consistency_proof = [this](uint64_t from, uint64_t to) {
      std::lock_guard lock(mu_);
      return journal::consistency_proof(leaves_, from, to);
    };
    log.add_cosignature = [this](uint64_t size, const std::string& line) {
      std::lock_guard lock(mu_);
      cosignatures_[size].push_back(line);
      return Status();
    };
    log.set_timestamp = [this](uint64_t size, const std::string& der) {
      std::lock_guard lock(mu_);
      timestamps_[size] = der;
      return Status();
    };
    return log;
  }
  uint64_t size() {
    std::lock_guard lock(mu_);
    return leaves_.size();
  }
  std::string note(uint64_t size) {
    std::lock_guard lock(mu_);
    return notes_.at(size);
  }
  std::vector<std::string> cosignatures(uint64_t size) {
    std::lock_guard lock(mu_);
    return cosignatures_[size];
  }
  std::optional<std::string> timestamp(uint64_t size) {
    std::lock_guard lock(mu_);
    auto it = timestamps_.find(size);
    return it == timestamps_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  // A note with every stored cosignature, as the hub serves it.
  std::string served(uint64_t size) {
    return *journal::add_signature_lines(note(size), cosignatures(size));
  }

 private:
  std::mutex mu_;
  journal::NoteKey key_;
  std::vector<std::string> leaves_;
  std::map<uint64_t, std::string> notes_;
  std::map<uint64_t, std::vector<std::string>> cosignatures_;
  std::map<uint64_t, std::string> timestamps_;
};

const testing::TsaAuthority& tsa() {
  static const testing::TsaAuthority authority;
  return authority;
}

class EvidenceTest : public ::testing::Test {
 protected:
  EvidenceOptions options(bool with_witness, bool with_tsa) {
    EvidenceOptions o;
    if (with_witness) o.witnesses.push_back({witness_.vkey(), witness_.url()});
    if (with_tsa) {
      o.tsa_url = responder_.url();
      o.tsa_ca = tsa().ca_file();
    }
    o.witness_timeout_seconds = 10;
    o.poll_interval = std::chrono::milliseconds(50);
    o.first_backoff = std::chrono::milliseconds(10);
    o.max_backoff = std::chrono::milliseconds(100);
    return o;
  }
  bool cosigned(uint64_t size) {
    return journal::check_witness_threshold(journal_.served(size), {witness_.key()}, 1).ok();
  }

  journal::NoteKey log_key_ = *journal::make_note_key(kOrigin);
  FakeJournal journal_{log_key_};
  testing::WitnessService witness_{kOrigin, journal::verifier_key_string(log_key_)};
  testing::TsaResponder responder_{tsa()};
};

TEST_F(EvidenceTest, CollectsVerifiedCosignaturesAsTheJournalGrows) {
  witness_.start();
  journal_.accept("doc", 5);
  EvidenceCollector collector(journal_.hooks(), options(true, false));
  ASSERT_TRUE(collector.run_once().ok());
  EXPECT_TRUE(cosigned(5));
  journal_.accept("doc", 7);
  ASSERT_TRUE(collector.run_once().ok());
  EXPECT_TRUE(cosigned(12));
  EvidenceStatus s = collector.status();
  ASSERT_EQ(s.witnesses.size(), 1u);
  EXPECT_EQ(s.witnesses[0].cosigned_size, 12u);
  EXPECT_TRUE(s.witnesses[0].ok);
}

TEST_F(EvidenceTest, LearnsTheWitnessSizeAfterARestartOfTheHub) {
  witness_.start();
  journal_.accept("doc", 4);
  {
    EvidenceCollector first(journal_.hooks(), options(true, false));
    ASSERT_TRUE(first.run_once().ok());
  }
  journal_.accept("doc", 3);
  // A new collector does not know the witness's size: 409 teaches it.
  EvidenceCollector second(journal_.hooks(), options(true, false));
  ASSERT_TRUE(second.run_once().ok());
  EXPECT_TRUE(cosigned(7));
}

TEST_F(EvidenceTest, WitnessDownThenUpCompletesTheLatestCheckpoint) {
  witness_.start();
  journal_.accept("doc", 2);
  EvidenceCollector collector(journal_.hooks(), options(true, false));
  ASSERT_TRUE(collector.run_once().ok());
  witness_.stop();

  // Documents keep being accepted while the witness is away.
  journal_.accept("doc", 3);
  ASSERT_TRUE(collector.run_once().ok());
  journal_.accept("doc", 3);
  ASSERT_TRUE(collector.run_once().ok());
  EvidenceStatus down = collector.status();
  EXPECT_FALSE(down.witnesses[0].ok);
  EXPECT_EQ(down.witnesses[0].failures, 2);
  EXPECT_EQ(down.witnesses[0].cosigned_size, 2u);
  EXPECT_FALSE(cosigned(8));

  witness_.start();
  ASSERT_TRUE(collector.run_once().ok());
  EXPECT_TRUE(cosigned(8));
  EXPECT_TRUE(collector.status().witnesses[0].ok);
  // The checkpoint of size 5, signed during the outage, stays without a
  // cosignature of its own: size 8 covers it by consistency.
  EXPECT_TRUE(journal_.cosignatures(5).empty());
}

TEST_F(EvidenceTest, ForkedHubGetsNoCosignature) {
  witness_.start();
  journal_.accept("doc", 6);
  EvidenceCollector honest(journal_.hooks(), options(true, false));
  ASSERT_TRUE(honest.run_once().ok());

  // The same key signing another history of the same origin.
  FakeJournal fork(log_key_);
  fork.accept("other", 9);
  EvidenceCollector forked(fork.hooks(), options(true, false));
  ASSERT_TRUE(forked.run_once().ok());
  EXPECT_TRUE(fork.cosignatures(9).empty());
  EvidenceStatus s = forked.status();
  EXPECT_FALSE(s.witnesses[0].ok);
  EXPECT_NE(s.witnesses[0].last_error.find("422"), std::string::npos) << s.witnesses[0].last_error;
}

TEST_F(EvidenceTest, InvalidCosignatureFromWitnessIsNotStored) {
  journal_.accept("doc", 3);
  journal::NoteKey impostor = *journal::make_note_key("witness.test/w1");
  HttpPost lying = [&](const std::string&, const std::string&, const std::string&, int) {
    std::string body = journal::split_note(journal_.note(3))->body;
    return Result<PostAnswer>(
        PostAnswer{200, "text/plain", *journal::make_cosignature_line(body, impostor, 1)});
  };
  EvidenceOptions o;
  // The configured key has the same name as the liar's, but another key.
  o.witnesses.push_back(
      {journal::witness_verifier_key_string(*journal::make_note_key("witness.test/w1")),
       "http://127.0.0.1:9"});
  EvidenceCollector collector(journal_.hooks(), o, lying);
  ASSERT_TRUE(collector.run_once().ok());
  EXPECT_TRUE(journal_.cosignatures(3).empty());
  EXPECT_FALSE(collector.status().witnesses[0].ok);
}

TEST_F(EvidenceTest, TimeStampsTheLatestNote) {
  responder_.start();
  journal_.accept("doc", 4);
  EvidenceCollector collector(journal_.hooks(), options(false, true));
  ASSERT_TRUE(collector.run_once().ok());
  std::optional<std::string> der = journal_.timestamp(4);
  ASSERT_TRUE(der.has_value());
  EXPECT_TRUE(crypto::verify_timestamp_token(*der, journal_.note(4), tsa().ca_file()).ok());
  EXPECT_EQ(collector.status().timestamped_size, 4u);
}

TEST_F(EvidenceTest, TsaDownThenUpTimeStampsLaterWhileDocumentsAreAccepted) {
  responder_.start();
  std::string url = responder_.url();
  responder_.stop();
  journal_.accept("doc", 2);
  EvidenceCollector collector(journal_.hooks(), options(false, true));
  ASSERT_TRUE(collector.run_once().ok());
  EXPECT_FALSE(journal_.timestamp(2).has_value());
  EXPECT_FALSE(collector.status().tsa_ok);

  journal_.accept("doc", 2);  // accepted meanwhile
  responder_.start();
  ASSERT_EQ(responder_.url(), url);
  ASSERT_TRUE(collector.run_once().ok());
  std::optional<std::string> der = journal_.timestamp(4);
  ASSERT_TRUE(der.has_value());
  EXPECT_TRUE(crypto::verify_timestamp_token(*der, journal_.note(4), tsa().ca_file()).ok());
  EXPECT_TRUE(collector.status().tsa_ok);
}

TEST_F(EvidenceTest, BackgroundThreadCompletesEvidenceAfterWake) {
  witness_.start();
  responder_.start();
  EvidenceCollector collector(journal_.hooks(), options(true, true));
  ASSERT_TRUE(collector.start().ok());
  journal_.accept("doc", 3);
  collector.wake();
  // A bound on the wait, not a timing assertion.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         !(cosigned(3) && journal_.timestamp(3).has_value())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(cosigned(3));
  EXPECT_TRUE(journal_.timestamp(3).has_value());
  collector.stop();
}

TEST_F(EvidenceTest, RejectsBadConfiguration) {
  EvidenceOptions bad_key;
  bad_key.witnesses.push_back({journal::verifier_key_string(log_key_), "http://127.0.0.1:9"});
  EXPECT_EQ(EvidenceCollector(journal_.hooks(), bad_key).start().code(), Code::kInvalidArgument);
  EvidenceOptions bad_url;
  bad_url.witnesses.push_back({witness_.vkey(), "ftp://127.0.0.1:9"});
  EXPECT_EQ(EvidenceCollector(journal_.hooks(), bad_url).start().code(), Code::kInvalidArgument);
  EvidenceOptions no_ca;
  no_ca.tsa_url = "http://127.0.0.1:9/tsa";
  EXPECT_EQ(EvidenceCollector(journal_.hooks(), no_ca).start().code(), Code::kInvalidArgument);
}

TEST(EvidenceStatusTest, JsonNamesWitnessesAndTsa) {
  EvidenceStatus s;
  s.latest_size = 9;
  s.witnesses.push_back({"w1", "http://127.0.0.1:1", 7, false, 3, "down"});
  std::string json = evidence_status_json(s);
  EXPECT_NE(json.find("\"latest_size\":9"), std::string::npos) << json;
  EXPECT_NE(json.find("\"cosigned_size\":7"), std::string::npos) << json;
  EXPECT_NE(json.find("\"last_error\":\"down\""), std::string::npos) << json;
}

}  // namespace
}  // namespace sened::exchange
