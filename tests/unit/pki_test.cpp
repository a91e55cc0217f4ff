#include "crypto/pki.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "crypto/digest.h"
#include "support/test_support.h"

namespace sened::crypto {
namespace {

using sened::testing::read_file;
using sened::testing::run_command;
using sened::testing::TempDir;
using sened::testing::write_file;

constexpr char kOrganization[] = "Maliyyə Nazirliyi";

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr parse_x509(const std::string& pem) {
  std::unique_ptr<BIO, int (*)(BIO*)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                          &BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// The subjectAltName entries as "DNS:<name>" or "IP:<octets in hex>".
std::vector<std::string> alt_names(const std::string& cert_pem) {
  X509Ptr cert = parse_x509(cert_pem);
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  std::vector<std::string> out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
    std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                      ASN1_STRING_length(value));
    out.push_back(type == GEN_DNS ? "DNS:" + bytes : "IP:" + to_hex(bytes));
  }
  GENERAL_NAMES_free(names);
  return out;
}

// The PEM armor `label` around `der`, 64 base64 characters a line.
std::string to_pem(const std::string& der, const std::string& label) {
  std::string body = base64_encode(der);
  std::string pem = "-----BEGIN " + label + "-----\n";
  for (size_t i = 0; i < body.size(); i += 64) {
    pem += body.substr(i, 64) + "\n";
  }
  return pem + "-----END " + label + "-----\n";
}

// The DER inside a single PEM block.
std::string pem_body(const std::string& pem) {
  size_t start = pem.find('\n') + 1;
  size_t end = pem.find("-----END");
  std::string body = pem.substr(start, end - start);
  body.erase(std::remove(body.begin(), body.end(), '\n'), body.end());
  return base64_decode(body).value();
}

// A certificate request whose signature no longer matches: the last byte of
// the DER belongs to the signature value.
std::string with_broken_signature(const std::string& csr_pem) {
  std::string der = pem_body(csr_pem);
  der.back() ^= 0x01;
  return to_pem(der, "CERTIFICATE REQUEST");
}

// A key made by the stock openssl command, e.g. {"-algorithm", "RSA", ...}.
std::string openssl_key(const TempDir& dir, const std::vector<std::string>& options) {
  std::vector<std::string> argv{"openssl", "genpkey", "-out", dir / "key.pem"};
  argv.insert(argv.end(), options.begin(), options.end());
  EXPECT_EQ(run_command(argv).exit_code, 0);
  return read_file(dir / "key.pem");
}

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = make_ca("Sened Test CA", "Sened", 30);
    ASSERT_TRUE(ca.ok()) << ca.status().to_string();
    ca_ = *ca;
    auto server = issue_server_cert(ca_, "hub.sened.test", {"hub.sened.test", "localhost"},
                                    {"127.0.0.1", "::1"}, 10);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = *server;
  }

  // The subject of a certificate made from a participant's request.
  std::string signed_subject(const std::string& csr_pem) {
    auto cert = sign_csr(ca_, csr_pem, "az.finance", kOrganization, 10);
    EXPECT_TRUE(cert.ok()) << cert.status().to_string();
    return cert.ok() ? inspect_cert(*cert)->subject : "";
  }

  Code sign_csr_code(const std::string& key_pem) {
    auto csr = make_csr(key_pem, "az.finance");
    EXPECT_TRUE(csr.ok()) << csr.status().to_string();
    return sign_csr(ca_, *csr, "az.finance", kOrganization, 10).status().code();
  }

  std::string revoke_server_cert() {
    RevokedSerial entry{inspect_cert(server_.cert_pem)->serial, 1'700'000'000};
    auto crl = make_crl(ca_, {entry}, 7);
    EXPECT_TRUE(crl.ok()) << crl.status().to_string();
    return crl.ok() ? *crl : "";
  }

  KeyAndCert ca_;
  KeyAndCert server_;
  TempDir dir_;
};

TEST_F(PkiTest, MadeKeyIsPkcs8Pem) {
  auto key = make_ec_key_pem();
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->starts_with("-----BEGIN PRIVATE KEY-----\n"));
}

TEST_F(PkiTest, CaIsSelfSignedAndACa) {
  auto info = inspect_cert(ca_.cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->subject, "CN=Sened Test CA,O=Sened");
  EXPECT_EQ(info->issuer, info->subject);
  EXPECT_TRUE(info->is_ca);
  EXPECT_TRUE(verify_cert(ca_.cert_pem, ca_.cert_pem, "").ok());
}

TEST_F(PkiTest, ServerCertCarriesRequestedDnsNamesAndIpAddresses) {
  EXPECT_EQ(alt_names(server_.cert_pem),
            (std::vector<std::string>{"DNS:hub.sened.test", "DNS:localhost", "IP:7f000001",
                                      "IP:00000000000000000000000000000001"}));
}

TEST_F(PkiTest, ServerCertIsNotACa) {
  auto info = inspect_cert(server_.cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->issuer, "CN=Sened Test CA,O=Sened");
}

TEST_F(PkiTest, ServerCertVerifiesAgainstItsCa) {
  Status status = verify_cert(server_.cert_pem, ca_.cert_pem, "");
  EXPECT_TRUE(status.ok()) << status.to_string();
}

TEST_F(PkiTest, StockOpensslVerifiesServerCertForServerUse) {
  write_file(dir_ / "ca.pem", ca_.cert_pem);
  write_file(dir_ / "server.pem", server_.cert_pem);
  auto result = run_command({"openssl", "verify", "-purpose", "sslserver", "-CAfile",
                             dir_ / "ca.pem", dir_ / "server.pem"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(PkiTest, ServerCertRefusesMalformedIpAddress) {
  auto cert = issue_server_cert(ca_, "hub", {"hub.sened.test"}, {"300.1.2.3"}, 10);
  EXPECT_EQ(cert.status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, ServerCertRefusesMalformedDnsName) {
  auto cert = issue_server_cert(ca_, "hub", {"hub sened,test"}, {}, 10);
  EXPECT_EQ(cert.status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, ServerCertRefusesEmptyNameLists) {
  auto cert = issue_server_cert(ca_, "hub", {}, {}, 10);
  EXPECT_EQ(cert.status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, ClientCertKeepsUtf8OrganizationInSubject) {
  auto client = issue_client_cert(ca_, "az.finance", kOrganization, 10);
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  EXPECT_EQ(inspect_cert(client->cert_pem)->subject, "CN=az.finance,O=Maliyyə Nazirliyi");
}

TEST_F(PkiTest, StockOpensslVerifiesClientCertForClientUse) {
  auto client = issue_client_cert(ca_, "az.finance", kOrganization, 10);
  ASSERT_TRUE(client.ok());
  write_file(dir_ / "ca.pem", ca_.cert_pem);
  write_file(dir_ / "client.pem", client->cert_pem);
  auto result = run_command({"openssl", "verify", "-purpose", "sslclient", "-CAfile",
                             dir_ / "ca.pem", dir_ / "client.pem"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(PkiTest, ClientCertRefusesOrganizationThatIsNotUtf8) {
  auto client = issue_client_cert(ca_, "az.finance", "Maliyy\xC9", 10);
  EXPECT_EQ(client.status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, IssueRefusesCaKeyOfAnotherCa) {
  auto other = make_ca("Other CA", "", 30);
  ASSERT_TRUE(other.ok());
  KeyAndCert mixed{other->key_pem, ca_.cert_pem};
  EXPECT_EQ(issue_client_cert(mixed, "az.finance", kOrganization, 10).status().code(),
            Code::kInvalidArgument);
}

TEST_F(PkiTest, IssueRefusesZeroDaysOfValidity) {
  EXPECT_EQ(issue_client_cert(ca_, "az.finance", kOrganization, 0).status().code(),
            Code::kInvalidArgument);
}

TEST_F(PkiTest, SignCsrTakesSubjectFromArgumentsNotFromRequest) {
  auto key = make_ec_key_pem();
  auto csr = make_csr(*key, "Hub Operator");
  ASSERT_TRUE(csr.ok()) << csr.status().to_string();
  EXPECT_EQ(signed_subject(*csr), "CN=az.finance,O=Maliyyə Nazirliyi");
}

TEST_F(PkiTest, SignCsrKeepsRequestsPublicKey) {
  auto key = make_ec_key_pem();
  auto csr = make_csr(*key, "az.finance");
  auto cert = sign_csr(ca_, *csr, "az.finance", kOrganization, 10);
  ASSERT_TRUE(cert.ok()) << cert.status().to_string();
  write_file(dir_ / "cert.pem", *cert);
  write_file(dir_ / "key.pem", *key);
  auto from_cert = run_command({"openssl", "x509", "-noout", "-pubkey", "-in", dir_ / "cert.pem"});
  auto from_key = run_command({"openssl", "pkey", "-pubout", "-in", dir_ / "key.pem"});
  ASSERT_EQ(from_cert.exit_code, 0);
  EXPECT_EQ(from_cert.out, from_key.out);
}

TEST_F(PkiTest, SignCsrRefusesRequestWithBrokenSignature) {
  auto key = make_ec_key_pem();
  auto csr = make_csr(*key, "az.finance");
  ASSERT_TRUE(csr.ok());
  auto cert = sign_csr(ca_, with_broken_signature(*csr), "az.finance", kOrganization, 10);
  EXPECT_EQ(cert.status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, SignCsrRefusesGarbage) {
  auto cert = sign_csr(ca_, "-----BEGIN CERTIFICATE REQUEST-----\nnonsense\n", "az.finance",
                       kOrganization, 10);
  EXPECT_EQ(cert.status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, SignCsrAcceptsP384Key) {
  std::string key = openssl_key(dir_, {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"});
  EXPECT_EQ(sign_csr_code(key), Code::kOk);
}

TEST_F(PkiTest, SignCsrAcceptsRsa2048Key) {
  std::string key = openssl_key(dir_, {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"});
  EXPECT_EQ(sign_csr_code(key), Code::kOk);
}

TEST_F(PkiTest, SignCsrRefusesRsa1024Key) {
  std::string key = openssl_key(dir_, {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"});
  EXPECT_EQ(sign_csr_code(key), Code::kInvalidArgument);
}

TEST_F(PkiTest, SignCsrRefusesP521Key) {
  std::string key = openssl_key(dir_, {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"});
  EXPECT_EQ(sign_csr_code(key), Code::kInvalidArgument);
}

TEST_F(PkiTest, MakeCsrRefusesEncryptedKeyWithoutPrompting) {
  std::string key = openssl_key(dir_, {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                       "-aes256", "-pass", "pass:secret"});
  EXPECT_EQ(make_csr(key, "az.finance").status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, InspectCertRefusesGarbage) {
  EXPECT_EQ(inspect_cert("not a certificate").status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, InspectCertGivesTimesInRfc3339Utc) {
  auto info = inspect_cert(server_.cert_pem);
  ASSERT_TRUE(info.ok());
  std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  EXPECT_TRUE(std::regex_match(info->not_before, rfc3339)) << info->not_before;
  EXPECT_TRUE(std::regex_match(info->not_after, rfc3339)) << info->not_after;
  EXPECT_LT(info->not_before, info->not_after);
}

TEST_F(PkiTest, FingerprintMatchesOpensslCommand) {
  write_file(dir_ / "server.pem", server_.cert_pem);
  auto result = run_command(
      {"openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", dir_ / "server.pem"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // "sha256 Fingerprint=AB:CD:...\n"
  std::string expected = result.out.substr(result.out.find('=') + 1);
  std::erase(expected, ':');
  std::erase(expected, '\n');
  std::transform(expected.begin(), expected.end(), expected.begin(), ::tolower);
  EXPECT_EQ(inspect_cert(server_.cert_pem)->fingerprint, expected);
}

TEST_F(PkiTest, SerialMatchesOpensslCommand) {
  // Several certificates, so that a serial whose top byte is below 0x10 is
  // likely among them.
  for (int i = 0; i < 8; ++i) {
    auto client = issue_client_cert(ca_, "az.finance", kOrganization, 10);
    ASSERT_TRUE(client.ok());
    write_file(dir_ / "client.pem", client->cert_pem);
    auto result = run_command({"openssl", "x509", "-noout", "-serial", "-in", dir_ / "client.pem"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ("serial=" + inspect_cert(client->cert_pem)->serial + "\n", result.out);
  }
}

TEST_F(PkiTest, SerialsOfTwoCertsDiffer) {
  auto first = issue_client_cert(ca_, "az.finance", kOrganization, 10);
  auto second = issue_client_cert(ca_, "az.finance", kOrganization, 10);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(inspect_cert(first->cert_pem)->serial, inspect_cert(second->cert_pem)->serial);
}

TEST_F(PkiTest, CertFromAnotherCaFailsToVerify) {
  auto other = make_ca("Other CA", "", 30);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(verify_cert(server_.cert_pem, other->cert_pem, "").code(), Code::kPermissionDenied);
}

TEST_F(PkiTest, RevokedCertFailsToVerify) {
  Status status = verify_cert(server_.cert_pem, ca_.cert_pem, revoke_server_cert());
  EXPECT_EQ(status.code(), Code::kPermissionDenied);
  EXPECT_NE(status.message().find("revoked"), std::string::npos) << status.message();
}

TEST_F(PkiTest, StockOpensslRefusesRevokedCert) {
  write_file(dir_ / "ca.pem", ca_.cert_pem);
  write_file(dir_ / "crl.pem", revoke_server_cert());
  write_file(dir_ / "server.pem", server_.cert_pem);
  auto result = run_command({"openssl", "verify", "-crl_check", "-CAfile", dir_ / "ca.pem",
                             "-CRLfile", dir_ / "crl.pem", dir_ / "server.pem"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE((result.out + result.err).find("certificate revoked"), std::string::npos);
}

TEST_F(PkiTest, EmptyCrlLetsCertVerify) {
  auto crl = make_crl(ca_, {}, 7);
  ASSERT_TRUE(crl.ok()) << crl.status().to_string();
  Status status = verify_cert(server_.cert_pem, ca_.cert_pem, *crl);
  EXPECT_TRUE(status.ok()) << status.to_string();
}

TEST_F(PkiTest, StockOpensslChecksCrlSignature) {
  write_file(dir_ / "ca.pem", ca_.cert_pem);
  write_file(dir_ / "crl.pem", revoke_server_cert());
  auto result = run_command(
      {"openssl", "crl", "-noout", "-CAfile", dir_ / "ca.pem", "-in", dir_ / "crl.pem"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE((result.out + result.err).find("verify OK"), std::string::npos);
}

TEST_F(PkiTest, CrlOfAnotherCaFailsVerify) {
  auto other = make_ca("Other CA", "", 30);
  auto crl = make_crl(*other, {}, 7);
  ASSERT_TRUE(crl.ok());
  EXPECT_EQ(verify_cert(server_.cert_pem, ca_.cert_pem, *crl).code(), Code::kPermissionDenied);
}

TEST_F(PkiTest, MakeCrlRefusesSerialThatIsNotHex) {
  auto crl = make_crl(ca_, {{"12XY", 1'700'000'000}}, 7);
  EXPECT_EQ(crl.status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, SplitPemCertsReturnsEachCertInOrder) {
  auto certs = split_pem_certs(server_.cert_pem + ca_.cert_pem);
  ASSERT_TRUE(certs.ok()) << certs.status().to_string();
  EXPECT_EQ(*certs, (std::vector<std::string>{server_.cert_pem, ca_.cert_pem}));
}

TEST_F(PkiTest, SplitPemCertsSkipsOtherBlocks) {
  auto certs = split_pem_certs(server_.key_pem + server_.cert_pem);
  ASSERT_TRUE(certs.ok()) << certs.status().to_string();
  EXPECT_EQ(*certs, std::vector<std::string>{server_.cert_pem});
}

TEST_F(PkiTest, SplitPemCertsRefusesTextWithoutCertificate) {
  EXPECT_EQ(split_pem_certs("hello\n").status().code(), Code::kInvalidArgument);
}

TEST_F(PkiTest, SplitPemCertsRefusesDamagedCertificate) {
  std::string damaged = server_.cert_pem;
  damaged[100] = '!';
  EXPECT_EQ(split_pem_certs(ca_.cert_pem + damaged).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sened::crypto
