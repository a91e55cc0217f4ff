#include "crypto/trust_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "crypto/pki.h"
#include "support/test_support.h"

namespace sened::crypto {
namespace {

using sened::testing::TempDir;
using sened::testing::write_file;

constexpr int kDays = 30;

KeyAndCert must(Result<KeyAndCert> r) {
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return *r;
}

std::string must(Result<std::string> r) {
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return *r;
}

std::string serial_of(const std::string& cert_pem) {
  auto info = inspect_cert(cert_pem);
  EXPECT_TRUE(info.ok());
  return info->serial;
}

// A hub data layout: ca.pem and crl.pem of the hub CA, an empty trust folder,
// and a second ("national") CA that is not trusted until a test adds it.
class TrustStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_ca_ = must(make_ca("Hub CA", "Sened", kDays));
    national_ca_ = must(make_ca("National CA", "Republic", kDays));
    write_file(ca_file(), hub_ca_.cert_pem);
    write_file(crl_file(), must(make_crl(hub_ca_, {}, kDays)));
    std::filesystem::create_directories(trust_dir());
  }

  std::string ca_file() const { return dir_ / "ca.pem"; }
  std::string crl_file() const { return dir_ / "crl.pem"; }
  std::string trust_dir() const { return dir_ / "trust"; }

  Result<TrustMaterial> load() const {
    return load_trust_files(ca_file(), crl_file(), trust_dir());
  }
  TrustMaterial loaded() const {
    auto m = load();
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    return m.ok() ? *m : TrustMaterial{};
  }
  void trust_national() const { write_file(trust_dir() + "/national.pem", national_ca_.cert_pem); }

  TempDir dir_;
  KeyAndCert hub_ca_;
  KeyAndCert national_ca_;
};

TEST_F(TrustStoreTest, LoadsTheHubCaAndItsCrlFirst) {
  TrustMaterial m = loaded();
  ASSERT_EQ(m.ca_pems.size(), 1u);
  ASSERT_EQ(m.crl_pems.size(), 1u);
  EXPECT_EQ(m.ca_paths, std::vector<std::string>{ca_file()});
  EXPECT_EQ(m.hub_ca_path, ca_file());
  EXPECT_EQ(m.ca_pems[0], hub_ca_.cert_pem);
  EXPECT_EQ(m.hub_crl_path, crl_file());
  EXPECT_FALSE(m.stamp.empty());
}

TEST_F(TrustStoreTest, AMissingTrustFolderMeansOnlyTheHubCa) {
  std::filesystem::remove_all(trust_dir());
  TrustMaterial m = loaded();
  EXPECT_EQ(m.ca_pems.size(), 1u);
  EXPECT_EQ(m.crl_pems.size(), 1u);
}

TEST_F(TrustStoreTest, AddsTheTrustFolderCasAndCrlsAndIgnoresOtherFiles) {
  trust_national();
  write_file(trust_dir() + "/national.crl", must(make_crl(national_ca_, {}, kDays)));
  write_file(trust_dir() + "/README.txt", "not a certificate");
  TrustMaterial m = loaded();
  ASSERT_EQ(m.ca_pems.size(), 2u);
  ASSERT_EQ(m.crl_pems.size(), 2u);
  EXPECT_EQ(m.ca_paths[1], trust_dir() + "/national.pem");
  EXPECT_EQ(m.crl_paths[1], trust_dir() + "/national.crl");
  EXPECT_EQ(m.ca_bundle(), hub_ca_.cert_pem + national_ca_.cert_pem);
}

TEST_F(TrustStoreTest, ADamagedCaFileIsAnErrorNamingIt) {
  std::string damaged = national_ca_.cert_pem;
  damaged[damaged.size() / 2] = damaged[damaged.size() / 2] == 'A' ? 'B' : 'A';
  damaged.insert(damaged.size() / 2, "!!");
  write_file(trust_dir() + "/broken.pem", damaged);
  auto m = load();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("broken.pem"), std::string::npos) << m.status().message();
}

TEST_F(TrustStoreTest, AnEmptyCaFileIsAnErrorNamingIt) {
  write_file(trust_dir() + "/empty.pem", "");
  auto m = load();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("empty.pem"), std::string::npos);
}

TEST_F(TrustStoreTest, ALeafCertificateInTheTrustFolderIsRefused) {
  KeyAndCert leaf = must(issue_client_cert(national_ca_, "az.x", "X", kDays));
  write_file(trust_dir() + "/leaf.pem", leaf.cert_pem);
  auto m = load();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("not a CA certificate"), std::string::npos);
  EXPECT_NE(m.status().message().find("leaf.pem"), std::string::npos);
}

TEST_F(TrustStoreTest, ACrlOfAnUntrustedCaIsRefused) {
  write_file(trust_dir() + "/national.crl", must(make_crl(national_ca_, {}, kDays)));
  auto m = load();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("national.crl"), std::string::npos);
}

TEST_F(TrustStoreTest, ADamagedCrlIsAnErrorNamingIt) {
  trust_national();
  write_file(trust_dir() + "/national.crl",
             "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
  auto m = load();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("national.crl"), std::string::npos);
}

TEST_F(TrustStoreTest, AMissingHubCaIsNotFound) {
  std::filesystem::remove(ca_file());
  auto m = load();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kNotFound);
}

TEST_F(TrustStoreTest, TheStampChangesWhenAFileIsAddedChangedOrRemoved) {
  std::string before = trust_stamp(ca_file(), crl_file(), trust_dir());
  EXPECT_EQ(before, trust_stamp(ca_file(), crl_file(), trust_dir()));
  trust_national();
  std::string added = trust_stamp(ca_file(), crl_file(), trust_dir());
  EXPECT_NE(added, before);
  write_file(crl_file(), must(make_crl(hub_ca_, {{"0A", 1}}, kDays)));
  std::string changed = trust_stamp(ca_file(), crl_file(), trust_dir());
  EXPECT_NE(changed, added);
  std::filesystem::remove(trust_dir() + "/national.pem");
  EXPECT_NE(trust_stamp(ca_file(), crl_file(), trust_dir()), changed);
}

TEST_F(TrustStoreTest, VerifiesACertificateOfAnExternalCaThatHasNoCrl) {
  trust_national();
  KeyAndCert leaf = must(issue_client_cert(national_ca_, "az.x", "X", kDays));
  EXPECT_TRUE(verify_with_trust(loaded(), leaf.cert_pem).ok());
}

TEST_F(TrustStoreTest, RefusesACertificateRevokedByTheExternalCasCrl) {
  trust_national();
  KeyAndCert leaf = must(issue_client_cert(national_ca_, "az.x", "X", kDays));
  write_file(trust_dir() + "/national.crl",
             must(make_crl(national_ca_, {{serial_of(leaf.cert_pem), 1}}, kDays)));
  Status st = verify_with_trust(loaded(), leaf.cert_pem);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("revoked"), std::string::npos) << st.message();
}

TEST_F(TrustStoreTest, RefusesACertificateRevokedByTheHubCrl) {
  KeyAndCert leaf = must(issue_client_cert(hub_ca_, "az.x", "X", kDays));
  EXPECT_TRUE(verify_with_trust(loaded(), leaf.cert_pem).ok());
  write_file(crl_file(), must(make_crl(hub_ca_, {{serial_of(leaf.cert_pem), 1}}, kDays)));
  EXPECT_EQ(verify_with_trust(loaded(), leaf.cert_pem).code(), Code::kPermissionDenied);
}

TEST_F(TrustStoreTest, RefusesACertificateOfAnUntrustedCa) {
  KeyAndCert leaf = must(issue_client_cert(national_ca_, "az.x", "X", kDays));
  Status st = verify_with_trust(loaded(), leaf.cert_pem);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
}

TEST_F(TrustStoreTest, TheTlsClientPurposeRefusesAServerOnlyCertificate) {
  trust_national();
  write_file(dir_ / "national.key", national_ca_.key_pem);
  auto made = sened::testing::run_command({"openssl",
                                           "req",
                                           "-x509",
                                           "-newkey",
                                           "ec",
                                           "-pkeyopt",
                                           "ec_paramgen_curve:P-256",
                                           "-nodes",
                                           "-keyout",
                                           dir_ / "srv.key",
                                           "-subj",
                                           "/CN=srv",
                                           "-days",
                                           "5",
                                           "-CA",
                                           trust_dir() + "/national.pem",
                                           "-CAkey",
                                           dir_ / "national.key",
                                           "-addext",
                                           "extendedKeyUsage=serverAuth",
                                           "-addext",
                                           "basicConstraints=CA:FALSE",
                                           "-out",
                                           dir_ / "srv.pem"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string server = sened::testing::read_file(dir_ / "srv.pem");
  EXPECT_TRUE(verify_with_trust(loaded(), server).ok());
  Status st = verify_with_trust(loaded(), server, "", CertPurpose::kTlsClient);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("purpose"), std::string::npos) << st.message();
  KeyAndCert client = must(issue_client_cert(national_ca_, "az.x", "X", kDays));
  EXPECT_TRUE(verify_with_trust(loaded(), client.cert_pem, "", CertPurpose::kTlsClient).ok());
}

TEST_F(TrustStoreTest, MaterialBuiltByHandVerifiesToo) {
  KeyAndCert leaf = must(issue_client_cert(national_ca_, "az.x", "X", kDays));
  TrustMaterial m;
  m.ca_pems.push_back(national_ca_.cert_pem);
  EXPECT_TRUE(verify_with_trust(m, leaf.cert_pem).ok());
  m.crl_pems.push_back(must(make_crl(national_ca_, {{serial_of(leaf.cert_pem), 1}}, kDays)));
  EXPECT_EQ(verify_with_trust(m, leaf.cert_pem).code(), Code::kPermissionDenied);
  auto list = describe_trust(m);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].name, "CA certificate #1");
}

TEST_F(TrustStoreTest, AKeyMatchesOnlyItsOwnCertificate) {
  KeyAndCert one = must(issue_client_cert(hub_ca_, "az.x", "X", kDays));
  KeyAndCert two = must(issue_client_cert(hub_ca_, "az.x", "X", kDays));
  EXPECT_TRUE(check_key_matches_cert(one.cert_pem, one.key_pem).ok());
  EXPECT_EQ(check_key_matches_cert(one.cert_pem, two.key_pem).code(), Code::kInvalidArgument);
  EXPECT_EQ(check_key_matches_cert(one.cert_pem, "").code(), Code::kInvalidArgument);
  EXPECT_EQ(check_key_matches_cert("", one.key_pem).code(), Code::kInvalidArgument);
}

TEST_F(TrustStoreTest, TheCrlsOfACaFileAreFound) {
  trust_national();
  write_file(trust_dir() + "/national.crl", must(make_crl(national_ca_, {}, kDays)));
  TrustMaterial m = loaded();
  EXPECT_EQ(crls_of_ca_file(m, trust_dir() + "/national.pem"),
            std::vector<std::string>{trust_dir() + "/national.crl"});
  EXPECT_EQ(crls_of_ca_file(m, ca_file()), std::vector<std::string>{crl_file()});
}

TEST_F(TrustStoreTest, AdditionDetectsACaCertificate) {
  auto a = check_trust_addition(loaded(), trust_dir(), national_ca_.cert_pem, "national");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->kind, TrustKind::kCa);
  EXPECT_EQ(a->file_name, "national.pem");
  EXPECT_FALSE(a->replaces);
  EXPECT_EQ(a->subject, "CN=National CA,O=Republic");
  EXPECT_EQ(a->fingerprint, inspect_cert(national_ca_.cert_pem)->fingerprint);
}

TEST_F(TrustStoreTest, AdditionKeepsOnlyTheParsedCaCertificateNotTheTextAroundIt) {
  std::string wrapped = "Subject: National CA\nrun this: rm -rf /\n" + national_ca_.cert_pem +
                        "-----END OF MESSAGE-----\ntrailing words\n";
  auto a = check_trust_addition(loaded(), trust_dir(), wrapped, "national");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u) << a->pem;
  EXPECT_TRUE(a->pem.ends_with("-----END CERTIFICATE-----\n")) << a->pem;
  EXPECT_EQ(a->pem.find("rm -rf"), std::string::npos);
  EXPECT_EQ(a->pem.find("trailing"), std::string::npos);
  EXPECT_EQ(inspect_cert(a->pem)->fingerprint, a->fingerprint);
}

TEST_F(TrustStoreTest, AdditionKeepsOnlyTheParsedCrlNotTheTextAroundIt) {
  trust_national();
  std::string crl = must(make_crl(national_ca_, {{"0D", 1}}, kDays));
  auto a = check_trust_addition(loaded(), trust_dir(), "note: revoked\n" + crl + "bye\n", "n");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->pem.rfind("-----BEGIN X509 CRL-----\n", 0), 0u) << a->pem;
  EXPECT_TRUE(a->pem.ends_with("-----END X509 CRL-----\n")) << a->pem;
  EXPECT_EQ(a->pem.find("note"), std::string::npos);
  EXPECT_EQ(a->pem.find("bye"), std::string::npos);
}

TEST_F(TrustStoreTest, AdditionRefusesALeafCertificate) {
  KeyAndCert leaf = must(issue_client_cert(national_ca_, "az.x", "X", kDays));
  auto a = check_trust_addition(loaded(), trust_dir(), leaf.cert_pem, "leaf");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("not a CA"), std::string::npos);
}

TEST_F(TrustStoreTest, AdditionRefusesAKeyOrTwoBlocksOrText) {
  for (const std::string& pem :
       {national_ca_.key_pem, national_ca_.cert_pem + hub_ca_.cert_pem, std::string("hello")}) {
    auto a = check_trust_addition(loaded(), trust_dir(), pem, "x");
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  }
}

TEST_F(TrustStoreTest, AdditionRefusesACaAlreadyTrusted) {
  trust_national();
  auto a = check_trust_addition(loaded(), trust_dir(), national_ca_.cert_pem, "again");
  EXPECT_EQ(a.status().code(), Code::kConflict);
  auto hub = check_trust_addition(loaded(), trust_dir(), hub_ca_.cert_pem, "hub");
  EXPECT_EQ(hub.status().code(), Code::kConflict);
}

TEST_F(TrustStoreTest, AdditionRefusesATakenName) {
  KeyAndCert other = must(make_ca("Other CA", "", kDays));
  trust_national();
  auto a = check_trust_addition(loaded(), trust_dir(), other.cert_pem, "national");
  EXPECT_EQ(a.status().code(), Code::kConflict);
}

TEST_F(TrustStoreTest, AdditionRefusesANameWithASlash) {
  auto a = check_trust_addition(loaded(), trust_dir(), national_ca_.cert_pem, "../evil");
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
}

TEST_F(TrustStoreTest, AdditionRefusesTheHubCasCrl) {
  auto a = check_trust_addition(loaded(), trust_dir(), must(make_crl(hub_ca_, {}, kDays)), "hub");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("admin cert revoke"), std::string::npos);
}

TEST_F(TrustStoreTest, AdditionRefusesACrlOfAnUntrustedCa) {
  auto a =
      check_trust_addition(loaded(), trust_dir(), must(make_crl(national_ca_, {}, kDays)), "n");
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
}

TEST_F(TrustStoreTest, ANewerCrlReplacesTheOlderOneOfTheSameCa) {
  trust_national();
  std::string old_crl = must(make_crl(national_ca_, {}, kDays));
  write_file(trust_dir() + "/first.crl", old_crl);
  // make_crl numbers CRLs by the current second; a later second is newer.
  sleep(1);
  std::string newer = must(make_crl(national_ca_, {{"0B", 1}}, kDays));
  auto a = check_trust_addition(loaded(), trust_dir(), newer, "second");
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ(a->kind, TrustKind::kCrl);
  EXPECT_EQ(a->file_name, "first.crl");
  EXPECT_TRUE(a->replaces);

  write_file(trust_dir() + "/first.crl", newer);
  auto older = check_trust_addition(loaded(), trust_dir(), old_crl, "third");
  EXPECT_EQ(older.status().code(), Code::kConflict);
}

TEST_F(TrustStoreTest, DescribesEveryFile) {
  trust_national();
  write_file(trust_dir() + "/national.crl", must(make_crl(national_ca_, {{"0C", 1}}, kDays)));
  auto list = describe_trust(loaded());
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ((*list)[0].name, "(hub CA)");
  EXPECT_EQ((*list)[1].name, "national.pem");
  EXPECT_EQ((*list)[1].subject, "CN=National CA,O=Republic");
  EXPECT_EQ((*list)[2].name, "(hub CRL)");
  EXPECT_EQ((*list)[3].kind, TrustKind::kCrl);
  EXPECT_EQ((*list)[3].detail.rfind("1 revoked, next update ", 0), 0u) << (*list)[3].detail;
}

}  // namespace
}  // namespace sened::crypto
