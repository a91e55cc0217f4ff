// The API handlers on a real SQLite store, without sockets: requests are
// plain values and uploads are fed to the sink chunk by chunk.
#include "exchange/api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>

#include "core/ids.h"
#include "crypto/digest.h"
#include "support/test_support.h"

namespace sened::exchange {
namespace {
namespace json = boost::json;
using sened::testing::TempDir;

const std::string kMddtCert = std::string(64, 'a');
const std::string kFinanceCert = std::string(64, 'b');
const std::string kJusticeCert = std::string(64, 'c');

Participant participant(const std::string& id) {
  Participant p;
  p.id = id;
  p.category = "central-executive";
  p.obligation = "recommended";
  p.name_az = p.name_en = id;
  p.status = ParticipantStatus::kActive;
  return p;
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions o;
    o.database_path = dir_ / "sened.db";
    o.files_dir = dir_ / "files";
    o.inline_file_limit = 16;
    auto s = open_sqlite_store(o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    for (auto [id, fp] : {std::pair{"az.mddt", kMddtCert}, std::pair{"az.finance", kFinanceCert},
                          std::pair{"az.justice", kJusticeCert}}) {
      ASSERT_TRUE(store_->put_participant(participant(id), "operator").ok());
      Certificate c;
      c.serial = crypto::to_hex(fp.substr(0, 8));
      c.participant = id;
      c.fingerprint = fp;
      ASSERT_TRUE(store_->add_certificate(c, "operator").ok());
    }
    limits_.max_file_size = 100;
    api_ = std::make_unique<Api>(*store_, limits_);
  }

  http::Request request(const std::string& method, const std::string& target,
                        const std::string& fingerprint, const std::string& body = "") {
    http::Request r;
    r.method = method;
    r.target = target;
    r.peer_fingerprint = fingerprint;
    r.body = body;
    return r;
  }

  // Uploads a multipart body, fed in chunks of `chunk` bytes.
  http::Response upload(const std::string& body, const std::string& fingerprint = kMddtCert,
                        size_t chunk = 7) {
    http::Request head = request("POST", "/v1/documents", fingerprint);
    head.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
    auto start = api_->begin_upload(head);
    EXPECT_TRUE(start.has_value());
    if (start->refusal) return *start->refusal;
    for (size_t i = 0; i < body.size(); i += chunk) {
      Status st = start->sink->write(std::string_view(body).substr(i, chunk));
      if (!st.ok()) return http::error_response(st);
    }
    return start->sink->finish();
  }

  static std::string part(const std::string& disposition, const std::string& data) {
    return "--XyZ\r\nContent-Disposition: form-data; " + disposition + "\r\n\r\n" + data + "\r\n";
  }

  static std::string letter_body(const std::string& ref, const std::string& file_bytes) {
    json::object m{{"sender_ref", ref},
                   {"kind", "letter"},
                   {"subject", "Sınaq"},
                   {"recipients", json::object{{"to", json::array{"az.finance"}}}}};
    return part("name=\"metadata\"", json::serialize(m)) +
           part("name=\"file\"; filename*=UTF-8''M%C9%99ktub.pdf", file_bytes) + "--XyZ--\r\n";
  }

  static json::object body_of(const http::Response& r) { return json::parse(r.body).as_object(); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  Limits limits_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTest, HealthAnswersWithoutARegisteredCertificate) {
  auto r = api_->handle(request("GET", "/healthz", std::string(64, 'f')));
  EXPECT_EQ(r.status, 200);
}

TEST_F(ApiTest, RefusesAnUnregisteredFingerprint) {
  auto r = api_->handle(request("GET", "/v1/inbox", std::string(64, 'f')));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body_of(r).at("error").at("code").as_string(), "permission_denied");
}

TEST_F(ApiTest, UnknownRouteIsNotFound) {
  auto r = api_->handle(request("GET", "/v1/nothing", kMddtCert));
  EXPECT_EQ(r.status, 404);
}

TEST_F(ApiTest, AcceptsAnUploadFedInSmallChunks) {
  auto r = upload(letter_body("r1", "%PDF-1.7 body"), kMddtCert, 1);
  ASSERT_EQ(r.status, 201) << r.body;
  auto doc = body_of(r);
  EXPECT_EQ(doc.at("files").as_array()[0].at("name").as_string(), "Məktub.pdf");
  EXPECT_EQ(doc.at("files").as_array()[0].at("sha256").as_string(),
            crypto::sha256_hex("%PDF-1.7 body"));
  EXPECT_EQ(doc.at("deliveries").as_array()[0].at("status").as_string(), "queued");
}

TEST_F(ApiTest, RefusesAFileOverTheLimitWhileStreaming) {
  auto r = upload(letter_body("r2", std::string(101, 'x')));
  EXPECT_EQ(r.status, 413);
  auto out = api_->handle(request("GET", "/v1/outbox", kMddtCert));
  EXPECT_EQ(body_of(out).at("documents").as_array().size(), 0u);
}

TEST_F(ApiTest, RefusesAnUploadThatEndsBeforeItsCloseDelimiter) {
  std::string body = letter_body("r3", "bytes");
  auto r = upload(body.substr(0, body.size() - 12));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(std::filesystem::is_empty(dir_ / "files/.staging"), true);
}

// A file over the 64 KiB an upload keeps in memory is staged on disk; this
// fixture's 100-byte file limit keeps files in memory, so the staging folder
// stays empty whether the upload is dropped or finished (hub_test covers
// large files on disk).
TEST_F(ApiTest, DroppingASinkLeavesNoStagingFile) {
  http::Request head = request("POST", "/v1/documents", kMddtCert);
  head.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
  {
    auto start = api_->begin_upload(head);
    std::string body = letter_body("r4", std::string(50, 'q'));
    ASSERT_TRUE(start->sink->write(body.substr(0, body.size() - 20)).ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "files/.staging"));
}

TEST_F(ApiTest, ASmallFileIsKeptInMemoryWithoutAStagingFile) {
  http::Request head = request("POST", "/v1/documents", kMddtCert);
  head.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
  auto start = api_->begin_upload(head);
  std::string body = letter_body("r5", std::string(50, 'q'));
  ASSERT_TRUE(start->sink->write(body.substr(0, body.size() - 20)).ok());
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "files/.staging"));
  ASSERT_TRUE(start->sink->write(body.substr(body.size() - 20)).ok());
  EXPECT_EQ(start->sink->finish().status, 201);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "files/.staging"));
}

TEST_F(ApiTest, RefusesAWrongContentTypeBeforeTheBody) {
  http::Request head = request("POST", "/v1/documents", kMddtCert);
  head.headers.emplace_back("Content-Type", "application/json");
  auto start = api_->begin_upload(head);
  ASSERT_TRUE(start.has_value());
  ASSERT_TRUE(start->refusal.has_value());
  EXPECT_EQ(start->refusal->status, 415);
}

TEST_F(ApiTest, RefusesADeclaredLengthOverTheUploadLimit) {
  http::Request head = request("POST", "/v1/documents", kMddtCert);
  head.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
  head.headers.emplace_back("Content-Length", std::to_string(limits_.max_upload_size + 1));
  auto start = api_->begin_upload(head);
  ASSERT_TRUE(start->refusal.has_value());
  EXPECT_EQ(start->refusal->status, 413);
}

TEST_F(ApiTest, OtherRoutesAreNotUploads) {
  EXPECT_FALSE(api_->begin_upload(request("GET", "/v1/inbox", kMddtCert)).has_value());
  EXPECT_FALSE(api_->begin_upload(request("POST", "/v1/documents/x/ack", kMddtCert)).has_value());
}

class ApiFileTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    auto r = upload(letter_body("f1", "0123456789abcdefXYZ"));  // 19 bytes: a CAS file
    ASSERT_EQ(r.status, 201) << r.body;
    id_ = std::string(body_of(r).at("id").as_string());
  }

  http::Response file(const std::string& range, const std::string& who = kFinanceCert) {
    http::Request r = request("GET", "/v1/documents/" + id_ + "/files/0", who);
    if (!range.empty()) r.headers.emplace_back("Range", range);
    return api_->handle(r);
  }

  std::string id_;
};

TEST_F(ApiFileTest, ServesTheWholeFileWithItsDigestAndName) {
  auto r = file("");
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(r.file.has_value());
  EXPECT_EQ(r.file->offset, 0u);
  EXPECT_EQ(r.file->length, 19u);
  EXPECT_EQ(http::find_header(r.headers, "Repr-Digest"),
            "sha-256=:" + crypto::base64_encode(crypto::sha256("0123456789abcdefXYZ")) + ":");
  EXPECT_EQ(http::find_header(r.headers, "Content-Disposition"),
            "attachment; filename=\"M__ktub.pdf\"; filename*=UTF-8''M%C9%99ktub.pdf");
}

TEST_F(ApiFileTest, ServesAClosedRange) {
  auto r = file("bytes=2-5");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.file->offset, 2u);
  EXPECT_EQ(r.file->length, 4u);
  EXPECT_EQ(http::find_header(r.headers, "Content-Range"), "bytes 2-5/19");
}

TEST_F(ApiFileTest, ServesASuffixRange) {
  auto r = file("bytes=-3");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.file->offset, 16u);
  EXPECT_EQ(r.file->length, 3u);
}

TEST_F(ApiFileTest, ServesAnOpenRangeClampedToTheEnd) {
  auto r = file("bytes=10-1000");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.file->length, 9u);
}

TEST_F(ApiFileTest, AnswersAnUnsatisfiableRangeWith416) {
  auto r = file("bytes=19-");
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(http::find_header(r.headers, "Content-Range"), "bytes */19");
}

TEST_F(ApiFileTest, IgnoresMultipleRanges) {
  auto r = file("bytes=0-1,4-5");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.file->length, 19u);
}

TEST_F(ApiFileTest, HidesTheFileFromOthers) { EXPECT_EQ(file("", kJusticeCert).status, 404); }

TEST_F(ApiFileTest, AnswersAMissingFileIndexWith404) {
  auto r = api_->handle(request("GET", "/v1/documents/" + id_ + "/files/1", kFinanceCert));
  EXPECT_EQ(r.status, 404);
  auto bad = api_->handle(request("GET", "/v1/documents/" + id_ + "/files/x", kFinanceCert));
  EXPECT_EQ(bad.status, 404);
}

TEST_F(ApiFileTest, RequiresANumberToRegister) {
  auto r = api_->handle(request("POST", "/v1/documents/" + id_ + "/status", kFinanceCert,
                                R"({"status":"registered"})"));
  EXPECT_EQ(r.status, 400);
  auto bad_date =
      api_->handle(request("POST", "/v1/documents/" + id_ + "/status", kFinanceCert,
                           R"({"status":"registered","number":"1","date":"2026-02-30"})"));
  EXPECT_EQ(bad_date.status, 400);
}

TEST_F(ApiFileTest, RequiresAReasonToReject) {
  auto r = api_->handle(request("POST", "/v1/documents/" + id_ + "/status", kFinanceCert,
                                R"({"status":"rejected","reason":""})"));
  EXPECT_EQ(r.status, 400);
}

TEST_F(ApiFileTest, RefusesAnUnknownStatus) {
  auto r = api_->handle(request("POST", "/v1/documents/" + id_ + "/status", kFinanceCert,
                                R"({"status":"archived"})"));
  EXPECT_EQ(r.status, 400);
  auto not_json = api_->handle(
      request("POST", "/v1/documents/" + id_ + "/status", kFinanceCert, "status=registered"));
  EXPECT_EQ(not_json.status, 400);
}

TEST_F(ApiFileTest, RefusesABadCursor) {
  auto r = api_->handle(request("GET", "/v1/inbox?after=abc", kFinanceCert));
  EXPECT_EQ(r.status, 400);
  auto all = api_->handle(request("GET", "/v1/inbox?all=maybe", kFinanceCert));
  EXPECT_EQ(all.status, 400);
}

// --- lifecycle, events and webhooks ---------------------------------------------

class ApiEventsTest : public ApiTest {
 protected:
  std::string send(const std::string& ref) {
    auto r = upload(letter_body(ref, "%PDF " + ref));
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(body_of(r).at("id").as_string());
  }
  http::Response post(const std::string& target, const std::string& fingerprint,
                      const std::string& body) {
    return api_->handle(request("POST", target, fingerprint, body));
  }
  std::unique_ptr<http::EventFeed> open(const std::string& target, const std::string& fp,
                                        http::Response* refusal = nullptr) {
    auto start = api_->open_feed(request("GET", target, fp));
    EXPECT_TRUE(start.has_value());
    if (start->refusal) {
      if (refusal) *refusal = *start->refusal;
      return nullptr;
    }
    return std::move(start->feed);
  }
};

TEST_F(ApiEventsTest, StreamRouteAsksForAWebSocketAndEventsRouteForALongPoll) {
  auto ws = api_->open_feed(request("GET", "/v1/stream", kFinanceCert));
  ASSERT_TRUE(ws && ws->feed);
  EXPECT_TRUE(ws->websocket);
  auto poll = api_->open_feed(request("GET", "/v1/events?wait=25", kFinanceCert));
  ASSERT_TRUE(poll && poll->feed);
  EXPECT_FALSE(poll->websocket);
  EXPECT_EQ(poll->wait_seconds, 25);
  EXPECT_FALSE(api_->open_feed(request("GET", "/v1/inbox", kFinanceCert)).has_value());
}

TEST_F(ApiEventsTest, FeedRefusesBadCursorsWaitsAndStrangers) {
  http::Response r;
  for (const char* target :
       {"/v1/events?after=abc", "/v1/events?after=-1",
        "/v1/events?after=", "/v1/events?after=99999", "/v1/events?wait=61", "/v1/events?wait=x",
        "/v1/stream?after=1e3", "/v1/events?limit=0", "/v1/events?limit=1001"}) {
    EXPECT_EQ(open(target, kFinanceCert, &r), nullptr) << target;
    EXPECT_EQ(r.status, 400) << target;
  }
  EXPECT_EQ(open("/v1/stream", std::string(64, 'f'), &r), nullptr);
  EXPECT_EQ(r.status, 403);
}

TEST_F(ApiEventsTest, NewDocumentWakesTheRecipientsFeedWhichReadsItOnce) {
  auto feed = open("/v1/stream", kFinanceCert);
  ASSERT_TRUE(feed);
  std::atomic<int> wakes{0};
  feed->set_waker([&] { ++wakes; });
  std::string id = send("e1");
  EXPECT_GE(wakes.load(), 1);
  auto events = feed->next(10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  auto e = json::parse((*events)[0]).as_object();
  EXPECT_EQ(e.at("type").as_string(), "document.new");
  EXPECT_EQ(e.at("document").as_string(), id);
  EXPECT_EQ(e.at("sender").as_string(), "az.mddt");
  EXPECT_EQ(e.at("participant").as_string(), "az.finance");
  EXPECT_EQ(e.at("status").as_string(), "queued");
  EXPECT_TRUE(feed->next(10)->empty());
}

TEST_F(ApiEventsTest, SenderHearsEveryStatusWithDetails) {
  std::string id = send("e2");
  auto feed = open("/v1/stream", kMddtCert);
  ASSERT_TRUE(feed);
  feed->set_waker([] {});
  ASSERT_EQ(post("/v1/documents/" + id + "/status", kFinanceCert,
                 R"({"status":"registered","number":"07-118/k","date":"2026-12-03"})")
                .status,
            200);
  ASSERT_EQ(post("/v1/documents/" + id + "/status", kFinanceCert,
                 R"({"status":"assigned","executor":"Əliyev V."})")
                .status,
            200);
  auto events = feed->next(10);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> statuses;
  for (const auto& text : *events) {
    statuses.emplace_back(json::parse(text).at("status").as_string());
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"delivered", "registered", "assigned"}));
  auto last = json::parse(events->back()).as_object();
  EXPECT_EQ(last.at("executor").as_string(), "Əliyev V.");
  EXPECT_EQ(last.at("number").as_string(), "07-118/k");
  EXPECT_EQ(last.at("actor").as_string(), "az.finance");
}

TEST_F(ApiEventsTest, LongPollAnswerCarriesEventsAndTheCursor) {
  send("e3");
  send("e4");
  auto feed = open("/v1/events?after=0&limit=1", kFinanceCert);
  ASSERT_TRUE(feed);
  feed->set_waker([] {});
  auto events = feed->next(1000);
  ASSERT_TRUE(events.ok());
  auto r = feed->respond(*events);
  ASSERT_EQ(r.status, 200);
  auto o = body_of(r);
  ASSERT_EQ(o.at("events").as_array().size(), 1u);
  EXPECT_EQ(o.at("cursor").as_string(), o.at("events").as_array()[0].at("cursor").as_string());
}

TEST_F(ApiEventsTest, AcknowledgedPositionIsWhereAFeedWithoutCursorStarts) {
  send("e5");
  send("e6");
  auto all = open("/v1/events", kFinanceCert);
  all->set_waker([] {});
  auto events = all->next(10);
  ASSERT_EQ(events->size(), 2u);
  std::string first(json::parse((*events)[0]).at("cursor").as_string());
  auto ack = post("/v1/events/ack", kFinanceCert, R"({"ack":")" + first + R"("})");
  ASSERT_EQ(ack.status, 200) << ack.body;
  // Twice changes nothing.
  EXPECT_EQ(post("/v1/events/ack", kFinanceCert, R"({"ack":")" + first + R"("})").status, 200);
  auto resumed = open("/v1/events", kFinanceCert);
  resumed->set_waker([] {});
  auto rest = resumed->next(10);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ(json::parse((*rest)[0]).at("cursor").as_string(),
            json::parse((*events)[1]).at("cursor").as_string());
  for (const char* bad : {"", "{}", R"({"ack":5})", R"({"ack":"x"})", R"({"ack":"999999"})"}) {
    EXPECT_EQ(post("/v1/events/ack", kFinanceCert, bad).status, 400) << bad;
  }
}

TEST_F(ApiEventsTest, WebSocketAckMessageSavesThePositionAndABadOneIsAnswered) {
  send("e7");
  auto feed = open("/v1/stream", kFinanceCert);
  feed->set_waker([] {});
  auto events = feed->next(10);
  std::string cursor(json::parse((*events)[0]).at("cursor").as_string());
  EXPECT_FALSE(feed->receive(R"({"ack":")" + cursor + R"("})").has_value());
  EXPECT_EQ(std::to_string(*store_->event_position("az.finance")), cursor);
  auto reply = feed->receive("not json");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(json::parse(*reply).at("error").at("code").as_string(), "invalid_argument");
}

TEST_F(ApiEventsTest, IllegalStepIsConflictWithTheCurrentState) {
  std::string id = send("e8");
  ASSERT_EQ(
      post("/v1/documents/" + id + "/status", kFinanceCert, R"({"status":"executed"})").status,
      200);
  auto r = post("/v1/documents/" + id + "/status", kFinanceCert,
                R"({"status":"rejected","reason":"late"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("executed"), std::string::npos);
  for (const char* bad : {R"({"status":"assigned"})", R"({"status":"assigned","executor":""})",
                          R"({"status":"executed","reply":"nope"})", R"({"status":"recalled"})",
                          R"({"status":"expired"})", R"({"status":"queued"})"}) {
    EXPECT_EQ(post("/v1/documents/" + id + "/status", kFinanceCert, bad).status, 400) << bad;
  }
}

TEST_F(ApiEventsTest, RecallByTheSenderOnlyAndBeforeDelivery) {
  std::string id = send("e9");
  EXPECT_EQ(post("/v1/documents/" + id + "/recall", kFinanceCert, "").status, 404);
  EXPECT_EQ(post("/v1/documents/" + id + "/recall", kMddtCert, R"({"bogus":1})").status, 400);
  auto r = post("/v1/documents/" + id + "/recall", kMddtCert, R"({"reason":"wrong address"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = body_of(r);
  EXPECT_TRUE(o.at("changed").as_bool());
  EXPECT_EQ(o.at("deliveries").as_array()[0].at("status").as_string(), "recalled");
  std::string other = send("e10");
  ASSERT_EQ(post("/v1/documents/" + other + "/ack", kFinanceCert, "").status, 200);
  EXPECT_EQ(post("/v1/documents/" + other + "/recall", kMddtCert, "").status, 409);
}

TEST_F(ApiEventsTest, WebhookSecretIsShownOnceAndUrlsAreChecked) {
  auto r = api_->handle(request("PUT", "/v1/webhook", kFinanceCert,
                                R"({"url":"https://127.0.0.1:9443/hooks/sened"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto secret = std::string(body_of(r).at("secret").as_string());
  EXPECT_EQ(secret.size(), 64u);
  auto shown = api_->handle(request("GET", "/v1/webhook", kFinanceCert));
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(shown.body.find(secret), std::string::npos);
  for (const char* bad :
       {R"({"url":"http://127.0.0.1/x"})", R"({"url":"https://"})",
        R"({"url":"https://u:p@host/x"})", R"({"url":"ftp://h/x"})", R"({"url":5})", "{}"}) {
    EXPECT_EQ(api_->handle(request("PUT", "/v1/webhook", kFinanceCert, bad)).status, 400) << bad;
  }
  EXPECT_EQ(api_->handle(request("DELETE", "/v1/webhook", kFinanceCert)).status, 200);
  EXPECT_EQ(api_->handle(request("GET", "/v1/webhook", kFinanceCert)).status, 404);
}

}  // namespace
}  // namespace sened::exchange
