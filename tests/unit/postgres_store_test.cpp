// What only the PostgreSQL store has, beyond the conformance suite (which
// runs on it in sqlite_store_test.cpp): several nodes, each with its own
// connections, appending to one journal; migrations racing at start-up; the
// journal's protection inside the database; the store address. Each test
// works in a schema of its own on the test server and skips without one.
#include "store/postgres/postgres_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "crypto/digest.h"
#include "journal/chain.h"
#include "store/open_store.h"
#include "store/postgres/pg_db.h"
#include "store/store.h"
#include "support/pg_test_support.h"
#include "support/test_support.h"

namespace sened {
namespace {

using testing::PgSchema;
using testing::TempDir;

constexpr const char* kAt = "2026-12-04T10:00:00.000Z";

Participant participant(const std::string& id) {
  Participant p;
  p.id = id;
  p.category = "central-executive";
  p.obligation = "ordered";
  p.deadline = "2027-01-01";
  p.name_az = "Nazirlik " + id;
  p.name_en = "Ministry " + id;
  p.status = ParticipantStatus::kActive;
  return p;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::pg_test_url().empty()) GTEST_SKIP() << testing::kNoPgServer;
    schema_ = std::make_unique<PgSchema>();
  }

  PostgresOptions options() const {
    return PostgresOptions{schema_->url(), dir_.path() + "/files", 1024};
  }

  // A node: a store of its own, with its own connections.
  std::unique_ptr<Store> open_node() {
    auto opened = open_postgres_store(options());
    EXPECT_TRUE(opened.ok()) << opened.status().to_string();
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  std::string sql(const std::string& text) { return testing::pg_sql(text, schema_->name()); }

  // Ends the server side of every connection of this test's schema (waiting
  // until they are gone), as a server restart or failover would.
  void cut_connections() {
    testing::pg_sql(
        "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
        "WHERE application_name = '" +
        schema_->name() + "' AND pid <> pg_backend_pid()");
  }

  // A one-recipient letter whose single small file is staged in `store`.
  NewDocument letter(Store& store, const std::string& ref) {
    std::string bytes = "%PDF " + ref;
    std::string path = store.staging_dir() + "/upload-" + ref;
    testing::write_file(path, bytes);
    NewDocument d;
    d.id = new_uuid_v7();
    d.sender = "az.finance";
    d.meta.sender_ref = ref;
    d.meta.kind = "letter";
    d.meta.subject = "Sorğu " + ref;
    d.meta.urgency = "normal";
    d.meta.to = {"az.justice"};
    d.files.push_back(
        {FileInfo{0, "letter.pdf", "application/pdf", bytes.size(), crypto::sha256_hex(bytes), ""},
         path});
    d.created_at = kAt;
    return d;
  }

  TempDir dir_;
  std::unique_ptr<PgSchema> schema_;
};

journal::VerifyReport verify(Store& store) {
  journal::ChainVerifier verifier;
  auto entries = store.journal(0, 1000000);
  EXPECT_TRUE(entries.ok());
  if (entries.ok()) {
    for (const auto& e : *entries) verifier.add(e);
  }
  auto highest = store.highest_referenced_journal_seq();
  return verifier.finish(highest.ok() ? *highest : 0);
}

TEST_F(PostgresStoreTest, NodesAppendingAtOnceMakeOneJournalWithoutGapOrDuplicate) {
  constexpr int kNodes = 4;
  constexpr int kEach = 15;
  auto first = open_node();
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->put_participant(participant("az.finance"), "operator").ok());
  ASSERT_TRUE(first->put_participant(participant("az.justice"), "operator").ok());

  // Each thread is a node: its own store, so its own connections.
  std::vector<std::unique_ptr<Store>> nodes;
  for (int n = 0; n < kNodes; ++n) nodes.push_back(open_node());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] {
      for (int i = 0; i < kEach; ++i) {
        NewDocument d = letter(*nodes[n], std::to_string(n) + "-" + std::to_string(i));
        if (!nodes[n]->submit(d).ok()) ++failures;
        if (!nodes[n]
                 ->update_delivery(d.id, "az.justice",
                                   {DeliveryStatus::kDelivered, "", "", "", kAt})
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);

  auto entries = first->journal(0, 1000000);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), static_cast<size_t>(2 + 2 * kNodes * kEach));
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].seq, static_cast<int64_t>(i + 1));
  }
  EXPECT_TRUE(verify(*first).ok);
  auto page = first->inbox("az.justice", 0, true, 1000);
  ASSERT_TRUE(page.ok());
  std::set<int64_t> seqs;
  for (const auto& item : page->items) seqs.insert(item.document.seq);
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kNodes * kEach));
  EXPECT_EQ(*seqs.rbegin(), kNodes * kEach);
}

TEST_F(PostgresStoreTest, NodesStartingAtOnceMigrateOnce) {
  constexpr int kNodes = 4;
  std::vector<std::unique_ptr<Store>> nodes(kNodes);
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] { nodes[n] = open_node(); });
  }
  for (auto& t : threads) t.join();
  for (const auto& node : nodes) EXPECT_TRUE(node);
  EXPECT_EQ(sql("SELECT count(*) FROM schema_migrations"),
            std::to_string(postgres::kSchemaVersion));
  EXPECT_EQ(sql("SELECT count(*) FROM store_lock"), "1");
}

TEST_F(PostgresStoreTest, RefusesADatabaseFromANewerVersion) {
  ASSERT_TRUE(open_node());
  sql("INSERT INTO schema_migrations VALUES (999, '2030-01-01')");
  auto opened = open_postgres_store(options());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kInternal);
  EXPECT_NE(opened.status().message().find("newer"), std::string::npos);
}

TEST_F(PostgresStoreTest, JournalRowsRefuseUpdateDeleteAndTruncate) {
  auto store = open_node();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_participant(participant("az.finance"), "operator").ok());
  EXPECT_NE(sql("UPDATE journal SET actor = 'x'").find("append-only"), std::string::npos);
  EXPECT_NE(sql("DELETE FROM journal").find("append-only"), std::string::npos);
  EXPECT_NE(sql("TRUNCATE journal").find("append-only"), std::string::npos);
  EXPECT_EQ(sql("SELECT count(*) FROM journal"), "1");
}

TEST_F(PostgresStoreTest, TextWithANulByteIsInvalidArgumentAndChangesNothing) {
  auto store = open_node();
  ASSERT_TRUE(store);
  Participant p = participant("az.finance");
  p.name_en = std::string("Mini\0stry", 9);
  EXPECT_EQ(store->put_participant(p, "operator").code(), Code::kInvalidArgument);
  EXPECT_EQ(store->list_participants()->size(), 0u);
  EXPECT_EQ(store->journal(0, 10)->size(), 0u);
}

TEST_F(PostgresStoreTest, InvalidUtf8TextIsInvalidArgumentAndChangesNothing) {
  auto store = open_node();
  ASSERT_TRUE(store);
  Participant p = participant("az.finance");
  p.name_en = "Ministry \xff";
  EXPECT_EQ(store->put_participant(p, "operator").code(), Code::kInvalidArgument);
  EXPECT_EQ(store->journal(0, 10)->size(), 0u);
}

TEST_F(PostgresStoreTest, LargeFileGoesToTheSharedFolderAndReadsBack) {
  auto store = open_node();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_participant(participant("az.finance"), "operator").ok());
  ASSERT_TRUE(store->put_participant(participant("az.justice"), "operator").ok());
  NewDocument d = letter(*store, "big");
  std::string bytes(4096, 'x');
  testing::write_file(d.files[0].temp_path, bytes);
  d.files[0].info.size = bytes.size();
  d.files[0].info.sha256 = crypto::sha256_hex(bytes);
  ASSERT_TRUE(store->submit(d).ok());

  auto file = store->open_file(d.id, 0);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->path.has_value());
  EXPECT_EQ(*file->path, dir_.path() + "/files/" + d.files[0].info.sha256.substr(0, 2) + "/" +
                             d.files[0].info.sha256);
  EXPECT_EQ(testing::read_file(*file->path), bytes);
}

TEST_F(PostgresStoreTest, AConnectionTheServerDroppedIsReopenedBeforeTheNextCall) {
  auto store = open_node();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_participant(participant("az.finance"), "operator").ok());
  cut_connections();

  // Its BEGIN meets the dead connection, which changed nothing: the store
  // reconnects and both reads and writes go on.
  auto read = store->get_participant("az.finance");
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(read->name_en, "Ministry az.finance");
  cut_connections();
  EXPECT_TRUE(store->put_participant(participant("az.justice"), "operator").ok());
  EXPECT_EQ(store->list_participants()->size(), 2u);
}

TEST(PostgresAddressTest, UnreachableServerIsUnavailable) {
  TempDir dir;
  // Port 1 on loopback: nothing listens there.
  auto opened = open_store({"postgresql://nobody@127.0.0.1:1/none?connect_timeout=5", dir.path(),
                            dir.path() + "/files", 1024});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kUnavailable);
}

TEST(PostgresAddressTest, UnknownSchemeIsInvalidArgument) {
  TempDir dir;
  auto opened = open_store({"mysql://root@127.0.0.1/db", dir.path(), dir.path() + "/files", 1024});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("sqlite:PATH or postgresql://"), std::string::npos);
}

TEST(PostgresAddressTest, AddressWithAQuoteIsInvalidArgument) {
  EXPECT_EQ(check_store_address("postgresql://a@127.0.0.1/x\"y").code(), Code::kInvalidArgument);
  EXPECT_EQ(check_store_address("sqlite:").code(), Code::kInvalidArgument);
  EXPECT_TRUE(check_store_address("sqlite:sened.db").ok());
  EXPECT_TRUE(check_store_address("postgres://a@127.0.0.1:5432/x").ok());
}

TEST(PostgresPlaceholderTest, QuestionMarksBecomeDollarParametersOutsideQuotes) {
  EXPECT_EQ(pg::to_dollar_placeholders("SELECT a FROM t WHERE b = ? AND c = ?"),
            "SELECT a FROM t WHERE b = $1 AND c = $2");
  EXPECT_EQ(pg::to_dollar_placeholders("UPDATE t SET a = ?2 WHERE b = ?1"),
            "UPDATE t SET a = $2 WHERE b = $1");
  EXPECT_EQ(pg::to_dollar_placeholders("SELECT '?', \"?\" FROM t WHERE x = ?"),
            "SELECT '?', \"?\" FROM t WHERE x = $1");
}

}  // namespace
}  // namespace sened
