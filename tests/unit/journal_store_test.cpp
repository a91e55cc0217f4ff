// The journal's Merkle tree and checkpoints in the store, on both backends
// (PostgreSQL when SENED_TEST_PG_URL names a test server): leaves and
// salts written with every entry, roots and proofs from stored nodes that
// match the leaf-list reference, checkpoints idempotent per size,
// cosignatures deduplicated by key name; and migration 3 on an old SQLite
// database.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "crypto/digest.h"
#include "journal/checkpoint.h"
#include "journal/merkle.h"
#include "journal/tree.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "support/pg_test_support.h"
#include "support/test_support.h"

namespace sened {
namespace {

using testing::TempDir;

constexpr const char* kAt = "2026-12-04T10:00:00.000Z";

Participant participant(const std::string& id) {
  Participant p;
  p.id = id;
  p.category = "other";
  p.obligation = "ordered";
  p.name_az = p.name_en = "P " + id;
  p.status = ParticipantStatus::kActive;
  return p;
}

class JournalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    store_.reset();
    auto s = schema_ ? open_postgres_store({schema_->url(), dir_ / "files", 1024})
                     : open_sqlite_store({dir_ / "sened.db", dir_ / "files", 1024});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  // Appends n journal entries (participant.added).
  void add_entries(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(store_->put_participant(participant("p" + std::to_string(next_++)), "op").ok());
    }
  }
  std::vector<JournalEntry> entries() {
    auto all = store_->journal(0, 100000);
    EXPECT_TRUE(all.ok());
    return *all;
  }
  std::vector<std::string> leaf_hashes() {
    std::vector<std::string> out;
    for (const auto& e : entries()) out.push_back(journal::leaf_hash(*journal::leaf_data_of(e)));
    return out;
  }
  StoredCheckpoint checkpoint_at(uint64_t size) {
    StoredCheckpoint c;
    c.size = size;
    c.root = *store_->tree_root(size);
    c.note = "note " + std::to_string(size) + "\n";
    c.created_at = kAt;
    return c;
  }

  TempDir dir_;
  std::unique_ptr<testing::PgSchema> schema_;  // set: the store is on PostgreSQL
  std::unique_ptr<Store> store_;
  int next_ = 0;
};

enum class Backend { kSqlite, kPostgres };

class JournalStoreBothTest : public JournalStoreTest,
                             public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      if (testing::pg_test_url().empty()) GTEST_SKIP() << testing::kNoPgServer;
      schema_ = std::make_unique<testing::PgSchema>();
    }
    JournalStoreTest::SetUp();
  }
  void TearDown() override {
    store_.reset();
    schema_.reset();
  }
};

INSTANTIATE_TEST_SUITE_P(Sqlite, JournalStoreBothTest, ::testing::Values(Backend::kSqlite));
INSTANTIATE_TEST_SUITE_P(Postgres, JournalStoreBothTest, ::testing::Values(Backend::kPostgres));

TEST_P(JournalStoreBothTest, EveryEntryGetsItsOwnSaltAndLeaf) {
  add_entries(3);
  auto es = entries();
  ASSERT_EQ(es.size(), 3u);
  EXPECT_EQ(es[0].salt.size(), 64u);
  EXPECT_NE(es[0].salt, es[1].salt);
  auto leaves = store_->leaf_data(0, 3);
  ASSERT_TRUE(leaves.ok());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*leaves)[i], *journal::leaf_data_of(es[i]));
  EXPECT_EQ(*store_->journal_size(), 3u);
}

TEST_P(JournalStoreBothTest, RootsAndProofsMatchTheLeafListReference) {
  add_entries(21);
  auto leaves = leaf_hashes();
  for (uint64_t n = 0; n <= 21; ++n) {
    std::vector<std::string> prefix(leaves.begin(), leaves.begin() + n);
    EXPECT_EQ(*store_->tree_root(n), journal::root_from_leaves(prefix));
    for (uint64_t i = 0; i < n; ++i) {
      EXPECT_EQ(*store_->inclusion_proof(i, n), *journal::inclusion_proof(leaves, i, n));
    }
    for (uint64_t m = 0; m <= n; ++m) {
      EXPECT_EQ(*store_->consistency_proof(m, n), *journal::consistency_proof(leaves, m, n));
    }
  }
}

TEST_P(JournalStoreBothTest, RejectsSizesBeyondTheJournal) {
  add_entries(2);
  EXPECT_EQ(store_->tree_root(3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->inclusion_proof(2, 2).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->consistency_proof(1, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->leaf_data(0, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->node_hashes(1, 0, 2).status().code(), Code::kInvalidArgument);
}

TEST_P(JournalStoreBothTest, NodeHashesAreTheTileContents) {
  add_entries(4);
  auto level1 = store_->node_hashes(1, 0, 2);
  ASSERT_TRUE(level1.ok());
  auto leaves = leaf_hashes();
  EXPECT_EQ((*level1)[1], journal::node_hash(leaves[2], leaves[3]));
}

TEST_P(JournalStoreBothTest, CheckpointsAreIdempotentPerSizeAndTheLatestWins) {
  EXPECT_FALSE(store_->latest_checkpoint()->has_value());
  add_entries(2);
  ASSERT_TRUE(store_->put_checkpoint(checkpoint_at(1)).ok());
  ASSERT_TRUE(store_->put_checkpoint(checkpoint_at(2)).ok());
  StoredCheckpoint again = checkpoint_at(2);
  again.note = "other\n";
  ASSERT_TRUE(store_->put_checkpoint(again).ok());
  auto latest = store_->latest_checkpoint();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->size, 2u);
  EXPECT_EQ((*latest)->note, "note 2\n");
  EXPECT_EQ((*store_->checkpoint(1))->size, 1u);
  EXPECT_FALSE(store_->checkpoint(5)->has_value());
}

TEST_P(JournalStoreBothTest, RefusesACheckpointWhoseRootIsNotTheJournals) {
  add_entries(2);
  StoredCheckpoint c = checkpoint_at(2);
  c.root = *store_->tree_root(1);
  EXPECT_EQ(store_->put_checkpoint(c).code(), Code::kInvalidArgument);
  c.size = 3;
  EXPECT_EQ(store_->put_checkpoint(c).code(), Code::kInvalidArgument);
  EXPECT_FALSE(store_->latest_checkpoint()->has_value());
}

TEST_P(JournalStoreBothTest, CosignaturesAreKeptOncePerKeyName) {
  add_entries(1);
  ASSERT_TRUE(store_->put_checkpoint(checkpoint_at(1)).ok());
  std::string sig1 = crypto::base64_encode(std::string(68, 'a'));
  std::string sig2 = crypto::base64_encode(std::string(68, 'b'));
  std::string dash(journal::kSignatureLineStart);
  ASSERT_TRUE(store_->add_checkpoint_cosignature(1, dash + "w1 " + sig1 + "\n").ok());
  ASSERT_TRUE(store_->add_checkpoint_cosignature(1, dash + "w2 " + sig1 + "\n").ok());
  ASSERT_TRUE(store_->add_checkpoint_cosignature(1, dash + "w1 " + sig2 + "\n").ok());
  auto c = *store_->checkpoint(1);
  ASSERT_EQ(c->cosignatures.size(), 2u);
  EXPECT_EQ(c->cosignatures[0], dash + "w1 " + sig2 + "\n");
  EXPECT_EQ(store_->add_checkpoint_cosignature(1, "w1 nonsense").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->add_checkpoint_cosignature(7, dash + "w1 " + sig1 + "\n").code(),
            Code::kNotFound);
}

TEST_P(JournalStoreBothTest, KeepsATimestampToken) {
  add_entries(1);
  ASSERT_TRUE(store_->put_checkpoint(checkpoint_at(1)).ok());
  ASSERT_TRUE(store_->set_checkpoint_timestamp(1, std::string("\x30\x03\x02\x01\x00", 5)).ok());
  EXPECT_EQ((*store_->checkpoint(1))->timestamp_token.size(), 5u);
  EXPECT_EQ(store_->set_checkpoint_timestamp(2, "x").code(), Code::kNotFound);
}

TEST_P(JournalStoreBothTest, TheTreeSurvivesAReopen) {
  add_entries(5);
  std::string root = *store_->tree_root(5);
  open();
  add_entries(1);
  EXPECT_EQ(*store_->tree_root(5), root);
  EXPECT_EQ(*store_->tree_root(6), journal::root_from_leaves(leaf_hashes()));
}

TEST_F(JournalStoreTest, MigrationThreeGivesOldEntriesTheirLeaves) {
  add_entries(5);
  store_.reset();
  // Make the database look as a version-2 program left it: without
  // migration 3's tables, nor migration 4's receipts and signature columns.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "sened.db").c_str(), &db), SQLITE_OK);
  const char* sql =
      "DROP TABLE leases; DROP TABLE receipts; ALTER TABLE files DROP COLUMN encrypted;"
      "ALTER TABLE files DROP COLUMN signature; ALTER TABLE files DROP COLUMN signature_status;"
      "ALTER TABLE files DROP COLUMN signer; ALTER TABLE files DROP COLUMN signature_sha256;"
      "DROP TABLE checkpoint_cosignatures; DROP TABLE checkpoints; DROP TABLE journal_nodes;"
      "DROP TABLE journal_leaves; DELETE FROM schema_migrations WHERE version >= 3;";
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
  open();
  auto size = store_->journal_size();
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(*size, 5u);
  for (const auto& e : entries()) EXPECT_EQ(e.salt.size(), 64u);
  EXPECT_EQ(*store_->tree_root(5), journal::root_from_leaves(leaf_hashes()));
}

}  // namespace
}  // namespace sened
