// Resumable uploads (tus 1.0.0) through the API handlers on a real SQLite
// store, without sockets: heads are plain requests and PATCH bodies are fed
// to the sink piece by piece, as the server does.
#include "exchange/uploads.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "core/validate.h"
#include "crypto/cms.h"
#include "crypto/digest.h"
#include "exchange/api.h"
#include "support/test_support.h"

namespace sened::exchange {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;
using sened::testing::TempDir;

const std::string kMddtCert = std::string(64, 'a');
const std::string kFinanceCert = std::string(64, 'b');

// Some bytes that are not all alike.
std::string bytes_of(size_t n, char seed = 'a') {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7) % 23);
  return s;
}

class UploadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions o;
    o.database_path = dir_ / "sened.db";
    o.files_dir = dir_ / "files";
    o.inline_file_limit = 16;
    auto s = open_sqlite_store(o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    for (auto [id, fp] : {std::pair{"az.mddt", kMddtCert}, std::pair{"az.finance", kFinanceCert}}) {
      Participant p;
      p.id = id;
      p.category = "central-executive";
      p.obligation = "recommended";
      p.name_az = p.name_en = id;
      p.status = ParticipantStatus::kActive;
      ASSERT_TRUE(store_->put_participant(p, "operator").ok());
      Certificate c;
      c.serial = crypto::to_hex(fp.substr(0, 8));
      c.participant = id;
      c.fingerprint = fp;
      ASSERT_TRUE(store_->add_certificate(c, "operator").ok());
    }
    limits_.max_file_size = 1000;
    api_ = std::make_unique<Api>(*store_, limits_);
  }

  std::string uploads_dir() const { return dir_ / "files/.staging/uploads"; }

  static http::Request request(const std::string& method, const std::string& target,
                               const std::string& fingerprint = kMddtCert,
                               http::Headers headers = {{"Tus-Resumable", "1.0.0"}}) {
    http::Request r;
    r.method = method;
    r.target = target;
    r.peer_fingerprint = fingerprint;
    r.headers = std::move(headers);
    return r;
  }

  http::Response create(uint64_t length, const std::string& fp = kMddtCert,
                        const std::string& metadata = "") {
    http::Request r = request("POST", "/v1/uploads", fp);
    r.headers.emplace_back("Upload-Length", std::to_string(length));
    if (!metadata.empty()) r.headers.emplace_back("Upload-Metadata", metadata);
    return api_->handle(r);
  }

  // Creates an upload and returns its id (from Location).
  std::string new_upload(uint64_t length, const std::string& fp = kMddtCert) {
    http::Response r = create(length, fp);
    EXPECT_EQ(r.status, 201) << r.body;
    std::string location = http::find_header(r.headers, "Location").value_or("");
    EXPECT_EQ(location.rfind("/v1/uploads/", 0), 0u) << location;
    return location.substr(std::string("/v1/uploads/").size());
  }

  http::Request patch_head(const std::string& id, uint64_t offset,
                           const std::string& fp = kMddtCert) {
    http::Request r = request("PATCH", "/v1/uploads/" + id, fp);
    r.headers.emplace_back("Content-Type", "application/offset+octet-stream");
    r.headers.emplace_back("Upload-Offset", std::to_string(offset));
    return r;
  }

  // A PATCH as the server runs it: head, body in chunks of 3 bytes, finish.
  http::Response patch(const std::string& id, uint64_t offset, const std::string& body,
                       const std::string& fp = kMddtCert) {
    http::Request head = patch_head(id, offset, fp);
    head.headers.emplace_back("Content-Length", std::to_string(body.size()));
    return run_patch(head, body);
  }

  http::Response run_patch(const http::Request& head, const std::string& body) {
    auto start = api_->begin_upload(head);
    EXPECT_TRUE(start.has_value());
    if (!start) return {};
    if (start->refusal) return *start->refusal;
    for (size_t i = 0; i < body.size(); i += 3) {
      Status st = start->sink->write(std::string_view(body).substr(i, 3));
      if (!st.ok()) return http::error_response(st);
    }
    return start->sink->finish();
  }

  http::Response head(const std::string& id, const std::string& fp = kMddtCert) {
    return api_->handle(request("HEAD", "/v1/uploads/" + id, fp));
  }

  static std::string header(const http::Response& r, const std::string& name) {
    return http::find_header(r.headers, name).value_or("(none)");
  }

  static std::string part(const std::string& disposition, const std::string& data) {
    return "--XyZ\r\nContent-Disposition: form-data; " + disposition + "\r\n\r\n" + data + "\r\n";
  }

  // A letter whose files are `files` (metadata entries); `parts` are
  // multipart files (name, bytes) sent after the metadata.
  http::Response submit(const std::string& ref, json::array files,
                        std::vector<std::pair<std::string, std::string>> parts = {},
                        const std::string& fp = kMddtCert) {
    std::string body = metadata_part(ref, std::move(files));
    for (const auto& [name, bytes] : parts) body += file_part(name, bytes);
    return post(body, fp);
  }

  static std::string metadata_part(const std::string& ref, json::array files) {
    json::object m{{"sender_ref", ref},
                   {"kind", "letter"},
                   {"subject", "Böyük fayl"},
                   {"recipients", json::object{{"to", json::array{"az.finance"}}}},
                   {"files", std::move(files)}};
    return part("name=\"metadata\"", json::serialize(m));
  }
  static std::string file_part(const std::string& name, const std::string& bytes) {
    return part("name=\"file\"; filename=\"" + name + "\"", bytes);
  }
  static std::string signature_part(const std::string& filename, const std::string& der) {
    return part("name=\"signature\"; filename=\"" + filename + "\"", der);
  }

  // POSTs the parts in `body` (the close delimiter is added) as a document.
  http::Response post(std::string body, const std::string& fp = kMddtCert) {
    body += "--XyZ--\r\n";
    http::Request h = request("POST", "/v1/documents", fp, {});
    h.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
    auto start = api_->begin_upload(h);
    if (start->refusal) return *start->refusal;
    Status st = start->sink->write(body);
    if (!st.ok()) return http::error_response(st);
    return start->sink->finish();
  }

  static json::object upload_entry(const std::string& name, const std::string& id) {
    return json::object{{"name", name}, {"upload", id}};
  }

  // A finished upload of `bytes`.
  std::string finished_upload(const std::string& bytes) {
    std::string id = new_upload(bytes.size());
    http::Response r = patch(id, 0, bytes);
    EXPECT_EQ(r.status, 204) << r.body;
    return id;
  }

  size_t outbox_size() {
    auto page = store_->outbox("az.mddt", 0, 100);
    return page.ok() ? page->items.size() : 999;
  }

  std::string stored_bytes(const std::string& document, int index) {
    auto c = store_->open_file(document, index);
    if (!c.ok()) return "(" + c.status().to_string() + ")";
    if (c->inline_bytes) return *c->inline_bytes;
    return testing::read_file(*c->path);
  }

  static json::object body_of(const http::Response& r) { return json::parse(r.body).as_object(); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  Limits limits_;
  std::unique_ptr<Api> api_;
};

// --- protocol -------------------------------------------------------------

TEST_F(UploadsTest, OptionsAdvertisesVersionExtensionsAndMaxSize) {
  auto r = api_->handle(request("OPTIONS", "/v1/uploads", kMddtCert, {}));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(header(r, "Tus-Version"), "1.0.0");
  EXPECT_EQ(header(r, "Tus-Resumable"), "1.0.0");
  EXPECT_EQ(header(r, "Tus-Extension"), "creation,termination,expiration");
  EXPECT_EQ(header(r, "Tus-Max-Size"), "1000");
}

TEST_F(UploadsTest, CreationAnswersLocationAndHeadShowsOffsetZero) {
  auto created = create(10, kMddtCert, "filename YmlnLmJpbg==,filetype dGV4dC9wbGFpbg==");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(header(created, "Tus-Resumable"), "1.0.0");
  std::string id = header(created, "Location").substr(12);
  auto r = head(id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Upload-Offset"), "0");
  EXPECT_EQ(header(r, "Upload-Length"), "10");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(header(r, "Upload-Metadata"), "filename YmlnLmJpbg==,filetype dGV4dC9wbGFpbg==");
  EXPECT_EQ(header(r, "Tus-Resumable"), "1.0.0");
}

TEST_F(UploadsTest, RequestWithoutTusResumableIs412AndCreatesNothing) {
  http::Request r = request("POST", "/v1/uploads", kMddtCert, {{"Upload-Length", "5"}});
  auto answer = api_->handle(r);
  EXPECT_EQ(answer.status, 412);
  EXPECT_EQ(header(answer, "Tus-Version"), "1.0.0");
  EXPECT_EQ(header(answer, "Tus-Resumable"), "1.0.0");
  EXPECT_FALSE(fs::exists(uploads_dir()));
}

TEST_F(UploadsTest, RequestWithAnotherTusVersionIs412) {
  std::string id = new_upload(5);
  http::Request r = request("HEAD", "/v1/uploads/" + id, kMddtCert, {{"Tus-Resumable", "0.2.2"}});
  EXPECT_EQ(api_->handle(r).status, 412);
  http::Request p = patch_head(id, 0);
  p.headers[0].second = "2.0.0";
  EXPECT_EQ(run_patch(p, "abc").status, 412);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "0");
}

TEST_F(UploadsTest, CreationWithoutUploadLengthIsRefused) {
  auto r = api_->handle(request("POST", "/v1/uploads"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body_of(r).at("error").at("message").as_string().find("Upload-Length"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(uploads_dir()));
}

TEST_F(UploadsTest, CreationWithAMalformedUploadLengthIsRefused) {
  for (std::string bad : {"-1", "12a", "", "1e3", "99999999999999999999999", "0x10"}) {
    http::Request r = request("POST", "/v1/uploads");
    r.headers.emplace_back("Upload-Length", bad);
    EXPECT_EQ(api_->handle(r).status, 400) << bad;
  }
  EXPECT_FALSE(fs::exists(uploads_dir()));
}

TEST_F(UploadsTest, CreationOverTheFileSizeLimitIs413) {
  auto r = create(1001);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(header(r, "Tus-Resumable"), "1.0.0");
  EXPECT_FALSE(fs::exists(uploads_dir()));
}

TEST_F(UploadsTest, CreationWithMalformedMetadataIsRefused) {
  for (std::string bad : {"filename not*base64", "a YQ==,a Yg==", "a YQ==, ,b Yg==",
                          "filetype bm90IGEgdHlwZQ==", "k\x01 YQ==", ",,"}) {
    EXPECT_EQ(create(5, kMddtCert, bad).status, 400) << bad;
  }
  EXPECT_EQ(create(5, kMddtCert, std::string(5000, 'k')).status, 400);
  EXPECT_FALSE(fs::exists(uploads_dir()));
}

TEST_F(UploadsTest, CreationWithDeferredLengthIsRefused) {
  http::Request r = request("POST", "/v1/uploads");
  r.headers.emplace_back("Upload-Defer-Length", "1");
  EXPECT_EQ(api_->handle(r).status, 400);
}

TEST_F(UploadsTest, CreationWithABodyIsRefused) {
  http::Request r = request("POST", "/v1/uploads");
  r.headers.emplace_back("Upload-Length", "5");
  r.body = "hello";
  EXPECT_EQ(api_->handle(r).status, 400);
  EXPECT_FALSE(fs::exists(uploads_dir()));
}

TEST_F(UploadsTest, PatchesInPiecesAdvanceTheOffset) {
  std::string id = new_upload(10);
  auto first = patch(id, 0, "0123");
  EXPECT_EQ(first.status, 204) << first.body;
  EXPECT_EQ(header(first, "Upload-Offset"), "4");
  EXPECT_EQ(header(first, "Tus-Resumable"), "1.0.0");
  EXPECT_NE(header(first, "Upload-Expires"), "(none)");
  EXPECT_EQ(header(head(id), "Upload-Offset"), "4");
  auto second = patch(id, 4, "456789");
  EXPECT_EQ(second.status, 204);
  EXPECT_EQ(header(second, "Upload-Offset"), "10");
  EXPECT_EQ(testing::read_file(uploads_dir() + "/" + id + ".data"), "0123456789");
}

TEST_F(UploadsTest, PatchAtAnotherOffsetIs409AndChangesNothing) {
  std::string id = new_upload(10);
  ASSERT_EQ(patch(id, 0, "0123").status, 204);
  for (uint64_t wrong : {0, 3, 5}) {
    auto r = patch(id, wrong, "xy");
    EXPECT_EQ(r.status, 409) << wrong;
    EXPECT_EQ(header(r, "Tus-Resumable"), "1.0.0");
  }
  EXPECT_EQ(header(head(id), "Upload-Offset"), "4");
  EXPECT_EQ(testing::read_file(uploads_dir() + "/" + id + ".data"), "0123");
}

TEST_F(UploadsTest, PatchWithAnotherContentTypeIs415) {
  std::string id = new_upload(10);
  http::Request h = patch_head(id, 0);
  h.headers[1].second = "application/octet-stream";
  EXPECT_EQ(run_patch(h, "abc").status, 415);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "0");
}

TEST_F(UploadsTest, PatchWithoutOrWithABadUploadOffsetIsRefused) {
  std::string id = new_upload(10);
  http::Request h = patch_head(id, 0);
  h.headers.pop_back();
  EXPECT_EQ(run_patch(h, "abc").status, 400);
  h.headers.emplace_back("Upload-Offset", "-1");
  EXPECT_EQ(run_patch(h, "abc").status, 400);
}

TEST_F(UploadsTest, PatchAnnouncingMoreThanTheLengthIsRefusedBeforeTheBody) {
  std::string id = new_upload(5);
  auto r = patch(id, 0, "123456");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "0");
}

TEST_F(UploadsTest, ChunkedBodyBeyondTheLengthIsRefusedKeepingWhatFits) {
  std::string id = new_upload(5);
  auto r = run_patch(patch_head(id, 0), "1234567");  // no Content-Length
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "5");
  EXPECT_EQ(testing::read_file(uploads_dir() + "/" + id + ".data"), "12345");
}

TEST_F(UploadsTest, AnotherParticipantSeesNoUpload) {
  std::string id = new_upload(5);
  EXPECT_EQ(head(id, kFinanceCert).status, 404);
  EXPECT_EQ(patch(id, 0, "abc", kFinanceCert).status, 404);
  EXPECT_EQ(api_->handle(request("DELETE", "/v1/uploads/" + id, kFinanceCert)).status, 404);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "0");
}

TEST_F(UploadsTest, UnknownUploadIs404) {
  std::string unknown = "0190a8c4-1234-7000-8000-000000000000";
  EXPECT_EQ(head(unknown).status, 404);
  EXPECT_EQ(patch(unknown, 0, "abc").status, 404);
  EXPECT_EQ(head("..%2F..%2Fsened.db").status, 404);
  EXPECT_EQ(head("../../sened").status, 404);
}

TEST_F(UploadsTest, UnregisteredCertificateIs403) {
  EXPECT_EQ(create(5, std::string(64, 'f')).status, 403);
}

TEST_F(UploadsTest, CutPatchKeepsTheBytesThatArrived) {
  std::string id = new_upload(10);
  {
    auto start = api_->begin_upload(patch_head(id, 0));
    ASSERT_TRUE(start && start->sink);
    ASSERT_TRUE(start->sink->write("0123").ok());
    ASSERT_TRUE(start->sink->write("45").ok());
    // A second PATCH while this one runs is refused.
    EXPECT_EQ(patch(id, 0, "x").status, 409);
  }  // the connection is cut: no finish()
  EXPECT_EQ(header(head(id), "Upload-Offset"), "6");
  EXPECT_EQ(patch(id, 6, "6789").status, 204);
  EXPECT_EQ(testing::read_file(uploads_dir() + "/" + id + ".data"), "0123456789");
}

TEST_F(UploadsTest, DeleteRemovesTheUpload) {
  std::string id = new_upload(5);
  auto r = api_->handle(request("DELETE", "/v1/uploads/" + id));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(head(id).status, 404);
  EXPECT_TRUE(fs::is_empty(uploads_dir()));
}

TEST_F(UploadsTest, OtherMethodsAre405) {
  EXPECT_EQ(api_->handle(request("GET", "/v1/uploads")).status, 405);
  std::string id = new_upload(5);
  EXPECT_EQ(api_->handle(request("PUT", "/v1/uploads/" + id)).status, 405);
}

TEST_F(UploadsTest, UploadsNotYetUsedAreCappedPerParticipant) {
  for (int i = 0; i < 20; ++i) ASSERT_EQ(create(1).status, 201) << i;
  auto r = create(1);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(create(1, kFinanceCert).status, 201);
}

TEST_F(UploadsTest, EmptyUploadIsFinishedAtOnce) {
  std::string id = new_upload(0);
  auto r = head(id);
  EXPECT_EQ(header(r, "Upload-Offset"), "0");
  EXPECT_EQ(header(r, "Upload-Length"), "0");
}

// --- submit ---------------------------------------------------------------

TEST_F(UploadsTest, SubmitNamingAFinishedUploadStoresItsBytes) {
  std::string bytes = bytes_of(700);
  std::string id = finished_upload(bytes);
  auto r = submit("u1", json::array{upload_entry("big.bin", id)});
  ASSERT_EQ(r.status, 201) << r.body;
  auto doc = body_of(r);
  const auto& file = doc.at("files").as_array()[0].as_object();
  EXPECT_EQ(file.at("name").as_string(), "big.bin");
  EXPECT_EQ(file.at("size").as_int64(), 700);
  EXPECT_EQ(file.at("sha256").as_string(), crypto::sha256_hex(bytes));
  EXPECT_EQ(stored_bytes(std::string(doc.at("id").as_string()), 0), bytes);
  // Used up: the bytes moved into the store, the upload is gone.
  EXPECT_EQ(head(id).status, 410);
  EXPECT_FALSE(fs::exists(uploads_dir() + "/" + id + ".data"));
}

TEST_F(UploadsTest, SubmitMixesUploadsAndPartsInTheDeclaredOrder) {
  std::string big = bytes_of(300, 'k');
  std::string id = finished_upload(big);
  auto r =
      submit("u2", json::array{json::object{{"name", "cover.txt"}}, upload_entry("annex.bin", id)},
             {{"cover.txt", "covering letter"}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto doc = body_of(r);
  const auto& files = doc.at("files").as_array();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].at("name").as_string(), "cover.txt");
  EXPECT_EQ(files[0].at("role").as_string(), "main");
  EXPECT_EQ(files[1].at("name").as_string(), "annex.bin");
  EXPECT_EQ(files[1].at("role").as_string(), "attachment");
  std::string doc_id(doc.at("id").as_string());
  EXPECT_EQ(stored_bytes(doc_id, 0), "covering letter");
  EXPECT_EQ(stored_bytes(doc_id, 1), big);
}

TEST_F(UploadsTest, SubmitUsesTheMediaTypeFromUploadMetadata) {
  http::Response created = create(20, kMddtCert, "filetype YXBwbGljYXRpb24vcGRm");
  std::string id = header(created, "Location").substr(12);
  ASSERT_EQ(patch(id, 0, bytes_of(20)).status, 204);
  auto r = submit("u3", json::array{upload_entry("a.pdf", id)});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r).at("files").as_array()[0].at("media_type").as_string(), "application/pdf");
}

TEST_F(UploadsTest, SubmitNamingAnUnfinishedUploadIs400AndStoresNothing) {
  std::string id = new_upload(10);
  ASSERT_EQ(patch(id, 0, "01234").status, 204);
  auto r = submit("u4", json::array{upload_entry("big.bin", id)});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body_of(r).at("error").at("message").as_string().find("not finished"),
            std::string::npos);
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "5");
  EXPECT_EQ(patch(id, 5, "56789").status, 204);  // still usable
}

TEST_F(UploadsTest, SubmitWithAMismatchedDeclaredDigestIs400AndKeepsTheUpload) {
  std::string bytes = bytes_of(100);
  std::string id = finished_upload(bytes);
  json::object entry = upload_entry("big.bin", id);
  entry["sha256"] = crypto::sha256_hex("other bytes");
  auto r = submit("u5", json::array{entry});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body_of(r).at("error").at("message").as_string().find("SHA-256"), std::string::npos);
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "100");
  // With the right digest and size the same upload goes through.
  entry["sha256"] = crypto::sha256_hex(bytes);
  entry["size"] = 100;
  EXPECT_EQ(submit("u5", json::array{entry}).status, 201);
}

TEST_F(UploadsTest, SubmitWithAMismatchedDeclaredSizeIs400) {
  std::string id = finished_upload(bytes_of(100));
  json::object entry = upload_entry("big.bin", id);
  entry["size"] = 99;
  EXPECT_EQ(submit("u6", json::array{entry}).status, 400);
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(UploadsTest, SubmitNamingAnotherParticipantsUploadIs400) {
  std::string id = new_upload(5, kFinanceCert);
  ASSERT_EQ(patch(id, 0, "12345", kFinanceCert).status, 204);
  auto r = submit("u7", json::array{upload_entry("big.bin", id)});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(header(head(id, kFinanceCert), "Upload-Offset"), "5");
}

TEST_F(UploadsTest, SubmitNamingAnUnknownUploadIs400) {
  auto r =
      submit("u8", json::array{upload_entry("big.bin", "0190a8c4-1234-7000-8000-000000000000")});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body_of(r).at("error").at("message").as_string().find("files[0].upload"),
            std::string::npos);
}

TEST_F(UploadsTest, AFileWithAnUploadMayNotAlsoComeAsAPart) {
  std::string id = finished_upload(bytes_of(50));
  auto r = submit("u9", json::array{upload_entry("big.bin", id)}, {{"big.bin", bytes_of(50)}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "50");
}

TEST_F(UploadsTest, MetadataRefusesAMalformedOrRepeatedUploadId) {
  EXPECT_EQ(submit("v1", json::array{upload_entry("a.bin", "../x")}).status, 400);
  std::string id = finished_upload(bytes_of(30));
  auto r = submit("v2", json::array{upload_entry("a.bin", id), upload_entry("b.bin", id)});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body_of(r).at("error").at("message").as_string().find("same upload"),
            std::string::npos);
  auto meta = parse_metadata(R"({"sender_ref":"x","kind":"letter","subject":"s",
      "recipients":{"to":["az.finance"]},"files":[{"name":"a","upload":7}]})");
  EXPECT_EQ(meta.status().code(), Code::kInvalidArgument);
}

TEST_F(UploadsTest, RepeatedSubmitAfterTheUploadWasUsedAnswersTheFirstDocument) {
  std::string id = finished_upload(bytes_of(200));
  auto first = submit("r1", json::array{upload_entry("big.bin", id)});
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = submit("r1", json::array{upload_entry("big.bin", id)});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(body_of(again).at("id"), body_of(first).at("id"));
  EXPECT_EQ(outbox_size(), 1u);
}

TEST_F(UploadsTest, AUsedUploadCannotServeAnotherDocument) {
  std::string id = finished_upload(bytes_of(200));
  ASSERT_EQ(submit("r2", json::array{upload_entry("big.bin", id)}).status, 201);
  auto other = submit("r3", json::array{upload_entry("big.bin", id)});
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(outbox_size(), 1u);
}

TEST_F(UploadsTest, UploadNamedLikeAnotherFileIsRefused) {
  std::string id = finished_upload(bytes_of(30));
  auto r = submit("n1", json::array{json::object{{"name", "A.txt"}}, upload_entry("a.txt", id)},
                  {{"A.txt", "x"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "30");
}

// --- signatures of uploaded files -------------------------------------------

const std::string kLetter = "Məktub № 14-3-2051 (inteqrasiya).pdf";
std::string example(const std::string& name) {
  return testing::source_dir() + "/examples/documents/" + name;
}

TEST_F(UploadsTest, SignatureNamedAfterAnUploadedFileSignsIt) {
  limits_.max_file_size = 100000;  // the example letter is some 25 KB
  api_ = std::make_unique<Api>(*store_, limits_);
  std::string letter = testing::read_file(example(kLetter));
  std::string der = testing::read_file(example(kLetter + ".p7s"));
  std::string id = finished_upload(letter);
  // Anywhere after the metadata: here after the part of another file.
  auto r = post(metadata_part("s1", json::array{json::object{{"name", "cover.txt"}},
                                                upload_entry(kLetter, id)}) +
                file_part("cover.txt", "covering letter") + signature_part(kLetter + ".p7s", der));
  ASSERT_EQ(r.status, 201) << r.body;
  json::object doc = body_of(r);
  const auto& files = doc.at("files").as_array();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_FALSE(files[0].as_object().contains("signature")) << r.body;
  // The API alone trusts no CA: the signer is named but unknown.
  const auto& sig = files[1].at("signature").as_object();
  EXPECT_EQ(sig.at("status").as_string(), "unknown_signer");
  EXPECT_EQ(sig.at("sha256").as_string(), crypto::sha256_hex(der));
}

TEST_F(UploadsTest, RepeatedSubmitOfASignedUploadAnswersTheFirstDocument) {
  limits_.max_file_size = 100000;
  api_ = std::make_unique<Api>(*store_, limits_);
  std::string der = testing::read_file(example(kLetter + ".p7s"));
  std::string id = finished_upload(testing::read_file(example(kLetter)));
  std::string body = metadata_part("s8", json::array{upload_entry(kLetter, id)}) +
                     signature_part(kLetter + ".p7s", der);
  auto first = post(body);
  ASSERT_EQ(first.status, 201) << first.body;
  // The upload's bytes are gone now; the retry still gets the first document.
  auto again = post(body);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(body_of(again).at("id"), body_of(first).at("id"));
  EXPECT_EQ(body_of(again).at("files").as_array()[0].at("signature"),
            body_of(first).at("files").as_array()[0].at("signature"));
  EXPECT_EQ(outbox_size(), 1u);
}

TEST_F(UploadsTest, SignaturePartRightAfterAFilePartStillSignsThatPart) {
  std::string id = finished_upload(bytes_of(40));
  auto r = post(metadata_part("s2", json::array{upload_entry("big.bin", id),
                                                json::object{{"name", "cover.txt"}}}) +
                file_part("cover.txt", "x") + signature_part("cover.txt.p7s", "not CMS"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(
      body_of(r).at("error").at("message").as_string().find("signature of file 1 (cover.txt)"),
      std::string::npos)
      << r.body;
  EXPECT_EQ(header(head(id), "Upload-Offset"), "40");
}

TEST_F(UploadsTest, SignatureOfAnUploadedFileIsCheckedAsAnyOther) {
  std::string id = finished_upload(bytes_of(40));
  auto r = post(metadata_part("s3", json::array{upload_entry("big.bin", id)}) +
                signature_part("big.bin.p7s", "not CMS"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body_of(r).at("error").at("message").as_string().find("signature of file 0 (big.bin)"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "40");
}

TEST_F(UploadsTest, SignatureNamingNoUploadedFileIs400AndKeepsTheUpload) {
  std::string id = finished_upload(bytes_of(40));
  for (const std::string& name : {std::string("other.bin.p7s"), std::string("big.bin"),
                                  std::string("BIG.bin.p7s"), std::string()}) {
    std::string sig =
        name.empty() ? part("name=\"signature\"", "der") : signature_part(name, "der");
    auto r = post(metadata_part("s4", json::array{upload_entry("big.bin", id)}) + sig);
    EXPECT_EQ(r.status, 400) << name;
    EXPECT_NE(body_of(r).at("error").at("message").as_string().find("right after its 'file' part"),
              std::string::npos)
        << r.body;
  }
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "40");
}

TEST_F(UploadsTest, SecondSignatureOfAnUploadedFileIs400) {
  std::string id = finished_upload(bytes_of(40));
  auto r = post(metadata_part("s5", json::array{upload_entry("big.bin", id)}) +
                signature_part("big.bin.p7s", "a") + signature_part("big.bin.p7s", "b"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body_of(r).at("error").at("message").as_string().find("second 'signature' part"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(header(head(id), "Upload-Offset"), "40");
}

TEST_F(UploadsTest, SignatureBeforeTheMetadataIs400) {
  std::string id = finished_upload(bytes_of(40));
  auto r = post(signature_part("big.bin.p7s", "der") +
                metadata_part("s6", json::array{upload_entry("big.bin", id)}));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(body_of(r).at("error").at("message").as_string().find("first part must be 'metadata'"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(UploadsTest, SignatureOfAnUploadedFileOverTheLimitIs413) {
  std::string id = finished_upload(bytes_of(40));
  auto r = post(metadata_part("s7", json::array{upload_entry("big.bin", id)}) +
                signature_part("big.bin.p7s", std::string(crypto::kMaxSignatureBytes + 1, 'x')));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(body_of(r).at("error").at("message").as_string().find("signature of file 0"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(outbox_size(), 0u);
}

// --- durability and expiry, on the Uploads class itself ---------------------

class UploadsDiskTest : public ::testing::Test {
 protected:
  UploadOptions options() {
    UploadOptions o;
    o.dir = dir_ / "uploads";
    o.max_length = 1000;
    o.checkpoint_bytes = 4;
    o.now_ms = [this] { return now_; };
    return o;
  }

  std::unique_ptr<Uploads> open() {
    auto u = std::make_unique<Uploads>(options());
    EXPECT_TRUE(u->open().ok());
    return u;
  }

  static http::Request request(const std::string& method, const std::string& target) {
    http::Request r;
    r.method = method;
    r.target = target;
    r.headers = {{"Tus-Resumable", "1.0.0"}};
    return r;
  }

  std::string create(Uploads& u, uint64_t length) {
    http::Request r = request("POST", "/v1/uploads");
    r.headers.emplace_back("Upload-Length", std::to_string(length));
    auto answer = u.handle(r, std::string("az.mddt"));
    EXPECT_EQ(answer.status, 201) << answer.body;
    return http::find_header(answer.headers, "Location").value_or("").substr(12);
  }

  http::Handler::UploadStart begin(Uploads& u, const std::string& id, uint64_t offset) {
    http::Request r = request("PATCH", "/v1/uploads/" + id);
    r.headers.emplace_back("Content-Type", "application/offset+octet-stream");
    r.headers.emplace_back("Upload-Offset", std::to_string(offset));
    return u.begin_patch(r, std::string("az.mddt"));
  }

  std::string offset(Uploads& u, const std::string& id) {
    auto r = u.handle(request("HEAD", "/v1/uploads/" + id), std::string("az.mddt"));
    if (r.status != 200) return "status " + std::to_string(r.status);
    return http::find_header(r.headers, "Upload-Offset").value_or("");
  }

  TempDir dir_;
  int64_t now_ = 1'700'000'000'000;
};

TEST_F(UploadsDiskTest, AfterACrashTheOffsetIsTheLastCheckpoint) {
  auto first = open();
  std::string id = create(*first, 100);
  auto start = begin(*first, id, 0);
  ASSERT_TRUE(start.sink);
  ASSERT_TRUE(start.sink->write("0123456789").ok());  // checkpoints every 4 bytes
  // The hub "crashes" here: a second instance reads what is on disk while
  // the first still holds the sink (its destructor never ran).
  auto second = open();
  EXPECT_EQ(offset(*second, id), "10");
  ASSERT_TRUE(start.sink->write("ab").ok());  // below the checkpoint size
  auto third = open();
  EXPECT_EQ(offset(*third, id), "10");
  EXPECT_EQ(fs::file_size(dir_ / ("uploads/" + id + ".data")), 10u);
  start.sink.reset();
  first.reset();
}

TEST_F(UploadsDiskTest, RestartCutsBytesBeyondTheRecordedOffset) {
  std::string id;
  {
    auto u = open();
    id = create(*u, 100);
    auto start = begin(*u, id, 0);
    ASSERT_TRUE(start.sink->write("01234567").ok());
    ASSERT_EQ(start.sink->finish().status, 204);
  }
  // Bytes that reached the file but were never recorded.
  std::string data = dir_ / ("uploads/" + id + ".data");
  testing::write_file(data, "01234567garbage");
  auto u = open();
  EXPECT_EQ(offset(*u, id), "8");
  EXPECT_EQ(testing::read_file(data), "01234567");
  auto start = begin(*u, id, 8);
  ASSERT_TRUE(start.sink);
  ASSERT_TRUE(start.sink->write("89").ok());
  EXPECT_EQ(start.sink->finish().status, 204);
}

TEST_F(UploadsDiskTest, LeftoversOfInterruptedWritesAreRemovedAtOpen) {
  fs::create_directories(dir_ / "uploads");
  testing::write_file(dir_ / "uploads/0190a8c4-1234-7000-8000-000000000000.data", "orphan");
  testing::write_file(dir_ / "uploads/0190a8c4-1234-7000-8000-000000000000.json.tmp", "{");
  auto u = open();
  EXPECT_TRUE(fs::is_empty(dir_ / "uploads"));
}

TEST_F(UploadsDiskTest, UnusedUploadsExpireAfterADayWithoutActivity) {
  auto u = open();
  std::string old_one = create(*u, 10);
  now_ += 23ll * 3600 * 1000;
  std::string young = create(*u, 10);
  now_ += 2ll * 3600 * 1000;  // the old one is 25 h old, the young one 2 h
  EXPECT_EQ(u->sweep(), 1);
  EXPECT_EQ(offset(*u, old_one), "status 404");
  EXPECT_EQ(offset(*u, young), "0");
  EXPECT_FALSE(fs::exists(dir_ / ("uploads/" + old_one + ".json")));
  // A reopened hub sweeps at start-up.
  now_ += 23ll * 3600 * 1000;
  auto reopened = open();
  EXPECT_EQ(offset(*reopened, young), "status 404");
  EXPECT_TRUE(fs::is_empty(dir_ / "uploads"));
}

TEST_F(UploadsDiskTest, RequestsSweepOncePerInterval) {
  auto u = open();
  std::string id = create(*u, 10);
  now_ += 25ll * 3600 * 1000;
  EXPECT_EQ(offset(*u, id), "status 404");  // the HEAD itself swept first
}

TEST_F(UploadsDiskTest, BytesTakenByTheStoreBeforeACrashCountAsUsed) {
  auto u = open();
  std::string id = create(*u, 4);
  auto start = begin(*u, id, 0);
  ASSERT_TRUE(start.sink->write("wxyz").ok());
  ASSERT_EQ(start.sink->finish().status, 204);
  start.sink.reset();

  DocumentMeta meta;
  meta.sender_ref = "crash-1";
  DeclaredFile d;
  d.name = "f.bin";
  d.upload = id;
  meta.files.push_back(d);
  {
    UploadClaims claims;
    auto files = u->assemble("az.mddt", meta, {}, claims);
    ASSERT_TRUE(files.ok()) << files.status().to_string();
    EXPECT_EQ((*files)[0].info.sha256, crypto::sha256_hex("wxyz"));
    // The store renames the bytes away, then the hub dies before commit():
    // a fresh instance reads the disk.
    fs::rename((*files)[0].temp_path, dir_ / "moved");
    auto after = open();
    EXPECT_EQ(offset(*after, id), "status 410");
    UploadClaims again;
    auto repeated = after->assemble("az.mddt", meta, {}, again);
    ASSERT_TRUE(repeated.ok()) << repeated.status().to_string();
    EXPECT_EQ((*repeated)[0].info.size, 4u);
    EXPECT_EQ((*repeated)[0].info.sha256, crypto::sha256_hex("wxyz"));
    meta.sender_ref = "crash-2";
    UploadClaims other;
    EXPECT_EQ(after->assemble("az.mddt", meta, {}, other).status().code(), Code::kConflict);
    fs::rename(dir_ / "moved", (*files)[0].temp_path);  // let `claims` give it back cleanly
  }
}

}  // namespace
}  // namespace sened::exchange
