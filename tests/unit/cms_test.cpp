#include "crypto/cms.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "crypto/pki.h"
#include "support/test_support.h"

namespace sened::crypto {
namespace {

using sened::testing::read_file;
using sened::testing::run_command;
using sened::testing::TempDir;
using sened::testing::write_file;
using namespace std::string_literals;

// The test PKI (tests/data/pki-test) and the demo letter with its signature
// made by stock `openssl cms` with that PKI (examples/documents).
std::string pki_file(const std::string& name) {
  return sened::testing::source_dir() + "/tests/data/pki-test/" + name;
}
const std::string kLetterName = "Məktub № 14-3-2051 (inteqrasiya).pdf";
const std::string kLetter = "../../../examples/documents/" + kLetterName;

KeyAndCert test_root() {
  return {read_file(pki_file("test-root-ca.key")), read_file(pki_file("test-root-ca.pem"))};
}

TrustMaterial trust_of(const std::string& ca_pem, const std::string& crl_pem = "") {
  TrustMaterial t;
  t.ca_pems.push_back(ca_pem);
  if (!crl_pem.empty()) t.crl_pems.push_back(crl_pem);
  return t;
}

// A CA, a signer it issued, and a detached signature over `content`.
struct Signed {
  KeyAndCert ca;
  KeyAndCert signer;
  std::string content_path;
  std::string signature;
};

Signed sign_file(const TempDir& dir, const std::string& content, int days = 30) {
  Signed s;
  s.ca = *make_ca("Test signing CA", "Sened", 365);
  s.signer = *issue_client_cert(s.ca, "Leyla Məmmədova", "Maliyyə Nazirliyi", days);
  s.content_path = dir / "content.bin";
  write_file(s.content_path, content);
  auto sig = sign_detached_file(s.content_path, s.signer.key_pem, s.signer.cert_pem);
  EXPECT_TRUE(sig.ok()) << sig.status().message();
  s.signature = sig.ok() ? *sig : std::string();
  return s;
}

TEST(CmsTest, ReceiptRoundTripGivesContentAndSigner) {
  KeyAndCert ca = *make_ca("Hub CA", "Sened", 365);
  KeyAndCert hub = *issue_client_cert(ca, "Sened receipts", "Sened", 30);
  std::string json = R"({"event":"accepted","document":"x"})";
  auto der = sign_attached(json, hub.key_pem, hub.cert_pem);
  ASSERT_TRUE(der.ok()) << der.status().message();

  auto opened = open_attached(*der, trust_of(ca.cert_pem));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->content, json);
  EXPECT_EQ(opened->check.status, SignatureStatus::kValid) << opened->check.detail;
  EXPECT_EQ(opened->check.signer, "CN=Sened receipts,O=Sened");
  EXPECT_FALSE(opened->check.signing_time.empty());
}

TEST(CmsTest, ReceiptCarriesSigningCertificateV2) {
  KeyAndCert ca = *make_ca("Hub CA", "Sened", 365);
  KeyAndCert hub = *issue_client_cert(ca, "Sened receipts", "Sened", 30);
  auto der = sign_attached("{}", hub.key_pem, hub.cert_pem);
  ASSERT_TRUE(der.ok());
  // The DER of OID 1.2.840.113549.1.9.16.2.47 (id-aa-signingCertificateV2).
  const std::string oid("\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x02\x2f", 13);
  EXPECT_NE(der->find(oid), std::string::npos);
}

TEST(CmsTest, ReceiptWithOneContentByteChangedIsInvalid) {
  KeyAndCert ca = *make_ca("Hub CA", "Sened", 365);
  KeyAndCert hub = *issue_client_cert(ca, "Sened receipts", "Sened", 30);
  auto der = sign_attached(R"({"event":"accepted"})", hub.key_pem, hub.cert_pem);
  ASSERT_TRUE(der.ok());
  std::string changed = *der;
  size_t at = changed.find("accepted");
  ASSERT_NE(at, std::string::npos);
  changed[at] = 'A';

  auto opened = open_attached(changed, trust_of(ca.cert_pem));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->check.status, SignatureStatus::kInvalid);
  EXPECT_EQ(opened->content, R"({"event":"Accepted"})");
}

TEST(CmsTest, OpenSslMadeSignatureOverTheLetterVerifies) {
  auto check = verify_detached_file(read_file(pki_file(kLetter + ".p7s")), pki_file(kLetter),
                                    trust_of(read_file(pki_file("test-root-ca.pem"))));
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_EQ(check->status, SignatureStatus::kValid) << check->detail;
  EXPECT_EQ(check->signer,
            "serialNumber=TEST-0001,CN=Rəşad Əliyev,O=Rəqəmsal İnkişaf və Nəqliyyat "
            "Nazirliyi,C=AZ");
}

TEST(CmsTest, LetterWithOneByteChangedIsInvalid) {
  TempDir dir;
  std::string letter = read_file(pki_file(kLetter));
  letter[letter.size() / 2] ^= 0x01;
  write_file(dir / "letter.pdf", letter);
  auto check = verify_detached_file(read_file(pki_file(kLetter + ".p7s")), dir / "letter.pdf",
                                    trust_of(read_file(pki_file("test-root-ca.pem"))));
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_EQ(check->status, SignatureStatus::kInvalid);
  EXPECT_FALSE(check->detail.empty());
}

TEST(CmsTest, SignerOfAnotherRootIsUnknownSigner) {
  KeyAndCert other = *make_ca("Another root", "Elsewhere", 365);
  auto check = verify_detached_file(read_file(pki_file(kLetter + ".p7s")), pki_file(kLetter),
                                    trust_of(other.cert_pem));
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_EQ(check->status, SignatureStatus::kUnknownSigner);
  EXPECT_NE(check->signer.find("CN=Rəşad Əliyev"), std::string::npos);
}

TEST(CmsTest, SignerRevokedByCrlIsRevoked) {
  auto signer = inspect_cert(read_file(pki_file("signer.pem")));
  ASSERT_TRUE(signer.ok());
  auto crl = make_crl(test_root(), {{signer->serial, std::time(nullptr) - 60}}, 30);
  ASSERT_TRUE(crl.ok()) << crl.status().message();
  auto check = verify_detached_file(read_file(pki_file(kLetter + ".p7s")), pki_file(kLetter),
                                    trust_of(read_file(pki_file("test-root-ca.pem")), *crl));
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_EQ(check->status, SignatureStatus::kRevoked);
}

TEST(CmsTest, CrlOfTheRootNotListingTheSignerKeepsItValid) {
  auto crl = make_crl(test_root(), {}, 30);
  ASSERT_TRUE(crl.ok());
  auto check = verify_detached_file(read_file(pki_file(kLetter + ".p7s")), pki_file(kLetter),
                                    trust_of(read_file(pki_file("test-root-ca.pem")), *crl));
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->status, SignatureStatus::kValid) << check->detail;
}

TEST(CmsTest, OwnDetachedSignatureRoundTrips) {
  TempDir dir;
  Signed s = sign_file(dir, "the bytes of a document");
  auto check = verify_detached_file(s.signature, s.content_path, trust_of(s.ca.cert_pem));
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_EQ(check->status, SignatureStatus::kValid) << check->detail;
  EXPECT_EQ(check->signer, "CN=Leyla Məmmədova,O=Maliyyə Nazirliyi");
}

TEST(CmsTest, OwnDetachedSignatureVerifiesWithStockOpenssl) {
  TempDir dir;
  Signed s = sign_file(dir, "the bytes of a document");
  write_file(dir / "sig.p7s", s.signature);
  write_file(dir / "ca.pem", s.ca.cert_pem);
  auto r = run_command({"openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
                        dir / "sig.p7s", "-content", s.content_path, "-CAfile", dir / "ca.pem",
                        "-purpose", "any", "-out", dir / "out.bin"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CmsTest, SignerPastItsValidityIsExpired) {
  TempDir dir;
  Signed s = sign_file(dir, "old news", 1);
  int64_t in_three_days = std::time(nullptr) + 3 * 24 * 3600;
  auto check =
      verify_detached_file(s.signature, s.content_path, trust_of(s.ca.cert_pem), in_three_days);
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_EQ(check->status, SignatureStatus::kExpired);
}

TEST(CmsTest, BytesThatAreNotCmsAreInvalidArgument) {
  TempDir dir;
  write_file(dir / "f", "x");
  auto check = verify_detached_file("not a signature", dir / "f", trust_of(""));
  EXPECT_EQ(check.status().code(), Code::kInvalidArgument);
}

TEST(CmsTest, AttachedSignatureGivenAsDetachedIsInvalidArgument) {
  TempDir dir;
  KeyAndCert ca = *make_ca("Hub CA", "Sened", 365);
  KeyAndCert hub = *issue_client_cert(ca, "Sened receipts", "Sened", 30);
  auto der = sign_attached("{}", hub.key_pem, hub.cert_pem);
  write_file(dir / "f", "{}");
  auto check = verify_detached_file(*der, dir / "f", trust_of(ca.cert_pem));
  EXPECT_EQ(check.status().code(), Code::kInvalidArgument);
}

TEST(CmsTest, MissingContentFileIsNotFound) {
  TempDir dir;
  Signed s = sign_file(dir, "x");
  auto check = verify_detached_file(s.signature, dir / "absent", trust_of(s.ca.cert_pem));
  EXPECT_EQ(check.status().code(), Code::kNotFound);
}

TEST(CmsTest, StatusNamesRoundTrip) {
  for (auto s :
       {SignatureStatus::kValid, SignatureStatus::kInvalid, SignatureStatus::kUnknownSigner,
        SignatureStatus::kExpired, SignatureStatus::kRevoked, SignatureStatus::kNotChecked}) {
    EXPECT_EQ(parse_signature_status(to_string(s)), s);
  }
  EXPECT_EQ(to_string(SignatureStatus::kUnknownSigner), "unknown_signer");
  EXPECT_FALSE(parse_signature_status("bogus").has_value());
}

TEST(CmsTest, AReceiptWithBytesAppendedIsRefused) {
  KeyAndCert ca = *make_ca("Hub CA", "Sened", 365);
  KeyAndCert hub = *issue_client_cert(ca, "Sened receipts", "Sened", 30);
  auto der = sign_attached(R"({"event":"accepted"})", hub.key_pem, hub.cert_pem);
  ASSERT_TRUE(der.ok());
  for (const std::string& tail : {std::string("\n"), std::string(17, 'x')}) {
    auto opened = open_attached(*der + tail, trust_of(ca.cert_pem));
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(opened.status().message(),
              std::to_string(tail.size()) + " bytes after the signature");
  }
}

TEST(CmsTest, ADetachedSignatureWithBytesAppendedIsRefused) {
  TempDir dir;
  Signed s = sign_file(dir, "the letter");
  auto check = verify_detached(s.signature + "\0\0"s, "the letter", trust_of(s.ca.cert_pem));
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().message(), "2 bytes after the signature");
  auto file = verify_detached_file(s.signature + "x", s.content_path, trust_of(s.ca.cert_pem));
  EXPECT_EQ(file.status().code(), Code::kInvalidArgument);
}

TEST(CmsTest, AnAnchorTextWithoutACertificateIsRefused) {
  for (const std::string& pem :
       {std::string(), std::string("\n"), std::string("<html>404</html>")}) {
    Status st = check_anchor_pem(pem);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << pem;
    EXPECT_EQ(st.message(), "holds no certificate") << pem;
  }
  KeyAndCert ca = *make_ca("Hub CA", "Sened", 365);
  EXPECT_TRUE(check_anchor_pem(ca.cert_pem).ok());
  std::string damaged = ca.cert_pem;
  damaged.erase(damaged.size() / 2, 20);  // a block cut short: the DER does not parse
  Status st = check_anchor_pem(ca.cert_pem + damaged);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("damaged certificate"), std::string::npos) << st.message();
}

TEST(CmsTest, AValidReceiptNamesTheCaItChainedToEvenWithItsSignerTrusted) {
  KeyAndCert ca = *make_ca("Hub CA", "Sened", 365);
  KeyAndCert hub = *issue_client_cert(ca, "Sened receipts", "Sened", 30);
  auto der = sign_attached("{}", hub.key_pem, hub.cert_pem);
  ASSERT_TRUE(der.ok());
  // As hub-chain.pem: the receipt certificate, then the CA.
  auto opened = open_attached(*der, trust_of(hub.cert_pem + ca.cert_pem));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->check.status, SignatureStatus::kValid) << opened->check.detail;
  EXPECT_EQ(opened->check.anchor, "CN=Hub CA,O=Sened");
  KeyAndCert other = *make_ca("Other CA", "Elsewhere", 365);
  auto foreign = open_attached(*der, trust_of(other.cert_pem));
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(foreign->check.status, SignatureStatus::kUnknownSigner);
  EXPECT_TRUE(foreign->check.anchor.empty());
}

}  // namespace
}  // namespace sened::crypto
