// The API handlers on a real SQLite store, without sockets: requests are
// plain values and uploads are fed to the sink chunk by chunk.
#include "exchange/api.h"

#include <gtest/gtest.h>

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

TEST_F(ApiTest, DroppingASinkRemovesItsStagingFiles) {
  http::Request head = request("POST", "/v1/documents", kMddtCert);
  head.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
  {
    auto start = api_->begin_upload(head);
    std::string body = letter_body("r4", std::string(50, 'q'));
    ASSERT_TRUE(start->sink->write(body.substr(0, body.size() - 20)).ok());
    EXPECT_FALSE(std::filesystem::is_empty(dir_ / "files/.staging"));
  }
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
                                R"({"status":"executed"})"));
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

}  // namespace
}  // namespace sened::exchange
