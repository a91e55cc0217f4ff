// The real `sened witness` binary on loopback, spoken to with curl.
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

#include "crypto/digest.h"
#include "journal/checkpoint.h"
#include "journal/cosignature.h"
#include "journal/merkle.h"
#include "support/service_process.h"
#include "support/test_support.h"

namespace sened {
namespace {

using journal::NoteKey;

constexpr const char* kOrigin = "sened.test/journal";

// A journal built in the test: leaves, and the log key that signs checkpoints.
struct Log {
  NoteKey key = *journal::make_note_key(kOrigin);
  std::vector<std::string> leaves;

  void grow(const std::string& tag, int n) {
    for (int i = 0; i < n; ++i) {
      leaves.push_back(journal::leaf_hash(tag + " " + std::to_string(leaves.size())));
    }
  }
  std::string body(uint64_t size) const {
    std::vector<std::string> prefix(leaves.begin(), leaves.begin() + static_cast<long>(size));
    return journal::checkpoint_body({kOrigin, size, journal::root_from_leaves(prefix), {}});
  }
  std::string request(uint64_t old_size, uint64_t size) const {
    std::string out = "old " + std::to_string(old_size) + "\n";
    std::vector<std::string> proof = *journal::consistency_proof(leaves, old_size, size);
    for (const std::string& h : proof) out += crypto::base64_encode(h) + "\n";
    return out + "\n" + *journal::sign_note(body(size), key);
  }
};

struct Answer {
  int status = 0;
  std::string content_type;
  std::string body;
};

class WitnessBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CommandResult init =
        sened({"witness", "init", "--data", data(), "--name", "witness.test/w1"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ASSERT_FALSE(init.out.empty());
    Result<NoteKey> vkey =
        journal::parse_witness_verifier_key(init.out.substr(0, init.out.size() - 1));
    ASSERT_TRUE(vkey.ok()) << init.out;
    witness_key_ = *vkey;
    log_.grow("honest", 12);
    testing::CommandResult add = sened({"witness", "add-log", "--data", data(), "--origin", kOrigin,
                                        "--key", journal::verifier_key_string(log_.key)});
    ASSERT_EQ(add.exit_code, 0) << add.err;
    start();
  }

  std::string data() const { return dir_ / "witness"; }
  testing::CommandResult sened(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{testing::sened_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_command(argv);
  }
  void start() {
    address_ = process_.start({"witness", "--data", data(), "--listen", "127.0.0.1:0"},
                              dir_ / "witness.addr", dir_ / "witness.log");
  }

  // POSTs `body` to /add-checkpoint with curl.
  Answer post(const std::string& body, const std::string& path = "/add-checkpoint",
              const std::string& method = "POST") {
    std::string req = dir_ / "request";
    testing::write_file(req, body);
    testing::CommandResult r = testing::run_command(
        {"curl", "-sS", "-X", method, "--data-binary", "@" + req, "-o", dir_ / "answer", "-w",
         "%{http_code} %{content_type}", "http://" + address_ + path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Answer a;
    size_t space = r.out.find(' ');
    a.status = std::stoi(r.out.substr(0, space));
    a.content_type = space == std::string::npos ? "" : r.out.substr(space + 1);
    a.body = testing::read_file(dir_ / "answer");
    return a;
  }

  testing::TempDir dir_;
  testing::ServiceProcess process_;
  std::string address_;
  NoteKey witness_key_;
  Log log_;
};

TEST_F(WitnessBinaryTest, CosignsConsistentCheckpointsOverHttp) {
  Answer first = post(log_.request(0, 5));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_TRUE(journal::verify_cosignature_line(first.body, log_.body(5), witness_key_).ok());
  Answer second = post(log_.request(5, 12));
  ASSERT_EQ(second.status, 200) << second.body;
  std::string note =
      *journal::add_signature_lines(*journal::sign_note(log_.body(12), log_.key), {second.body});
  EXPECT_TRUE(journal::check_witness_threshold(note, {witness_key_}, 1).ok());
}

TEST_F(WitnessBinaryTest, RefusesForkedLogWith422) {
  ASSERT_EQ(post(log_.request(0, 7)).status, 200);
  Log fork;
  fork.key = log_.key;
  fork.leaves.assign(log_.leaves.begin(), log_.leaves.begin() + 6);
  fork.grow("fork", 6);
  Answer a = post(fork.request(7, 12));
  EXPECT_EQ(a.status, 422) << a.body;
  // Still at the honest size: the honest successor is cosigned.
  EXPECT_EQ(post(log_.request(7, 12)).status, 200);
  testing::CommandResult logs = sened({"witness", "logs", "--data", data()});
  EXPECT_NE(logs.out.find("size=12"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("refused=1"), std::string::npos) << logs.out;
}

TEST_F(WitnessBinaryTest, WrongOldSizeGets409WithSizeBody) {
  ASSERT_EQ(post(log_.request(0, 4)).status, 200);
  Answer a = post(log_.request(0, 9));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.content_type, "text/x.tlog.size");
  EXPECT_EQ(a.body, "4\n");
}

TEST_F(WitnessBinaryTest, ForeignLogKeyGets403AndUnknownOrigin404) {
  Log impostor = log_;
  impostor.key = *journal::make_note_key(kOrigin);
  EXPECT_EQ(post(impostor.request(0, 3)).status, 403);

  NoteKey other = *journal::make_note_key("other.test/log");
  std::string note = *journal::sign_note(
      journal::checkpoint_body({"other.test/log", 0, journal::empty_root(), {}}), other);
  EXPECT_EQ(post("old 0\n\n" + note).status, 404);
}

TEST_F(WitnessBinaryTest, MalformedBodiesGet400) {
  EXPECT_EQ(post("").status, 400);
  EXPECT_EQ(post("old x\n\n").status, 400);
  EXPECT_EQ(post("old 0\n\n" + log_.body(3)).status, 400);
  EXPECT_EQ(post("old 0\n\n", "/add-checkpoint", "GET").status, 405);
  EXPECT_EQ(post("old 0\n\n", "/elsewhere").status, 404);
}

TEST_F(WitnessBinaryTest, RestartKeepsTheCosignedSize) {
  ASSERT_EQ(post(log_.request(0, 7)).status, 200);
  EXPECT_EQ(process_.stop(SIGTERM), 0);
  start();
  Answer a = post(log_.request(0, 9));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body, "7\n");
  EXPECT_EQ(post(log_.request(7, 9)).status, 200);
}

TEST_F(WitnessBinaryTest, CliRefusesBadInputClearly) {
  testing::CommandResult again =
      sened({"witness", "init", "--data", data(), "--name", "witness.test/w1"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already"), std::string::npos) << again.err;
  testing::CommandResult bad_key =
      sened({"witness", "add-log", "--data", data(), "--origin", "x.test/log", "--key", "nope"});
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.err.find("invalid_argument"), std::string::npos) << bad_key.err;
  testing::CommandResult no_folder =
      sened({"witness", "--data", dir_ / "missing", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(no_folder.exit_code, 1);
  EXPECT_NE(no_folder.err.find("witness init"), std::string::npos) << no_folder.err;
}

}  // namespace
}  // namespace sened
