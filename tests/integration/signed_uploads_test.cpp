// Detached signatures of files that travel as resumable (tus) uploads, against
// the real hub binary over mutual TLS: the gateway's hot folders and local
// API send a large file's NAME.p7s in the submit that names its upload, and
// a client that speaks the API itself names the signature part after the
// uploaded file. Signatures are made here with the stock `openssl cms`
// command by a signer the hub trusts (tests/data/pki-test).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "core/process.h"
#include "gateway/local_api.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

const std::string kSigner =
    "serialNumber=TEST-0001,CN=Rəşad Əliyev,O=Rəqəmsal İnkişaf və Nəqliyyat Nazirliyi,C=AZ";
// Files above this many bytes go by upload in these tests (the gateway's
// default is 8 MiB; a small threshold keeps the files small).
constexpr uint64_t kResumableAbove = 64 * 1024;
const std::string kBig = "Hesabat 2026 (böyük).pdf";

std::string pki_file(const std::string& name) {
  return source_dir() + "/tests/data/pki-test/" + name;
}

// Bytes that are not all alike: `size` of them, from `seed`.
std::string bytes_of(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

// Signs `path` into `path`.p7s as any sender's tool would: a detached CMS
// signature (DER) by the test signer, made by stock openssl.
void sign(const std::string& path) {
  auto r = run_command({"openssl", "cms", "-sign", "-binary", "-outform", "DER", "-in", path,
                        "-signer", pki_file("signer.pem"), "-inkey", pki_file("signer.key"), "-out",
                        path + ".p7s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

json::object read_json(const std::string& path) { return json::parse(read_file(path)).as_object(); }

json::object signature_of(const json::object& doc, size_t index) {
  const json::value* sig = doc.at("files").as_array()[index].as_object().if_contains("signature");
  return sig != nullptr ? sig->as_object() : json::object();
}

// `sened gateway` as a child process for participant `org`, sending files
// above kResumableAbove by upload.
class Gateway {
 public:
  Gateway(const HubProcess& hub, std::string org) : hub_(hub), org_(std::move(org)) {}
  ~Gateway() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void start(std::vector<std::string> extra = {}) {
    std::string c = hub_.client_dir(org_);
    std::vector<std::string> args{sened_binary(),
                                  "gateway",
                                  "--dir",
                                  dir(),
                                  "--hub",
                                  hub_.url(),
                                  "--cert",
                                  c + "/cert.pem",
                                  "--key",
                                  c + "/key.pem",
                                  "--ca",
                                  c + "/ca.pem",
                                  "--poll-ms",
                                  "50",
                                  "--max-backoff-ms",
                                  "500",
                                  "--resumable-above",
                                  std::to_string(kResumableAbove)};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = spawn_tied_to_parent(argv, dir_ / "gateway.log", SIGKILL);
    ASSERT_GT(pid_, 0);
  }

  std::string dir() const { return dir_ / "gw"; }
  std::string operator/(const std::string& rel) const { return dir() + "/" + rel; }
  std::string log() const { return read_file(dir_ / "gateway.log"); }

  // Waits until package `name` is filed under sent/ and returns the hub's
  // answer (the document), or an empty object when it failed instead.
  json::object sent(const std::string& name) {
    bool done = wait_until([&] {
      return fs::exists(*this / ("sent/" + name + "/answer.json")) ||
             fs::exists(*this / ("failed/" + name));
    });
    EXPECT_TRUE(done) << log();
    std::string answer = *this / ("sent/" + name + "/answer.json");
    if (fs::exists(answer)) return read_json(answer);
    std::string error = *this / ("failed/" + name + "/error.txt");
    ADD_FAILURE() << "package failed: " << (fs::exists(error) ? read_file(error) : log());
    return json::object();
  }

 private:
  const HubProcess& hub_;
  std::string org_;
  TempDir dir_;
  pid_t pid_ = -1;
};

class SignedUploadsTest : public ::testing::Test {
 protected:
  // The test root is trusted through the hub's trust folder.
  void SetUp() override {
    fs::create_directories(hub_.dir() + "/trust");
    fs::copy_file(pki_file("test-root-ca.pem"), hub_.dir() + "/trust/test-root-ca.pem");
  }

  // An envelope (the metadata an EDMS writes) listing `files`.
  static std::string envelope(const std::vector<std::string>& files, const std::string& ref = "",
                              const std::string& kind = "letter") {
    json::array list;
    for (const auto& f : files) list.push_back(json::object{{"name", f}});
    json::object m{{"kind", kind},
                   {"subject", "İmzalı böyük fayl"},
                   {"recipients", json::object{{"to", json::array{"az.finance"}}}},
                   {"files", std::move(list)}};
    if (!ref.empty()) m["sender_ref"] = ref;
    return json::serialize(m);
  }

  // Drops a package into the gateway's outbox as an EDMS does: files (and
  // their signatures), envelope, then READY.
  static void drop(const Gateway& gw, const std::string& name, const std::string& envelope_text,
                   const std::vector<std::pair<std::string, std::string>>& files) {
    std::string p = gw / ("outbox/" + name);
    fs::create_directories(p + "/files");
    for (const auto& [n, bytes] : files) write_file(p + "/files/" + n, bytes);
    write_file(p + "/envelope.json", envelope_text);
    write_file(p + "/READY", "");
  }

  // A large file and its signature, made in the test's folder.
  std::pair<std::string, std::string> signed_big(uint32_t seed) {
    std::string path = tmp_ / ("src-" + std::to_string(seed) + ".pdf");
    write_file(path, "%PDF-1.7\n" + bytes_of(3 * kResumableAbove, seed));
    sign(path);
    return {read_file(path), read_file(path + ".p7s")};
  }

  // The recipient's copy of document `id`: `sened fetch` into a folder.
  std::string fetch(const std::string& id) {
    std::string d = hub_.client_dir("az.finance");
    std::string out = tmp_ / ("in-" + id);
    auto r = run_command({sened_binary(), "fetch", "--hub", hub_.url(), "--ca", d + "/ca.pem",
                          "--cert", d + "/cert.pem", "--key", d + "/key.pem", id, "--out", out});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }

  // --- the API itself, as a client that speaks tus ---------------------------

  client::HubClient& mddt() {
    if (!client_) client_ = std::make_unique<client::HubClient>(hub_.client("az.mddt"));
    return *client_;
  }

  // A finished upload of `bytes`; returns its id.
  std::string upload(const std::string& bytes) {
    auto created = mddt().request(
        "POST", "/v1/uploads", "", "application/octet-stream",
        {{"Tus-Resumable", "1.0.0"}, {"Upload-Length", std::to_string(bytes.size())}});
    EXPECT_TRUE(created.ok() && created->status == 201);
    if (!created.ok() || created->status != 201) return "";
    std::string id = created->header("Location").value_or("");
    id = id.substr(id.rfind('/') + 1);
    std::string path = tmp_ / ("upload-" + id);
    write_file(path, bytes);
    auto patched = mddt().send_file("PATCH", "/v1/uploads/" + id,
                                    {{"Tus-Resumable", "1.0.0"},
                                     {"Upload-Offset", "0"},
                                     {"Content-Type", "application/offset+octet-stream"}},
                                    path, 0, bytes.size());
    EXPECT_TRUE(patched.ok() && patched->status == 204);
    return id;
  }

  // The offset the hub holds for upload `id` ("gone" once a document used it).
  std::string upload_offset(const std::string& id) {
    auto r = mddt().request("HEAD", "/v1/uploads/" + id, "", "application/json",
                            {{"Tus-Resumable", "1.0.0"}});
    if (!r.ok()) return "(" + r.status().to_string() + ")";
    if (r->status != 200) return "HTTP " + std::to_string(r->status);
    return r->header("Upload-Offset").value_or("(none)");
  }

  // The metadata part of a letter whose only file is `name`, sent by `upload`.
  static client::FormPart metadata(const std::string& ref, const std::string& name,
                                   const std::string& upload, const std::string& kind = "letter") {
    json::object m{{"sender_ref", ref},
                   {"kind", kind},
                   {"subject", "Böyük fayl"},
                   {"recipients", json::object{{"to", json::array{"az.finance"}}}},
                   {"files", json::array{json::object{{"name", name}, {"upload", upload}}}}};
    return {"metadata", "", "application/json", std::nullopt, json::serialize(m)};
  }

  static client::FormPart signature(const std::string& filename, const std::string& der) {
    return {"signature", filename, "application/pkcs7-signature", std::nullopt, der};
  }

  client::ClientResponse submit(const std::vector<client::FormPart>& parts) {
    auto r = mddt().post_multipart("/v1/documents", parts);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : client::ClientResponse{};
  }

  size_t outbox_size() {
    auto r = mddt().request("GET", "/v1/outbox");
    if (!r.ok() || r->status != 200) return 999;
    return json::parse(r->body).at("documents").as_array().size();
  }

  static std::string error_code(const client::ClientResponse& r) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) return "(no error)";
    return std::string(v.at("error").at("code").as_string());
  }

  HubProcess hub_{{"az.mddt", "az.finance"}};
  TempDir tmp_;
  std::unique_ptr<client::HubClient> client_;
};

// --- gateway hot folders ------------------------------------------------------

TEST_F(SignedUploadsTest, GatewaySendsTheSignatureOfAFileItUploads) {
  hub_.start();
  Gateway gw(hub_, "az.mddt");
  gw.start();
  auto [big, p7s] = signed_big(1);
  drop(gw, "signed-big", envelope({kBig, "cover.txt"}),
       {{kBig, big}, {kBig + ".p7s", p7s}, {"cover.txt", "covering letter"}});

  json::object doc = gw.sent("signed-big");
  ASSERT_FALSE(doc.empty());
  EXPECT_NE(gw.log().find("upload started"), std::string::npos) << gw.log();
  json::object sig = signature_of(doc, 0);
  EXPECT_EQ(sig["status"], "valid") << json::serialize(doc);
  EXPECT_EQ(sig["signer"].as_string(), kSigner);
  EXPECT_TRUE(signature_of(doc, 1).empty());

  // The recipient gets the signature beside the file, byte for byte.
  std::string in = fetch(std::string(doc["id"].as_string()));
  EXPECT_EQ(read_file(in + "/" + kBig), big);
  EXPECT_EQ(read_file(in + "/" + kBig + ".p7s"), p7s);
}

TEST_F(SignedUploadsTest, GatewayUploadOfAChangedFileIsRecordedInvalid) {
  hub_.start();
  Gateway gw(hub_, "az.mddt");
  gw.start();
  auto [big, p7s] = signed_big(2);
  big[big.size() / 2] ^= 0x01;
  drop(gw, "changed-big", envelope({kBig}), {{kBig, big}, {kBig + ".p7s", p7s}});

  json::object doc = gw.sent("changed-big");
  ASSERT_FALSE(doc.empty());
  EXPECT_NE(gw.log().find("upload started"), std::string::npos) << gw.log();
  EXPECT_EQ(signature_of(doc, 0)["status"], "invalid") << json::serialize(doc);
}

TEST_F(SignedUploadsTest, GatewaySignedUploadSatisfiesTheSignaturePolicy) {
  hub_.set_config("require_valid_for_kinds", "[\"order\"]");
  hub_.start();
  Gateway gw(hub_, "az.mddt");
  gw.start();
  auto [big, p7s] = signed_big(3);
  drop(gw, "order", envelope({kBig}, "", "order"), {{kBig, big}, {kBig + ".p7s", p7s}});
  json::object doc = gw.sent("order");
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ(signature_of(doc, 0)["status"], "valid");
}

// --- gateway local API --------------------------------------------------------

TEST_F(SignedUploadsTest, LocalApiPackageWithASignatureIsDeliveredWithIt) {
  hub_.start();
  Gateway gw(hub_, "az.mddt");
  std::string port_file = gw / "local-api.address";
  gw.start({"--local-api", "127.0.0.1:0", "--local-api-port-file", port_file});
  ASSERT_TRUE(wait_until([&] { return fs::exists(port_file); })) << gw.log();
  std::string address = read_file(port_file);
  while (!address.empty() && address.back() == '\n') address.pop_back();

  // An EDMS PUTs the package with stock curl: each file's signature in the
  // part right after it.
  auto [big, p7s] = signed_big(4);
  write_file(tmp_ / "big.pdf", big);
  write_file(tmp_ / "big.pdf.p7s", p7s);
  write_file(tmp_ / "envelope.json", envelope({kBig}));
  auto put = run_command({"curl", "-sS", "-X", "PUT", "-F",
                          "envelope=<" + (tmp_ / "envelope.json") + ";type=application/json", "-F",
                          "file=@" + (tmp_ / "big.pdf") + ";filename=" + kBig, "-F",
                          "signature=@" + (tmp_ / "big.pdf.p7s"),
                          "http://" + address + "/v1/outbox/api-signed"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ASSERT_NE(put.out.find("\"package\""), std::string::npos) << put.out;

  json::object doc = gw.sent("api-signed");
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ(signature_of(doc, 0)["status"], "valid") << json::serialize(doc);
  std::string in = fetch(std::string(doc["id"].as_string()));
  EXPECT_EQ(read_file(in + "/" + kBig + ".p7s"), p7s);
}

TEST_F(SignedUploadsTest, LocalApiRefusesASignatureThatFollowsNoFile) {
  hub_.start();
  Gateway gw(hub_, "az.mddt");
  std::string port_file = gw / "local-api.address";
  gw.start({"--local-api", "127.0.0.1:0", "--local-api-port-file", port_file});
  ASSERT_TRUE(wait_until([&] { return fs::exists(port_file); })) << gw.log();
  std::string address = read_file(port_file);
  while (!address.empty() && address.back() == '\n') address.pop_back();

  auto [big, p7s] = signed_big(5);
  write_file(tmp_ / "big.pdf", big);
  write_file(tmp_ / "big.pdf.p7s", p7s);
  write_file(tmp_ / "envelope.json", envelope({kBig}));
  auto put = run_command({"curl", "-sS", "-w", "\n%{http_code}", "-X", "PUT", "-F",
                          "envelope=<" + (tmp_ / "envelope.json") + ";type=application/json", "-F",
                          "signature=@" + (tmp_ / "big.pdf.p7s"), "-F",
                          "file=@" + (tmp_ / "big.pdf") + ";filename=" + kBig,
                          "http://" + address + "/v1/outbox/api-bad"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out.substr(put.out.rfind('\n') + 1), "400") << put.out;
  EXPECT_NE(put.out.find("right after its 'file' part"), std::string::npos) << put.out;
  EXPECT_FALSE(fs::exists(gw / "outbox/api-bad"));
}

// The local API's handling of `signature` parts, in-process (nothing is sent).
class LocalApiSignatureTest : public ::testing::Test {
 protected:
  // PUTs package `name` whose body holds `parts` (name, filename, bytes) after
  // an envelope listing `files`.
  http::Response put(const std::vector<std::string>& files,
                     const std::vector<std::array<std::string, 3>>& parts) {
    json::array list;
    for (const auto& f : files) list.push_back(json::object{{"name", f}});
    json::object env{{"kind", "letter"},
                     {"subject", "s"},
                     {"recipients", json::object{{"to", json::array{"az.finance"}}}},
                     {"files", std::move(list)}};
    std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"envelope\"\r\n\r\n" +
                       json::serialize(env) + "\r\n";
    for (const auto& [name, filename, bytes] : parts) {
      body += "--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"" +
              (filename.empty() ? "" : "; filename=\"" + filename + "\"") + "\r\n\r\n" + bytes +
              "\r\n";
    }
    body += "--XyZ--\r\n";
    http::Request head;
    head.method = "PUT";
    head.target = "/v1/outbox/p1";
    head.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
    auto start = api_.begin_upload(head);
    if (!start) return http::Response{0, {}, "not an upload route", std::nullopt};
    if (start->refusal) return *start->refusal;
    Status st = start->sink->write(body);
    if (!st.ok()) return http::error_response(st);
    return start->sink->finish();
  }

  bool outbox_empty() {
    std::error_code ec;
    return fs::is_empty(dir_ / "outbox", ec) || !fs::exists(dir_ / "outbox");
  }

  TempDir dir_;
  gateway::LocalApi api_{dir_.path()};
};

TEST_F(LocalApiSignatureTest, SignaturePartLandsBesideItsFile) {
  fs::create_directories(dir_ / "outbox");
  auto r = put({"a.pdf", "b.txt"}, {{"file", "a.pdf", "%PDF"},
                                    {"signature", "", "DER of a"},
                                    {"file", "b.txt", "B"},
                                    {"signature", "anything.p7s", "DER of b"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(read_file(dir_ / "outbox/p1/files/a.pdf.p7s"), "DER of a");
  EXPECT_EQ(read_file(dir_ / "outbox/p1/files/b.txt.p7s"), "DER of b");
  EXPECT_TRUE(fs::exists(dir_ / "outbox/p1/READY"));
}

TEST_F(LocalApiSignatureTest, SignatureThatFollowsNoFileIsRefused) {
  fs::create_directories(dir_ / "outbox");
  for (const auto& parts : std::vector<std::vector<std::array<std::string, 3>>>{
           {{"signature", "", "x"}, {"file", "a.pdf", "%PDF"}},
           {{"file", "a.pdf", "%PDF"}, {"signature", "", "x"}, {"signature", "", "y"}}}) {
    auto r = put({"a.pdf"}, parts);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("right after its 'file' part"), std::string::npos) << r.body;
    EXPECT_TRUE(outbox_empty());
  }
}

TEST_F(LocalApiSignatureTest, SignatureGivenBothWaysIsRefused) {
  fs::create_directories(dir_ / "outbox");
  auto r = put({"a.pdf"},
               {{"file", "a.pdf.p7s", "x"}, {"file", "a.pdf", "%PDF"}, {"signature", "", "y"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("a.pdf.p7s is given twice"), std::string::npos) << r.body;
  EXPECT_TRUE(outbox_empty());
}

// --- the hub API --------------------------------------------------------------

TEST_F(SignedUploadsTest, ApiSignaturePartNamedAfterAnUploadedFileSignsIt) {
  hub_.start();
  auto [big, p7s] = signed_big(6);
  std::string id = upload(big);
  // The signature may come anywhere after the metadata: here last, after a
  // file part that has its own (no) signature.
  json::object m = json::parse(metadata("api-1", kBig, id).data).as_object();
  m["files"].as_array().push_back(json::object{{"name", "cover.txt"}});
  auto r = submit({{"metadata", "", "application/json", std::nullopt, json::serialize(m)},
                   {"file", "cover.txt", "text/plain", std::nullopt, "cover"},
                   signature(kBig + ".p7s", p7s)});
  ASSERT_EQ(r.status, 201) << r.body;
  json::object doc = json::parse(r.body).as_object();
  EXPECT_EQ(signature_of(doc, 0)["status"], "valid") << r.body;
  EXPECT_EQ(signature_of(doc, 0)["signer"].as_string(), kSigner);
  EXPECT_TRUE(signature_of(doc, 1).empty()) << r.body;

  // Passed on as sent.
  client::HubClient finance(hub_.client("az.finance"));
  auto passed = finance.request(
      "GET", "/v1/documents/" + std::string(doc["id"].as_string()) + "/files/0/signature");
  ASSERT_TRUE(passed.ok());
  EXPECT_EQ(passed->status, 200);
  EXPECT_EQ(passed->body, p7s);
}

TEST_F(SignedUploadsTest, ApiSignaturePartNamingNoUploadedFileIsRefusedAndNothingStored) {
  hub_.start();
  auto [big, p7s] = signed_big(7);
  std::string id = upload(big);
  auto r = submit({metadata("api-2", kBig, id), signature("other.pdf.p7s", p7s)});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code(r), "invalid_argument");
  EXPECT_NE(r.body.find("right after its 'file' part"), std::string::npos) << r.body;
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(upload_offset(id), std::to_string(big.size()));  // still usable

  // The signature of an upload named without ".p7s" signs nothing either.
  r = submit({metadata("api-2", kBig, id), signature(kBig, p7s)});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(SignedUploadsTest, ApiTwoSignaturesForOneUploadedFileAreRefused) {
  hub_.start();
  auto [big, p7s] = signed_big(8);
  std::string id = upload(big);
  auto r = submit(
      {metadata("api-3", kBig, id), signature(kBig + ".p7s", p7s), signature(kBig + ".p7s", p7s)});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("a second 'signature' part for files[0]"), std::string::npos) << r.body;
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(upload_offset(id), std::to_string(big.size()));
}

TEST_F(SignedUploadsTest, ApiSignatureBeforeTheMetadataIsRefused) {
  hub_.start();
  auto [big, p7s] = signed_big(9);
  std::string id = upload(big);
  auto r = submit({signature(kBig + ".p7s", p7s), metadata("api-4", kBig, id)});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("the first part must be 'metadata'"), std::string::npos) << r.body;
  EXPECT_EQ(outbox_size(), 0u);
  EXPECT_EQ(upload_offset(id), std::to_string(big.size()));
}

TEST_F(SignedUploadsTest, ApiSignatureOfAnUploadOverTheLimitIsRefused) {
  hub_.start();
  auto [big, p7s] = signed_big(10);
  std::string id = upload(big);
  auto r = submit(
      {metadata("api-5", kBig, id), signature(kBig + ".p7s", std::string(1 << 20, 'x') + "x")});
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(r.body.find("signature of file 0"), std::string::npos) << r.body;
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(SignedUploadsTest, ApiPolicyRefusalOfAnUnsignedUploadIsPolicyRefused) {
  hub_.set_config("require_valid_for_kinds", "[\"order\"]");
  hub_.start();
  auto [big, p7s] = signed_big(11);
  std::string id = upload(big);
  auto r = submit({metadata("api-6", kBig, id, "order")});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_code(r), "policy_refused");
  EXPECT_EQ(outbox_size(), 0u);
  // With its signature the same upload makes the order.
  r = submit({metadata("api-6", kBig, id, "order"), signature(kBig + ".p7s", p7s)});
  ASSERT_EQ(r.status, 201) << r.body;
  // A retry after a lost answer, when the upload is used up, gets the same
  // order back, its signature as checked the first time.
  auto again = submit({metadata("api-6", kBig, id, "order"), signature(kBig + ".p7s", p7s)});
  ASSERT_EQ(again.status, 200) << again.body;
  json::object first = json::parse(r.body).as_object();
  json::object repeat = json::parse(again.body).as_object();
  EXPECT_EQ(repeat["id"], first["id"]);
  EXPECT_EQ(signature_of(repeat, 0)["status"], "valid");
  EXPECT_EQ(outbox_size(), 1u);
}

}  // namespace
}  // namespace sened::testing
