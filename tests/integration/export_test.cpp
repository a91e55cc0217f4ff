// `sened export` and `sened export verify` against the real hub, and the
// container read by ordinary tools and the stock openssl.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include "crypto/cms.h"
#include "crypto/digest.h"
#include "crypto/pki.h"
#include "crypto/zip.h"
#include "exchange/asic.h"
#include "journal/checkpoint.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

std::string last_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

// Gives the hub a receipt key and certificate issued by its own CA, where
// its configuration looks for them (receipts/receipts.key|pem).
void give_receipt_key(const HubProcess& hub) {
  crypto::KeyAndCert ca{read_file(hub.dir() + "/ca/ca.key"), read_file(hub.dir() + "/ca/ca.pem")};
  auto key = crypto::make_ec_key_pem();
  ASSERT_TRUE(key.ok());
  auto csr = crypto::make_csr(*key, "Sened hub receipts");
  ASSERT_TRUE(csr.ok());
  auto cert = crypto::sign_csr(ca, *csr, "Sened hub receipts", "Sened", 30);
  ASSERT_TRUE(cert.ok()) << cert.status().to_string();
  fs::create_directories(hub.dir() + "/receipts");
  write_file(hub.dir() + "/receipts/receipts.key", *key);
  write_file(hub.dir() + "/receipts/receipts.pem", *cert);
}

// A container's entries, in order, read whole (test containers are small).
std::vector<crypto::ZipInput> entries_of(const std::string& path) {
  auto zip = crypto::ZipReader::open(path);
  EXPECT_TRUE(zip.ok()) << zip.status().to_string();
  std::vector<crypto::ZipInput> out;
  for (size_t i = 0; i < (*zip)->entries().size(); ++i) {
    auto bytes = (*zip)->read_all(i, 1 << 24);
    EXPECT_TRUE(bytes.ok());
    out.push_back({(*zip)->entries()[i].name, std::nullopt, *bytes});
  }
  return out;
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    give_receipt_key(hub_);
    hub_.start();
    write_file(work_ / "Məktub.txt", "the letter");
    write_file(work_ / "əlavə.txt", "the annex");
    auto sent = run_command(as("az.mddt", {"send", "--to", "az.finance", "--subject", "Evidence",
                                           work_ / "Məktub.txt", work_ / "əlavə.txt"}));
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
    id_ = last_line(sent.out);
    ASSERT_EQ(run_command(as("az.finance", {"ack", id_})).exit_code, 0);
    wait_for_proof(2);  // submitted, delivered
    auto exported = run_command(as("az.mddt", {"export", id_, "--out", bundle()}));
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
  }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_.client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 2, {"--hub", hub_.url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }

  // Polls until the latest checkpoint proves `entries` entries of the
  // document (the hub signs one about every second).
  void wait_for_proof(size_t entries) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    CommandResult p;
    while (std::chrono::steady_clock::now() < deadline) {
      p = run_command(journal_as("az.mddt", {"proof", id_}));
      if (p.exit_code == 0 &&
          json::parse(p.out).as_object().at("entries").as_array().size() >= entries) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "no checkpoint proves the document's entries: " << p.out << p.err;
  }

  // `sened journal SUB ...` as `org` (the connection flags go after SUB).
  std::vector<std::string> journal_as(const std::string& org, std::vector<std::string> args) {
    auto cmd = as(org, std::move(args));
    cmd.insert(cmd.begin() + 1, "journal");
    return cmd;
  }

  std::string bundle() const { return work_ / "evidence.asice"; }
  std::string ca() const { return hub_.client_dir("az.mddt") + "/ca.pem"; }

  CommandResult verify(const std::string& path) {
    return run_command({sened_binary(), "export", "verify", path, "--chain", ca()});
  }

  // Writes a copy of the bundle changed by `change` and verifies it.
  CommandResult verify_changed(const std::function<void(std::vector<crypto::ZipInput>&)>& change) {
    auto entries = entries_of(bundle());
    change(entries);
    std::string path = work_ / "changed.asice";
    Status st = crypto::write_zip(path, entries);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return verify(path);
  }

  // As verify_changed, but the manifest is then rewritten over the changed
  // bytes and signed by a stranger's certificate, so that the digests all
  // hold and only the checks of the evidence itself can find the change.
  // Verified without --chain (nothing anchored, as a forger would hope).
  CommandResult verify_resigned(const std::function<void(std::vector<crypto::ZipInput>&)>& change) {
    return run_command({sened_binary(), "export", "verify", resign(change)});
  }

  // Writes the bundle changed by `change` under a manifest re-made and
  // signed by a stranger (as another, unrelated hub would sign it); returns
  // its path.
  std::string resign(const std::function<void(std::vector<crypto::ZipInput>&)>& change) {
    auto entries = entries_of(bundle());
    change(entries);
    std::map<std::string, std::string> types;
    for (const auto& e : entries) {
      if (e.name != exchange::asic::kManifestEntry) continue;
      auto listed = exchange::asic::parse_manifest(e.data);
      EXPECT_TRUE(listed.ok());
      for (const auto& o : *listed) types[o.name] = o.mime_type;
    }
    std::vector<exchange::asic::DataObject> objects;
    for (const auto& e : entries) {
      if (types.count(e.name))
        objects.push_back({e.name, types[e.name], crypto::sha256_hex(e.data)});
    }
    std::string manifest = exchange::asic::make_manifest(objects);
    auto ca = crypto::make_ca("Forger CA", "Elsewhere", 30);
    EXPECT_TRUE(ca.ok());
    auto signer = crypto::issue_client_cert(*ca, "Forger", "Elsewhere", 30);
    EXPECT_TRUE(signer.ok());
    auto signature = crypto::sign_detached(manifest, signer->key_pem, signer->cert_pem);
    EXPECT_TRUE(signature.ok());
    for (auto& e : entries) {
      if (e.name == exchange::asic::kManifestEntry) e.data = manifest;
      if (e.name == exchange::asic::kSignatureEntry) e.data = *signature;
    }
    std::string path = work_ / "resigned.asice";
    Status st = crypto::write_zip(path, entries);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return path;
  }

  // Changes one character of entry `name` just after the first `marker`.
  static void flip_after(std::vector<crypto::ZipInput>& entries, const std::string& name,
                         const std::string& marker) {
    for (auto& e : entries) {
      if (e.name != name) continue;
      size_t at = e.data.find(marker);
      ASSERT_NE(at, std::string::npos) << name;
      char& c = e.data[at + marker.size()];
      c = c == 'a' ? 'b' : 'a';
      return;
    }
    FAIL() << "no entry " << name;
  }

  HubProcess hub_{{"az.mddt", "az.finance", "az.baku-executive"}};
  TempDir work_;
  std::string id_;
};

TEST_F(ExportTest, TheBundleVerifiesAgainstTheHubsCa) {
  auto r = verify(bundle());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok    files/0/Məktub.txt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok    signature"), std::string::npos);
  auto ca_info = crypto::inspect_cert(read_file(ca()));
  ASSERT_TRUE(ca_info.ok());
  EXPECT_NE(r.out.find("chains to the given CA: " + ca_info->subject + ")"), std::string::npos)
      << r.out;
  auto unanchored = run_command({sened_binary(), "export", "verify", bundle()});
  EXPECT_EQ(unanchored.exit_code, 0) << unanchored.err;
  EXPECT_NE(unanchored.out.find("not checked against a CA"), std::string::npos);
}

TEST_F(ExportTest, OrdinaryZipToolsListItWithMimetypeFirstAndStored) {
  auto unzip = run_command({"unzip", "-l", bundle()});
  ASSERT_EQ(unzip.exit_code, 0) << unzip.err;
  for (const char* name : {"mimetype", "files/0/Məktub.txt", "files/1/əlavə.txt", "document.json",
                           "history.json", "META-INF/ASiCManifest.xml", "META-INF/signature.p7s"}) {
    EXPECT_NE(unzip.out.find(name), std::string::npos) << name << "\n" << unzip.out;
  }
  auto py = run_command({"python3", "-m", "zipfile", "-l", bundle()});
  EXPECT_EQ(py.exit_code, 0) << py.err;
  auto zip = crypto::ZipReader::open(bundle());
  ASSERT_TRUE(zip.ok());
  const auto& first = (*zip)->entries()[0];
  EXPECT_EQ(first.name, "mimetype");
  EXPECT_TRUE(first.stored);
  EXPECT_FALSE(first.extra_field);
  std::string raw = read_file(bundle());
  EXPECT_EQ(raw.substr(30, 8 + 31), "mimetypeapplication/vnd.etsi.asic-e+zip");
}

TEST_F(ExportTest, StockOpensslVerifiesTheManifestSignature) {
  auto manifest = run_command({"unzip", "-o", "-q", bundle(), "META-INF/*", "-d", work_ / "x"});
  ASSERT_EQ(manifest.exit_code, 0) << manifest.err;
  auto r = run_command({"openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
                        work_ / "x/META-INF/signature.p7s", "-content",
                        work_ / "x/META-INF/ASiCManifest.xml", "-CAfile", ca(), "-purpose", "any",
                        "-out", "/dev/null"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string xml = read_file(work_ / "x/META-INF/ASiCManifest.xml");
  EXPECT_NE(xml.find("<asic:SigReference URI=\"META-INF/signature.p7s\""), std::string::npos);
  EXPECT_NE(xml.find("http://www.w3.org/2001/04/xmlenc#sha256"), std::string::npos);
}

TEST_F(ExportTest, AModifiedDataObjectFailsAndIsNamed) {
  auto r = verify_changed([](auto& entries) {
    for (auto& e : entries) {
      if (e.name == "files/1/əlavə.txt") e.data = "the annex, edited";
    }
  });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  files/1/əlavə.txt: its SHA-256 does not match the manifest"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("evidence does not verify: files/1/əlavə.txt"), std::string::npos) << r.err;
}

TEST_F(ExportTest, ARemovedDataObjectFailsAndIsNamed) {
  auto r = verify_changed([](auto& entries) {
    std::erase_if(entries, [](const auto& e) { return e.name == "history.json"; });
  });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  history.json: listed in the manifest but missing"), std::string::npos)
      << r.out;
}

TEST_F(ExportTest, AnAddedDataObjectFailsAndIsNamed) {
  auto r = verify_changed([](auto& entries) {
    entries.insert(entries.end() - 2, {"extra.txt", std::nullopt, "x"});
  });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  extra.txt: not listed in the manifest"), std::string::npos) << r.out;
}

TEST_F(ExportTest, AChangedManifestFailsTheSignature) {
  auto r = verify_changed([](auto& entries) {
    for (auto& e : entries) {
      if (e.name == "META-INF/ASiCManifest.xml") e.data += "<!-- edited -->\n";
    }
  });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  signature: the signature does not verify"), std::string::npos)
      << r.out;
}

TEST_F(ExportTest, ASignatureFromAnotherCaFailsWithChain) {
  auto other = crypto::make_ca("Other CA", "Elsewhere", 30);
  ASSERT_TRUE(other.ok());
  write_file(work_ / "other-ca.pem", other->cert_pem);
  auto r = run_command(
      {sened_binary(), "export", "verify", bundle(), "--chain", work_ / "other-ca.pem"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  signature"), std::string::npos) << r.out;
}

TEST_F(ExportTest, AMimetypeThatIsNotFirstFails) {
  auto r = verify_changed([](auto& entries) { std::swap(entries[0], entries[1]); });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  mimetype"), std::string::npos) << r.out;
}

TEST_F(ExportTest, AFileThatIsNotAZipIsRefused) {
  write_file(work_ / "junk.asice", "not a zip");
  auto r = verify(work_ / "junk.asice");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
}

TEST_F(ExportTest, OnlyThePartiesMayExport) {
  auto r = run_command(as("az.baku-executive", {"export", id_, "--out", work_ / "no.asice"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(work_ / "no.asice"));
  auto recipient = run_command(as("az.finance", {"export", id_, "--out", work_ / "fin.asice"}));
  EXPECT_EQ(recipient.exit_code, 0) << recipient.err;
  EXPECT_EQ(verify(work_ / "fin.asice").exit_code, 0);
}

TEST(ExportWithoutReceiptKeyTest, TheHubSaysItCannotSign) {
  // The hub makes its receipt key on start; the key going away later (the
  // evidence route reads it on every call) must be answered clearly.
  HubProcess hub({"az.mddt", "az.finance"});
  hub.start();
  std::error_code ec;
  fs::remove(hub.dir() + "/receipts/receipts.key", ec);
  TempDir work;
  write_file(work / "a.txt", "a");
  std::string d = hub.client_dir("az.mddt");
  std::vector<std::string> conn{"--hub",  hub.url(),       "--ca",  d + "/ca.pem",
                                "--cert", d + "/cert.pem", "--key", d + "/key.pem"};
  std::vector<std::string> send{sened_binary(), "send"};
  send.insert(send.end(), conn.begin(), conn.end());
  send.insert(send.end(), {"--to", "az.finance", "--subject", "s", work / "a.txt"});
  auto sent = run_command(send);
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::vector<std::string> exp{sened_binary(), "export"};
  exp.insert(exp.end(), conn.begin(), conn.end());
  exp.insert(exp.end(), {last_line(sent.out), "--out", work / "e.asice"});
  auto r = run_command(exp);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unavailable: the hub has no receipt key"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(work / "e.asice"));
}

TEST_F(ExportTest, TheBundleHoldsReceiptsProofCheckpointAndLogKey) {
  auto unzip = run_command({"unzip", "-l", bundle()});
  ASSERT_EQ(unzip.exit_code, 0) << unzip.err;
  for (const char* name : {"receipts/accepted-az.mddt.p7s", "receipts/delivered-az.finance.p7s",
                           "journal/proof.json", "journal/checkpoint", "journal/key.json"}) {
    EXPECT_NE(unzip.out.find(name), std::string::npos) << name << "\n" << unzip.out;
  }
  std::string manifest;
  for (const auto& e : entries_of(bundle())) {
    if (e.name == "META-INF/ASiCManifest.xml") manifest = e.data;
  }
  EXPECT_NE(manifest.find("URI=\"receipts/accepted-az.mddt.p7s\""), std::string::npos);
  EXPECT_NE(manifest.find("URI=\"journal/proof.json\""), std::string::npos);
  EXPECT_NE(manifest.find("URI=\"journal/checkpoint\""), std::string::npos);

  auto r = verify(bundle());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* ok :
       {"ok    receipts/accepted-az.mddt.p7s", "ok    receipts/delivered-az.finance.p7s",
        "ok    journal/proof.json", "ok    journal/checkpoint"}) {
    EXPECT_NE(r.out.find(ok), std::string::npos) << ok << "\n" << r.out;
  }
}

TEST_F(ExportTest, TheProofIsTheOneJournalProofGives) {
  std::string proof;
  for (const auto& e : entries_of(bundle())) {
    if (e.name == "journal/proof.json") proof = e.data;
  }
  auto p = run_command(journal_as("az.finance", {"proof", id_, "--out", work_ / "proof.json"}));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  // A later checkpoint may have grown the tree: compare the entries.
  json::object mine = json::parse(proof).as_object();
  json::object theirs = json::parse(read_file(work_ / "proof.json")).as_object();
  EXPECT_EQ(mine.at("entries").as_array().size(), theirs.at("entries").as_array().size());
  EXPECT_EQ(mine.at("format"), theirs.at("format"));
}

TEST_F(ExportTest, APinnedLogKeyIsUsedAndAnotherFails) {
  auto head = run_command(journal_as("az.mddt", {"head", "--out", work_ / "head"}));
  ASSERT_EQ(head.exit_code, 0) << head.err;
  auto pinned = run_command({sened_binary(), "export", "verify", bundle(), "--chain", ca(),
                             "--log-key", work_ / "head/hub-key.pem"});
  EXPECT_EQ(pinned.exit_code, 0) << pinned.out << pinned.err;
  EXPECT_EQ(pinned.out.find("pin it with --log-key"), std::string::npos) << pinned.out;

  auto other = journal::make_note_key("sened.local/journal");
  ASSERT_TRUE(other.ok());
  auto r = run_command({sened_binary(), "export", "verify", bundle(), "--chain", ca(), "--log-key",
                        journal::verifier_key_string(*other)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.out.find("FAIL  journal/proof.json: journal/key.json is not the key given by --log-key"),
      std::string::npos)
      << r.out;
}

TEST_F(ExportTest, AChangedReceiptFailsAndIsNamed) {
  // Under the hub's own manifest, the digest gives it away.
  auto direct = verify_changed([](auto& entries) {
    flip_after(entries, "receipts/accepted-az.mddt.p7s", "\"subject\":\"");
  });
  EXPECT_EQ(direct.exit_code, 1);
  EXPECT_NE(direct.out.find("FAIL  receipts/accepted-az.mddt.p7s"), std::string::npos)
      << direct.out;

  // Under a re-made manifest, the receipt's own signature does.
  auto r = verify_resigned([](auto& entries) {
    flip_after(entries, "receipts/accepted-az.mddt.p7s", "\"subject\":\"");
  });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  receipts/accepted-az.mddt.p7s: signature invalid"), std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("receipts/accepted-az.mddt.p7s"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("ok    receipts/delivered-az.finance.p7s"), std::string::npos) << r.out;
}

TEST_F(ExportTest, AChangedProofFailsAndIsNamed) {
  auto r = verify_resigned(
      [](auto& entries) { flip_after(entries, "journal/proof.json", "\"salt\":\""); });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  journal/proof.json"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("journal/proof.json"), std::string::npos) << r.err;
}

TEST_F(ExportTest, AChangedCheckpointFailsAndIsNamed) {
  // The root hash is the third line of the note.
  auto r = verify_resigned([](auto& entries) {
    for (auto& e : entries) {
      if (e.name != "journal/checkpoint") continue;
      size_t root = e.data.find('\n', e.data.find('\n') + 1) + 1;
      e.data[root] = e.data[root] == 'A' ? 'B' : 'A';
    }
  });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  journal/checkpoint"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok    journal/proof.json"), std::string::npos) << r.out;
}

TEST_F(ExportTest, AnUntouchedReMadeManifestStillPassesTheEvidenceChecks) {
  auto r = verify_resigned([](auto&) {});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("not checked against a CA"), std::string::npos) << r.out;
}

TEST_F(ExportTest, AnEmptyChainFileIsRefusedNotReadAsNoCa) {
  // Signed by someone else entirely: only the CA check could tell.
  std::string foreign = resign([](auto&) {});
  write_file(work_ / "empty.pem", "");
  write_file(work_ / "page.pem", "<html>404 Not Found</html>\n");
  for (const std::string& chain : {std::string(work_ / "empty.pem"), std::string("/dev/null"),
                                   std::string(work_ / "page.pem")}) {
    auto r = run_command({sened_binary(), "export", "verify", foreign, "--chain", chain});
    EXPECT_EQ(r.exit_code, 1) << chain << "\n" << r.out;
    EXPECT_NE(r.err.find("--chain " + chain + ": the chain file holds no certificate"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.out.find("not checked against a CA"), std::string::npos) << r.out;
  }
  auto unset = run_command({sened_binary(), "export", "verify", foreign, "--chain", ""});
  EXPECT_EQ(unset.exit_code, 1);
  EXPECT_NE(unset.err.find("--chain names no file"), std::string::npos) << unset.err;
  // The hub's own bundle is refused the same way: the file is wrong, not the bundle.
  auto own = run_command({sened_binary(), "export", "verify", bundle(), "--chain", "/dev/null"});
  EXPECT_EQ(own.exit_code, 1);
  EXPECT_NE(own.err.find("the chain file holds no certificate"), std::string::npos) << own.err;
}

TEST_F(ExportTest, AnEmptyLogKeyFileIsRefusedNotReadAsNoPin) {
  write_file(work_ / "empty.key", "\n");
  auto r = run_command({sened_binary(), "export", "verify", bundle(), "--chain", ca(), "--log-key",
                        work_ / "empty.key"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the file holds no key"), std::string::npos) << r.err;
}

TEST_F(ExportTest, AnUnsignedEntryInMetaInfIsRefusedAndNamed) {
  auto r = verify_changed([](auto& entries) {
    entries.insert(entries.end() - 2, {"META-INF/extra.xml", std::nullopt, "<unsigned/>"});
  });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  META-INF/extra.xml: not listed in the manifest"), std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("META-INF/extra.xml"), std::string::npos) << r.err;
}

TEST_F(ExportTest, AReceiptWithBytesAppendedFailsAndIsNamed) {
  std::string path = resign([](auto& entries) {
    for (auto& e : entries) {
      if (e.name == "receipts/accepted-az.mddt.p7s") e.data += "PS";
    }
  });
  auto r = run_command({sened_binary(), "export", "verify", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  receipts/accepted-az.mddt.p7s: 2 bytes after the signature"),
            std::string::npos)
      << r.out;
}

TEST_F(ExportTest, AManifestSignatureWithBytesAppendedFails) {
  auto r = verify_changed([](auto& entries) {
    for (auto& e : entries) {
      if (e.name == "META-INF/signature.p7s") e.data += "x";
    }
  });
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  signature: 1 bytes after the signature"), std::string::npos) << r.out;
}

TEST_F(ExportTest, WithJsonEveryOutcomeIsJson) {
  write_file(work_ / "junk.asice", "not a zip");
  write_file(work_ / "empty.pem", "");
  struct Case {
    std::vector<std::string> args;
    std::string code;
  };
  for (const Case& c :
       std::vector<Case>{{{work_ / "junk.asice"}, "invalid_argument"},
                         {{work_ / "missing.asice"}, ""},
                         {{bundle(), "--chain", work_ / "empty.pem"}, "invalid_argument"},
                         {{bundle(), "--chain", work_ / "missing.pem"}, "not_found"}}) {
    std::vector<std::string> cmd{sened_binary(), "export", "verify", "--json"};
    cmd.insert(cmd.end(), c.args.begin(), c.args.end());
    auto r = run_command(cmd);
    EXPECT_EQ(r.exit_code, 1) << c.args[0];
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    ASSERT_FALSE(ec) << "not JSON: " << r.out;
    EXPECT_EQ(v.at("ok"), false) << r.out;
    const json::object& error = v.at("error").as_object();
    if (!c.code.empty()) EXPECT_EQ(error.at("code").as_string(), c.code) << r.out;
    EXPECT_FALSE(error.at("message").as_string().empty());
  }
  auto good =
      run_command({sened_binary(), "export", "verify", "--json", bundle(), "--chain", ca()});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  json::object o = json::parse(good.out).as_object();
  EXPECT_EQ(o.at("ok"), true);
  EXPECT_EQ(o.at("anchored"), true);
  EXPECT_FALSE(o.at("anchor").as_string().empty());
}

}  // namespace
}  // namespace sened::testing
