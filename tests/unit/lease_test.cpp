// Leases (store.h, acquire_lease/release_lease) on both backends, and the
// PostgreSQL change watch (store/postgres/pg_listen.h): a commit on one
// store object wakes the watcher of another, and a watcher whose connection
// the server cuts reconnects and asks everyone to catch up.
#include "store/lease.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/ids.h"
#include "crypto/digest.h"
#include "exchange/background.h"
#include "exchange/events.h"
#include "journal/signer.h"
#include "store/postgres/pg_listen.h"
#include "store/postgres/postgres_store.h"
#include "store/store.h"
#include "support/pg_test_support.h"
#include "support/test_support.h"

namespace sened {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// A generous bound for anything that waits on another thread or process;
// never asserted as a duration.
constexpr auto kDeadline = 20s;

enum class Backend { kSqlite, kPostgres };

Participant active(const std::string& id) {
  Participant p;
  p.id = id;
  p.category = "central-executive";
  p.obligation = "ordered";
  p.deadline = "2027-01-01";
  p.name_az = p.name_en = p.name_ru = id;
  p.status = ParticipantStatus::kActive;
  return p;
}

// Submits a letter from az.finance to az.justice; returns its id ("" on failure).
std::string submit_letter(Store& store, const std::string& ref) {
  std::string bytes = "%PDF letter " + ref;
  std::string path = store.staging_dir() + "/upload-" + ref;
  testing::write_file(path, bytes);
  NewDocument d;
  d.id = new_uuid_v7();
  d.sender = "az.finance";
  d.meta.sender_ref = ref;
  d.meta.kind = "letter";
  d.meta.subject = "Sınaq " + ref;
  d.meta.urgency = "normal";
  d.meta.to = {"az.justice"};
  StagedFile f;
  f.info.name = "letter.pdf";
  f.info.media_type = "application/pdf";
  f.info.size = bytes.size();
  f.info.sha256 = crypto::sha256_hex(bytes);
  f.temp_path = path;
  d.files.push_back(f);
  d.created_at = now_rfc3339();
  auto outcome = store.submit(d);
  EXPECT_TRUE(outcome.ok()) << outcome.status().to_string();
  return outcome.ok() ? outcome->document.id : "";
}

class LeaseTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      if (testing::pg_test_url().empty()) GTEST_SKIP() << testing::kNoPgServer;
      schema_ = std::make_unique<testing::PgSchema>();
    }
    store_ = open();
    ASSERT_NE(store_, nullptr);
  }

  void TearDown() override {
    store_.reset();
    schema_.reset();
  }

  // Another store object on the same database, as a second node would open.
  std::unique_ptr<Store> open() {
    Result<std::unique_ptr<Store>> s =
        GetParam() == Backend::kSqlite
            ? open_sqlite_store(SqliteOptions{dir_.path() + "/sened.db", dir_.path() + "/files"})
            : open_postgres_store(PostgresOptions{schema_->url(), dir_.path() + "/files"});
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(*s) : nullptr;
  }

  bool acquire(const std::string& name, const std::string& holder, milliseconds ttl = 60s) {
    Result<bool> r = store_->acquire_lease(name, holder, ttl);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() && *r;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PgSchema> schema_;
  std::unique_ptr<Store> store_;
};

TEST_P(LeaseTest, FirstHolderTakesAFreeLease) { EXPECT_TRUE(acquire("journal.signer", "node-a")); }

TEST_P(LeaseTest, SecondHolderIsRefusedWhileTheFirstHoldsIt) {
  ASSERT_TRUE(acquire("journal.signer", "node-a"));
  EXPECT_FALSE(acquire("journal.signer", "node-b"));
  EXPECT_TRUE(acquire("journal.signer", "node-a"));
}

TEST_P(LeaseTest, RenewingKeepsTheLeaseBeyondItsFirstTtl) {
  // A short first ttl, renewed with a long one: the other holder stays out
  // even once the first ttl has passed (it is polled, not slept through).
  ASSERT_TRUE(acquire("lifecycle.sweep", "node-a", 200ms));
  ASSERT_TRUE(acquire("lifecycle.sweep", "node-a", 60s));
  auto first_ttl_over = std::chrono::steady_clock::now() + 400ms;
  while (std::chrono::steady_clock::now() < first_ttl_over) {
    ASSERT_FALSE(acquire("lifecycle.sweep", "node-b"));
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_FALSE(acquire("lifecycle.sweep", "node-b"));
}

TEST_P(LeaseTest, ExpiryHandsTheLeaseToAnotherHolder) {
  ASSERT_TRUE(acquire("journal.signer", "node-a", 300ms));
  bool taken = false;
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!taken && std::chrono::steady_clock::now() < deadline) {
    taken = acquire("journal.signer", "node-b");
    if (!taken) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(taken);
  // The former holder has lost it: renewing is refused now.
  EXPECT_FALSE(acquire("journal.signer", "node-a"));
}

TEST_P(LeaseTest, ReleaseFreesTheLeaseAtOnce) {
  ASSERT_TRUE(acquire("journal.signer", "node-a"));
  ASSERT_TRUE(store_->release_lease("journal.signer", "node-a").ok());
  EXPECT_TRUE(acquire("journal.signer", "node-b"));
}

TEST_P(LeaseTest, ReleaseByAnotherHolderChangesNothing) {
  ASSERT_TRUE(acquire("journal.signer", "node-a"));
  EXPECT_TRUE(store_->release_lease("journal.signer", "node-b").ok());
  EXPECT_TRUE(store_->release_lease("no.such.lease", "node-a").ok());
  EXPECT_FALSE(acquire("journal.signer", "node-b"));
}

TEST_P(LeaseTest, LeasesOfDifferentNamesAreIndependent) {
  ASSERT_TRUE(acquire("webhook:az.finance", "node-a"));
  EXPECT_TRUE(acquire("webhook:az.justice", "node-b"));
  EXPECT_FALSE(acquire("webhook:az.finance", "node-b"));
}

TEST_P(LeaseTest, RejectsAnEmptyNameOrHolderOrATtlThatIsNotPositive) {
  for (auto [name, holder, ttl] : {std::tuple<std::string, std::string, milliseconds>{"", "a", 1s},
                                   {"journal.signer", "", 1s},
                                   {"journal.signer", "a", 0ms},
                                   {"journal.signer", "a", -5ms}}) {
    Result<bool> r = store_->acquire_lease(name, holder, ttl);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << name << "/" << holder;
  }
  // Nothing was taken by the refused calls.
  EXPECT_TRUE(acquire("journal.signer", "node-b"));
}

TEST_P(LeaseTest, TheLeaseIsKeptInTheDatabaseNotInTheStoreObject) {
  ASSERT_TRUE(acquire("journal.signer", "node-a"));
  std::unique_ptr<Store> other = open();
  ASSERT_NE(other, nullptr);
  Result<bool> r = other->acquire_lease("journal.signer", "node-b", 60s);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(*r);
}

TEST_P(LeaseTest, OfManyRacingHoldersOfAFreeLeaseExactlyOneGetsIt) {
  constexpr int kHolders = 8;
  std::atomic<int> winners{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kHolders; ++i) {
    threads.emplace_back([&, i] {
      Result<bool> r = store_->acquire_lease("lifecycle.sweep", "node-" + std::to_string(i), 60s);
      if (!r.ok()) ++errors;
      if (r.ok() && *r) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);
}

TEST_P(LeaseTest, LeaseHolderReportsTakingAndLosingTheLease) {
  LeaseHolder a(*store_, "journal.signer", "node-a", 300ms);
  LeaseHolder b(*store_, "journal.signer", "node-b", 60s);
  ASSERT_TRUE(a.hold());
  EXPECT_FALSE(b.hold());
  bool taken = false;
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!taken && std::chrono::steady_clock::now() < deadline) {
    taken = b.hold();
    if (!taken) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(taken);
  EXPECT_FALSE(a.hold());
  EXPECT_FALSE(a.held());
  b.release();
  EXPECT_TRUE(a.hold());
}

// Two nodes' pushers on one store: the webhook lease lets one push at a
// time, and each re-reads the cursor under it, so every event reaches the
// endpoint once (without the lease both would push the whole backlog).
TEST_P(LeaseTest, TwoNodesPushEachWebhookEventOnce) {
  constexpr int kDocuments = 20;
  for (const char* id : {"az.finance", "az.justice"}) {
    ASSERT_TRUE(store_->put_participant(active(id), "operator").ok());
  }
  Webhook hook;
  hook.participant = "az.justice";
  hook.url = "https://127.0.0.1:9/hook";  // never dialled: the poster below answers
  hook.secret = "00";
  hook.created_at = now_rfc3339();
  ASSERT_TRUE(store_->put_webhook(hook).ok());
  for (int i = 0; i < kDocuments; ++i)
    ASSERT_FALSE(submit_letter(*store_, "h" + std::to_string(i)).empty());
  auto last = store_->last_event_cursor();
  ASSERT_TRUE(last.ok());

  std::mutex mu;
  std::map<std::string, int> posted;  // Sened-Cursor -> POSTs
  exchange::WebhookPoster poster = [&](const std::string&, const std::string&,
                                       const http::Headers& headers) -> Result<int> {
    std::this_thread::sleep_for(2ms);  // an endpoint that takes a moment, so passes overlap
    std::lock_guard lock(mu);
    ++posted[http::find_header(headers, "Sened-Cursor").value_or("")];
    return 200;
  };
  std::unique_ptr<Store> other = open();
  ASSERT_NE(other, nullptr);
  exchange::EventBus bus_a, bus_b;
  exchange::WebhookPusher a(*store_, bus_a, poster, 1s, "node-a", 30s);
  exchange::WebhookPusher b(*other, bus_b, poster, 1s, "node-b", 30s);
  a.start();
  b.start();
  bool done = false;
  for (auto deadline = std::chrono::steady_clock::now() + kDeadline;
       !done && std::chrono::steady_clock::now() < deadline;) {
    auto now = store_->get_webhook("az.justice");
    done = now.ok() && now->cursor == *last;
    if (!done) std::this_thread::sleep_for(20ms);
  }
  a.stop();
  b.stop();
  ASSERT_TRUE(done);
  std::lock_guard lock(mu);
  EXPECT_EQ(posted.size(), static_cast<size_t>(kDocuments));
  for (const auto& [cursor, count] : posted) EXPECT_EQ(count, 1) << "cursor " << cursor;
}

// The lifecycle sweep expires deliveries only while its node holds lease
// "lifecycle.sweep"; `also` counts its passes, which run either way.
TEST_P(LeaseTest, OnlyTheSweepLeaseHolderExpiresDeliveries) {
  for (const char* id : {"az.finance", "az.justice"}) {
    ASSERT_TRUE(store_->put_participant(active(id), "operator").ok());
  }
  std::string id = submit_letter(*store_, "sweep-1");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(acquire("lifecycle.sweep", "node-other"));

  std::mutex mu;
  std::condition_variable cv;
  int passes = 0;
  exchange::EventBus bus;
  // expire_after 0 h: every queued delivery is due for expiry at once.
  auto sweeper = std::make_unique<exchange::LifecycleSweeper>(*store_, bus, "node-a",
                                                              std::chrono::hours(0), 1s, [&] {
                                                                std::lock_guard lock(mu);
                                                                ++passes;
                                                                cv.notify_all();
                                                              });
  sweeper->start();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kDeadline, [&] { return passes >= 2; }));
  }
  auto still = store_->deliveries(id);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->at(0).status, DeliveryStatus::kQueued);

  ASSERT_TRUE(store_->release_lease("lifecycle.sweep", "node-other").ok());
  bool expired = false;
  for (auto deadline = std::chrono::steady_clock::now() + kDeadline;
       !expired && std::chrono::steady_clock::now() < deadline;) {
    auto now = store_->deliveries(id);
    expired = now.ok() && now->at(0).status == DeliveryStatus::kExpired;
    if (!expired) std::this_thread::sleep_for(20ms);
  }
  sweeper.reset();
  EXPECT_TRUE(expired);
  // Destroying the sweeper gave the lease back: another node takes it at once.
  EXPECT_TRUE(acquire("lifecycle.sweep", "node-other"));
}

// The checkpoint signer signs only under lease "journal.signer": not at
// start while another node holds it, and by itself once it is free.
TEST_P(LeaseTest, TheCheckpointSignerSignsOnlyWhileItHoldsTheLease) {
  for (const char* id : {"az.finance", "az.justice"}) {
    ASSERT_TRUE(store_->put_participant(active(id), "operator").ok());
  }
  auto key = journal::make_note_key("sened.test/journal");
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(acquire("journal.signer", "node-other"));
  journal::CheckpointSigner signer(*store_, *key, 50ms, "node-a");
  ASSERT_TRUE(signer.start().ok());
  auto none = store_->latest_checkpoint();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(store_->release_lease("journal.signer", "node-other").ok());
  auto size = store_->journal_size();
  ASSERT_TRUE(size.ok());
  bool signed_now = false;
  for (auto deadline = std::chrono::steady_clock::now() + kDeadline;
       !signed_now && std::chrono::steady_clock::now() < deadline;) {
    auto latest = store_->latest_checkpoint();
    signed_now = latest.ok() && latest->has_value() && (*latest)->size == *size;
    if (!signed_now) std::this_thread::sleep_for(20ms);
  }
  signer.stop();
  EXPECT_TRUE(signed_now);
  // Stopping gave the lease back: another node takes it at once.
  EXPECT_TRUE(acquire("journal.signer", "node-other"));
}

TEST(NodeIdTest, EachStartGetsAFreshNodeId) {
  std::string a = new_node_id();
  std::string b = new_node_id();
  EXPECT_EQ(a.rfind("node-", 0), 0u);
  EXPECT_EQ(a.size(), 17u);
  EXPECT_NE(a, b);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, LeaseTest, ::testing::Values(Backend::kSqlite));
INSTANTIATE_TEST_SUITE_P(Postgres, LeaseTest, ::testing::Values(Backend::kPostgres));

// --- notifications -------------------------------------------------------------

TEST(NotifyPayloadTest, JoinsParticipantsAndFallsBackToEveryoneWhenTooLong) {
  EXPECT_EQ(pg::notify_payload({"az.finance", "az.justice"}), "az.finance,az.justice");
  EXPECT_EQ(pg::notify_payload({}), "*");
  std::set<std::string> many;
  for (int i = 0; i < 2000; ++i) many.insert("az.participant" + std::to_string(i));
  EXPECT_EQ(pg::notify_payload(many), "*");
}

TEST(NotifyPayloadTest, ParsesParticipantsAndEveryone) {
  EXPECT_EQ(pg::parse_payload("az.finance,az.justice"),
            (std::vector<std::string>{"az.finance", "az.justice"}));
  EXPECT_EQ(pg::parse_payload("*"), std::vector<std::string>{"*"});
  EXPECT_EQ(pg::parse_payload(""), std::vector<std::string>{"*"});
  EXPECT_EQ(pg::parse_payload(",az.finance,"), std::vector<std::string>{"az.finance"});
}

TEST(SqliteWatchTest, TheEmbeddedStoreHasNothingToWatch) {
  testing::TempDir dir;
  auto store = open_sqlite_store(SqliteOptions{dir.path() + "/sened.db", dir.path() + "/files"});
  ASSERT_TRUE(store.ok());
  auto watch = (*store)->watch_changes([](const std::vector<std::string>&) {});
  ASSERT_TRUE(watch.ok());
  EXPECT_EQ(*watch, nullptr);
}

// What a watch has heard, for the test thread to wait on.
class Heard {
 public:
  void add(const std::vector<std::string>& participants) {
    std::lock_guard lock(mu_);
    for (const auto& p : participants) heard_.push_back(p);
    cv_.notify_all();
  }
  // True once `participant` was heard (bounded wait).
  bool wait_for(const std::string& participant) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] {
      return std::find(heard_.begin(), heard_.end(), participant) != heard_.end();
    });
  }
  void clear() {
    std::lock_guard lock(mu_);
    heard_.clear();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> heard_;
};

class PgWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::pg_test_url().empty()) GTEST_SKIP() << testing::kNoPgServer;
    schema_ = std::make_unique<testing::PgSchema>();
    for (auto* s : {&writer_, &watcher_}) {
      auto opened = open_postgres_store(PostgresOptions{schema_->url(), dir_.path() + "/files"});
      ASSERT_TRUE(opened.ok()) << opened.status().to_string();
      *s = std::move(*opened);
    }
    for (const char* id : {"az.finance", "az.justice"}) {
      ASSERT_TRUE(writer_->put_participant(active(id), "operator").ok());
    }
    auto watch = watcher_->watch_changes([this](const auto& ps) { heard_.add(ps); });
    ASSERT_TRUE(watch.ok()) << watch.status().to_string();
    ASSERT_NE(*watch, nullptr);
    watch_ = std::move(*watch);
  }

  void TearDown() override {
    watch_.reset();
    writer_.reset();
    watcher_.reset();
    schema_.reset();
  }

  std::string submit(const std::string& ref) { return submit_letter(*writer_, ref); }

  testing::TempDir dir_;
  std::unique_ptr<testing::PgSchema> schema_;
  std::unique_ptr<Store> writer_;
  std::unique_ptr<Store> watcher_;
  std::unique_ptr<ChangeWatch> watch_;
  Heard heard_;
};

TEST_F(PgWatchTest, ACommitOnOneStoreWakesTheWatcherOfAnother) {
  // A new document is news to its recipient only.
  std::string id = submit("w-1");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(heard_.wait_for("az.justice"));
  // A status change is news to both sides.
  heard_.clear();
  DeliveryUpdate delivered;
  delivered.at = now_rfc3339();
  ASSERT_TRUE(writer_->update_delivery(id, "az.justice", delivered).ok());
  EXPECT_TRUE(heard_.wait_for("az.finance"));
}

TEST_F(PgWatchTest, AWatcherWhoseConnectionIsCutReconnectsAndAsksEveryoneToCatchUp) {
  std::string cut = testing::pg_sql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
      schema_->name() + "' AND query LIKE 'LISTEN%'");
  ASSERT_EQ(cut, "1");
  EXPECT_TRUE(heard_.wait_for("*"));
  // And it listens again: the next commit is heard as before.
  heard_.clear();
  ASSERT_FALSE(submit("w-3").empty());
  EXPECT_TRUE(heard_.wait_for("az.justice"));
}

}  // namespace
}  // namespace sened
