// The real `sened` binary on PostgreSQL: `admin init`, `org import`, `cert
// issue`, `hub` and `journal verify` all pointed at a schema of the test
// server through SENED_STORE (the environment form of --store), then a
// document sent and received over mutual TLS. Skips without a test server.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "support/hub_process.h"
#include "support/pg_test_support.h"
#include "support/service_process.h"

namespace sened::testing {
namespace {
namespace fs = std::filesystem;

const std::string kLetter = "Məktub № 14-3-2051 (inteqrasiya).pdf";

std::string example(const std::string& name) {
  return source_dir() + "/examples/documents/" + name;
}

std::string last_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

class PostgresHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (pg_test_url().empty()) GTEST_SKIP() << kNoPgServer;
    schema_ = std::make_unique<PgSchema>();
    // Inherited by every `sened` the hub fixture runs.
    setenv("SENED_STORE", schema_->url().c_str(), 1);
    hub_ = std::make_unique<HubProcess>(std::vector<std::string>{"az.mddt", "az.finance"});
    hub_->start();
  }

  void TearDown() override {
    hub_.reset();
    unsetenv("SENED_STORE");
    schema_.reset();
  }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_->client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 2, {"--hub", hub_->url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }

  std::unique_ptr<PgSchema> schema_;
  std::unique_ptr<HubProcess> hub_;
};

TEST_F(PostgresHubTest, InitRecordsTheStoreAndKeepsNoSqliteDatabase) {
  EXPECT_NE(read_file(hub_->dir() + "/sened.toml").find("store = \"" + schema_->url() + "\""),
            std::string::npos);
  EXPECT_FALSE(fs::exists(hub_->dir() + "/sened.db"));
  EXPECT_EQ(pg_sql("SELECT count(*) > 0 FROM participants", schema_->name()), "t");
}

TEST_F(PostgresHubTest, SendsAndReceivesADocumentAndTheJournalVerifies) {
  auto sent = run_command(
      as("az.mddt", {"send", "--to", "az.finance", "--subject", "Sınaq", example(kLetter)}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err << hub_->log();
  std::string id = last_line(sent.out);

  TempDir out;
  auto fetched = run_command(as("az.finance", {"fetch", id, "--out", out.path()}));
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(read_file(out / kLetter), read_file(example(kLetter)));
  ASSERT_EQ(run_command(as("az.finance", {"register", id, "--number", "N-7"})).exit_code, 0);
  auto status = run_command(as("az.mddt", {"status", id}));
  EXPECT_NE(status.out.find("az.finance (to): registered number N-7"), std::string::npos)
      << status.out;

  EXPECT_EQ(pg_sql("SELECT count(*) FROM documents", schema_->name()), "1");
  hub_->stop(SIGTERM);
  auto verified = hub_->verify_journal();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

// Signatures and receipts live in PostgreSQL too: the signature comes back
// byte for byte, a receipt is the same each time, and the journal verifies.
TEST_F(PostgresHubTest, SignedDocumentAndItsReceiptsAreKeptInPostgres) {
  hub_->stop(SIGTERM);
  fs::create_directories(hub_->dir() + "/trust");
  fs::copy_file(source_dir() + "/tests/data/pki-test/test-root-ca.pem",
                hub_->dir() + "/trust/test-root-ca.pem");
  hub_->start();
  auto sent =
      run_command(as("az.mddt", {"send", "--to", "az.finance", "--subject", "İmzalı",
                                 example(kLetter), "--signature", example(kLetter + ".p7s")}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err << hub_->log();
  std::string id = last_line(sent.out);
  EXPECT_EQ(pg_sql("SELECT signature_status FROM files", schema_->name()), "valid");

  TempDir in;
  ASSERT_EQ(run_command(as("az.finance", {"fetch", id, "--out", in.path()})).exit_code, 0);
  EXPECT_EQ(read_file(in / (kLetter + ".p7s")), read_file(example(kLetter + ".p7s")));
  TempDir first;
  TempDir second;
  for (const TempDir* out : {&first, &second}) {
    std::vector<std::string> args = as("az.mddt", {"receipt", id, "--out", out->path()});
    args.insert(args.begin() + 2, "get");
    auto r = run_command(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string accepted = read_file(first / "accepted-az.mddt.p7s");
  EXPECT_FALSE(accepted.empty());
  EXPECT_EQ(read_file(second / "accepted-az.mddt.p7s"), accepted);
  EXPECT_EQ(pg_sql("SELECT count(*) FROM receipts", schema_->name()), "1");

  hub_->stop(SIGTERM);
  auto verified = hub_->verify_journal();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(PostgresHubTest, JournalVerifyFindsARowEditedInTheDatabase) {
  auto sent = run_command(
      as("az.mddt", {"send", "--to", "az.finance", "--subject", "Sınaq", example(kLetter)}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  hub_->stop(SIGTERM);
  ASSERT_EQ(pg_sql("UPDATE documents SET subject = 'forged'", schema_->name()), "");
  auto verified = hub_->verify_journal();
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_NE((verified.out + verified.err).find("does not match"), std::string::npos)
      << verified.out << verified.err;
}

TEST_F(PostgresHubTest, StoreFlagOverridesTheConfiguration) {
  hub_->stop(SIGTERM);
  // The same data folder pointed at an empty schema: a mistyped address is
  // refused, not taken for an empty installation, and nothing is made there.
  PgSchema empty;
  auto listed = run_command(
      {sened_binary(), "admin", "org", "list", "--data", hub_->dir(), "--store", empty.url()});
  EXPECT_EQ(listed.exit_code, 1);
  EXPECT_NE(listed.err.find("no Sened store in that PostgreSQL database or schema"),
            std::string::npos)
      << listed.err;
  EXPECT_EQ(listed.out.find("az.mddt"), std::string::npos) << listed.out;
  EXPECT_EQ(
      pg_sql("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = '" + empty.name() + "'"),
      "0");
  auto usual = run_command({sened_binary(), "admin", "org", "list", "--data", hub_->dir()});
  EXPECT_NE(usual.out.find("az.mddt"), std::string::npos) << usual.out;
}

TEST_F(PostgresHubTest, AFailedInitLeavesNoHalfMadeFolder) {
  // A server that refuses the connection: init fails and can simply be rerun.
  std::string dir = hub_->dir() + "-second";
  auto r = run_command({sened_binary(), "admin", "init", "--data", dir, "--store",
                        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(r.err.empty());
  std::error_code ec;
  EXPECT_TRUE(!std::filesystem::exists(dir, ec) || std::filesystem::is_empty(dir, ec));
}

// The database goes away under a running hub: participants get a 503 that
// says so, without the database's address or libpq's words; the operator's
// log has those.
TEST(PostgresOutageTest, ALostDatabaseIs503WithoutItsAddress) {
  if (pg_test_url().empty()) GTEST_SKIP() << kNoPgServer;
  PgSchema schema;
  std::string role = schema.name() + "_hub";
  ASSERT_EQ(pg_sql("CREATE ROLE " + role + " LOGIN"), "");
  ASSERT_EQ(pg_sql("GRANT ALL ON SCHEMA " + schema.name() + " TO " + role), "");
  setenv("SENED_STORE", (schema.url() + "&user=" + role).c_str(), 1);
  {
    HubProcess hub({"az.mddt"});
    hub.start();
    std::string url = hub.url() + "/v1/inbox";
    auto before = run_command(hub.curl("az.mddt", {"-w", "%{http_code}", "-o", "/dev/null", url}));
    ASSERT_EQ(before.out, "200") << hub.log();

    pg_sql("ALTER ROLE " + role + " NOLOGIN");
    pg_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role + "'");
    std::string port = pg_test_url().substr(pg_test_url().rfind(':') + 1);
    port = port.substr(0, port.find('/'));
    CommandResult after;
    for (int i = 0; i < 3; ++i) {
      after = run_command(hub.curl("az.mddt", {"-w", "\n%{http_code}", url}));
      EXPECT_EQ(after.out.find("127.0.0.1"), std::string::npos) << after.out;
      EXPECT_EQ(after.out.find(port), std::string::npos) << after.out;
      EXPECT_EQ(after.out.find("not permitted"), std::string::npos) << after.out;
    }
    EXPECT_TRUE(after.out.ends_with("\n503")) << after.out;
    EXPECT_NE(after.out.find("the hub's database is unreachable"), std::string::npos) << after.out;
    EXPECT_NE(hub.log().find("not permitted to log in"), std::string::npos) << hub.log();
    hub.stop(SIGTERM);
  }
  unsetenv("SENED_STORE");
  pg_sql("DROP OWNED BY " + role + " CASCADE");
  pg_sql("DROP ROLE " + role);
}

TEST_F(PostgresHubTest, UnknownStoreSchemeIsRefusedClearly) {
  hub_->stop(SIGTERM);
  auto r = run_command({sened_binary(), "admin", "org", "list", "--data", hub_->dir(), "--store",
                        "mysql://root@127.0.0.1/x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("sqlite:PATH or postgresql://"), std::string::npos) << r.err;
}

// A hub that ran on SQLite, moved with `admin store copy`, then serves the
// same documents and journal from PostgreSQL.
class StoreCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (pg_test_url().empty()) GTEST_SKIP() << kNoPgServer;
    schema_ = std::make_unique<PgSchema>();
    hub_ = std::make_unique<HubProcess>(std::vector<std::string>{"az.mddt", "az.finance"});
    hub_->start();
  }
  void TearDown() override {
    hub_.reset();
    unsetenv("SENED_STORE");
    schema_.reset();
  }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_->client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 2, {"--hub", hub_->url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }

  // `sened receipt get ID --out DIR` as `org` (its flags follow `get`).
  CommandResult receipts(const std::string& org, const std::string& id, const std::string& out) {
    std::vector<std::string> args = as(org, {"receipt", id, "--out", out});
    args.insert(args.begin() + 2, "get");
    return run_command(args);
  }

  CommandResult copy() {
    return run_command(
        {sened_binary(), "admin", "store", "copy", "--data", hub_->dir(), "--to", schema_->url()});
  }

  std::unique_ptr<PgSchema> schema_;
  std::unique_ptr<HubProcess> hub_;
};

TEST_F(StoreCopyTest, MovedHubServesTheSameDocumentsAndJournal) {
  auto sent = run_command(
      as("az.mddt", {"send", "--to", "az.finance", "--subject", "Köçürmə", example(kLetter)}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id = last_line(sent.out);
  ASSERT_EQ(run_command(as("az.finance", {"register", id, "--number", "R-1"})).exit_code, 0);
  // Receipts are signed once and kept: the copy must hand out the same bytes.
  TempDir before;
  auto kept = receipts("az.mddt", id, before.path());
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  std::string accepted = read_file(before / "accepted-az.mddt.p7s");
  ASSERT_FALSE(accepted.empty());
  hub_->stop(SIGTERM);
  int entries = hub_->journal_entries();
  ASSERT_GT(entries, 0);

  auto copied = copy();
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_NE(copied.out.find("journal\t" + std::to_string(entries)), std::string::npos)
      << copied.out;

  // From now on every command of this test uses the copy.
  setenv("SENED_STORE", schema_->url().c_str(), 1);
  EXPECT_EQ(hub_->journal_entries(), entries);
  hub_->start();
  auto status = run_command(as("az.mddt", {"status", id}));
  EXPECT_NE(status.out.find("az.finance (to): registered number R-1"), std::string::npos)
      << status.out << status.err;
  TempDir out;
  auto fetched = run_command(as("az.finance", {"fetch", id, "--out", out.path()}));
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(read_file(out / kLetter), read_file(example(kLetter)));
  TempDir after;
  ASSERT_EQ(receipts("az.mddt", id, after.path()).exit_code, 0);
  EXPECT_EQ(read_file(after / "accepted-az.mddt.p7s"), accepted);
  // New entries continue the copied chain.
  ASSERT_EQ(run_command(as("az.mddt",
                           {"send", "--to", "az.finance", "--subject", "Yeni", example(kLetter)}))
                .exit_code,
            0);
  hub_->stop(SIGTERM);
  EXPECT_GT(hub_->journal_entries(), entries);
  EXPECT_EQ(hub_->verify_journal().exit_code, 0);
}

TEST_F(StoreCopyTest, CopyingIntoAStoreThatHasDataIsConflictAndAddsNothing) {
  hub_->stop(SIGTERM);
  ASSERT_EQ(copy().exit_code, 0);
  std::string before = pg_sql("SELECT count(*) FROM journal", schema_->name());
  auto again = copy();
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("conflict"), std::string::npos) << again.err;
  EXPECT_EQ(pg_sql("SELECT count(*) FROM journal", schema_->name()), before);
}

// A hub that started once on the target signed an (empty) checkpoint there:
// the copy is a conflict naming that table, and writes nothing.
TEST_F(StoreCopyTest, CopyingIntoAStoreAHubStartedOnIsConflict) {
  hub_->stop(SIGTERM);
  TempDir other;
  std::string dir = other / "hub";
  auto init =
      run_command({sened_binary(), "admin", "init", "--data", dir, "--store", schema_->url()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ServiceProcess node;
  node.start({"hub", "--data", dir, "--listen", "127.0.0.1:0"}, other / "port", other / "hub.log");
  for (int i = 0; i < 200 && pg_sql("SELECT count(*) FROM checkpoints", schema_->name()) == "0";
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  node.stop(SIGTERM);
  ASSERT_NE(pg_sql("SELECT count(*) FROM checkpoints", schema_->name()), "0");
  auto r = copy();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("conflict: the target store is not empty"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("checkpoints"), std::string::npos) << r.err;
  EXPECT_EQ(pg_sql("SELECT count(*) FROM journal", schema_->name()), "0");
  EXPECT_EQ(pg_sql("SELECT count(*) FROM participants", schema_->name()), "0");
}

TEST_F(StoreCopyTest, CopyingToASqliteStoreIsRefused) {
  hub_->stop(SIGTERM);
  auto r = run_command(
      {sened_binary(), "admin", "store", "copy", "--data", hub_->dir(), "--to", "sqlite:other.db"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("from a sqlite: store to a postgresql://"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(hub_->dir() + "/other.db"));
}

}  // namespace
}  // namespace sened::testing
