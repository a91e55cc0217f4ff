// Document signatures against the real hub: the CLI and curl send them, the
// hub checks them against its trust folder, records the outcome in the
// metadata and the journal, and passes them on.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <ctime>
#include <filesystem>

#include "crypto/cms.h"
#include "crypto/digest.h"
#include "crypto/pki.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

const std::string kLetter = "Məktub № 14-3-2051 (inteqrasiya).pdf";
const std::string kSigner =
    "serialNumber=TEST-0001,CN=Rəşad Əliyev,O=Rəqəmsal İnkişaf və Nəqliyyat Nazirliyi,C=AZ";

std::string example(const std::string& name) {
  return source_dir() + "/examples/documents/" + name;
}
std::string pki_file(const std::string& name) {
  return source_dir() + "/tests/data/pki-test/" + name;
}

class SignaturesTest : public ::testing::Test {
 protected:
  // The test root is trusted through the hub's trust folder.
  void SetUp() override {
    fs::create_directories(hub_.dir() + "/trust");
    fs::copy_file(pki_file("test-root-ca.pem"), hub_.dir() + "/trust/test-root-ca.pem");
  }

  void start() { hub_.start(); }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_.client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 2, {"--hub", hub_.url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }

  // Sends `file` with `signature` to az.finance; returns the document JSON.
  json::object send_signed(const std::string& file, const std::string& signature,
                           const std::string& kind = "letter") {
    auto r =
        run_command(as("az.mddt", {"send", "--json", "--to", "az.finance", "--kind", kind,
                                   "--subject", "İmzalı məktub", file, "--signature", signature}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out).as_object() : json::object();
  }

  static json::object signature_of(const json::object& doc, size_t index = 0) {
    const json::value* sig = doc.at("files").as_array()[index].as_object().if_contains("signature");
    return sig != nullptr ? sig->as_object() : json::object();
  }

  // A POST of `parts` (curl -F arguments) as az.mddt: "<status>\n<body>".
  std::pair<std::string, std::string> post(const std::vector<std::string>& parts) {
    std::vector<std::string> args{"-w", "\n%{http_code}"};
    for (const auto& p : parts) args.insert(args.end(), {"-F", p});
    args.push_back(hub_.url() + "/v1/documents");
    auto r = run_command(hub_.curl("az.mddt", args));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    size_t nl = r.out.rfind('\n');
    return {r.out.substr(nl + 1), r.out.substr(0, nl)};
  }

  std::string metadata_file(const std::string& ref, const std::string& kind = "letter",
                            bool encrypted = false) {
    json::object file{{"name", kLetter}};
    if (encrypted) file["encrypted"] = true;
    json::object m{{"sender_ref", ref},
                   {"kind", kind},
                   {"subject", "Test"},
                   {"urgency", "normal"},
                   {"recipients", json::object{{"to", json::array{"az.finance"}}}},
                   {"files", json::array{file}}};
    write_file(tmp_ / (ref + ".json"), json::serialize(m));
    return "metadata=@" + (tmp_ / (ref + ".json")) + ";type=application/json";
  }

  int outbox_size() {
    auto r = run_command(as("az.mddt", {"outbox", "--json"}));
    return static_cast<int>(json::parse(r.out).at("documents").as_array().size());
  }

  HubProcess hub_{{"az.mddt", "az.finance"}};
  TempDir tmp_;
};

TEST_F(SignaturesTest, SignedLetterIsRecordedValidWithItsSigner) {
  start();
  json::object doc = send_signed(example(kLetter), example(kLetter + ".p7s"));
  json::object sig = signature_of(doc);
  EXPECT_EQ(sig["status"].as_string(), "valid");
  EXPECT_EQ(sig["signer"].as_string(), kSigner);
  EXPECT_EQ(sig["size"].to_number<int64_t>(),
            static_cast<int64_t>(fs::file_size(example(kLetter + ".p7s"))));
}

TEST_F(SignaturesTest, RecipientReceivesTheSignatureBesideTheFile) {
  start();
  json::object doc = send_signed(example(kLetter), example(kLetter + ".p7s"));
  std::string id(doc["id"].as_string());
  auto fetched = run_command(as("az.finance", {"fetch", id, "--out", tmp_ / "in"}));
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(read_file(tmp_ / ("in/" + kLetter + ".p7s")), read_file(example(kLetter + ".p7s")));
  EXPECT_EQ(read_file(tmp_ / ("in/" + kLetter)), read_file(example(kLetter)));
}

TEST_F(SignaturesTest, LetterWithOneByteChangedIsRecordedInvalid) {
  start();
  std::string letter = read_file(example(kLetter));
  letter[letter.size() / 2] ^= 0x20;
  fs::create_directories(tmp_ / "changed");
  write_file(tmp_ / ("changed/" + kLetter), letter);
  json::object doc = send_signed(tmp_ / ("changed/" + kLetter), example(kLetter + ".p7s"));
  EXPECT_EQ(signature_of(doc)["status"].as_string(), "invalid");
}

TEST_F(SignaturesTest, SignerOfAnUntrustedRootIsUnknown) {
  fs::remove(hub_.dir() + "/trust/test-root-ca.pem");
  start();
  json::object doc = send_signed(example(kLetter), example(kLetter + ".p7s"));
  EXPECT_EQ(signature_of(doc)["status"].as_string(), "unknown_signer");
  EXPECT_EQ(signature_of(doc)["signer"].as_string(), kSigner);
}

TEST_F(SignaturesTest, SignerListedInATrustedCrlIsRevoked) {
  auto signer = crypto::inspect_cert(read_file(pki_file("signer.pem")));
  ASSERT_TRUE(signer.ok());
  crypto::KeyAndCert root{read_file(pki_file("test-root-ca.key")),
                          read_file(pki_file("test-root-ca.pem"))};
  auto crl = crypto::make_crl(root, {{signer->serial, std::time(nullptr) - 60}}, 30);
  ASSERT_TRUE(crl.ok()) << crl.status().message();
  write_file(hub_.dir() + "/trust/test-root-ca.crl", *crl);
  start();
  json::object doc = send_signed(example(kLetter), example(kLetter + ".p7s"));
  EXPECT_EQ(signature_of(doc)["status"].as_string(), "revoked");
}

TEST_F(SignaturesTest, JournalEntryCoversTheRecordedOutcome) {
  fs::remove(hub_.dir() + "/trust/test-root-ca.pem");
  start();
  json::object doc = send_signed(example(kLetter), example(kLetter + ".p7s"));
  ASSERT_EQ(signature_of(doc)["status"].as_string(), "unknown_signer");
  hub_.stop(SIGTERM);
  ASSERT_EQ(hub_.verify_journal().exit_code, 0) << hub_.verify_journal().out;

  // Someone with the database upgrades the outcome: the journal notices.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((hub_.dir() + "/sened.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE files SET signature_status = 'valid'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto verify = hub_.verify_journal();
  EXPECT_NE(verify.exit_code, 0);
  EXPECT_NE((verify.out + verify.err).find(std::string(doc["id"].as_string())), std::string::npos)
      << verify.out << verify.err;
}

TEST_F(SignaturesTest, SignaturePartBeforeAnyFileIsRefusedAndNothingStored) {
  start();
  auto [status, body] = post({metadata_file("sig-first"), "signature=@" + example(kLetter + ".p7s"),
                              "file=@" + example(kLetter)});
  EXPECT_EQ(status, "400") << body;
  EXPECT_NE(body.find("right after its 'file' part"), std::string::npos) << body;
  EXPECT_EQ(outbox_size(), 0);
}

TEST_F(SignaturesTest, SecondSignaturePartForOneFileIsRefused) {
  start();
  auto [status, body] =
      post({metadata_file("sig-twice"), "file=@" + example(kLetter),
            "signature=@" + example(kLetter + ".p7s"), "signature=@" + example(kLetter + ".p7s")});
  EXPECT_EQ(status, "400") << body;
  EXPECT_EQ(outbox_size(), 0);
}

TEST_F(SignaturesTest, SignatureThatIsNotCmsIsRefused) {
  start();
  write_file(tmp_ / "bogus.p7s", "not a signature");
  auto [status, body] = post({metadata_file("sig-bogus"), "file=@" + example(kLetter),
                              "signature=@" + (tmp_ / "bogus.p7s")});
  EXPECT_EQ(status, "400") << body;
  EXPECT_NE(body.find("signature of file 0"), std::string::npos) << body;
  EXPECT_EQ(outbox_size(), 0);
}

TEST_F(SignaturesTest, EncryptedFileSignatureIsNotChecked) {
  start();
  auto [status, body] = post({metadata_file("sig-enc", "letter", true), "file=@" + example(kLetter),
                              "signature=@" + example(kLetter + ".p7s")});
  ASSERT_EQ(status, "201") << body;
  json::object doc = json::parse(body).as_object();
  EXPECT_EQ(signature_of(doc)["status"].as_string(), "not_checked");
  EXPECT_EQ(signature_of(doc)["signer"].as_string(), "") << "the hub does not read it";
  EXPECT_TRUE(doc["files"].as_array()[0].as_object()["encrypted"].as_bool());
}

// An encrypted file's signature is ciphertext the hub cannot parse: it is
// passed on as it is, not refused as a signature that is not CMS.
TEST_F(SignaturesTest, EncryptedFileSignatureIsNotParsed) {
  start();
  write_file(tmp_ / "sealed.p7s", "ciphertext the hub cannot read");
  auto [status, body] = post({metadata_file("sig-sealed", "letter", true),
                              "file=@" + example(kLetter), "signature=@" + (tmp_ / "sealed.p7s")});
  ASSERT_EQ(status, "201") << body;
  json::object doc = json::parse(body).as_object();
  EXPECT_EQ(signature_of(doc)["status"].as_string(), "not_checked");
  EXPECT_EQ(signature_of(doc)["sha256"].as_string(),
            crypto::sha256_hex(read_file(tmp_ / "sealed.p7s")));
  auto served = run_command(hub_.curl(
      "az.finance",
      {hub_.url() + "/v1/documents/" + std::string(doc["id"].as_string()) + "/files/0/signature"}));
  EXPECT_EQ(served.out, "ciphertext the hub cannot read");
}

TEST_F(SignaturesTest, PolicyRefusesAnOrderWithoutAValidSignature) {
  hub_.set_config("require_valid_for_kinds", "[\"order\"]");
  start();
  auto [status, body] = post({metadata_file("order-1", "order"), "file=@" + example(kLetter)});
  EXPECT_EQ(status, "422") << body;
  EXPECT_NE(body.find("needs a valid signature"), std::string::npos) << body;
  EXPECT_NE(body.find("\"code\":\"policy_refused\""), std::string::npos) << body;
  EXPECT_EQ(outbox_size(), 0);

  std::string letter = read_file(example(kLetter));
  letter[100] ^= 0x01;
  write_file(tmp_ / kLetter, letter);
  auto [bad_status, bad_body] =
      post({metadata_file("order-2", "order"), "file=@" + (tmp_ / kLetter),
            "signature=@" + example(kLetter + ".p7s")});
  EXPECT_EQ(bad_status, "422") << bad_body;
  EXPECT_NE(bad_body.find("invalid"), std::string::npos) << bad_body;
  EXPECT_EQ(outbox_size(), 0);
}

TEST_F(SignaturesTest, PolicyAcceptsAnOrderWithAValidSignature) {
  hub_.set_config("require_valid_for_kinds", "[\"order\"]");
  start();
  json::object doc = send_signed(example(kLetter), example(kLetter + ".p7s"), "order");
  EXPECT_EQ(signature_of(doc)["status"].as_string(), "valid");
  EXPECT_EQ(outbox_size(), 1);
}

// The sender_ref the CLI derives once ignored signatures: a resend with a new
// signature was answered "already sent" and the new signature dropped.
TEST_F(SignaturesTest, ResendingWithADifferentSignatureIsANewDocument) {
  start();
  json::object first = send_signed(example(kLetter), example(kLetter + ".p7s"));
  auto other = crypto::sign_detached_file(example(kLetter), read_file(pki_file("signer.key")),
                                          read_file(pki_file("signer.pem")));
  ASSERT_TRUE(other.ok()) << other.status().message();
  fs::create_directories(tmp_ / "new");
  write_file(tmp_ / ("new/" + kLetter + ".p7s"), *other);
  ASSERT_NE(*other, read_file(example(kLetter + ".p7s")));

  auto again = run_command(
      as("az.mddt", {"send", "--to", "az.finance", "--subject", "İmzalı məktub", example(kLetter),
                     "--signature", tmp_ / ("new/" + kLetter + ".p7s")}));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.find("already sent"), std::string::npos) << again.out;
  std::string id = again.out.substr(again.out.rfind('\n', again.out.size() - 2) + 1);
  id.pop_back();
  EXPECT_NE(id, std::string(first["id"].as_string()));
  EXPECT_EQ(outbox_size(), 2);
  auto shown = run_command(as("az.mddt", {"status", "--json", id}));
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(signature_of(json::parse(shown.out).as_object())["sha256"].as_string(),
            crypto::sha256_hex(*other));
}

TEST_F(SignaturesTest, AnExactRetryOfASignedSendIsTheSameDocument) {
  start();
  json::object first = send_signed(example(kLetter), example(kLetter + ".p7s"));
  auto again =
      run_command(as("az.mddt", {"send", "--to", "az.finance", "--subject", "İmzalı məktub",
                                 example(kLetter), "--signature", example(kLetter + ".p7s")}));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already sent with this sender_ref"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find(std::string(first["id"].as_string())), std::string::npos) << again.out;
  EXPECT_EQ(outbox_size(), 1);
}

TEST_F(SignaturesTest, CliRefusesASignatureItCannotPair) {
  start();
  write_file(tmp_ / "a.p7s", read_file(example(kLetter + ".p7s")));
  write_file(tmp_ / "b.p7s", read_file(example(kLetter + ".p7s")));
  auto r =
      run_command(as("az.mddt", {"send", "--to", "az.finance", "--subject", "x", example(kLetter),
                                 "--signature", tmp_ / "a.p7s", "--signature", tmp_ / "b.p7s"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("FILE.p7s"), std::string::npos) << r.err;
  EXPECT_EQ(outbox_size(), 0);
}

}  // namespace
}  // namespace sened::testing
