// The Store conformance suite, run against both backends (SQLite, and
// PostgreSQL when SENED_TEST_PG_URL names a test server: each test then gets
// a schema of its own), followed by tests of what only the SQLite backend
// has (inline files, the content folder, the database file itself).
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "crypto/digest.h"
#include "journal/chain.h"
#include "store/postgres/postgres_store.h"
#include "store/store.h"
#include "support/pg_test_support.h"
#include "support/test_support.h"

namespace sened {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// Opens (or reopens) a store kept in `dir`.
using StoreFactory = Result<std::unique_ptr<Store>> (*)(const std::string& dir);

constexpr uint64_t kInlineLimit = 1024;
constexpr const char* kAt = "2026-12-04T10:00:00.000Z";

SqliteOptions sqlite_options(const std::string& dir) {
  return SqliteOptions{dir + "/db/sened.db", dir + "/files", kInlineLimit};
}

Result<std::unique_ptr<Store>> open_sqlite_in(const std::string& dir) {
  return open_sqlite_store(sqlite_options(dir));
}

// The PostgreSQL schema of each test folder: made on the first open, kept
// across reopens, dropped by drop_postgres_of() when the test ends.
std::mutex pg_schemas_mu;
std::map<std::string, std::unique_ptr<testing::PgSchema>> pg_schemas;

std::string pg_schema_url_of(const std::string& dir) {
  std::lock_guard lock(pg_schemas_mu);
  auto& schema = pg_schemas[dir];
  if (!schema) schema = std::make_unique<testing::PgSchema>();
  return schema->url();
}

std::string pg_schema_name_of(const std::string& dir) {
  std::lock_guard lock(pg_schemas_mu);
  auto it = pg_schemas.find(dir);
  return it == pg_schemas.end() ? "" : it->second->name();
}

Result<std::unique_ptr<Store>> open_postgres_in(const std::string& dir) {
  return open_postgres_store(PostgresOptions{pg_schema_url_of(dir), dir + "/files", kInlineLimit});
}

// The PostgreSQL store keeping large files in the database, chunked.
Result<std::unique_ptr<Store>> open_postgres_chunked_in(const std::string& dir) {
  PostgresOptions options{pg_schema_url_of(dir), dir + "/files", kInlineLimit};
  options.files_in_database = true;
  return open_postgres_store(options);
}

void drop_postgres_of(const std::string& dir) {
  std::lock_guard lock(pg_schemas_mu);
  pg_schemas.erase(dir);
}

Participant participant(const std::string& id, ParticipantStatus status) {
  Participant p;
  p.id = id;
  p.category = "central-executive";
  p.obligation = "ordered";
  p.deadline = "2027-01-01";
  p.name_az = "Maliyyə Nazirliyi " + id;
  p.name_en = "Ministry " + id;
  p.name_ru = "Министерство " + id;
  p.status = status;
  return p;
}

Certificate certificate(const std::string& serial, const std::string& participant) {
  Certificate c;
  c.serial = serial;
  c.participant = participant;
  c.fingerprint = crypto::sha256_hex(serial);
  c.subject = "CN=" + participant;
  c.not_before = "2026-01-01T00:00:00.000Z";
  c.not_after = "2027-01-01T00:00:00.000Z";
  c.pem = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
  return c;
}

DeliveryUpdate delivered() { return {DeliveryStatus::kDelivered, "", "", "", kAt}; }
DeliveryUpdate registered(const std::string& number) {
  return {DeliveryStatus::kRegistered, number, "2026-12-04", "", kAt};
}
DeliveryUpdate rejected(const std::string& reason) {
  return {DeliveryStatus::kRejected, "", "", reason, kAt};
}

class StoreFixture : public ::testing::Test {
 protected:
  virtual StoreFactory factory() const = 0;

  void SetUp() override {
    reopen();
    if (HasFatalFailure()) return;
    for (const char* id : {"az.finance", "az.justice", "az.health"}) {
      ASSERT_TRUE(
          store_->put_participant(participant(id, ParticipantStatus::kActive), "operator").ok());
    }
    ASSERT_TRUE(
        store_->put_participant(participant("az.tax", ParticipantStatus::kSuspended), "operator")
            .ok());
  }

  void TearDown() override {
    store_.reset();
    drop_postgres_of(dir_.path());
  }

  void reopen() {
    store_.reset();
    auto opened = factory()(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(*opened);
  }

  // Writes `bytes` into the staging folder as an upload would.
  StagedFile stage(const std::string& name, const std::string& bytes) {
    std::string path = store_->staging_dir() + "/upload-" + std::to_string(++uploads_);
    testing::write_file(path, bytes);
    StagedFile f;
    f.info.name = name;
    f.info.media_type = "application/pdf";
    f.info.size = bytes.size();
    f.info.sha256 = crypto::sha256_hex(bytes);
    f.temp_path = path;
    return f;
  }

  NewDocument letter(const std::string& ref, std::vector<std::string> to,
                     std::vector<std::string> cc = {}) {
    NewDocument d;
    d.id = new_uuid_v7();
    d.sender = "az.finance";
    d.meta.sender_ref = ref;
    d.meta.kind = "letter";
    d.meta.subject = "Büdcə sorğusu " + ref;
    d.meta.urgency = "normal";
    d.meta.reg_number = "14-3/" + ref;
    d.meta.reg_date = "2026-12-04";
    d.meta.to = std::move(to);
    d.meta.cc = std::move(cc);
    d.files.push_back(stage("letter-" + ref + ".pdf", "%PDF letter " + ref));
    d.created_at = kAt;
    return d;
  }

  Document submit_new(const NewDocument& d) {
    auto outcome = store_->submit(d);
    EXPECT_TRUE(outcome.ok()) << outcome.status().to_string();
    if (!outcome.ok()) return {};
    EXPECT_TRUE(outcome->created);
    return outcome->document;
  }

  std::vector<JournalEntry> whole_journal() {
    auto entries = store_->journal(0, 1000000);
    EXPECT_TRUE(entries.ok()) << entries.status().to_string();
    return entries.ok() ? *entries : std::vector<JournalEntry>{};
  }

  journal::VerifyReport verify_journal() {
    journal::ChainVerifier verifier;
    for (const auto& e : whole_journal()) verifier.add(e);
    auto highest = store_->highest_referenced_journal_seq();
    EXPECT_TRUE(highest.ok());
    return verifier.finish(highest.ok() ? *highest : 0);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  int uploads_ = 0;
};

class StoreConformanceTest : public StoreFixture,
                             public ::testing::WithParamInterface<StoreFactory> {
 protected:
  StoreFactory factory() const override { return GetParam(); }

  void SetUp() override {
    if (GetParam() != &open_sqlite_in && testing::pg_test_url().empty()) {
      GTEST_SKIP() << testing::kNoPgServer;
    }
    StoreFixture::SetUp();
  }
};

// --- participants ------------------------------------------------------------

TEST_P(StoreConformanceTest, GetsAParticipantBackWithItsUtf8Names) {
  auto p = store_->get_participant("az.justice");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name_az, "Maliyyə Nazirliyi az.justice");
  EXPECT_EQ(p->name_ru, "Министерство az.justice");
  EXPECT_EQ(p->status, ParticipantStatus::kActive);
}

TEST_P(StoreConformanceTest, ListsParticipantsInIdOrder) {
  auto all = store_->list_participants();
  ASSERT_TRUE(all.ok());
  std::vector<std::string> ids;
  for (const auto& p : *all) ids.push_back(p.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"az.finance", "az.health", "az.justice", "az.tax"}));
}

TEST_P(StoreConformanceTest, UnknownParticipantIsNotFound) {
  EXPECT_EQ(store_->get_participant("az.nobody").status().code(), Code::kNotFound);
}

TEST_P(StoreConformanceTest, UpdatingAParticipantJournalsParticipantUpdated) {
  Participant p = participant("az.health", ParticipantStatus::kActive);
  p.name_en = "Ministry of Health";
  ASSERT_TRUE(store_->put_participant(p, "operator").ok());
  EXPECT_EQ(store_->get_participant("az.health")->name_en, "Ministry of Health");
  auto entries = whole_journal();
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].kind, "participant.added");
  EXPECT_EQ(entries[4].kind, "participant.updated");
  EXPECT_EQ(entries[4].recipient, "az.health");
}

TEST_P(StoreConformanceTest, PuttingAnUnchangedParticipantJournalsNothing) {
  ASSERT_TRUE(
      store_->put_participant(participant("az.health", ParticipantStatus::kActive), "operator")
          .ok());
  EXPECT_EQ(whole_journal().size(), 4u);
}

TEST_P(StoreConformanceTest, StatusChangeIsStoredAndJournaled) {
  ASSERT_TRUE(
      store_->set_participant_status("az.tax", ParticipantStatus::kActive, "operator").ok());
  EXPECT_EQ(store_->get_participant("az.tax")->status, ParticipantStatus::kActive);
  auto entries = whole_journal();
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[4].kind, "participant.status");
  EXPECT_EQ(entries[4].actor, "operator");
  EXPECT_EQ(entries[4].recipient, "az.tax");
}

TEST_P(StoreConformanceTest, StatusChangeOfUnknownParticipantIsNotFound) {
  EXPECT_EQ(
      store_->set_participant_status("az.nobody", ParticipantStatus::kActive, "operator").code(),
      Code::kNotFound);
}

// --- certificates ------------------------------------------------------------

TEST_P(StoreConformanceTest, FindsACertificateByItsFingerprint) {
  Certificate c = certificate("0A1B", "az.finance");
  ASSERT_TRUE(store_->add_certificate(c, "operator").ok());
  auto found = store_->find_certificate_by_fingerprint(c.fingerprint);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->serial, "0A1B");
  EXPECT_EQ(found->participant, "az.finance");
  EXPECT_FALSE(found->revoked);
  EXPECT_EQ(whole_journal().back().kind, "certificate.issued");
}

TEST_P(StoreConformanceTest, UnknownFingerprintIsNotFound) {
  EXPECT_EQ(store_->find_certificate_by_fingerprint(std::string(64, 'a')).status().code(),
            Code::kNotFound);
}

TEST_P(StoreConformanceTest, DuplicateCertificateSerialIsConflict) {
  ASSERT_TRUE(store_->add_certificate(certificate("0A1B", "az.finance"), "operator").ok());
  Certificate again = certificate("0A1B", "az.justice");
  again.fingerprint = std::string(64, 'b');
  EXPECT_EQ(store_->add_certificate(again, "operator").code(), Code::kConflict);
}

TEST_P(StoreConformanceTest, DuplicateCertificateFingerprintIsConflict) {
  ASSERT_TRUE(store_->add_certificate(certificate("0A1B", "az.finance"), "operator").ok());
  Certificate again = certificate("0C2D", "az.finance");
  again.fingerprint = certificate("0A1B", "az.finance").fingerprint;
  EXPECT_EQ(store_->add_certificate(again, "operator").code(), Code::kConflict);
  EXPECT_EQ(store_->list_certificates()->size(), 1u);
}

TEST_P(StoreConformanceTest, CertificateOfUnknownParticipantIsNotFound) {
  EXPECT_EQ(store_->add_certificate(certificate("0A1B", "az.nobody"), "operator").code(),
            Code::kNotFound);
}

TEST_P(StoreConformanceTest, RevokingTwiceIsJournaledOnce) {
  Certificate c = certificate("0A1B", "az.finance");
  ASSERT_TRUE(store_->add_certificate(c, "operator").ok());
  ASSERT_TRUE(store_->revoke_certificate("0A1B", kAt, "operator").ok());
  ASSERT_TRUE(store_->revoke_certificate("0A1B", "2026-12-05T00:00:00.000Z", "operator").ok());
  auto found = store_->find_certificate_by_fingerprint(c.fingerprint);
  EXPECT_TRUE(found->revoked);
  EXPECT_EQ(found->revoked_at, kAt);
  auto entries = whole_journal();
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[5].kind, "certificate.revoked");
}

TEST_P(StoreConformanceTest, RevokingAnUnknownSerialIsNotFound) {
  EXPECT_EQ(store_->revoke_certificate("FFFF", kAt, "operator").code(), Code::kNotFound);
}

// --- submit --------------------------------------------------------------------

TEST_P(StoreConformanceTest, SubmitStoresDocumentFilesDeliveriesAndOneJournalEntry) {
  NewDocument d = letter("1", {"az.justice"}, {"az.health"});
  d.files.push_back(stage("annex.xlsx", "annex bytes"));
  Document stored = submit_new(d);

  auto got = store_->get_document(d.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->seq, 1);
  EXPECT_EQ(got->sender, "az.finance");
  EXPECT_EQ(got->meta.subject, "Büdcə sorğusu 1");
  EXPECT_EQ(got->meta.to, std::vector<std::string>{"az.justice"});
  EXPECT_EQ(got->meta.cc, std::vector<std::string>{"az.health"});
  ASSERT_EQ(got->files.size(), 2u);
  EXPECT_EQ(got->files[0].role, "main");
  EXPECT_EQ(got->files[1].role, "attachment");
  EXPECT_EQ(got->files[1].sha256, crypto::sha256_hex("annex bytes"));

  auto deliveries = store_->deliveries(d.id);
  ASSERT_EQ(deliveries->size(), 2u);
  EXPECT_EQ((*deliveries)[0].recipient, "az.justice");
  EXPECT_EQ((*deliveries)[0].role, "to");
  EXPECT_EQ((*deliveries)[1].role, "cc");
  EXPECT_EQ((*deliveries)[1].status, DeliveryStatus::kQueued);

  auto entries = whole_journal();
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[4].kind, "document.submitted");
  EXPECT_EQ(entries[4].actor, "az.finance");
  EXPECT_EQ(entries[4].document, d.id);
}

TEST_P(StoreConformanceTest, FileNamesRoundTripByteForByte) {
  NewDocument d = letter("1", {"az.justice"});
  d.files = {stage("Məktub № 14-3-2051 (inteqrasiya).pdf", "main"),
             stage("Письмо № 07-118к.docx", "attachment")};
  submit_new(d);
  auto got = store_->get_document(d.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->files[0].name, "Məktub № 14-3-2051 (inteqrasiya).pdf");
  EXPECT_EQ(got->files[1].name, "Письмо № 07-118к.docx");
  EXPECT_EQ(store_->open_file(d.id, 1)->info.name, "Письмо № 07-118к.docx");
}

TEST_P(StoreConformanceTest, ResubmittingTheSameContentReturnsTheFirstDocument) {
  NewDocument first = letter("1", {"az.justice"});
  submit_new(first);
  NewDocument retry = first;
  retry.id = new_uuid_v7();
  retry.files = {stage(first.files[0].info.name, "%PDF letter 1")};

  auto outcome = store_->submit(retry);
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome->created);
  EXPECT_EQ(outcome->document.id, first.id);
  EXPECT_EQ(whole_journal().size(), 5u);
  EXPECT_EQ(store_->outbox("az.finance", 0, 10)->items.size(), 1u);
  EXPECT_EQ(store_->get_document(retry.id).status().code(), Code::kNotFound);
}

TEST_P(StoreConformanceTest, ReusedSenderRefWithAnotherSubjectIsConflict) {
  NewDocument first = letter("1", {"az.justice"});
  submit_new(first);
  NewDocument other = letter("1", {"az.justice"});
  other.meta.subject = "Başqa mövzu";

  auto outcome = store_->submit(other);
  EXPECT_EQ(outcome.status().code(), Code::kConflict);
  EXPECT_NE(outcome.status().message().find(first.id), std::string::npos);
  EXPECT_EQ(whole_journal().size(), 5u);
  EXPECT_EQ(store_->get_document(other.id).status().code(), Code::kNotFound);
}

TEST_P(StoreConformanceTest, UnknownRecipientIsInvalidArgumentAndStoresNothing) {
  NewDocument d = letter("1", {"az.justice", "az.nobody"});
  auto outcome = store_->submit(d);
  EXPECT_EQ(outcome.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(outcome.status().message(), "unknown recipient az.nobody");
  EXPECT_EQ(store_->get_document(d.id).status().code(), Code::kNotFound);
  EXPECT_EQ(whole_journal().size(), 4u);
  EXPECT_TRUE(store_->inbox("az.justice", 0, true, 10)->items.empty());
}

TEST_P(StoreConformanceTest, SuspendedRecipientIsInvalidArgument) {
  auto outcome = store_->submit(letter("1", {"az.justice"}, {"az.tax"}));
  EXPECT_EQ(outcome.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(outcome.status().message(), "recipient az.tax is not active");
}

TEST_P(StoreConformanceTest, InactiveSenderIsPermissionDenied) {
  NewDocument d = letter("1", {"az.justice"});
  d.sender = "az.tax";
  EXPECT_EQ(store_->submit(d).status().code(), Code::kPermissionDenied);
}

TEST_P(StoreConformanceTest, ReplyToAnUnknownDocumentIsInvalidArgument) {
  NewDocument d = letter("1", {"az.justice"});
  d.meta.in_reply_to = new_uuid_v7();
  EXPECT_EQ(store_->submit(d).status().code(), Code::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ReplyKeepsItsReference) {
  NewDocument first = letter("1", {"az.justice"});
  submit_new(first);
  NewDocument reply = letter("2", {"az.justice"});
  reply.meta.in_reply_to = first.id;
  submit_new(reply);
  EXPECT_EQ(store_->get_document(reply.id)->meta.in_reply_to, first.id);
  EXPECT_FALSE(store_->get_document(first.id)->meta.in_reply_to.has_value());
}

TEST_P(StoreConformanceTest, ARecipientNamedTwiceGetsOneDelivery) {
  NewDocument d = letter("1", {"az.justice", "az.justice"}, {"az.justice", "az.health"});
  submit_new(d);
  auto deliveries = store_->deliveries(d.id);
  ASSERT_EQ(deliveries->size(), 2u);
  EXPECT_EQ((*deliveries)[0].role, "to");
  EXPECT_EQ((*deliveries)[1].recipient, "az.health");
}

TEST_P(StoreConformanceTest, DocumentsGetAscendingSeqInHubOrder) {
  Document a = submit_new(letter("1", {"az.justice"}));
  Document b = submit_new(letter("2", {"az.justice"}));
  EXPECT_EQ(a.seq, 1);
  EXPECT_EQ(b.seq, 2);
}

// --- inbox and outbox --------------------------------------------------------

TEST_P(StoreConformanceTest, InboxListsQueuedDocumentsInHubOrder) {
  Document a = submit_new(letter("1", {"az.justice"}));
  submit_new(letter("2", {"az.health"}));
  Document c = submit_new(letter("3", {"az.health"}, {"az.justice"}));

  auto page = store_->inbox("az.justice", 0, false, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].document.id, a.id);
  EXPECT_EQ(page->items[1].document.id, c.id);
  EXPECT_EQ(page->items[1].delivery.role, "cc");
  EXPECT_EQ(page->next_after, c.seq);
}

TEST_P(StoreConformanceTest, InboxLeavesOutHandledDocumentsUnlessAllIsAsked) {
  Document a = submit_new(letter("1", {"az.justice"}));
  Document b = submit_new(letter("2", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", delivered()).ok());

  auto queued = store_->inbox("az.justice", 0, false, 10);
  ASSERT_EQ(queued->items.size(), 1u);
  EXPECT_EQ(queued->items[0].document.id, b.id);
  auto all = store_->inbox("az.justice", 0, true, 10);
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_EQ(all->items[0].delivery.status, DeliveryStatus::kDelivered);
}

TEST_P(StoreConformanceTest, InboxPagesContinueFromNextAfter) {
  std::vector<std::string> ids;
  for (int i = 1; i <= 5; ++i)
    ids.push_back(submit_new(letter(std::to_string(i), {"az.justice"})).id);

  std::vector<std::string> seen;
  int64_t after = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store_->inbox("az.justice", after, false, 2);
    ASSERT_TRUE(page.ok());
    if (page->items.empty()) break;
    EXPECT_LE(page->items.size(), 2u);
    for (const auto& item : page->items) seen.push_back(item.document.id);
    after = page->next_after;
  }
  EXPECT_EQ(seen, ids);
}

TEST_P(StoreConformanceTest, EmptyInboxPageKeepsTheCursor) {
  auto page = store_->inbox("az.justice", 7, false, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  EXPECT_EQ(page->next_after, 7);
}

TEST_P(StoreConformanceTest, OutboxShowsEachRecipientsStatus) {
  Document a = submit_new(letter("1", {"az.justice"}, {"az.health"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.health", registered("55")).ok());

  auto page = store_->outbox("az.finance", 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  const auto& deliveries = page->items[0].deliveries;
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0].status, DeliveryStatus::kQueued);
  EXPECT_EQ(deliveries[1].status, DeliveryStatus::kRegistered);
  EXPECT_EQ(deliveries[1].reg_number, "55");
  EXPECT_EQ(page->next_after, a.seq);
  EXPECT_TRUE(store_->outbox("az.justice", 0, 10)->items.empty());
}

TEST_P(StoreConformanceTest, NonPositiveLimitIsInvalidArgument) {
  EXPECT_EQ(store_->inbox("az.justice", 0, false, 0).status().code(), Code::kInvalidArgument);
}

// --- deliveries ----------------------------------------------------------------

TEST_P(StoreConformanceTest, DeliveringSetsDeliveredAtAndJournalsIt) {
  Document a = submit_new(letter("1", {"az.justice"}));
  auto change = store_->update_delivery(a.id, "az.justice", delivered());
  ASSERT_TRUE(change.ok());
  EXPECT_TRUE(change->changed);
  EXPECT_EQ(change->delivery.status, DeliveryStatus::kDelivered);
  EXPECT_EQ(change->delivery.delivered_at, kAt);
  JournalEntry last = whole_journal().back();
  EXPECT_EQ(last.kind, "delivery.delivered");
  EXPECT_EQ(last.actor, "az.justice");
  EXPECT_EQ(last.recipient, "az.justice");
  EXPECT_EQ(last.document, a.id);
}

TEST_P(StoreConformanceTest, RegisteringADeliveredDocumentRecordsItsNumber) {
  Document a = submit_new(letter("1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", delivered()).ok());
  auto change = store_->update_delivery(a.id, "az.justice", registered("07-118"));
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->delivery.status, DeliveryStatus::kRegistered);
  EXPECT_EQ(change->delivery.reg_number, "07-118");
  EXPECT_EQ(change->delivery.reg_date, "2026-12-04");
  EXPECT_EQ(whole_journal().back().kind, "delivery.registered");
}

TEST_P(StoreConformanceTest, RejectingAQueuedDocumentJournalsTheImpliedDeliveredStepFirst) {
  Document a = submit_new(letter("1", {"az.justice"}));
  auto change = store_->update_delivery(a.id, "az.justice", rejected("not ours"));
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->delivery.status, DeliveryStatus::kRejected);
  EXPECT_EQ(change->delivery.delivered_at, kAt);
  EXPECT_EQ(change->delivery.reason, "not ours");
  auto entries = whole_journal();
  ASSERT_EQ(entries.size(), 7u);
  EXPECT_EQ(entries[5].kind, "delivery.delivered");
  EXPECT_EQ(entries[6].kind, "delivery.rejected");
}

TEST_P(StoreConformanceTest, RepeatingTheSameUpdateChangesNothing) {
  Document a = submit_new(letter("1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("07-118")).ok());
  auto again = store_->update_delivery(a.id, "az.justice", registered("07-118"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->delivery.status, DeliveryStatus::kRegistered);
  EXPECT_EQ(whole_journal().size(), 7u);
}

TEST_P(StoreConformanceTest, RejectingARegisteredDocumentIsConflict) {
  Document a = submit_new(letter("1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("07-118")).ok());
  auto change = store_->update_delivery(a.id, "az.justice", rejected("late"));
  EXPECT_EQ(change.status().code(), Code::kConflict);
  EXPECT_EQ(change.status().message(), "delivery to az.justice is registered");
}

TEST_P(StoreConformanceTest, RegisteringAgainUnderAnotherNumberIsConflict) {
  Document a = submit_new(letter("1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("07-118")).ok());
  auto change = store_->update_delivery(a.id, "az.justice", registered("07-119"));
  EXPECT_EQ(change.status().code(), Code::kConflict);
  EXPECT_EQ(store_->deliveries(a.id)->at(0).reg_number, "07-118");
}

TEST_P(StoreConformanceTest, DeliveredAfterRegisteredIsConflict) {
  Document a = submit_new(letter("1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("07-118")).ok());
  EXPECT_EQ(store_->update_delivery(a.id, "az.justice", delivered()).status().code(),
            Code::kConflict);
}

TEST_P(StoreConformanceTest, UpdateByAParticipantNotAddressedIsNotFound) {
  Document a = submit_new(letter("1", {"az.justice"}));
  EXPECT_EQ(store_->update_delivery(a.id, "az.health", delivered()).status().code(),
            Code::kNotFound);
}

// --- journal -------------------------------------------------------------------

TEST_P(StoreConformanceTest, HistoryListsEveryEntryAboutADocumentInOrder) {
  Document a = submit_new(letter("1", {"az.justice"}, {"az.health"}));
  submit_new(letter("2", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("07-118")).ok());
  ASSERT_TRUE(store_->update_delivery(a.id, "az.health", delivered()).ok());

  auto history = store_->history(a.id);
  ASSERT_TRUE(history.ok());
  std::vector<std::string> kinds;
  for (const auto& e : *history) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"document.submitted", "delivery.delivered",
                                             "delivery.registered", "delivery.delivered"}));
  EXPECT_EQ(store_->history(new_uuid_v7()).status().code(), Code::kNotFound);
}

TEST_P(StoreConformanceTest, JournalOfAWholeRunVerifies) {
  Document a = submit_new(letter("1", {"az.justice"}, {"az.health"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("07-118")).ok());
  ASSERT_TRUE(store_->add_certificate(certificate("0A1B", "az.finance"), "operator").ok());
  ASSERT_TRUE(store_->revoke_certificate("0A1B", kAt, "operator").ok());
  ASSERT_TRUE(store_->set_participant_status("az.tax", ParticipantStatus::kRetired, "op").ok());

  journal::VerifyReport report = verify_journal();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 10);
  EXPECT_EQ(report.head_hash, whole_journal().back().hash);
  EXPECT_EQ(*store_->highest_referenced_journal_seq(), 10);
}

TEST_P(StoreConformanceTest, JournalPagesFollowAfterSeq) {
  auto page = store_->journal(2, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].seq, 3);
}

TEST_P(StoreConformanceTest, EverythingSurvivesReopening) {
  Document a = submit_new(letter("1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", delivered()).ok());
  ASSERT_TRUE(store_->add_certificate(certificate("0A1B", "az.finance"), "operator").ok());
  auto before = whole_journal();

  reopen();
  EXPECT_EQ(store_->get_document(a.id)->meta.subject, "Büdcə sorğusu 1");
  EXPECT_EQ(store_->deliveries(a.id)->at(0).status, DeliveryStatus::kDelivered);
  EXPECT_EQ(store_->list_participants()->size(), 4u);
  EXPECT_EQ(store_->list_certificates()->size(), 1u);
  EXPECT_EQ(store_->open_file(a.id, 0)->inline_bytes, "%PDF letter 1");
  auto after = whole_journal();
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after.back().hash, before.back().hash);
  Document b = submit_new(letter("2", {"az.justice"}));
  EXPECT_EQ(b.seq, 2);
  EXPECT_TRUE(verify_journal().ok);
}

TEST_P(StoreConformanceTest, OpeningAMissingDocumentOrFileIsNotFound) {
  Document a = submit_new(letter("1", {"az.justice"}));
  EXPECT_EQ(store_->open_file(a.id, 1).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->open_file(new_uuid_v7(), 0).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->get_document(new_uuid_v7()).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->deliveries(new_uuid_v7()).status().code(), Code::kNotFound);
}

TEST_P(StoreConformanceTest, SubmitsFromManyThreadsGetDistinctSeqsAndAValidJournal) {
  constexpr int kThreads = 4;
  constexpr int kEach = 5;
  std::vector<NewDocument> docs;
  for (int i = 0; i < kThreads * kEach; ++i)
    docs.push_back(letter(std::to_string(i), {"az.justice"}));

  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t * kEach; i < (t + 1) * kEach; ++i) {
        if (!store_->submit(docs[i]).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(failures, 0);
  auto page = store_->inbox("az.justice", 0, false, 100);
  ASSERT_EQ(page->items.size(), static_cast<size_t>(kThreads * kEach));
  for (size_t i = 0; i < page->items.size(); ++i) {
    EXPECT_EQ(page->items[i].document.seq, static_cast<int64_t>(i + 1));
  }
  EXPECT_TRUE(verify_journal().ok);
}

// Runs `submit(i)` for i in [0, n) on n threads released together, so that
// group commit gets to put them into shared batches. Returns the outcomes in i order.
std::vector<Result<SubmitOutcome>> submit_all_at_once(Store& store,
                                                      const std::vector<NewDocument>& docs) {
  std::vector<std::optional<Result<SubmitOutcome>>> outcomes(docs.size());
  std::latch start(static_cast<std::ptrdiff_t>(docs.size()));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < docs.size(); ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      outcomes[i] = store.submit(docs[i]);
    });
  }
  for (auto& th : threads) th.join();
  std::vector<Result<SubmitOutcome>> out;
  for (auto& o : outcomes) out.push_back(std::move(*o));
  return out;
}

TEST_P(StoreConformanceTest, ManySimultaneousSubmitsAreAllStoredInAContiguousJournal) {
  constexpr int kThreads = 16;
  constexpr int kEach = 8;
  std::vector<NewDocument> docs;
  for (int i = 0; i < kThreads * kEach; ++i) {
    docs.push_back(letter(std::to_string(i), {"az.justice"}, {"az.health"}));
  }

  std::latch start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = t; i < kThreads * kEach; i += kThreads) {
        if (!store_->submit(docs[i]).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(failures, 0);
  auto page = store_->inbox("az.health", 0, false, 1000);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), static_cast<size_t>(kThreads * kEach));
  for (size_t i = 0; i < page->items.size(); ++i) {
    EXPECT_EQ(page->items[i].document.seq, static_cast<int64_t>(i + 1));
  }
  std::vector<JournalEntry> entries = whole_journal();
  ASSERT_EQ(entries.size(), static_cast<size_t>(4 + kThreads * kEach));
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, static_cast<int64_t>(i + 1));
  }
  EXPECT_TRUE(verify_journal().ok);
}

TEST_P(StoreConformanceTest, ABadSubmitAmongSimultaneousOnesFailsAlone) {
  std::vector<NewDocument> docs;
  for (int i = 0; i < 6; ++i) docs.push_back(letter(std::to_string(i), {"az.justice"}));
  docs.push_back(letter("unknown", {"az.justice", "az.nobody"}));
  docs.push_back(letter("suspended", {"az.justice"}, {"az.tax"}));

  std::vector<Result<SubmitOutcome>> outcomes = submit_all_at_once(*store_, docs);

  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(outcomes[i].ok()) << outcomes[i].status().to_string();
    EXPECT_TRUE(outcomes[i]->created);
    EXPECT_EQ(store_->get_document(docs[i].id)->meta.sender_ref, std::to_string(i));
  }
  EXPECT_EQ(outcomes[6].status().code(), Code::kInvalidArgument);
  EXPECT_EQ(outcomes[6].status().message(), "unknown recipient az.nobody");
  EXPECT_EQ(outcomes[7].status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->get_document(docs[6].id).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->get_document(docs[7].id).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->inbox("az.justice", 0, true, 100)->items.size(), 6u);
  EXPECT_EQ(whole_journal().size(), 4u + 6u);
  EXPECT_TRUE(verify_journal().ok);
}

TEST_P(StoreConformanceTest, TheSameSenderRefSubmittedSimultaneouslyMakesOneDocument) {
  std::vector<NewDocument> copies;
  NewDocument first = letter("twice", {"az.justice"});
  for (int i = 0; i < 6; ++i) {
    NewDocument copy = first;
    copy.id = new_uuid_v7();
    copy.files = {stage(first.files[0].info.name, "%PDF letter twice")};
    copies.push_back(std::move(copy));
  }

  std::vector<Result<SubmitOutcome>> outcomes = submit_all_at_once(*store_, copies);

  int created = 0;
  std::set<std::string> ids;
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.ok()) << o.status().to_string();
    created += o->created ? 1 : 0;
    ids.insert(o->document.id);
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(store_->outbox("az.finance", 0, 10)->items.size(), 1u);
  EXPECT_EQ(whole_journal().size(), 5u);
}

// --- lifecycle -----------------------------------------------------------------

DeliveryUpdate assigned(const std::string& executor) {
  DeliveryUpdate u{DeliveryStatus::kAssigned, "", "", "", kAt};
  u.executor = executor;
  return u;
}
DeliveryUpdate executed(const std::string& reply = "") {
  DeliveryUpdate u{DeliveryStatus::kExecuted, "", "", "", kAt};
  u.reply = reply;
  return u;
}

std::vector<std::string> kinds_of(const std::vector<JournalEntry>& entries, size_t from) {
  std::vector<std::string> out;
  for (size_t i = from; i < entries.size(); ++i) out.push_back(entries[i].kind);
  return out;
}

TEST_P(StoreConformanceTest, WholeLifecycleIsJournaledStepByStep) {
  Document a = submit_new(letter("L1", {"az.justice"}));
  size_t before = whole_journal().size();
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", delivered()).ok());
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("07-118/k")).ok());
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", assigned("Şöbə 3")).ok());
  auto done = store_->update_delivery(a.id, "az.justice", executed());
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->delivery.status, DeliveryStatus::kExecuted);
  EXPECT_EQ(done->delivery.reg_number, "07-118/k");
  EXPECT_EQ(done->delivery.executor, "Şöbə 3");
  EXPECT_EQ(kinds_of(whole_journal(), before),
            (std::vector<std::string>{"delivery.delivered", "delivery.registered",
                                      "delivery.assigned", "delivery.executed"}));
  EXPECT_TRUE(verify_journal().ok);
  auto problems = store_->audit(true);
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty()) << problems->front().problem;
}

TEST_P(StoreConformanceTest, EarlyAssignmentRecordsTheImpliedDeliveryFirst) {
  Document a = submit_new(letter("L1", {"az.justice"}));
  size_t before = whole_journal().size();
  auto change = store_->update_delivery(a.id, "az.justice", assigned("clerk"));
  ASSERT_TRUE(change.ok()) << change.status().to_string();
  EXPECT_EQ(change->delivery.status, DeliveryStatus::kAssigned);
  EXPECT_FALSE(change->delivery.delivered_at.empty());
  EXPECT_EQ(kinds_of(whole_journal(), before),
            (std::vector<std::string>{"delivery.delivered", "delivery.assigned"}));
}

TEST_P(StoreConformanceTest, ReassignmentToAnotherExecutorIsAStepAndTheSameIsARepeat) {
  Document a = submit_new(letter("L1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("1")).ok());
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", assigned("A")).ok());
  auto same = store_->update_delivery(a.id, "az.justice", assigned("A"));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->changed);
  auto other = store_->update_delivery(a.id, "az.justice", assigned("B"));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->changed);
  EXPECT_EQ(other->delivery.executor, "B");
}

TEST_P(StoreConformanceTest, ExecutedIsFinalAndAnythingAfterIsConflictNamingTheState) {
  Document a = submit_new(letter("L1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", executed()).ok());
  auto late = store_->update_delivery(a.id, "az.justice", rejected("no"));
  EXPECT_EQ(late.status().code(), Code::kConflict);
  EXPECT_NE(late.status().message().find("executed"), std::string::npos);
  EXPECT_EQ(store_->update_delivery(a.id, "az.justice", assigned("x")).status().code(),
            Code::kConflict);
}

TEST_P(StoreConformanceTest, RejectedCannotBeAssigned) {
  Document a = submit_new(letter("L1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", rejected("no")).ok());
  EXPECT_EQ(store_->update_delivery(a.id, "az.justice", assigned("x")).status().code(),
            Code::kConflict);
}

TEST_P(StoreConformanceTest, ExecutedWithAReplyMustNameTheRecipientsReplyDocument) {
  Document a = submit_new(letter("L1", {"az.justice"}));
  Document unrelated = submit_new(letter("L2", {"az.justice"}));
  EXPECT_EQ(store_->update_delivery(a.id, "az.justice", executed(unrelated.id)).status().code(),
            Code::kInvalidArgument);
  NewDocument reply = letter("R1", {"az.finance"});
  reply.sender = "az.justice";
  reply.meta.in_reply_to = a.id;
  Document r = submit_new(reply);
  auto done = store_->update_delivery(a.id, "az.justice", executed(r.id));
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->delivery.reply, r.id);
  auto problems = store_->audit(false);
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
}

TEST_P(StoreConformanceTest, RecallWithdrawsOnlyQueuedDeliveries) {
  Document a = submit_new(letter("L1", {"az.justice", "az.health"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.health", delivered()).ok());
  auto recalled = store_->recall(a.id, "az.finance", "", "sent by mistake", kAt);
  ASSERT_TRUE(recalled.ok()) << recalled.status().to_string();
  ASSERT_EQ(recalled->size(), 2u);
  EXPECT_EQ((*recalled)[0].delivery.status, DeliveryStatus::kRecalled);
  EXPECT_TRUE((*recalled)[0].changed);
  EXPECT_EQ((*recalled)[1].delivery.status, DeliveryStatus::kDelivered);
  EXPECT_FALSE((*recalled)[1].changed);
  auto inbox = store_->inbox("az.justice", 0, false, 10);
  ASSERT_TRUE(inbox.ok());
  EXPECT_TRUE(inbox->items.empty());
  // A late acknowledgement of a recalled delivery is refused with the state.
  auto late = store_->update_delivery(a.id, "az.justice", delivered());
  EXPECT_EQ(late.status().code(), Code::kConflict);
  EXPECT_NE(late.status().message().find("recalled"), std::string::npos);
  auto problems = store_->audit(false);
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
}

TEST_P(StoreConformanceTest, RecallOfADeliveredDocumentIsConflictAndRepeatIsHarmless) {
  Document a = submit_new(letter("L1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", delivered()).ok());
  auto refused = store_->recall(a.id, "az.finance", "", "", kAt);
  EXPECT_EQ(refused.status().code(), Code::kConflict);
  EXPECT_NE(refused.status().message().find("delivered"), std::string::npos);

  Document b = submit_new(letter("L2", {"az.justice"}));
  ASSERT_TRUE(store_->recall(b.id, "az.finance", "", "", kAt).ok());
  size_t before = whole_journal().size();
  auto again = store_->recall(b.id, "az.finance", "", "", kAt);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)[0].changed);
  EXPECT_EQ(whole_journal().size(), before);
}

TEST_P(StoreConformanceTest, OnlyTheSenderCanRecall) {
  Document a = submit_new(letter("L1", {"az.justice"}));
  EXPECT_EQ(store_->recall(a.id, "az.justice", "", "", kAt).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->recall(a.id, "az.finance", "az.health", "", kAt).status().code(),
            Code::kNotFound);
}

TEST_P(StoreConformanceTest, ExpiryTakesOnlyQueuedDeliveriesOlderThanTheCutoff) {
  Document a = submit_new(letter("L1", {"az.justice", "az.health"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.health", delivered()).ok());
  auto none = store_->expire_deliveries("2026-12-04T09:00:00.000Z", "2026-12-11T10:00:00.000Z");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  auto one = store_->expire_deliveries("2026-12-04T11:00:00.000Z", "2026-12-11T10:00:00.000Z");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1);
  auto d = store_->deliveries(a.id);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)[0].status, DeliveryStatus::kExpired);
  EXPECT_EQ((*d)[1].status, DeliveryStatus::kDelivered);
  EXPECT_EQ(whole_journal().back().actor, "hub");
  auto problems = store_->audit(false);
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
}

TEST_P(StoreConformanceTest, OverdueIsAFlagSetOnceAndPushedToBothSides) {
  NewDocument n = letter("L1", {"az.justice"});
  n.meta.due_date = "2026-12-10";
  Document a = submit_new(n);
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("5")).ok());
  EXPECT_EQ(*store_->mark_overdue("2026-12-10", kAt), 0);  // due today: not yet
  EXPECT_EQ(*store_->mark_overdue("2026-12-11", kAt), 1);
  EXPECT_EQ(*store_->mark_overdue("2026-12-12", kAt), 0);  // already flagged
  auto d = store_->deliveries(a.id);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE((*d)[0].overdue);
  EXPECT_EQ((*d)[0].status, DeliveryStatus::kRegistered);
  for (const char* side : {"az.finance", "az.justice"}) {
    auto events = store_->events(side, 0, 100);
    ASSERT_TRUE(events.ok());
    ASSERT_FALSE(events->empty());
    EXPECT_EQ(events->back().type, "document.overdue") << side;
  }
  // Executing later keeps the flag and the audit still matches every row.
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", executed()).ok());
  EXPECT_TRUE((*store_->deliveries(a.id))[0].overdue);
  auto problems = store_->audit(false);
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty()) << problems->front().problem;
}

TEST_P(StoreConformanceTest, ExecutedDocumentsAreNeverOverdue) {
  NewDocument n = letter("L1", {"az.justice"});
  n.meta.due_date = "2026-12-10";
  Document a = submit_new(n);
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", executed()).ok());
  EXPECT_EQ(*store_->mark_overdue("2026-12-20", kAt), 0);
}

// --- events ----------------------------------------------------------------------

TEST_P(StoreConformanceTest, EachSideSeesItsEventsInOrder) {
  Document a = submit_new(letter("L1", {"az.justice"}, {"az.health"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", registered("9")).ok());

  auto justice = store_->events("az.justice", 0, 100);
  ASSERT_TRUE(justice.ok());
  std::vector<std::string> seen;
  for (const auto& e : *justice) seen.push_back(e.type + ":" + e.status);
  EXPECT_EQ(seen, (std::vector<std::string>{"document.new:queued", "document.status:delivered",
                                            "document.status:registered"}));
  EXPECT_EQ(justice->back().reg_number, "9");
  EXPECT_EQ(justice->back().sender, "az.finance");

  auto finance = store_->events("az.finance", 0, 100);
  ASSERT_TRUE(finance.ok());
  ASSERT_EQ(finance->size(), 2u);  // the sender hears of each step, not of its own sending
  EXPECT_EQ((*finance)[1].recipient, "az.justice");

  auto health = store_->events("az.health", 0, 100);
  ASSERT_TRUE(health.ok());
  ASSERT_EQ(health->size(), 1u);  // another recipient's steps are not its business
  EXPECT_LT((*justice)[0].cursor, (*justice)[1].cursor);
  auto after = store_->events("az.justice", (*justice)[0].cursor, 100);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 2u);
}

TEST_P(StoreConformanceTest, RefusedChangesWriteNoEvents) {
  Document a = submit_new(letter("L1", {"az.justice"}));
  auto before = store_->last_event_cursor();
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(store_->update_delivery(a.id, "az.health", delivered()).ok());
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", delivered()).ok());
  auto mid = *store_->last_event_cursor();
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", delivered()).ok());  // repeat
  EXPECT_EQ(*store_->last_event_cursor(), mid);
  EXPECT_GT(mid, *before);
}

TEST_P(StoreConformanceTest, AcknowledgedPositionOnlyMovesForward) {
  submit_new(letter("L1", {"az.justice"}));
  submit_new(letter("L2", {"az.justice"}));
  auto events = store_->events("az.justice", 0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(*store_->event_position("az.justice"), 0);
  EXPECT_EQ(*store_->acknowledge_events("az.justice", (*events)[1].cursor), (*events)[1].cursor);
  EXPECT_EQ(*store_->acknowledge_events("az.justice", (*events)[0].cursor), (*events)[1].cursor);
  EXPECT_EQ(*store_->acknowledge_events("az.justice", (*events)[1].cursor), (*events)[1].cursor);
  EXPECT_EQ(*store_->event_position("az.justice"), (*events)[1].cursor);
  EXPECT_EQ(store_->acknowledge_events("az.justice", 1000000).status().code(),
            Code::kInvalidArgument);
}

TEST_P(StoreConformanceTest, WebhookStartsAtTheLastEventAndRecordsAttempts) {
  submit_new(letter("L1", {"az.justice"}));
  Webhook h;
  h.participant = "az.justice";
  h.url = "https://127.0.0.1:1/hook";
  h.secret = "ab";
  h.created_at = kAt;
  ASSERT_TRUE(store_->put_webhook(h).ok());
  auto stored = store_->get_webhook("az.justice");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->cursor, *store_->last_event_cursor());
  ASSERT_TRUE(store_
                  ->record_webhook_attempt("az.justice", false, 0, "refused", kAt,
                                           "2026-12-04T10:00:01.000Z")
                  .ok());
  ASSERT_TRUE(store_->record_webhook_attempt("az.justice", false, 0, "refused", kAt, "x").ok());
  EXPECT_EQ(store_->get_webhook("az.justice")->failures, 2);
  ASSERT_TRUE(
      store_->record_webhook_attempt("az.justice", true, stored->cursor + 5, "", kAt, "").ok());
  auto after = store_->get_webhook("az.justice");
  EXPECT_EQ(after->failures, 0);
  EXPECT_EQ(after->cursor, stored->cursor + 5);
  EXPECT_EQ(after->last_success_at, kAt);
  ASSERT_TRUE(store_->delete_webhook("az.justice").ok());
  EXPECT_EQ(store_->get_webhook("az.justice").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->delete_webhook("az.justice").code(), Code::kNotFound);
}

// --- signatures and receipts -------------------------------------------------

// A main file signed and encrypted, and an unsigned attachment.
void sign(StagedFile& f, const std::string& der) {
  f.signature = der;
  f.info.encrypted = true;
  f.info.signature_status = "unknown_signer";
  f.info.signer = "CN=Əli Həsənov,O=Maliyyə Nazirliyi";
  f.info.signature_sha256 = crypto::sha256_hex(der);
  f.info.signature_size = der.size();
}

TEST_P(StoreConformanceTest, SignatureFieldsRoundTripAndTheSignatureIsKeptByteForByte) {
  NewDocument d = letter("1", {"az.justice"});
  std::string der("0\x82\x01\x00signature\0bytes", 19);
  sign(d.files[0], der);
  d.files.push_back(stage("annex.pdf", "annex"));
  submit_new(d);

  reopen();
  auto got = store_->get_document(d.id);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  ASSERT_EQ(got->files.size(), 2u);
  const FileInfo& main = got->files[0];
  EXPECT_TRUE(main.encrypted);
  EXPECT_EQ(main.signature_status, "unknown_signer");
  EXPECT_EQ(main.signer, "CN=Əli Həsənov,O=Maliyyə Nazirliyi");
  EXPECT_EQ(main.signature_sha256, crypto::sha256_hex(der));
  EXPECT_EQ(main.signature_size, der.size());
  const FileInfo& annex = got->files[1];
  EXPECT_FALSE(annex.encrypted);
  EXPECT_EQ(annex.signature_status, "");
  EXPECT_EQ(annex.signature_size, 0u);

  auto signature = store_->open_signature(d.id, 0);
  ASSERT_TRUE(signature.ok()) << signature.status().to_string();
  EXPECT_EQ(*signature, der);
  EXPECT_EQ(store_->open_signature(d.id, 1).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->open_signature(d.id, 2).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->open_signature(new_uuid_v7(), 0).status().code(), Code::kNotFound);

  EXPECT_TRUE(verify_journal().ok);
  auto problems = store_->audit(true);
  ASSERT_TRUE(problems.ok()) << problems.status().to_string();
  EXPECT_TRUE(problems->empty()) << problems->front().problem;
}

TEST_P(StoreConformanceTest, TheFirstReceiptKeptForAnEntryIsTheOnlyOne) {
  Document d = submit_new(letter("1", {"az.justice"}));
  int64_t seq = whole_journal().back().seq;
  auto none = store_->find_receipt(seq);
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_FALSE(none->has_value());

  std::string first("receipt\0one", 11);
  auto kept = store_->keep_receipt(seq, d.id, "az.finance", first);
  ASSERT_TRUE(kept.ok()) << kept.status().to_string();
  EXPECT_EQ(*kept, first);
  auto again = store_->keep_receipt(seq, d.id, "az.finance", "receipt two");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(*again, first);

  reopen();
  auto found = store_->find_receipt(seq);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, first);
  EXPECT_FALSE(store_->find_receipt(seq + 1)->has_value());
}

TEST_P(StoreConformanceTest, RacingReceiptKeepersAllGetTheSameReceipt) {
  Document d = submit_new(letter("1", {"az.justice"}));
  int64_t seq = whole_journal().back().seq;
  constexpr int kThreads = 4;
  std::vector<std::string> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto kept = store_->keep_receipt(seq, d.id, "az.finance", "receipt " + std::to_string(i));
      got[i] = kept.ok() ? *kept : kept.status().to_string();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, got[0]);
  EXPECT_EQ(got[0].rfind("receipt ", 0), 0u) << got[0];
}

// --- large files, wherever the backend keeps them ------------------------------

// Bytes that do not repeat within a chunk, so that a misplaced chunk shows.
std::string pseudo_random_bytes(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint32_t x = seed;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// Everything open_file() hands out, read piece by piece as the server does.
std::string read_whole(const FileContent& content, size_t piece = 64 * 1024) {
  std::string out;
  Status st = for_each_piece(content, piece, [&](std::string_view bytes) {
    out.append(bytes);
    return Status();
  });
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out;
}

// Three and a half chunks of the chunked store (1 MiB each).
constexpr size_t kLargeFileSize = 3 * 1024 * 1024 + 512 * 1024 + 7;

class LargeFileTest : public StoreConformanceTest {
 protected:
  bool chunked() const { return GetParam() == &open_postgres_chunked_in; }

  // Changes one byte in the middle of the stored bytes of `sha256`, behind
  // the store's back.
  void change_stored_byte(const std::string& sha256) {
    if (chunked()) {
      std::string done = testing::pg_sql(
          "UPDATE file_chunks SET bytes = set_byte(bytes, 100, get_byte(bytes, 100) # 1) "
          "WHERE sha256 = '" +
              sha256 + "' AND n = 2 RETURNING n",
          pg_schema_name_of(dir_.path()));
      ASSERT_EQ(done, "2");
      return;
    }
    std::string path = dir_.path() + "/files/" + sha256.substr(0, 2) + "/" + sha256;
    std::string bytes = testing::read_file(path);
    ASSERT_EQ(bytes.size(), kLargeFileSize);
    bytes[2 * 1024 * 1024 + 100] ^= 1;
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
    testing::write_file(path, bytes);
  }
};

TEST_P(LargeFileTest, ALargeFileReadsBackByteForByteInPieces) {
  std::string bytes = pseudo_random_bytes(kLargeFileSize, 1);
  NewDocument d = letter("1", {"az.justice"});
  d.files = {stage("large.bin", bytes)};
  submit_new(d);

  auto content = store_->open_file(d.id, 0);
  ASSERT_TRUE(content.ok()) << content.status().to_string();
  EXPECT_EQ(content->info.size, bytes.size());
  EXPECT_EQ(content->info.sha256, crypto::sha256_hex(bytes));
  EXPECT_FALSE(content->inline_bytes);
  EXPECT_EQ(content->reader != nullptr, chunked());
  EXPECT_EQ(content->path.has_value(), !chunked());
  std::string back = read_whole(*content, 100 * 1000);  // pieces that straddle chunks
  EXPECT_EQ(back.size(), bytes.size());
  EXPECT_TRUE(back == bytes);
  EXPECT_EQ(crypto::sha256_hex(back), content->info.sha256);
}

TEST_P(LargeFileTest, ALargeFileSurvivesReopeningAndItsTempFileIsGone) {
  std::string bytes = pseudo_random_bytes(kLargeFileSize, 2);
  NewDocument d = letter("1", {"az.justice"});
  d.files = {stage("large.bin", bytes)};
  submit_new(d);
  EXPECT_FALSE(fs::exists(d.files[0].temp_path));
  reopen();
  auto content = store_->open_file(d.id, 0);
  ASSERT_TRUE(content.ok()) << content.status().to_string();
  EXPECT_EQ(crypto::sha256_hex(read_whole(*content)), crypto::sha256_hex(bytes));
}

TEST_P(LargeFileTest, AuditWithFilesNoticesAChangedByteOfALargeFile) {
  std::string bytes = pseudo_random_bytes(kLargeFileSize, 3);
  NewDocument d = letter("1", {"az.justice"});
  d.files = {stage("large.bin", bytes)};
  submit_new(d);
  auto clean = store_->audit(true);
  ASSERT_TRUE(clean.ok()) << clean.status().to_string();
  EXPECT_TRUE(clean->empty());

  change_stored_byte(crypto::sha256_hex(bytes));
  auto problems = store_->audit(true);
  ASSERT_TRUE(problems.ok()) << problems.status().to_string();
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_NE(problems->front().problem.find("files row (" + d.id + ", 0)"), std::string::npos)
      << problems->front().problem;
  EXPECT_NE(problems->front().problem.find("hash"), std::string::npos) << problems->front().problem;
  // Without check_files the bytes are not read.
  auto rows_only = store_->audit(false);
  ASSERT_TRUE(rows_only.ok());
  EXPECT_TRUE(rows_only->empty());
}

TEST_P(LargeFileTest, TwoDocumentsWithTheSameLargeFileBothReadIt) {
  std::string bytes = pseudo_random_bytes(kLargeFileSize, 4);
  NewDocument a = letter("1", {"az.justice"});
  a.files = {stage("a.bin", bytes)};
  NewDocument b = letter("2", {"az.health"});
  b.files = {stage("b.bin", bytes), stage("again.bin", bytes)};
  submit_new(a);
  submit_new(b);
  for (const auto& [id, index] :
       std::vector<std::pair<std::string, int>>{{a.id, 0}, {b.id, 0}, {b.id, 1}}) {
    auto content = store_->open_file(id, index);
    ASSERT_TRUE(content.ok()) << content.status().to_string();
    EXPECT_TRUE(read_whole(*content) == bytes);
  }
  auto problems = store_->audit(true);
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
}

TEST_P(LargeFileTest, AStagedFileThatDoesNotMatchItsDigestIsRefusedAndChangesNothing) {
  // The folder backends trust the upload's digest (it computed it); the
  // chunked store hashes while it copies and refuses.
  if (!chunked()) GTEST_SKIP() << "only the chunked store rereads the staged file";
  NewDocument d = letter("1", {"az.justice"});
  d.files = {stage("large.bin", pseudo_random_bytes(kLargeFileSize, 5))};
  d.files[0].info.sha256 = crypto::sha256_hex("something else");
  auto outcome = store_->submit(d);
  EXPECT_EQ(outcome.status().code(), Code::kInternal);
  EXPECT_EQ(store_->get_document(d.id).status().code(), Code::kNotFound);
  EXPECT_EQ(testing::pg_sql("SELECT count(*) FROM file_chunks", pg_schema_name_of(dir_.path())),
            "0");
}

TEST_P(LargeFileTest, ARefusedDocumentLeavesNoChunksBehind) {
  NewDocument d = letter("1", {"az.nobody"});
  d.files = {stage("large.bin", pseudo_random_bytes(kLargeFileSize, 6))};
  EXPECT_EQ(store_->submit(d).status().code(), Code::kInvalidArgument);
  if (!chunked()) return;
  std::string schema = pg_schema_name_of(dir_.path());
  EXPECT_EQ(testing::pg_sql("SELECT count(*) FROM file_chunks", schema), "0");
  EXPECT_EQ(testing::pg_sql("SELECT count(*) FROM file_contents", schema), "0");
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest, ::testing::Values(&open_sqlite_in));
INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest, ::testing::Values(&open_postgres_in));
INSTANTIATE_TEST_SUITE_P(PostgresChunked, StoreConformanceTest,
                         ::testing::Values(&open_postgres_chunked_in));
INSTANTIATE_TEST_SUITE_P(Sqlite, LargeFileTest, ::testing::Values(&open_sqlite_in));
INSTANTIATE_TEST_SUITE_P(Postgres, LargeFileTest, ::testing::Values(&open_postgres_in));
INSTANTIATE_TEST_SUITE_P(PostgresChunked, LargeFileTest,
                         ::testing::Values(&open_postgres_chunked_in));

// The two backends must journal the same submission with the same digest:
// a journal copied from one is verified against the other's rows.
TEST(StoreBackendsTest, ASignedDocumentGetsTheSameSubmittedDigestOnBothBackends) {
  if (testing::pg_test_url().empty()) GTEST_SKIP() << testing::kNoPgServer;
  std::string id = new_uuid_v7();
  std::vector<std::string> digests;
  for (StoreFactory factory : {&open_sqlite_in, &open_postgres_in}) {
    TempDir dir;
    auto store = factory(dir.path());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (const char* p : {"az.finance", "az.justice", "az.health"}) {
      ASSERT_TRUE((*store)->put_participant(participant(p, ParticipantStatus::kActive), "op").ok());
    }
    NewDocument d;
    d.id = id;
    d.sender = "az.finance";
    d.meta.sender_ref = "14-3/2051";
    d.meta.kind = "letter";
    d.meta.subject = "İmzalı məktub";
    d.meta.urgency = "normal";
    d.meta.to = {"az.justice"};
    d.meta.cc = {"az.health"};
    d.created_at = kAt;
    for (const char* name : {"main.pdf", "annex.pdf"}) {
      StagedFile f;
      f.info.name = name;
      f.info.media_type = "application/pdf";
      f.info.size = 4;
      f.info.sha256 = crypto::sha256_hex("%PDF");
      f.temp_path = (*store)->staging_dir() + "/" + name;
      testing::write_file(f.temp_path, "%PDF");
      d.files.push_back(f);
    }
    d.files[0].signature = "signature";
    d.files[0].info.encrypted = true;
    d.files[0].info.signature_status = "valid";
    d.files[0].info.signer = "CN=signer";
    d.files[0].info.signature_sha256 = crypto::sha256_hex("signature");
    ASSERT_TRUE((*store)->submit(d).ok());
    auto entries = (*store)->journal(0, 100);
    ASSERT_TRUE(entries.ok());
    digests.push_back(entries->back().content_digest);
    store->reset();
    drop_postgres_of(dir.path());
  }
  EXPECT_EQ(digests[0], digests[1]);
}

// A VFS that forwards everything to the default one, except that it can be
// told to fail every fsync: a disk that reports a write error on demand.
namespace failing_disk {

std::atomic<bool> fail_sync{false};
sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs vfs;
sqlite3_io_methods methods;

struct File {
  sqlite3_file base;
  sqlite3_file* real;  // the default VFS's file, stored right after this struct
};

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }
const sqlite3_io_methods* io(sqlite3_file* f) { return real(f)->pMethods; }

int x_sync(sqlite3_file* f, int flags) {
  if (fail_sync) return SQLITE_IOERR_FSYNC;
  return io(f)->xSync(real(f), flags);
}

void fill_methods() {
  methods.iVersion = 3;
  methods.xClose = [](sqlite3_file* f) { return io(f)->xClose(real(f)); };
  methods.xRead = [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
    return io(f)->xRead(real(f), b, n, o);
  };
  methods.xWrite = [](sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
    return io(f)->xWrite(real(f), b, n, o);
  };
  methods.xTruncate = [](sqlite3_file* f, sqlite3_int64 n) { return io(f)->xTruncate(real(f), n); };
  methods.xSync = x_sync;
  methods.xFileSize = [](sqlite3_file* f, sqlite3_int64* n) {
    return io(f)->xFileSize(real(f), n);
  };
  methods.xLock = [](sqlite3_file* f, int l) { return io(f)->xLock(real(f), l); };
  methods.xUnlock = [](sqlite3_file* f, int l) { return io(f)->xUnlock(real(f), l); };
  methods.xCheckReservedLock = [](sqlite3_file* f, int* r) {
    return io(f)->xCheckReservedLock(real(f), r);
  };
  methods.xFileControl = [](sqlite3_file* f, int op, void* a) {
    return io(f)->xFileControl(real(f), op, a);
  };
  methods.xSectorSize = [](sqlite3_file* f) { return io(f)->xSectorSize(real(f)); };
  methods.xDeviceCharacteristics = [](sqlite3_file* f) {
    return io(f)->xDeviceCharacteristics(real(f));
  };
  methods.xShmMap = [](sqlite3_file* f, int pg, int sz, int ext, void volatile** p) {
    return io(f)->xShmMap(real(f), pg, sz, ext, p);
  };
  methods.xShmLock = [](sqlite3_file* f, int o, int n, int fl) {
    return io(f)->xShmLock(real(f), o, n, fl);
  };
  methods.xShmBarrier = [](sqlite3_file* f) { io(f)->xShmBarrier(real(f)); };
  methods.xShmUnmap = [](sqlite3_file* f, int d) { return io(f)->xShmUnmap(real(f), d); };
  methods.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
    return io(f)->xFetch(real(f), o, n, p);
  };
  methods.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) {
    return io(f)->xUnfetch(real(f), o, p);
  };
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
  auto* file = reinterpret_cast<File*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  int rc = real_vfs->xOpen(real_vfs, name, file->real, flags, out);
  file->base.pMethods = file->real->pMethods != nullptr ? &methods : nullptr;
  return rc;
}

// Makes the failing disk the default VFS for connections opened from now on.
void install() {
  real_vfs = sqlite3_vfs_find(nullptr);
  vfs = *real_vfs;
  vfs.zName = "failing-disk";
  vfs.szOsFile = static_cast<int>(sizeof(File)) + real_vfs->szOsFile;
  vfs.xOpen = x_open;
  fill_methods();
  sqlite3_vfs_register(&vfs, 1);
}

void uninstall() {
  fail_sync = false;
  sqlite3_vfs_register(real_vfs, 1);
  sqlite3_vfs_unregister(&vfs);
}

}  // namespace failing_disk

// --- what only the SQLite backend has ------------------------------------------

class SqliteStoreTest : public StoreFixture {
 protected:
  StoreFactory factory() const override { return &open_sqlite_in; }

  std::string db_path() const { return sqlite_options(dir_.path()).database_path; }
  std::string files_dir() const { return sqlite_options(dir_.path()).files_dir; }

  // Closes the store and runs `sql` on the database file directly, as
  // someone with access to the disk could. reopen() to use the store again.
  int raw_sql(const std::string& sql) {
    store_.reset();
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return rc;
  }

  int64_t count(const std::string& table) {
    store_.reset();
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    std::string sql = "SELECT count(*) FROM " + table;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    reopen();
    return n;
  }

  std::string large_bytes(char fill) { return std::string(kInlineLimit * 4, fill); }

  int content_files() {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(files_dir())) {
      if (e.is_regular_file() && e.path().parent_path().filename() != ".staging") ++n;
    }
    return n;
  }
};

TEST_F(SqliteStoreTest, MigrationsRunOnceAcrossReopens) {
  reopen();
  reopen();
  EXPECT_EQ(count("schema_migrations"), sqlite::kSchemaVersion);
  EXPECT_EQ(count("participants"), 4);
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerVersion) {
  ASSERT_EQ(raw_sql("INSERT INTO schema_migrations VALUES (99, 'x')"), SQLITE_OK);
  auto opened = open_sqlite_in(dir_.path());
  EXPECT_EQ(opened.status().code(), Code::kInternal);
}

TEST_F(SqliteStoreTest, CreatesMissingParentFolders) {
  EXPECT_TRUE(fs::is_regular_file(db_path()));
  EXPECT_TRUE(fs::is_directory(files_dir() + "/.staging"));
  EXPECT_EQ(store_->staging_dir(), files_dir() + "/.staging");
}

TEST_F(SqliteStoreTest, SmallFileIsKeptInTheDatabaseAndItsTempFileRemoved) {
  NewDocument d = letter("1", {"az.justice"});
  std::string temp = d.files[0].temp_path;
  submit_new(d);
  auto content = store_->open_file(d.id, 0);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(content->inline_bytes, "%PDF letter 1");
  EXPECT_FALSE(content->path.has_value());
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(content_files(), 0);
}

TEST_F(SqliteStoreTest, EmptyFileIsKeptInlineAsEmptyBytes) {
  NewDocument d = letter("1", {"az.justice"});
  d.files = {stage("empty.txt", "")};
  submit_new(d);
  EXPECT_EQ(store_->open_file(d.id, 0)->inline_bytes, "");
}

TEST_F(SqliteStoreTest, LargeFileMovesToTheContentFolderAtItsDigestPath) {
  NewDocument d = letter("1", {"az.justice"});
  d.files.push_back(stage("scan.tiff", large_bytes('x')));
  std::string temp = d.files[1].temp_path;
  std::string digest = d.files[1].info.sha256;
  submit_new(d);

  auto content = store_->open_file(d.id, 1);
  ASSERT_TRUE(content.ok());
  ASSERT_TRUE(content->path.has_value());
  EXPECT_FALSE(content->inline_bytes.has_value());
  EXPECT_EQ(*content->path, files_dir() + "/" + digest.substr(0, 2) + "/" + digest);
  EXPECT_EQ(testing::read_file(*content->path), large_bytes('x'));
  EXPECT_FALSE(fs::exists(temp));
}

TEST_F(SqliteStoreTest, TwoDocumentsWithTheSameLargeFileShareOneContentFile) {
  NewDocument a = letter("1", {"az.justice"});
  a.files.push_back(stage("scan.tiff", large_bytes('x')));
  NewDocument b = letter("2", {"az.justice"});
  b.files.push_back(stage("scan.tiff", large_bytes('x')));
  submit_new(a);
  submit_new(b);
  EXPECT_EQ(content_files(), 1);
  EXPECT_FALSE(fs::exists(b.files[1].temp_path));
  EXPECT_EQ(store_->open_file(b.id, 1)->path, store_->open_file(a.id, 1)->path);
}

// The upload keeps small files in memory rather than in a staging file.
StagedFile in_memory(const std::string& name, const std::string& bytes) {
  StagedFile f;
  f.info.name = name;
  f.info.media_type = "application/pdf";
  f.info.size = bytes.size();
  f.info.sha256 = crypto::sha256_hex(bytes);
  f.content = bytes;
  return f;
}

TEST_F(SqliteStoreTest, SmallFileKeptInMemoryIsStoredInTheDatabase) {
  NewDocument d = letter("1", {"az.justice"});
  d.files = {in_memory("letter.pdf", "%PDF in memory")};
  submit_new(d);
  auto file = store_->open_file(d.id, 0);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->inline_bytes, "%PDF in memory");
  EXPECT_EQ(content_files(), 0);
}

TEST_F(SqliteStoreTest, LargeFileKeptInMemoryIsWrittenToTheContentFolder) {
  NewDocument d = letter("1", {"az.justice"});
  d.files.push_back(in_memory("scan.tiff", large_bytes('m')));
  submit_new(d);
  EXPECT_EQ(content_files(), 1);
  auto file = store_->open_file(d.id, 1);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  ASSERT_TRUE(file->path.has_value());
  EXPECT_EQ(testing::read_file(*file->path), large_bytes('m'));
  // The copy written on the way was renamed away: the staging folder is empty.
  EXPECT_TRUE(fs::is_empty(store_->staging_dir()));
}

TEST_F(SqliteStoreTest, FileInMemoryThatDoesNotMatchItsDigestIsRefusedAndStoresNothing) {
  NewDocument d = letter("1", {"az.justice"});
  d.files = {in_memory("letter.pdf", "%PDF in memory")};
  d.files[0].info.sha256 = crypto::sha256_hex("other bytes");
  EXPECT_EQ(store_->submit(d).status().code(), Code::kInternal);
  EXPECT_EQ(store_->get_document(d.id).status().code(), Code::kNotFound);
  EXPECT_EQ(whole_journal().size(), 4u);
}

TEST_F(SqliteStoreTest, RefusedSubmitLeavesNoContentFileAndItsTempFiles) {
  NewDocument d = letter("1", {"az.nobody"});
  d.files.push_back(stage("scan.tiff", large_bytes('x')));
  EXPECT_EQ(store_->submit(d).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(content_files(), 0);
  EXPECT_TRUE(fs::exists(d.files[0].temp_path));
  EXPECT_TRUE(fs::exists(d.files[1].temp_path));
}

TEST_F(SqliteStoreTest, MalformedDigestIsInvalidArgument) {
  NewDocument d = letter("1", {"az.justice"});
  d.files.push_back(stage("scan.tiff", large_bytes('x')));
  d.files[1].info.sha256 = "../../escape";
  EXPECT_EQ(store_->submit(d).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(content_files(), 0);
}

TEST_F(SqliteStoreTest, StaleStagingFilesAreRemovedAtOpenAndFreshOnesKept) {
  StagedFile stale = stage("old.pdf", "old");
  StagedFile fresh = stage("new.pdf", "new");
  fs::last_write_time(stale.temp_path,
                      fs::file_time_type::clock::now() - 2 * sqlite::kStaleStagingAge);
  reopen();
  EXPECT_FALSE(fs::exists(stale.temp_path));
  EXPECT_TRUE(fs::exists(fresh.temp_path));
}

TEST_F(SqliteStoreTest, JournalRowsRefuseAPlainUpdate) {
  EXPECT_NE(raw_sql("UPDATE journal SET actor = 'az.health' WHERE seq = 2"), SQLITE_OK);
  reopen();
  EXPECT_TRUE(verify_journal().ok);
}

TEST_F(SqliteStoreTest, EditedJournalRowIsDetectedAtItsSeq) {
  Document a = submit_new(letter("1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", delivered()).ok());
  ASSERT_EQ(raw_sql("DROP TRIGGER journal_no_update;"
                    "UPDATE journal SET time = '2026-01-01T00:00:00.000Z' WHERE seq = 5"),
            SQLITE_OK);
  reopen();
  journal::VerifyReport report = verify_journal();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 5);
  EXPECT_EQ(report.problem, "entry 5 does not match its hash");
}

TEST_F(SqliteStoreTest, DeletedLastJournalRowIsDetectedThroughTheHighestReference) {
  Document a = submit_new(letter("1", {"az.justice"}));
  ASSERT_TRUE(store_->update_delivery(a.id, "az.justice", delivered()).ok());
  ASSERT_EQ(raw_sql("DROP TRIGGER journal_no_delete;"
                    "DELETE FROM journal WHERE seq = (SELECT max(seq) FROM journal)"),
            SQLITE_OK);
  reopen();
  journal::VerifyReport report = verify_journal();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 6);
  EXPECT_EQ(report.problem, "journal ends at 5 but entry 6 is referenced");
}

TEST_F(SqliteStoreTest, DeletedMiddleJournalRowIsDetected) {
  submit_new(letter("1", {"az.justice"}));
  ASSERT_EQ(raw_sql("DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE seq = 3"),
            SQLITE_OK);
  reopen();
  journal::VerifyReport report = verify_journal();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 4);
  EXPECT_EQ(report.problem, "entry 3 missing or out of order");
}

TEST_F(SqliteStoreTest, FailedFsyncStopsAllLaterWritesButNotReads) {
  failing_disk::install();
  reopen();
  failing_disk::fail_sync = true;
  Status failed = store_->set_participant_status("az.tax", ParticipantStatus::kActive, "op");
  failing_disk::fail_sync = false;

  EXPECT_EQ(failed.code(), Code::kUnavailable);
  Status later = store_->put_participant(participant("az.new", ParticipantStatus::kActive), "op");
  EXPECT_EQ(later.code(), Code::kUnavailable);
  EXPECT_EQ(later.message().rfind("store stopped after a failed write: ", 0), 0u);
  EXPECT_EQ(store_->submit(letter("1", {"az.justice"})).status().code(), Code::kUnavailable);
  EXPECT_TRUE(store_->get_participant("az.justice").ok());
  store_.reset();
  failing_disk::uninstall();
}

// Audit tests start from a realistic run whose journal is, by seq:
//   1-4  participants added (az.tax suspended)
//   5, 6 certificates 0A1B (az.finance) and 0C2D (az.justice) issued
//   7    0C2D revoked
//   8    a_ submitted to az.justice, cc az.health, with an inline and a large file
//   9,10 a_ delivered and registered by az.justice
//   11   a_ delivered to az.health
//   12   b_ submitted to az.health
//   13,14 b_ delivered and rejected by az.health
//   15   c_ submitted to az.justice, left queued
//   16   az.health renamed (participant.updated)
//   17   az.health suspended (participant.status)
class SqliteAuditTest : public SqliteStoreTest {
 protected:
  void SetUp() override {
    SqliteStoreTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(store_->add_certificate(certificate("0A1B", "az.finance"), "operator").ok());
    ASSERT_TRUE(store_->add_certificate(certificate("0C2D", "az.justice"), "operator").ok());
    ASSERT_TRUE(store_->revoke_certificate("0C2D", kAt, "operator").ok());

    NewDocument a = letter("1", {"az.justice"}, {"az.health"});
    a.files.push_back(stage("scan.tiff", large_bytes('x')));
    a_ = submit_new(a).id;
    ASSERT_TRUE(store_->update_delivery(a_, "az.justice", registered("07-118")).ok());
    ASSERT_TRUE(store_->update_delivery(a_, "az.health", delivered()).ok());
    b_ = submit_new(letter("2", {"az.health"})).id;
    ASSERT_TRUE(store_->update_delivery(b_, "az.health", rejected("not ours")).ok());
    c_ = submit_new(letter("3", {"az.justice"})).id;

    Participant health = participant("az.health", ParticipantStatus::kActive);
    health.name_en = "Ministry of Health";
    ASSERT_TRUE(store_->put_participant(health, "operator").ok());
    ASSERT_TRUE(
        store_->set_participant_status("az.health", ParticipantStatus::kSuspended, "op").ok());
    ASSERT_EQ(whole_journal().size(), 17u);
  }

  // Changes the database behind the store's back, then reopens the store.
  void tamper(const std::string& sql) {
    ASSERT_EQ(raw_sql(sql), SQLITE_OK) << sql;
    reopen();
  }

  // What audit() reports, one "seq: problem" line each.
  std::vector<std::string> audit_lines(bool check_files = true) {
    auto problems = store_->audit(check_files);
    EXPECT_TRUE(problems.ok()) << problems.status().to_string();
    std::vector<std::string> lines;
    if (!problems.ok()) return lines;
    for (const auto& p : *problems) lines.push_back(std::to_string(p.seq) + ": " + p.problem);
    return lines;
  }

  std::string large_file_path() {
    std::string digest = crypto::sha256_hex(large_bytes('x'));
    return files_dir() + "/" + digest.substr(0, 2) + "/" + digest;
  }

  using Lines = std::vector<std::string>;
  std::string a_, b_, c_;
};

TEST_F(SqliteAuditTest, CleanRunHasNoProblems) {
  EXPECT_EQ(audit_lines(true), Lines{});
  EXPECT_EQ(audit_lines(false), Lines{});
  reopen();
  EXPECT_EQ(audit_lines(true), Lines{});
}

TEST_F(SqliteAuditTest, ForgedRegistrationIsReportedAtTheDeliveryEntry) {
  tamper(
      "UPDATE deliveries SET status = 'registered', reg_number = 'FORGED-1' "
      "WHERE document_id = '" +
      a_ + "' AND recipient = 'az.justice'");
  EXPECT_EQ(audit_lines(),
            Lines{"10: deliveries row (" + a_ + ", az.justice) does not match journal entry 10"});
}

TEST_F(SqliteAuditTest, RegistrationForgedOnAQueuedDeliveryIsReported) {
  tamper(
      "UPDATE deliveries SET status = 'registered', reg_number = 'FORGED-1' "
      "WHERE document_id = '" +
      c_ + "'");
  EXPECT_EQ(audit_lines(), Lines{"15: deliveries row (" + c_ +
                                 ", az.justice) names journal entry 15, which is a "
                                 "document.submitted entry"});
}

TEST_F(SqliteAuditTest, DeliverySetBackToAnEarlierEntryIsReported) {
  tamper(
      "UPDATE deliveries SET status = 'delivered', reg_number = '', reg_date = '', "
      "journal_seq = 9 WHERE document_id = '" +
      a_ + "' AND recipient = 'az.justice'");
  EXPECT_EQ(audit_lines(), Lines{"10: deliveries row (" + a_ +
                                 ", az.justice) names journal entry 9, older than its change "
                                 "in journal entry 10"});
}

TEST_F(SqliteAuditTest, ChangedSubjectIsReportedAtTheSubmission) {
  tamper("UPDATE documents SET subject = 'FORGED' WHERE id = '" + a_ + "'");
  EXPECT_EQ(audit_lines(), Lines{"8: documents row (" + a_ +
                                 ") does not match its meta_digest (journal entry 8)"});
}

TEST_F(SqliteAuditTest, ChangedMetaDigestIsReportedAtTheSubmission) {
  tamper("UPDATE documents SET meta_digest = '" + std::string(64, 'a') + "' WHERE id = '" + a_ +
         "'");
  EXPECT_EQ(audit_lines(), (Lines{"8: documents row (" + a_ + ") does not match journal entry 8",
                                  "8: documents row (" + a_ +
                                      ") does not match its meta_digest (journal entry 8)"}));
}

TEST_F(SqliteAuditTest, ChangedInlineFileIsReported) {
  tamper("UPDATE files SET content = CAST('evil!' AS BLOB) WHERE document_id = '" + a_ +
         "' AND idx = 0");
  EXPECT_EQ(audit_lines(false),
            (Lines{"8: files row (" + a_ + ", 0) does not match its size",
                   "8: files row (" + a_ + ", 0) does not hash to its sha256"}));
}

TEST_F(SqliteAuditTest, ChangedByteInAContentFileIsReportedWhenFilesAreChecked) {
  std::string bytes = large_bytes('x');
  bytes[100] = 'y';
  fs::permissions(large_file_path(), fs::perms::owner_write, fs::perm_options::add);
  testing::write_file(large_file_path(), bytes);
  EXPECT_EQ(audit_lines(true), Lines{"8: files row (" + a_ + ", 1): content file " +
                                     large_file_path() + " does not hash to its sha256"});
  EXPECT_EQ(audit_lines(false), Lines{});
}

TEST_F(SqliteAuditTest, MissingContentFileIsReportedWhenFilesAreChecked) {
  fs::remove(large_file_path());
  auto lines = audit_lines(true);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(
      lines[0].rfind(
          "8: files row (" + a_ + ", 1): content file " + large_file_path() + " cannot be read", 0),
      0u);
}

TEST_F(SqliteAuditTest, DeletedDocumentIsReportedAtEachOfItsEntries) {
  tamper("DELETE FROM files WHERE document_id = '" + b_ + "';" +
         "DELETE FROM deliveries WHERE document_id = '" + b_ + "';" +
         "DELETE FROM documents WHERE id = '" + b_ + "'");
  EXPECT_EQ(audit_lines(),
            (Lines{"12: journal entry 12 (document.submitted) names documents row (" + b_ +
                       "), which does not exist",
                   "13: journal entry 13 (delivery.delivered) names deliveries row (" + b_ +
                       ", az.health), which does not exist",
                   "14: journal entry 14 (delivery.rejected) names deliveries row (" + b_ +
                       ", az.health), which does not exist"}));
}

TEST_F(SqliteAuditTest, UnrevokedCertificateIsReported) {
  tamper("UPDATE certificates SET revoked = 0 WHERE serial = '0C2D'");
  EXPECT_EQ(audit_lines(), Lines{"7: certificates row (0C2D) names journal entry 7, which is a "
                                 "certificate.revoked entry"});
}

TEST_F(SqliteAuditTest, CertificateSetBackToItsIssueIsReported) {
  tamper(
      "UPDATE certificates SET revoked = 0, revoked_at = '', journal_seq = 6 "
      "WHERE serial = '0C2D'");
  EXPECT_EQ(audit_lines(), Lines{"7: certificates row (0C2D) names journal entry 6, older than "
                                 "its change in journal entry 7"});
}

TEST_F(SqliteAuditTest, CertificateWithoutJournalEntryIsReported) {
  tamper("INSERT INTO certificates SELECT 'EVIL', participant, '" + std::string(64, 'e') +
         "', subject, not_before, not_after, 0, '', pem, 0 FROM certificates "
         "WHERE serial = '0A1B'");
  EXPECT_EQ(audit_lines(),
            Lines{"0: certificates row (EVIL) names journal entry 0, which does not exist"});
}

TEST_F(SqliteAuditTest, CertificateNamingAnotherCertificatesEntryIsReported) {
  tamper("INSERT INTO certificates SELECT 'EVIL', participant, '" + std::string(64, 'e') +
         "', subject, not_before, not_after, 0, '', pem, journal_seq FROM certificates "
         "WHERE serial = '0A1B'");
  EXPECT_EQ(audit_lines(), Lines{"5: certificates row (EVIL) does not match journal entry 5"});
}

TEST_F(SqliteAuditTest, ActivatedSuspendedParticipantIsReported) {
  tamper("UPDATE participants SET status = 'active' WHERE id = 'az.tax'");
  EXPECT_EQ(audit_lines(), Lines{"4: participants row (az.tax) does not match journal entry 4"});
}

TEST_F(SqliteAuditTest, RenamedParticipantIsReportedAtItsLastFullEntry) {
  // az.health's row names its status entry (17); its names were journaled by 16.
  tamper("UPDATE participants SET name_en = 'FORGED' WHERE id = 'az.health'");
  EXPECT_EQ(audit_lines(),
            Lines{"16: participants row (az.health) does not match journal entry 16"});
}

TEST_F(SqliteAuditTest, RowNamingAnEntryBeyondTheJournalIsReported) {
  tamper("UPDATE participants SET journal_seq = 999 WHERE id = 'az.finance'");
  EXPECT_EQ(audit_lines(),
            Lines{"999: participants row (az.finance) names journal entry 999, which does not "
                  "exist"});
}

TEST_F(SqliteAuditTest, RowNamingAnEntryOfTheWrongKindIsReported) {
  tamper("UPDATE documents SET journal_seq = 9 WHERE id = '" + a_ + "'");
  EXPECT_EQ(audit_lines(), Lines{"9: documents row (" + a_ +
                                 ") names journal entry 9, which is a delivery.delivered entry"});
}

// --- group commit ------------------------------------------------------------

// A store whose submits are written in batches of exactly kBatch: each
// test submits kBatch documents at once, and they share one transaction.
constexpr size_t kBatch = 4;

Result<std::unique_ptr<Store>> open_sqlite_batching_in(const std::string& dir) {
  SqliteOptions options = sqlite_options(dir);
  options.gather_submits = kBatch;
  return open_sqlite_store(options);
}

class SqliteGroupCommitTest : public StoreFixture {
 protected:
  StoreFactory factory() const override { return &open_sqlite_batching_in; }
};

TEST_F(SqliteGroupCommitTest, ABatchHoldingOneBadSubmitFailsOnlyThatOne) {
  std::vector<NewDocument> docs{letter("a", {"az.justice"}), letter("b", {"az.justice"}),
                                letter("bad", {"az.justice", "az.nobody"}),
                                letter("c", {"az.health"})};

  std::vector<Result<SubmitOutcome>> outcomes = submit_all_at_once(*store_, docs);

  for (size_t i : {0u, 1u, 3u}) {
    ASSERT_TRUE(outcomes[i].ok()) << outcomes[i].status().to_string();
    EXPECT_TRUE(outcomes[i]->created);
    EXPECT_TRUE(store_->get_document(docs[i].id).ok());
  }
  EXPECT_EQ(outcomes[2].status().code(), Code::kInvalidArgument);
  EXPECT_EQ(outcomes[2].status().message(), "unknown recipient az.nobody");
  EXPECT_EQ(store_->get_document(docs[2].id).status().code(), Code::kNotFound);
  // The bad one left no rows, no journal entry and no gap in the journal.
  std::vector<JournalEntry> entries = whole_journal();
  ASSERT_EQ(entries.size(), 4u + 3u);
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ(store_->inbox("az.justice", 0, true, 10)->items.size(), 2u);
  EXPECT_TRUE(verify_journal().ok);
}

TEST_F(SqliteGroupCommitTest, ADuplicateSenderRefInOneBatchMakesOneDocument) {
  NewDocument first = letter("twice", {"az.justice"});
  NewDocument copy = first;
  copy.id = new_uuid_v7();
  copy.files = {stage(first.files[0].info.name, "%PDF letter twice")};
  std::vector<NewDocument> docs{first, copy, letter("x", {"az.justice"}),
                                letter("y", {"az.justice"})};

  std::vector<Result<SubmitOutcome>> outcomes = submit_all_at_once(*store_, docs);

  for (const auto& o : outcomes) ASSERT_TRUE(o.ok()) << o.status().to_string();
  // Whichever of the two the batch wrote first made the document.
  EXPECT_NE(outcomes[0]->created, outcomes[1]->created);
  EXPECT_EQ(outcomes[0]->document.id, outcomes[1]->document.id);
  EXPECT_TRUE(outcomes[2]->created);
  EXPECT_TRUE(outcomes[3]->created);
  EXPECT_EQ(store_->outbox("az.finance", 0, 10)->items.size(), 3u);
  EXPECT_EQ(whole_journal().size(), 4u + 3u);
  EXPECT_TRUE(verify_journal().ok);
}

TEST_F(SqliteGroupCommitTest, AReusedSenderRefWithOtherContentInOneBatchIsConflict) {
  NewDocument first = letter("1", {"az.justice"});
  NewDocument other = letter("1", {"az.justice"});
  other.meta.subject = "Başqa mövzu";
  std::vector<NewDocument> docs{first, other, letter("2", {"az.justice"}),
                                letter("3", {"az.justice"})};

  std::vector<Result<SubmitOutcome>> outcomes = submit_all_at_once(*store_, docs);

  // One of the two is stored; the other is refused and leaves nothing.
  ASSERT_NE(outcomes[0].ok(), outcomes[1].ok());
  size_t refused = outcomes[0].ok() ? 1 : 0;
  EXPECT_EQ(outcomes[refused].status().code(), Code::kConflict);
  EXPECT_EQ(store_->get_document(docs[refused].id).status().code(), Code::kNotFound);
  EXPECT_TRUE(outcomes[2].ok() && outcomes[3].ok());
  EXPECT_EQ(whole_journal().size(), 4u + 3u);
  EXPECT_TRUE(verify_journal().ok);
}

TEST_F(SqliteGroupCommitTest, EverySubmitOfABatchIsCommittedWhenItIsAnswered) {
  std::vector<NewDocument> docs;
  for (int i = 0; i < static_cast<int>(kBatch); ++i) {
    docs.push_back(letter(std::to_string(i), {"az.justice"}));
  }
  std::vector<Result<SubmitOutcome>> outcomes = submit_all_at_once(*store_, docs);
  for (const auto& o : outcomes) ASSERT_TRUE(o.ok()) << o.status().to_string();

  // A fresh connection sees every answered document: the batch committed.
  reopen();
  for (const auto& d : docs) EXPECT_TRUE(store_->get_document(d.id).ok());
  EXPECT_TRUE(verify_journal().ok);
}

}  // namespace
}  // namespace sened
