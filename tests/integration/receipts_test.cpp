// Signed receipts against the real hub: fetched with `sened receipt get`,
// checked with `sened receipt verify` and with the stock `openssl cms`.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>

#include "support/hub_process.h"

namespace sened::testing {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

const std::string kLetter = "Məktub № 14-3-2051 (inteqrasiya).pdf";

std::string example(const std::string& name) {
  return source_dir() + "/examples/documents/" + name;
}

std::string last_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

class ReceiptsTest : public ::testing::Test {
 protected:
  void SetUp() override { hub_.start(); }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_.client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 3, {"--hub", hub_.url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }

  std::vector<std::string> client(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_.client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 2, {"--hub", hub_.url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }

  // A letter from az.mddt to az.finance (registers it) and az.justice
  // (rejects it): every receipt event happens.
  std::string exchange_letter() {
    auto sent = run_command(client("az.mddt", {"send", "--to", "az.finance,az.justice", "--subject",
                                               "Qəbz", example(kLetter)}));
    EXPECT_EQ(sent.exit_code, 0) << sent.err;
    std::string id = last_line(sent.out);
    auto reg = run_command(client("az.finance", {"register", id, "--number", "MF-1/77"}));
    EXPECT_EQ(reg.exit_code, 0) << reg.err;
    auto rej = run_command(client("az.justice", {"reject", id, "--reason", "Ünvan səhvdir"}));
    EXPECT_EQ(rej.exit_code, 0) << rej.err;
    return id;
  }

  CommandResult get(const std::string& org, const std::string& id, const std::string& out) {
    return run_command(as(org, {"receipt", "get", id, "--out", out}));
  }

  CommandResult openssl_verify(const std::string& file, const std::string& chain) {
    return run_command({"openssl", "cms", "-verify", "-inform", "DER", "-in", file, "-CAfile",
                        chain, "-purpose", "any"});
  }

  HubProcess hub_{{"az.mddt", "az.finance", "az.justice", "az.baku-executive"}};
  TempDir tmp_;
};

const std::vector<std::pair<std::string, std::string>> kExpected = {{"accepted", "az.mddt"},
                                                                    {"delivered", "az.finance"},
                                                                    {"registered", "az.finance"},
                                                                    {"delivered", "az.justice"},
                                                                    {"rejected", "az.justice"}};

TEST_F(ReceiptsTest, GetSavesEveryEventsReceiptAndTheChain) {
  std::string id = exchange_letter();
  auto r = get("az.mddt", id, tmp_ / "r");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(tmp_ / "r/hub-chain.pem"));
  int files = 0;
  for (const auto& e : fs::directory_iterator(tmp_.path() + "/r"))
    files += e.path().extension() == ".p7s";
  EXPECT_EQ(files, 5);
  for (const auto& [event, who] : kExpected) {
    EXPECT_TRUE(fs::exists(tmp_ / ("r/" + event + "-" + who + ".p7s"))) << event << " " << who;
  }
}

TEST_F(ReceiptsTest, EachReceiptVerifiesWithTheCliAndCarriesItsFacts) {
  std::string id = exchange_letter();
  ASSERT_EQ(get("az.mddt", id, tmp_ / "r").exit_code, 0);
  for (const auto& [event, who] : kExpected) {
    std::string file = tmp_ / ("r/" + event + "-" + who + ".p7s");
    auto v = run_command({sened_binary(), "receipt", "verify", file});
    ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
    EXPECT_NE(v.err.find("is valid"), std::string::npos) << v.err;
    json::object o = json::parse(v.out).as_object();
    EXPECT_EQ(o["event"].as_string(), event);
    EXPECT_EQ(o["participant"].as_string(), who);
    EXPECT_EQ(o["document"].as_string(), id);
    EXPECT_EQ(o["sender"].as_string(), "az.mddt");
    EXPECT_EQ(o["journal_index"].to_number<int64_t>(), o["journal_seq"].to_number<int64_t>() - 1);
    EXPECT_EQ(o["recipients"].as_array().size(), 2u);
    json::object file0 = o["files"].as_array()[0].as_object();
    EXPECT_EQ(file0["name"].as_string(), kLetter);
    EXPECT_EQ(file0["size"].to_number<int64_t>(),
              static_cast<int64_t>(fs::file_size(example(kLetter))));
    EXPECT_FALSE(o["time"].as_string().empty());
  }
}

TEST_F(ReceiptsTest, StockOpensslVerifiesAReceiptAndPrintsItsJson) {
  std::string id = exchange_letter();
  ASSERT_EQ(get("az.finance", id, tmp_ / "r").exit_code, 0);
  for (const auto& [event, who] : kExpected) {
    auto v = openssl_verify(tmp_ / ("r/" + event + "-" + who + ".p7s"), tmp_ / "r/hub-chain.pem");
    ASSERT_EQ(v.exit_code, 0) << v.err;
    EXPECT_NE(v.err.find("Verification successful"), std::string::npos) << v.err;
    json::object o = json::parse(v.out).as_object();
    EXPECT_EQ(o["event"].as_string(), event);
    EXPECT_EQ(o["document"].as_string(), id);
  }
}

TEST_F(ReceiptsTest, ReceiptWithOneByteChangedFailsBothChecks) {
  std::string id = exchange_letter();
  ASSERT_EQ(get("az.mddt", id, tmp_ / "r").exit_code, 0);
  std::string der = read_file(tmp_ / "r/accepted-az.mddt.p7s");
  size_t at = der.find("az.finance");
  ASSERT_NE(at, std::string::npos);
  der[at + 3] = 'F';
  write_file(tmp_ / "r/changed.p7s", der);

  auto v = run_command({sened_binary(), "receipt", "verify", tmp_ / "r/changed.p7s"});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.err.find("INVALID"), std::string::npos) << v.err;
  EXPECT_EQ(v.out, "") << "a forged receipt's JSON must not reach stdout";
  auto o = openssl_verify(tmp_ / "r/changed.p7s", tmp_ / "r/hub-chain.pem");
  EXPECT_NE(o.exit_code, 0);
  EXPECT_EQ(o.err.find("Verification successful"), std::string::npos) << o.err;
}

TEST_F(ReceiptsTest, ReceiptFromAnotherHubsChainIsInvalid) {
  std::string id = exchange_letter();
  ASSERT_EQ(get("az.mddt", id, tmp_ / "r").exit_code, 0);
  auto other = run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", tmp_ / "o.key", "-subj",
                            "/CN=Other", "-days", "2", "-out", tmp_ / "o.pem"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  auto v = run_command({sened_binary(), "receipt", "verify", tmp_ / "r/accepted-az.mddt.p7s",
                        "--chain", tmp_ / "o.pem"});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.err.find("unknown_signer"), std::string::npos) << v.err;
  EXPECT_EQ(v.out, "") << "another hub's receipt's JSON must not reach stdout";
}

TEST_F(ReceiptsTest, AnEmptyChainFileIsRefusedNotReadAsNoCa) {
  std::string id = exchange_letter();
  ASSERT_EQ(get("az.mddt", id, tmp_ / "r").exit_code, 0);
  write_file(tmp_ / "empty.pem", "");
  std::string receipt = tmp_ / "r/accepted-az.mddt.p7s";
  for (const std::string& chain : {tmp_ / "empty.pem", std::string("/dev/null")}) {
    auto v = run_command({sened_binary(), "receipt", "verify", receipt, "--chain", chain});
    EXPECT_EQ(v.exit_code, 1) << chain;
    EXPECT_NE(v.err.find("the chain file holds no certificate"), std::string::npos) << v.err;
    EXPECT_EQ(v.out, "") << chain;
  }
  // An empty --chain value (an unset variable) does not fall back to the
  // chain beside the receipt.
  auto unset = run_command({sened_binary(), "receipt", "verify", receipt, "--chain", ""});
  EXPECT_EQ(unset.exit_code, 1);
  EXPECT_NE(unset.err.find("--chain names no file"), std::string::npos) << unset.err;
  EXPECT_EQ(unset.out, "");
  // The same for the hub-chain.pem beside the receipt.
  write_file(tmp_ / "r/hub-chain.pem", "");
  auto beside = run_command({sened_binary(), "receipt", "verify", receipt});
  EXPECT_EQ(beside.exit_code, 1);
  EXPECT_NE(beside.err.find("the chain file holds no certificate"), std::string::npos)
      << beside.err;
  EXPECT_EQ(beside.out, "");
}

TEST_F(ReceiptsTest, AReceiptWithBytesAppendedIsRefused) {
  std::string id = exchange_letter();
  ASSERT_EQ(get("az.mddt", id, tmp_ / "r").exit_code, 0);
  write_file(tmp_ / "r/longer.p7s", read_file(tmp_ / "r/accepted-az.mddt.p7s") + "PS: forged");
  auto v = run_command({sened_binary(), "receipt", "verify", tmp_ / "r/longer.p7s"});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.err.find("10 bytes after the signature"), std::string::npos) << v.err;
  EXPECT_EQ(v.out, "");
}

TEST_F(ReceiptsTest, VerifyNamesTheCaItTrustedAndWhereItsChainCameFrom) {
  std::string id = exchange_letter();
  ASSERT_EQ(get("az.mddt", id, tmp_ / "r").exit_code, 0);
  auto ca = run_command({"openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in",
                         hub_.dir() + "/ca/ca.pem"});
  ASSERT_EQ(ca.exit_code, 0) << ca.err;
  std::string subject = ca.out.substr(ca.out.find('=') + 1);
  subject.erase(subject.find_last_not_of('\n') + 1);
  std::string receipt = tmp_ / "r/accepted-az.mddt.p7s";

  auto beside = run_command({sened_binary(), "receipt", "verify", receipt});
  ASSERT_EQ(beside.exit_code, 0) << beside.err;
  EXPECT_NE(beside.err.find("trusted CA: " + subject + " (from "), std::string::npos)
      << subject << "\n"
      << beside.err;
  EXPECT_NE(beside.err.find("the chain beside the receipt"), std::string::npos) << beside.err;

  auto given = run_command({sened_binary(), "receipt", "verify", receipt, "--chain",
                            hub_.client_dir("az.mddt") + "/ca.pem"});
  ASSERT_EQ(given.exit_code, 0) << given.err;
  EXPECT_NE(given.err.find("trusted CA: " + subject), std::string::npos) << given.err;
  EXPECT_EQ(given.err.find("the chain beside the receipt"), std::string::npos) << given.err;
}

TEST_F(ReceiptsTest, AskingAgainReturnsTheSameBytes) {
  std::string id = exchange_letter();
  ASSERT_EQ(get("az.mddt", id, tmp_ / "a").exit_code, 0);
  ASSERT_EQ(get("az.justice", id, tmp_ / "b").exit_code, 0);
  for (const auto& [event, who] : kExpected) {
    std::string name = event + "-" + who + ".p7s";
    EXPECT_EQ(read_file(tmp_ / ("a/" + name)), read_file(tmp_ / ("b/" + name))) << name;
  }
}

TEST_F(ReceiptsTest, OnlyTheDocumentsPartiesGetItsReceipts) {
  std::string id = exchange_letter();
  auto r = get("az.baku-executive", id, tmp_ / "r");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp_ / "r/accepted-az.mddt.p7s"));
}

TEST_F(ReceiptsTest, ReceiptsBeforeDeliveryHoldOnlyTheAcceptance) {
  auto sent = run_command(
      client("az.mddt", {"send", "--to", "az.finance", "--subject", "Tək", example(kLetter)}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  ASSERT_EQ(get("az.mddt", last_line(sent.out), tmp_ / "r").exit_code, 0);
  EXPECT_TRUE(fs::exists(tmp_ / "r/accepted-az.mddt.p7s"));
  EXPECT_FALSE(fs::exists(tmp_ / "r/delivered-az.finance.p7s"));
}

TEST_F(ReceiptsTest, InitMadeTheReceiptKeyIssuedByTheHubCa) {
  auto v = run_command({"openssl", "verify", "-CAfile", hub_.dir() + "/ca/ca.pem",
                        hub_.dir() + "/receipts/receipts.pem"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST_F(ReceiptsTest, HubMakesAMissingReceiptKeyAtStart) {
  hub_.stop(SIGTERM);
  fs::remove(hub_.dir() + "/receipts/receipts.key");
  fs::remove(hub_.dir() + "/receipts/receipts.pem");
  hub_.start();
  EXPECT_TRUE(fs::exists(hub_.dir() + "/receipts/receipts.key"));
  std::string id = exchange_letter();
  ASSERT_EQ(get("az.mddt", id, tmp_ / "r").exit_code, 0);
  auto v = openssl_verify(tmp_ / "r/accepted-az.mddt.p7s", tmp_ / "r/hub-chain.pem");
  EXPECT_EQ(v.exit_code, 0) << v.err;
}

}  // namespace
}  // namespace sened::testing
