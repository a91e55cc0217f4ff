// The real `sened hub` on a loopback port, driven by the real client library
// and by the stock `curl` and `openssl` commands.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>

#include "client/hub_client.h"
#include "crypto/digest.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;
using client::FormPart;
using client::HubClient;

const std::string kLetter = "Məktub № 14-3-2051 (inteqrasiya).pdf";
const std::string kAnnex = "Əlavə 1 — qoşulma qrafiki.csv";

std::string example(const std::string& name) {
  return source_dir() + "/examples/documents/" + name;
}

json::object parse(const std::string& body) {
  json::value v = json::parse(body);
  return v.as_object();
}

std::string error_code_of(const std::string& body) {
  return std::string(parse(body).at("error").at("code").as_string());
}

json::object metadata(const std::string& ref) {
  return json::object{
      {"sender_ref", ref},
      {"kind", "letter"},
      {"subject", "Elektron sənəd dövriyyəsi sisteminin inteqrasiyası haqqında"},
      {"urgency", "normal"},
      {"registration", json::object{{"number", "14/3-2051"}, {"date", "2026-12-02"}}},
      {"recipients",
       json::object{{"to", json::array{"az.finance"}}, {"cc", json::array{"az.baku-executive"}}}},
      {"due_date", "2026-12-15"}};
}

FormPart meta_part(const json::object& m) {
  return FormPart{"metadata", "", "application/json", std::nullopt, json::serialize(m)};
}

FormPart data_file(const std::string& name, const std::string& bytes) {
  return FormPart{"file", name, "application/octet-stream", std::nullopt, bytes};
}

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override { hub_.start(); }

  client::ClientResponse post(const std::string& org, const std::vector<FormPart>& parts) {
    HubClient c(hub_.client(org));
    auto r = c.post_multipart("/v1/documents", parts);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : client::ClientResponse{};
  }

  client::ClientResponse get(const std::string& org, const std::string& target) {
    HubClient c(hub_.client(org));
    auto r = c.request("GET", target);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : client::ClientResponse{};
  }

  std::string send_letter(const std::string& ref) {
    auto r = post("az.mddt", {meta_part(metadata(ref)), data_file(kLetter, "%PDF letter"),
                              data_file(kAnnex, "a,b\n1,2\n")});
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(parse(r.body).at("id").as_string());
  }

  // Asserts that a refused request left nothing behind: no journal entry, no
  // stored file, no document in the sender's outbox.
  void expect_nothing_stored(int journal_before, int files_before) {
    EXPECT_EQ(hub_.journal_entries(), journal_before);
    EXPECT_EQ(hub_.stored_file_count(), files_before);
    auto out = get("az.mddt", "/v1/outbox");
    EXPECT_EQ(parse(out.body).at("documents").as_array().size(), 0u);
  }

  // Posts `parts` as az.mddt and expects the error `code` with `status`,
  // nothing stored, and the hub still serving.
  void expect_refused(const std::vector<FormPart>& parts, int status, const std::string& code) {
    int journal = hub_.journal_entries();
    int files = hub_.stored_file_count();
    auto r = post("az.mddt", parts);
    expect_refused_answer(r, status, code);
    expect_nothing_stored(journal, files);
  }

  // The same for a hand-made multipart body (boundary "B0undary").
  void expect_raw_refused(const std::string& body, int status, const std::string& code) {
    int journal = hub_.journal_entries();
    int files = hub_.stored_file_count();
    HubClient c(hub_.client("az.mddt"));
    auto r = c.request("POST", "/v1/documents", body, "multipart/form-data; boundary=B0undary");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    expect_refused_answer(*r, status, code);
    expect_nothing_stored(journal, files);
  }

  void expect_refused_answer(const client::ClientResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    if (r.status == status) {
      EXPECT_EQ(error_code_of(r.body), code) << r.body;
    }
    // The hub keeps serving others.
    EXPECT_EQ(get("az.justice", "/v1/inbox").status, 200);
  }

  HubProcess hub_{{"az.mddt", "az.finance", "az.baku-executive", "az.justice"}};
};

TEST_F(HubTest, AcceptsALetterFromCurlAndServesIdenticalBytes) {
  TempDir tmp;
  write_file(tmp / "meta.json", json::serialize(metadata("curl-1")));
  auto r = run_command(hub_.curl(
      "az.mddt",
      {"-w", "\n%{http_code}", "-F", "metadata=@" + (tmp / "meta.json") + ";type=application/json",
       "-F", "file=@" + example(kLetter), "-F", "file=@" + example(kAnnex),
       hub_.url() + "/v1/documents"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.substr(r.out.rfind('\n') + 1), "201") << r.out;
  json::object doc = parse(r.out.substr(0, r.out.rfind('\n')));
  std::string id(doc.at("id").as_string());
  EXPECT_EQ(doc.at("files").as_array()[0].at("name").as_string(), kLetter);
  EXPECT_EQ(doc.at("files").as_array()[1].at("name").as_string(), kAnnex);

  auto fetched =
      run_command(hub_.curl("az.finance", {"-D", tmp / "headers", "-o", tmp / "got.pdf",
                                           hub_.url() + "/v1/documents/" + id + "/files/0"}));
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  std::string original = read_file(example(kLetter));
  EXPECT_EQ(read_file(tmp / "got.pdf"), original);
  std::string headers = read_file(tmp / "headers");
  auto raw = crypto::sha256(original);
  EXPECT_NE(headers.find("Repr-Digest: sha-256=:" + crypto::base64_encode(raw) + ":"),
            std::string::npos)
      << headers;
  EXPECT_NE(headers.find("filename*=UTF-8''M%C9%99ktub"), std::string::npos) << headers;
}

TEST_F(HubTest, ServesAByteRangeOfAFile) {
  std::string id = send_letter("range-1");
  TempDir tmp;
  auto r =
      run_command(hub_.curl("az.finance", {"-r", "2-5", "-o", tmp / "part", "-w", "%{http_code}",
                                           hub_.url() + "/v1/documents/" + id + "/files/0"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "206");
  EXPECT_EQ(read_file(tmp / "part"), "DF l");
}

TEST_F(HubTest, StreamsALargeUploadThatCurlSendsWithExpectContinue) {
  TempDir tmp;
  std::string big(3 * 1024 * 1024 + 17, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  write_file(tmp / "big.bin", big);
  write_file(tmp / "meta.json", json::serialize(metadata("big-1")));
  auto r = run_command(hub_.curl(
      "az.mddt", {"-v", "-F", "metadata=@" + (tmp / "meta.json") + ";type=application/json", "-F",
                  "file=@" + (tmp / "big.bin"), hub_.url() + "/v1/documents"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("100 Continue"), std::string::npos);
  json::object doc = parse(r.out);
  EXPECT_EQ(doc.at("files").as_array()[0].at("sha256").as_string(), crypto::sha256_hex(big));
  EXPECT_EQ(doc.at("files").as_array()[0].at("size").as_int64(), static_cast<int64_t>(big.size()));
}

TEST_F(HubTest, RepeatedSenderRefReturnsTheFirstDocument) {
  std::string id = send_letter("same-ref");
  int journal = hub_.journal_entries();
  auto again = post("az.mddt", {meta_part(metadata("same-ref")), data_file(kLetter, "%PDF letter"),
                                data_file(kAnnex, "a,b\n1,2\n")});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(parse(again.body).at("id").as_string(), id);
  EXPECT_EQ(hub_.journal_entries(), journal);
}

TEST_F(HubTest, RepeatedSenderRefWithOtherContentIsAConflict) {
  send_letter("ref-x");
  int journal = hub_.journal_entries();
  auto r = post("az.mddt", {meta_part(metadata("ref-x")), data_file(kLetter, "other bytes")});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code_of(r.body), "conflict");
  EXPECT_EQ(hub_.journal_entries(), journal);
}

TEST_F(HubTest, RefusesMalformedMetadataJson) {
  expect_refused({FormPart{"metadata", "", "application/json", std::nullopt, "{\"kind\": "},
                  data_file("a.pdf", "x")},
                 400, "invalid_argument");
}

TEST_F(HubTest, RefusesAnUploadWithoutMetadata) {
  expect_refused({data_file("a.pdf", "x")}, 400, "invalid_argument");
}

TEST_F(HubTest, RefusesMetadataThatIsNotTheFirstPart) {
  expect_refused({data_file("a.pdf", "x"), meta_part(metadata("late"))}, 400, "invalid_argument");
}

TEST_F(HubTest, RefusesAnUnknownRecipient) {
  json::object m = metadata("unknown-rcpt");
  m["recipients"] = json::object{{"to", json::array{"az.nowhere"}}};
  expect_refused({meta_part(m), data_file("a.pdf", "x")}, 400, "invalid_argument");
}

TEST_F(HubTest, RefusesAnInactiveRecipient) {
  ASSERT_EQ(hub_.sened({"admin", "org", "suspend", "--data", hub_.dir(), "az.finance"}).exit_code,
            0);
  // az.finance may no longer read its inbox; the check of "still serving"
  // uses another participant.
  expect_refused({meta_part(metadata("inactive")), data_file("a.pdf", "x")}, 400,
                 "invalid_argument");
}

TEST_F(HubTest, RefusesADocumentWithoutFiles) {
  expect_refused({meta_part(metadata("no-files"))}, 400, "invalid_argument");
}

std::string percent_encoded(const std::string& bytes) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string raw_body(const std::string& file_disposition) {
  return "--B0undary\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n" +
         json::serialize(metadata("bad-name")) +
         "\r\n--B0undary\r\nContent-Disposition: form-data; name=\"file\"; " + file_disposition +
         "\r\n\r\nbytes\r\n--B0undary--\r\n";
}

const std::vector<std::string> kBadNames = {
    "dir/a.pdf",     "dir\\a.pdf",          "..",
    "../a.pdf",      "a\x01.pdf",           "a\n.pdf",
    "a\x7f.pdf",     "a\xc2\x85.pdf",       std::string("\xff\xfe.pdf"),
    "a\xc0\xaf.pdf", std::string(256, 'a'), std::string("a\0b.pdf", 7)};

TEST_F(HubTest, RefusesBadFileNamesSentAsFilenameStar) {
  for (const auto& name : kBadNames) {
    SCOPED_TRACE(percent_encoded(name));
    expect_raw_refused(raw_body("filename*=UTF-8''" + percent_encoded(name)), 400,
                       "invalid_argument");
  }
}

TEST_F(HubTest, RefusesBadFileNamesSentAsPlainFilename) {
  for (const std::string& name : std::vector<std::string>{
           "dir/a.pdf", "dir\\\\a.pdf", "..", "a\x01.pdf", "\xff\xfe.pdf", std::string(256, 'b')}) {
    SCOPED_TRACE(percent_encoded(name));
    expect_raw_refused(raw_body("filename=\"" + name + "\""), 400, "invalid_argument");
  }
}

TEST_F(HubTest, RefusesAMalformedPartContentType) {
  for (const std::string ct : {std::string("text/plain; x=\xff\xfe"), std::string("not a type"),
                               std::string("text/"), std::string(300, 'a') + "/b"}) {
    SCOPED_TRACE(ct);
    expect_raw_refused(raw_body("filename=\"a.txt\"\r\nContent-Type: " + ct), 400,
                       "invalid_argument");
  }
}

TEST_F(HubTest, RefusesTwoFilesWithTheSameName) {
  expect_refused(
      {meta_part(metadata("dup-name")), data_file("a.txt", "1"), data_file("A.TXT", "2")}, 400,
      "invalid_argument");
  // Equal after Unicode normalisation: "é" precomposed and decomposed.
  expect_refused({meta_part(metadata("dup-nfc")), data_file("\xc3\xa9.txt", "1"),
                  data_file("e\xcc\x81.txt", "2")},
                 400, "invalid_argument");
}

TEST_F(HubTest, RefusesTheReservedNameOfTheEnvelope) {
  expect_refused({meta_part(metadata("envelope")), data_file("envelope.json", "{}")}, 400,
                 "invalid_argument");
}

TEST_F(HubTest, RefusesControlCharactersInARegistrationNumberOrReason) {
  std::string id = send_letter("ctl-1");
  int journal = hub_.journal_entries();
  HubClient finance(hub_.client("az.finance"));
  auto reg = finance.request("POST", "/v1/documents/" + id + "/status",
                             R"({"status":"registered","number":"7\u001b[31mX"})");
  EXPECT_EQ(reg->status, 400);
  auto rej = finance.request("POST", "/v1/documents/" + id + "/status",
                             R"({"status":"rejected","reason":"no\r\nway"})");
  EXPECT_EQ(rej->status, 400);
  EXPECT_EQ(hub_.journal_entries(), journal);
}

TEST_F(HubTest, RefusesAReplyToADocumentTheSenderCannotSee) {
  std::string id = send_letter("private-2");  // az.mddt to az.finance and az.baku-executive
  json::object m = metadata("reply-1");
  m["in_reply_to"] = id;
  m["recipients"] = json::object{{"to", json::array{"az.mddt"}}};
  HubClient justice(hub_.client("az.justice"));
  auto r = justice.post_multipart("/v1/documents", {meta_part(m), data_file("a.pdf", "x")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  HubClient finance(hub_.client("az.finance"));
  m["sender_ref"] = "reply-2";
  auto ok = finance.post_multipart("/v1/documents", {meta_part(m), data_file("a.pdf", "x")});
  EXPECT_EQ(ok->status, 201) << ok->body;
}

TEST_F(HubTest, AnswersAMissingAndAHiddenDocumentAlike) {
  std::string id = send_letter("hidden-1");
  std::string missing = "01a2421e-0b58-7ce2-b698-370d26fa0984";
  auto hidden = get("az.justice", "/v1/documents/" + id);
  auto absent = get("az.justice", "/v1/documents/" + missing);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(parse(hidden.body).at("error").at("message").as_string(), "no document " + id);
  EXPECT_EQ(parse(absent.body).at("error").at("message").as_string(), "no document " + missing);
}

TEST_F(HubTest, AcceptsADocumentIdInCapitals) {
  std::string id = send_letter("caps-1");
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(get("az.finance", "/v1/documents/" + upper).status, 200);
}

TEST_F(HubTest, AcknowledgingAfterRegistrationChangesNothing) {
  std::string id = send_letter("late-ack");
  HubClient finance(hub_.client("az.finance"));
  ASSERT_EQ(finance
                .request("POST", "/v1/documents/" + id + "/status",
                         R"({"status":"registered","number":"MN-2"})")
                ->status,
            200);
  int journal = hub_.journal_entries();
  auto ack = finance.request("POST", "/v1/documents/" + id + "/ack");
  EXPECT_EQ(ack->status, 200) << ack->body;
  EXPECT_EQ(parse(ack->body).at("status").as_string(), "registered");
  EXPECT_FALSE(parse(ack->body).at("changed").as_bool());
  EXPECT_EQ(hub_.journal_entries(), journal);
}

TEST_F(HubTest, RefusesAFilePartWithoutAName) {
  expect_raw_refused(raw_body("x=1"), 400, "invalid_argument");
}

TEST_F(HubTest, AcceptsAFileNameOfExactly255Bytes) {
  auto r =
      post("az.mddt", {meta_part(metadata("long-name")), data_file(std::string(255, 'a'), "x")});
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(HubTest, RefusesADeclaredDigestThatDoesNotMatch) {
  json::object m = metadata("bad-digest");
  m["files"] = json::array{json::object{{"name", "a.pdf"}, {"sha256", crypto::sha256_hex("y")}}};
  expect_refused({meta_part(m), data_file("a.pdf", "x")}, 400, "invalid_argument");
}

TEST_F(HubTest, RefusesADeclaredSizeThatDoesNotMatch) {
  json::object m = metadata("bad-size");
  m["files"] = json::array{json::object{{"name", "a.pdf"}, {"size", 2}}};
  expect_refused({meta_part(m), data_file("a.pdf", "x")}, 400, "invalid_argument");
}

TEST_F(HubTest, AcceptsMatchingDeclaredFiles) {
  json::object m = metadata("good-digest");
  m["files"] = json::array{
      json::object{{"name", "a.pdf"}, {"sha256", crypto::sha256_hex("x")}, {"size", 1}}};
  auto r = post("az.mddt", {meta_part(m), data_file("a.pdf", "x")});
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(HubTest, RefusesAnUploadThatIsNotMultipart) {
  int journal = hub_.journal_entries();
  HubClient c(hub_.client("az.mddt"));
  auto r = c.request("POST", "/v1/documents", "{}", "application/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 415);
  EXPECT_EQ(error_code_of(r->body), "unsupported_media_type");
  EXPECT_EQ(hub_.journal_entries(), journal);
}

TEST_F(HubTest, RefusesAnotherParticipantsDocumentAsNotFound) {
  std::string id = send_letter("private-1");
  auto r = get("az.justice", "/v1/documents/" + id);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code_of(r.body), "not_found");
  EXPECT_EQ(get("az.justice", "/v1/documents/" + id + "/files/0").status, 404);
  EXPECT_EQ(get("az.justice", "/v1/documents/" + id + "/history").status, 404);
}

TEST_F(HubTest, RefusesAStatusForADocumentNotAddressedToTheCaller) {
  std::string id = send_letter("status-1");
  int journal = hub_.journal_entries();
  HubClient c(hub_.client("az.justice"));
  auto r = c.request("POST", "/v1/documents/" + id + "/status",
                     R"({"status":"registered","number":"1"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(hub_.journal_entries(), journal);
  HubClient sender(hub_.client("az.mddt"));
  auto own = sender.request("POST", "/v1/documents/" + id + "/ack");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->status, 404);
}

TEST_F(HubTest, RecordsTheWholeLifecycleAndItsHistory) {
  std::string id = send_letter("life-1");
  HubClient finance(hub_.client("az.finance"));
  HubClient baku(hub_.client("az.baku-executive"));
  ASSERT_EQ(finance.request("POST", "/v1/documents/" + id + "/ack")->status, 200);
  auto reg = finance.request("POST", "/v1/documents/" + id + "/status",
                             R"({"status":"registered","number":"MN-1","date":"2026-12-03"})");
  ASSERT_EQ(reg->status, 200) << reg->body;
  // Rejecting straight from queued records the implied delivery first.
  auto rej = baku.request("POST", "/v1/documents/" + id + "/status",
                          R"({"status":"rejected","reason":"not ours"})");
  ASSERT_EQ(rej->status, 200) << rej->body;
  // Idempotent: the same registration again changes nothing.
  int journal = hub_.journal_entries();
  auto again = finance.request("POST", "/v1/documents/" + id + "/status",
                               R"({"status":"registered","number":"MN-1","date":"2026-12-03"})");
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(hub_.journal_entries(), journal);
  // An illegal change is a conflict naming the current state.
  auto flip = finance.request("POST", "/v1/documents/" + id + "/status",
                              R"({"status":"rejected","reason":"changed my mind"})");
  EXPECT_EQ(flip->status, 409);
  EXPECT_NE(flip->body.find("registered"), std::string::npos);

  json::object doc = parse(get("az.mddt", "/v1/documents/" + id).body);
  std::map<std::string, std::string> statuses;
  for (const auto& d : doc.at("deliveries").as_array()) {
    statuses[std::string(d.at("recipient").as_string())] = d.at("status").as_string();
  }
  EXPECT_EQ(statuses["az.finance"], "registered");
  EXPECT_EQ(statuses["az.baku-executive"], "rejected");

  json::object hist = parse(get("az.mddt", "/v1/documents/" + id + "/history").body);
  std::vector<std::string> kinds;
  for (const auto& e : hist.at("history").as_array()) kinds.emplace_back(e.at("kind").as_string());
  EXPECT_EQ(kinds, (std::vector<std::string>{"document.submitted", "delivery.delivered",
                                             "delivery.registered", "delivery.delivered",
                                             "delivery.rejected"}));
  EXPECT_EQ(hub_.verify_journal().exit_code, 0);
}

TEST_F(HubTest, InboxListsUnacknowledgedDocumentsInHubOrder) {
  std::string a = send_letter("order-a");
  std::string b = send_letter("order-b");
  auto inbox = parse(get("az.finance", "/v1/inbox").body);
  auto& docs = inbox.at("documents").as_array();
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].at("id").as_string(), a);
  EXPECT_EQ(docs[1].at("id").as_string(), b);
  HubClient finance(hub_.client("az.finance"));
  ASSERT_EQ(finance.request("POST", "/v1/documents/" + a + "/ack")->status, 200);
  auto after_ack = parse(get("az.finance", "/v1/inbox").body);
  ASSERT_EQ(after_ack.at("documents").as_array().size(), 1u);
  EXPECT_EQ(after_ack.at("documents").as_array()[0].at("id").as_string(), b);
  auto all = parse(get("az.finance", "/v1/inbox?all=true").body);
  EXPECT_EQ(all.at("documents").as_array().size(), 2u);
  std::string cursor(inbox.at("cursor").as_string());
  auto rest = parse(get("az.finance", "/v1/inbox?all=true&after=" + cursor).body);
  EXPECT_EQ(rest.at("documents").as_array().size(), 0u);
}

TEST_F(HubTest, RefusesAnUnregisteredCertificateWith403) {
  // A certificate from the hub's own CA that the registry does not know.
  TempDir tmp;
  std::string ca = hub_.dir() + "/ca/";
  ASSERT_EQ(run_command({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", tmp / "key.pem", "-subj",
                         "/CN=az.finance", "-out", tmp / "req.pem"})
                .exit_code,
            0);
  ASSERT_EQ(run_command({"openssl", "x509", "-req", "-in", tmp / "req.pem", "-CA", ca + "ca.pem",
                         "-CAkey", ca + "ca.key", "-CAcreateserial", "-days", "5", "-out",
                         tmp / "cert.pem"})
                .exit_code,
            0);
  client::ClientOptions o = hub_.client("az.finance");
  o.cert_file = tmp / "cert.pem";
  o.key_file = tmp / "key.pem";
  HubClient c(o);
  auto r = c.request("GET", "/v1/inbox");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(error_code_of(r->body), "permission_denied");
  // Health checks answer without a registered participant.
  auto health = c.request("GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
}

TEST_F(HubTest, RefusesASuspendedSenderWith403) {
  ASSERT_EQ(hub_.sened({"admin", "org", "suspend", "--data", hub_.dir(), "az.mddt"}).exit_code, 0);
  auto r = post("az.mddt", {meta_part(metadata("suspended")), data_file("a.pdf", "x")});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error_code_of(r.body), "permission_denied");
}

TEST_F(HubTest, FailsTheHandshakeForARevokedCertificate) {
  auto list = hub_.sened({"admin", "cert", "list", "--data", hub_.dir(), "--json"});
  ASSERT_EQ(list.exit_code, 0);
  std::string serial;
  json::value certs = json::parse(list.out);
  for (const auto& c : certs.as_array()) {
    if (c.at("participant").as_string() == "az.justice") serial = c.at("serial").as_string();
  }
  ASSERT_FALSE(serial.empty());
  ASSERT_EQ(hub_.sened({"admin", "cert", "revoke", "--data", hub_.dir(), serial}).exit_code, 0);
  // The hub re-reads the CRL by its modification time; a fresh connection
  // is refused at the handshake. Retry briefly while the hub notices.
  Status last;
  for (int i = 0; i < 50; ++i) {
    HubClient c(hub_.client("az.justice"));
    auto r = c.request("GET", "/v1/inbox");
    if (!r.ok()) {
      last = r.status();
      break;
    }
    usleep(100 * 1000);
  }
  EXPECT_EQ(last.code(), Code::kUnavailable) << last.to_string();
  HubClient ok(hub_.client("az.finance"));
  EXPECT_EQ(ok.request("GET", "/v1/inbox")->status, 200);
}

TEST_F(HubTest, ServesTheCrlThatItChecks) {
  auto before = get("az.finance", "/crl.pem");
  ASSERT_EQ(before.status, 200);
  EXPECT_EQ(before.body, read_file(hub_.dir() + "/ca/crl.pem"));
  EXPECT_NE(before.body.find("BEGIN X509 CRL"), std::string::npos);
  EXPECT_EQ(get("az.finance", "/ca.pem").body, read_file(hub_.dir() + "/ca/ca.pem"));
}

TEST_F(HubTest, FailsTheHandshakeForACertificateFromAnotherCa) {
  TempDir tmp;
  ASSERT_EQ(run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", tmp / "key.pem", "-subj",
                         "/CN=az.finance", "-days", "5", "-out", tmp / "cert.pem"})
                .exit_code,
            0);
  client::ClientOptions o = hub_.client("az.finance");
  o.cert_file = tmp / "cert.pem";
  o.key_file = tmp / "key.pem";
  HubClient c(o);
  auto r = c.request("GET", "/v1/inbox");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

TEST_F(HubTest, FailsTheHandshakeForAnExpiredCertificate) {
  TempDir tmp;
  std::string ca = hub_.dir() + "/ca/";
  write_file(tmp / "ca.cnf", "[ca]\ndefault_ca=d\n[d]\ndatabase=" + (tmp / "index.txt") +
                                 "\nnew_certs_dir=" + tmp.path() + "\nserial=" + (tmp / "serial") +
                                 "\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n");
  write_file(tmp / "index.txt", "");
  write_file(tmp / "serial", "1000\n");
  ASSERT_EQ(run_command({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", tmp / "key.pem", "-subj",
                         "/CN=az.finance", "-out", tmp / "req.pem"})
                .exit_code,
            0);
  auto signed_cert =
      run_command({"openssl", "ca", "-batch", "-config", tmp / "ca.cnf", "-cert", ca + "ca.pem",
                   "-keyfile", ca + "ca.key", "-in", tmp / "req.pem", "-out", tmp / "cert.pem",
                   "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext"});
  ASSERT_EQ(signed_cert.exit_code, 0) << signed_cert.err;
  client::ClientOptions o = hub_.client("az.finance");
  o.cert_file = tmp / "cert.pem";
  o.key_file = tmp / "key.pem";
  HubClient c(o);
  auto r = c.request("GET", "/v1/inbox");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

// Opens a mutual-TLS connection with OpenSSL alone, sends `bytes` and closes
// it without finishing the request: an upload cut off halfway.
void send_and_cut(const HubProcess& hub, const std::string& org, const std::string& bytes) {
  std::string host_port = hub.url().substr(std::string("https://").size());
  int port = std::stoi(host_port.substr(host_port.rfind(':') + 1));
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_EQ(SSL_CTX_use_certificate_file(ctx, (hub.client_dir(org) + "/cert.pem").c_str(),
                                         SSL_FILETYPE_PEM),
            1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx, (hub.client_dir(org) + "/key.pem").c_str(),
                                        SSL_FILETYPE_PEM),
            1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  ASSERT_EQ(SSL_connect(ssl), 1);
  ASSERT_EQ(SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())),
            static_cast<int>(bytes.size()));
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
}

TEST_F(HubTest, AnUploadCutOffHalfwayLeavesNothingBehind) {
  int journal = hub_.journal_entries();
  int files = hub_.stored_file_count();
  std::string boundary = "cutcutcut";
  std::string body =
      "--" + boundary + "\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n" +
      json::serialize(metadata("cut-1")) + "\r\n--" + boundary +
      "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n" +
      std::string(200000, 'z');
  std::string head =
      "POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "multipart/form-data; boundary=" +
      boundary + "\r\nContent-Length: " + std::to_string(body.size() + 500000) + "\r\n\r\n";
  send_and_cut(hub_, "az.mddt", head + body);
  // The hub serves others throughout, and the cut upload left nothing.
  EXPECT_EQ(get("az.finance", "/v1/inbox").status, 200);
  for (int i = 0; i < 100 && hub_.stored_file_count() != files; ++i) usleep(50 * 1000);
  expect_nothing_stored(journal, files);
}

class SmallLimitHubTest : public HubTest {
 protected:
  void SetUp() override {
    hub_.set_config("max_file_size", "1000");
    hub_.set_config("max_upload_size", "3000");
    hub_.start();
  }
};

TEST_F(SmallLimitHubTest, RefusesAChunkedUploadOverTheUploadLimit) {
  int journal = hub_.journal_entries();
  int files = hub_.stored_file_count();
  TempDir tmp;
  write_file(tmp / "meta.json", json::serialize(metadata("chunked-big")));
  std::vector<std::string> args{
      "-H", "Transfer-Encoding: chunked",
      "-w", "\n%{http_code}",
      "-F", "metadata=@" + (tmp / "meta.json") + ";type=application/json"};
  for (int i = 0; i < 4; ++i) {
    write_file(tmp / std::to_string(i), std::string(900, 'c'));
    args.push_back("-F");
    args.push_back("file=@" + (tmp / std::to_string(i)));
  }
  args.push_back(hub_.url() + "/v1/documents");
  auto r = run_command(hub_.curl("az.mddt", args));
  EXPECT_EQ(r.out.substr(r.out.rfind('\n') + 1), "413") << r.out << r.err;
  expect_nothing_stored(journal, files);
}

TEST_F(SmallLimitHubTest, RefusesAFileOverTheConfiguredLimit) {
  expect_refused({meta_part(metadata("too-big")), data_file("a.pdf", std::string(1001, 'x'))}, 413,
                 "payload_too_large");
  auto ok = post("az.mddt",
                 {meta_part(metadata("just-fits")), data_file("a.pdf", std::string(1000, 'x'))});
  EXPECT_EQ(ok.status, 201) << ok.body;
}

TEST_F(HubTest, KeepsAnAcceptedDocumentWhenKilledRightAfter201) {
  std::string big(300 * 1024, 'b');  // above the inline limit: goes to the file folder
  auto r = post("az.mddt", {meta_part(metadata("crash-1")), data_file(kLetter, big),
                            data_file(kAnnex, "small")});
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id(parse(r.body).at("id").as_string());
  EXPECT_EQ(hub_.stop(SIGKILL), 128 + SIGKILL);

  hub_.start();
  auto doc = get("az.finance", "/v1/documents/" + id);
  ASSERT_EQ(doc.status, 200) << doc.body;
  TempDir tmp;
  HubClient c(hub_.client("az.finance"));
  ASSERT_EQ(c.download("/v1/documents/" + id + "/files/0", tmp / "0")->status, 200);
  ASSERT_EQ(c.download("/v1/documents/" + id + "/files/1", tmp / "1")->status, 200);
  EXPECT_EQ(read_file(tmp / "0"), big);
  EXPECT_EQ(read_file(tmp / "1"), "small");
  auto hist = parse(get("az.mddt", "/v1/documents/" + id + "/history").body);
  EXPECT_EQ(hist.at("history").as_array()[0].at("kind").as_string(), "document.submitted");
  EXPECT_EQ(hub_.verify_journal().exit_code, 0);
}

TEST_F(HubTest, StopsCleanlyOnSigterm) { EXPECT_EQ(hub_.stop(SIGTERM), 0); }

}  // namespace
}  // namespace sened::testing
