// The `sened` command line, run as a user runs it, against a real hub.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>

#include "crypto/digest.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

const std::string kLetter = "Məktub № 14-3-2051 (inteqrasiya).pdf";
const std::string kReply = "Письмо № 07-118к.docx";

std::string example(const std::string& name) {
  return source_dir() + "/examples/documents/" + name;
}

std::string last_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

TEST(CliTest, PrintsItsVersion) {
  auto r = run_command({sened_binary(), "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("sened ") + SENED_VERSION + "\n");
}

TEST(CliTest, EveryCommandHasHelp) {
  const std::vector<std::vector<std::string>> commands = {{},
                                                          {"hub"},
                                                          {"admin"},
                                                          {"admin", "init"},
                                                          {"admin", "org"},
                                                          {"admin", "org", "import"},
                                                          {"admin", "org", "add"},
                                                          {"admin", "org", "list"},
                                                          {"admin", "org", "suspend"},
                                                          {"admin", "org", "activate"},
                                                          {"admin", "org", "retire"},
                                                          {"admin", "cert"},
                                                          {"admin", "cert", "issue"},
                                                          {"admin", "cert", "list"},
                                                          {"admin", "cert", "revoke"},
                                                          {"send"},
                                                          {"inbox"},
                                                          {"outbox"},
                                                          {"participants"},
                                                          {"fetch"},
                                                          {"ack"},
                                                          {"register"},
                                                          {"reject"},
                                                          {"status"},
                                                          {"history"},
                                                          {"journal"},
                                                          {"journal", "verify"},
                                                          {"demo"}};
  for (auto args : commands) {
    args.insert(args.begin(), sened_binary());
    args.push_back("--help");
    auto r = run_command(args);
    EXPECT_EQ(r.exit_code, 0) << args.size();
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << r.out;
  }
}

TEST(CliTest, ClientHelpSaysWhereTheConnectionComesFrom) {
  auto r = run_command({sened_binary(), "send", "--help"});
  EXPECT_NE(r.out.find("SENED_HUB"), std::string::npos);
  EXPECT_NE(r.out.find("profile.toml"), std::string::npos);
}

TEST(CliTest, RefusesToInitAnExistingDataFolder) {
  HubProcess hub({});
  auto r = hub.sened({"admin", "init", "--data", hub.dir()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("conflict"), std::string::npos) << r.err;
}

// A mistyped store address is refused, never made into an empty store that
// would report "no participants" or a journal that verifies.
TEST(CliTest, AStoreThatDoesNotExistIsRefusedAndNotMade) {
  HubProcess hub({});
  for (std::vector<std::string> args : {std::vector<std::string>{"admin", "org", "list"},
                                        {"journal", "verify"},
                                        {"journal", "export"},
                                        {"journal", "head", "--json"}}) {
    args.insert(args.end(), {"--data", hub.dir(), "--store", "sqlite:typo.db"});
    auto r = hub.sened(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << " " << args[1];
    EXPECT_NE(r.err.find("no Sened store at"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(hub.dir() + "/typo.db"));
}

// The hub certificate names what clients reach the hub by (the stock
// openssl reads them); a bad name fails init and leaves no folder.
TEST(CliTest, InitPutsEachHostInTheHubCertificate) {
  TempDir dir;
  auto r = run_command({sened_binary(), "admin", "init", "--data", dir / "hub", "--host",
                        "sened-1.gov.az", "--host", "10.0.0.5", "--host", "sened-1.gov.az"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto names = run_command(
      {"openssl", "x509", "-in", dir / "hub/tls/hub.pem", "-noout", "-ext", "subjectAltName"});
  ASSERT_EQ(names.exit_code, 0) << names.err;
  for (const char* name :
       {"DNS:localhost", "DNS:sened-1.gov.az", "IP Address:127.0.0.1", "IP Address:10.0.0.5"}) {
    EXPECT_NE(names.out.find(name), std::string::npos) << names.out;
  }
  EXPECT_EQ(names.out.find("sened-1.gov.az"), names.out.rfind("sened-1.gov.az")) << names.out;

  for (const char* host : {"two words", "", "-x", "x-", "a..b", "x/y", "host:443", ".example",
                           "*.example", "999.1.1.1", "example.123"}) {
    auto bad =
        run_command({sened_binary(), "admin", "init", "--data", dir / "other", "--host", host});
    EXPECT_EQ(bad.exit_code, 1) << host;
    EXPECT_NE(bad.err.find("is not a host name or IP address"), std::string::npos) << bad.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "other")) << host;
  }
  std::string long_label(64, 'a');
  auto too_long = run_command({sened_binary(), "admin", "init", "--data", dir / "other", "--host",
                               long_label + ".example"});
  EXPECT_EQ(too_long.exit_code, 1);
  EXPECT_NE(too_long.err.find("1 to 63 characters"), std::string::npos) << too_long.err;
}

// Files the CLI reads whole are refused past a size, never read to the end.
TEST(CliTest, AnEndlessInputFileIsRefusedBySize) {
  auto r = run_command({sened_binary(), "receipt", "verify", "/dev/zero"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is larger than"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CliTest, ImportsTheRegistryWithItsNamesIntact) {
  HubProcess hub({});
  auto r = hub.sened({"admin", "org", "list", "--data", hub.dir(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::array list = json::parse(r.out).as_array();
  EXPECT_EQ(list.size(), 29u);
  bool found = false;
  for (const auto& p : list) {
    if (p.at("id").as_string() == "az.azerishig") {
      found = true;
      EXPECT_EQ(p.at("name_az").as_string(), "\"Azərişıq\" ASC");
      EXPECT_EQ(p.at("status").as_string(), "active");
    }
  }
  EXPECT_TRUE(found);
}

TEST(CliTest, OrgAddRefusesABadIdAndChangesNothing) {
  HubProcess hub({});
  auto r = hub.sened({"admin", "org", "add", "--data", hub.dir(), "--id", "Bad/Id", "--category",
                      "other", "--obligation", "recommended", "--name-az", "X", "--name-en", "X"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
  auto list = hub.sened({"admin", "org", "list", "--data", hub.dir(), "--json"});
  EXPECT_EQ(json::parse(list.out).as_array().size(), 29u);
}

TEST(CliTest, OrgLifecycleCommandsChangeTheStatus) {
  HubProcess hub({});
  ASSERT_EQ(hub.sened({"admin", "org", "retire", "--data", hub.dir(), "az.cec"}).exit_code, 0);
  auto list = hub.sened({"admin", "org", "list", "--data", hub.dir()});
  EXPECT_NE(list.out.find("az.cec\tretired"), std::string::npos) << list.out;
  auto missing = hub.sened({"admin", "org", "suspend", "--data", hub.dir(), "az.nowhere"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("not_found"), std::string::npos);
}

TEST(CliTest, ImportingAgainKeepsEachParticipantsStatus) {
  HubProcess hub({});
  ASSERT_EQ(hub.sened({"admin", "org", "suspend", "--data", hub.dir(), "az.health"}).exit_code, 0);
  ASSERT_EQ(hub.sened({"admin", "org", "import", "--data", hub.dir(),
                       source_dir() + "/examples/participants.csv"})
                .exit_code,
            0);
  auto list = hub.sened({"admin", "org", "list", "--data", hub.dir()});
  EXPECT_NE(list.out.find("az.health\tsuspended"), std::string::npos) << list.out;
}

TEST(CliTest, RetirementIsFinal) {
  HubProcess hub({});
  ASSERT_EQ(hub.sened({"admin", "org", "retire", "--data", hub.dir(), "az.cec"}).exit_code, 0);
  auto again = hub.sened({"admin", "org", "activate", "--data", hub.dir(), "az.cec"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("conflict"), std::string::npos) << again.err;
  TempDir tmp;
  auto cert = hub.sened(
      {"admin", "cert", "issue", "--data", hub.dir(), "--org", "az.cec", "--out", tmp / "c"});
  EXPECT_EQ(cert.exit_code, 1);
}

TEST(CliTest, CertIssueDoesNotReplaceAnExistingKey) {
  HubProcess hub({"az.mddt"});
  std::string key = read_file(hub.client_dir("az.mddt") + "/key.pem");
  auto r = hub.sened({"admin", "cert", "issue", "--data", hub.dir(), "--org", "az.education",
                      "--out", hub.client_dir("az.mddt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(hub.client_dir("az.mddt") + "/key.pem"), key);
}

TEST(CliTest, TheDatabaseAndKeysAreReadableByTheHubsUserOnly) {
  HubProcess hub({});
  for (const char* f : {"/sened.db", "/ca/ca.key", "/tls/hub.key"}) {
    auto perms = fs::status(hub.dir() + f).permissions();
    EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none) << f;
  }
}

TEST(CliTest, IssuesACertificateFromTheParticipantsOwnRequest) {
  HubProcess hub({});
  TempDir tmp;
  ASSERT_EQ(run_command({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", tmp / "key.pem", "-subj",
                         "/CN=whatever", "-out", tmp / "req.pem"})
                .exit_code,
            0);
  auto r = hub.sened({"admin", "cert", "issue", "--data", hub.dir(), "--org", "az.health", "--csr",
                      tmp / "req.pem", "--out", tmp / "out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(tmp / "out/cert.pem"));
  EXPECT_TRUE(fs::exists(tmp / "out/ca.pem"));
  EXPECT_FALSE(fs::exists(tmp / "out/key.pem"));  // the key stays with its owner
  auto check =
      run_command({"openssl", "verify", "-CAfile", tmp / "out/ca.pem", tmp / "out/cert.pem"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

class CliExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override { hub_.start(); }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_.client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 2, {"--hub", hub_.url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }

  HubProcess hub_{{"az.mddt", "az.finance", "az.baku-executive"}};
};

TEST_F(CliExchangeTest, SendingTheSameCommandTwiceMakesOneDocument) {
  auto cmd = as("az.mddt", {"send", "--to", "az.finance", "--subject", "Test", example(kLetter)});
  auto first = run_command(cmd);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = run_command(cmd);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(last_line(first.out), last_line(second.out));
  EXPECT_NE(first.out.find("sender_ref: cli-"), std::string::npos);
  auto outbox = run_command(as("az.mddt", {"outbox", "--json"}));
  EXPECT_EQ(json::parse(outbox.out).at("documents").as_array().size(), 1u);
}

TEST_F(CliExchangeTest, FetchWritesTheExactNamesAndTheEnvelope) {
  auto sent = run_command(as("az.finance", {"send", "--to", "az.mddt", "--kind", "reply",
                                            "--subject", "Ответ", example(kReply)}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id = last_line(sent.out);
  TempDir out;
  auto fetched = run_command(as("az.mddt", {"fetch", id, "--out", out.path()}));
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_EQ(read_file(out / kReply), read_file(example(kReply)));
  json::object envelope = json::parse(read_file(out / "envelope.json")).as_object();
  EXPECT_EQ(envelope.at("id").as_string(), id);
  EXPECT_EQ(envelope.at("sender").as_string(), "az.finance");
}

TEST_F(CliExchangeTest, FetchPrintsJsonForScripts) {
  auto sent = run_command(as("az.finance", {"send", "--to", "az.mddt", "--kind", "reply",
                                            "--subject", "Ответ", example(kReply)}));
  std::string id = last_line(sent.out);
  TempDir out;
  auto fetched = run_command(as("az.mddt", {"fetch", id, "--out", out.path(), "--json"}));
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  json::object o = json::parse(fetched.out).as_object();
  EXPECT_EQ(o.at("document").as_string(), id);
  EXPECT_EQ(o.at("files").as_array()[0].at("name").as_string(), kReply);
  EXPECT_EQ(o.at("files").as_array()[0].at("sha256").as_string(),
            crypto::sha256_hex(read_file(example(kReply))));
}

TEST_F(CliExchangeTest, ReadsTheConnectionFromTheEnvironmentAndAProfile) {
  std::string d = hub_.client_dir("az.finance");
  TempDir tmp;
  write_file(tmp / "profile.toml", "hub = \"" + hub_.url() + "\"\ncert = \"" + d +
                                       "/cert.pem\"\nkey = \"" + d + "/key.pem\"\n");
  setenv("SENED_PROFILE", (tmp / "profile.toml").c_str(), 1);
  setenv("SENED_CA", (d + "/ca.pem").c_str(), 1);
  auto r = run_command({sened_binary(), "participants"});
  unsetenv("SENED_PROFILE");
  unsetenv("SENED_CA");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("az.finance\tactive\tMaliyyə Nazirliyi"), std::string::npos) << r.out;
}

TEST_F(CliExchangeTest, SaysClearlyWhenNoHubIsGiven) {
  auto r = run_command({sened_binary(), "inbox", "--cert", "x", "--key", "y", "--ca", "z"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no hub given"), std::string::npos) << r.err;
}

TEST_F(CliExchangeTest, StatusShowsEachRecipient) {
  auto sent = run_command(as("az.mddt", {"send", "--to", "az.finance", "--cc", "az.baku-executive",
                                         "--subject", "S", example(kLetter)}));
  std::string id = last_line(sent.out);
  ASSERT_EQ(run_command(as("az.finance", {"register", id, "--number", "N-1"})).exit_code, 0);
  ASSERT_EQ(run_command(as("az.baku-executive", {"reject", id, "--reason", "no"})).exit_code, 0);
  auto status = run_command(as("az.mddt", {"status", id}));
  EXPECT_NE(status.out.find("az.finance (to): registered number N-1"), std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("az.baku-executive (cc): rejected reason: no"), std::string::npos);
  auto history = run_command(as("az.mddt", {"history", id}));
  EXPECT_NE(history.out.find("delivery.registered\tby az.finance"), std::string::npos)
      << history.out;
}

class JournalTamperTest : public CliExchangeTest {
 protected:
  // Sends two documents and acts on them, then stops the hub so that the
  // test may edit its database like an intruder with file access.
  void SetUp() override {
    CliExchangeTest::SetUp();
    for (const char* subject : {"one", "two"}) {
      auto sent = run_command(
          as("az.mddt", {"send", "--to", "az.finance", "--subject", subject, example(kLetter)}));
      ASSERT_EQ(sent.exit_code, 0) << sent.err;
      ASSERT_EQ(run_command(as("az.finance", {"ack", last_line(sent.out)})).exit_code, 0);
    }
    hub_.stop(SIGTERM);
    ASSERT_EQ(hub_.verify_journal().exit_code, 0);
  }

  // Runs SQL on the hub's database the way an intruder with file access
  // would: dropping the store's append-only triggers first.
  void sql(const std::string& statement) {
    auto r = run_command({"sqlite3", hub_.dir() + "/sened.db",
                          "DROP TRIGGER IF EXISTS journal_no_update; "
                          "DROP TRIGGER IF EXISTS journal_no_delete; " +
                              statement});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  int last_seq() { return hub_.journal_entries(); }
};

TEST_F(JournalTamperTest, NamesAnEditedEntry) {
  std::string seq = std::to_string(last_seq() - 2);
  sql("UPDATE journal SET actor = 'az.justice' WHERE seq = " + seq);
  auto r = hub_.verify_journal();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("entry " + seq + ":"), std::string::npos) << r.out;
}

TEST_F(JournalTamperTest, NamesADeletedEntry) {
  int n = last_seq();
  sql("DELETE FROM journal WHERE seq = " + std::to_string(n - 3));
  auto r = hub_.verify_journal();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("entry " + std::to_string(n - 2) + ":"), std::string::npos) << r.out;
}

TEST_F(JournalTamperTest, NoticesTheLastEntryDeleted) {
  int n = last_seq();
  sql("DELETE FROM journal WHERE seq = " + std::to_string(n));
  auto r = hub_.verify_journal();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("BROKEN"), std::string::npos) << r.out;
}

TEST_F(JournalTamperTest, NamesReorderedEntries) {
  int n = last_seq();
  std::string a = std::to_string(n - 2), b = std::to_string(n - 1);
  sql("UPDATE journal SET seq = -1 WHERE seq = " + a + "; UPDATE journal SET seq = " + a +
      " WHERE seq = " + b + "; UPDATE journal SET seq = " + b + " WHERE seq = -1;");
  auto r = hub_.verify_journal();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("entry " + a + ":"), std::string::npos) << r.out;
}

TEST_F(JournalTamperTest, NoticesAnEditedDocumentRow) {
  sql("UPDATE documents SET subject = 'FORGED' WHERE subject = 'one'");
  auto r = hub_.verify_journal();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("BROKEN at entry"), std::string::npos) << r.out;
}

TEST_F(JournalTamperTest, NoticesAForgedDeliveryStatus) {
  sql("UPDATE deliveries SET status = 'registered', reg_number = 'FORGED-1'");
  auto r = hub_.verify_journal();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("BROKEN at entry"), std::string::npos) << r.out;
}

TEST_F(JournalTamperTest, NoticesAnUnjournaledCertificate) {
  sql("INSERT INTO certificates SELECT 'ABCDEF', participant, '" + std::string(64, 'e') +
      "', subject, not_before, not_after, revoked, revoked_at, pem, 0 FROM certificates LIMIT 1");
  auto r = hub_.verify_journal();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

TEST(DemoTest, RunsTheWholeExchangeOnce) {
  TempDir tmp;
  auto r = run_command({sened_binary(), "demo", "--once", "--data", tmp / "demo", "--examples",
                        source_dir() + "/examples"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("journal ok"), std::string::npos);
  EXPECT_NE(r.out.find("az.finance (to): registered"), std::string::npos);
  EXPECT_NE(r.out.find("az.baku-executive (cc): rejected"), std::string::npos);
  EXPECT_NE(r.out.find("SHA-256 equal to the original: " + kLetter), std::string::npos);
}

}  // namespace
}  // namespace sened::testing
