// End-to-end encryption: chunked CMS AuthEnvelopedData to several recipients.
#include "crypto/envelope.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "crypto/pki.h"
#include "support/test_support.h"

namespace sened::crypto {
namespace {

using testing::read_file;
using testing::run_command;
using testing::TempDir;
using testing::write_file;

constexpr size_t kChunk = 1000;

class EnvelopeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = make_ca("Test CA", "Sened", 30);
    ASSERT_TRUE(ca.ok()) << ca.status().to_string();
    ca_ = new KeyAndCert(*ca);
    for (auto* who : {&alice_, &bob_, &carol_}) {
      auto c = issue_client_cert(*ca_, "participant", "Org", 30);
      ASSERT_TRUE(c.ok()) << c.status().to_string();
      *who = new KeyAndCert(*c);
    }
  }

  static std::string bytes(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) % 251);
    return s;
  }

  // Number of DER objects laid end to end in `der` (each with a long-form or
  // short-form length).
  static int count_chunks(const std::string& der) {
    int n = 0;
    size_t pos = 0;
    while (pos < der.size()) {
      size_t len = static_cast<unsigned char>(der[pos + 1]);
      size_t head = 2;
      if (len & 0x80) {
        size_t k = len & 0x7f;
        len = 0;
        for (size_t i = 0; i < k; ++i)
          len = (len << 8) | static_cast<unsigned char>(der[pos + 2 + i]);
        head += k;
      }
      pos += head + len;
      ++n;
    }
    return pos == der.size() ? n : -1;
  }

  static KeyAndCert* ca_;
  static KeyAndCert* alice_;
  static KeyAndCert* bob_;
  static KeyAndCert* carol_;
};

KeyAndCert* EnvelopeTest::ca_ = nullptr;
KeyAndCert* EnvelopeTest::alice_ = nullptr;
KeyAndCert* EnvelopeTest::bob_ = nullptr;
KeyAndCert* EnvelopeTest::carol_ = nullptr;

TEST_F(EnvelopeTest, RoundTripsSizesAroundTheChunkBoundary) {
  for (size_t n : {size_t{0}, size_t{1}, kChunk - 1, kChunk, kChunk + 1, 3 * kChunk}) {
    std::string plain = bytes(n);
    auto enc = encrypt_bytes(plain, {alice_->cert_pem, bob_->cert_pem}, kChunk);
    ASSERT_TRUE(enc.ok()) << enc.status().to_string();
    int expected_chunks = n == 0 ? 1 : static_cast<int>((n + kChunk - 1) / kChunk);
    EXPECT_EQ(count_chunks(*enc), expected_chunks) << n;
    for (auto* who : {alice_, bob_}) {
      auto dec = decrypt_bytes(*enc, who->cert_pem, who->key_pem);
      ASSERT_TRUE(dec.ok()) << n << ": " << dec.status().to_string();
      EXPECT_EQ(*dec, plain) << n;
    }
  }
}

TEST_F(EnvelopeTest, CiphertextDoesNotContainThePlaintext) {
  std::string plain = "Secret order no. 42: the budget is approved. " + bytes(200);
  auto enc = encrypt_bytes(plain, {alice_->cert_pem});
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->find("Secret order"), std::string::npos);
}

TEST_F(EnvelopeTest, UsesAes256GcmAndTheSha256Kdf) {
  auto enc = encrypt_bytes("x", {alice_->cert_pem});
  ASSERT_TRUE(enc.ok());
  // id-ct-authEnvelopedData 1.2.840.113549.1.9.16.1.23
  const std::string auth_enveloped("\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x01\x17", 13);
  // aes256-GCM 2.16.840.1.101.3.4.1.46
  const std::string aes_gcm("\x06\x09\x60\x86\x48\x01\x65\x03\x04\x01\x2e", 11);
  // dhSinglePass-stdDH-sha256kdf-scheme 1.3.132.1.11.1
  const std::string sha256_kdf("\x06\x06\x2b\x81\x04\x01\x0b\x01", 8);
  EXPECT_NE(enc->find(auth_enveloped), std::string::npos);
  EXPECT_NE(enc->find(aes_gcm), std::string::npos);
  EXPECT_NE(enc->find(sha256_kdf), std::string::npos);
}

TEST_F(EnvelopeTest, RefusesAKeyTheFileWasNotEncryptedTo) {
  auto enc = encrypt_bytes(bytes(10), {alice_->cert_pem, bob_->cert_pem});
  ASSERT_TRUE(enc.ok());
  auto dec = decrypt_bytes(*enc, carol_->cert_pem, carol_->key_pem);
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), Code::kPermissionDenied);
  EXPECT_NE(dec.status().message().find("not encrypted to this certificate"), std::string::npos);
}

TEST_F(EnvelopeTest, RefusesAKeyThatDoesNotMatchTheCertificate) {
  auto enc = encrypt_bytes(bytes(10), {alice_->cert_pem});
  ASSERT_TRUE(enc.ok());
  auto dec = decrypt_bytes(*enc, alice_->cert_pem, bob_->key_pem);
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), Code::kInvalidArgument);
  EXPECT_NE(dec.status().message().find("does not belong"), std::string::npos);
}

TEST_F(EnvelopeTest, RefusesACiphertextWithOneByteFlipped) {
  std::string plain = bytes(500);
  auto enc = encrypt_bytes(plain, {alice_->cert_pem});
  ASSERT_TRUE(enc.ok());
  // The encrypted content sits just before the 16-byte GCM tag at the end.
  std::string bad = *enc;
  bad[bad.size() - 40] ^= 0x01;
  auto dec = decrypt_bytes(bad, alice_->cert_pem, alice_->key_pem);
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), Code::kInvalidArgument);
  EXPECT_NE(dec.status().message().find("damaged or altered"), std::string::npos)
      << dec.status().message();
}

TEST_F(EnvelopeTest, RefusesAFlippedTagInTheSecondChunk) {
  auto enc = encrypt_bytes(bytes(kChunk + 10), {alice_->cert_pem}, kChunk);
  ASSERT_TRUE(enc.ok());
  std::string bad = *enc;
  bad[bad.size() - 1] ^= 0x80;
  auto dec = decrypt_bytes(bad, alice_->cert_pem, alice_->key_pem);
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), Code::kInvalidArgument);
  EXPECT_NE(dec.status().message().find("chunk 1"), std::string::npos) << dec.status().message();
}

TEST_F(EnvelopeTest, RefusesATruncatedFile) {
  auto enc = encrypt_bytes(bytes(100), {alice_->cert_pem});
  ASSERT_TRUE(enc.ok());
  auto dec = decrypt_bytes(enc->substr(0, enc->size() - 5), alice_->cert_pem, alice_->key_pem);
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), Code::kInvalidArgument);
  EXPECT_NE(dec.status().message().find("truncated"), std::string::npos);
}

TEST_F(EnvelopeTest, RefusesPlainBytesAndAnEmptyFile) {
  auto plain = decrypt_bytes("hello, not encrypted", alice_->cert_pem, alice_->key_pem);
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().code(), Code::kInvalidArgument);
  auto empty = decrypt_bytes("", alice_->cert_pem, alice_->key_pem);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("empty"), std::string::npos);
}

TEST_F(EnvelopeTest, RefusesAChunkLengthOverTheLimit) {
  std::string huge("\x30\x84\x7f\xff\xff\xff", 6);
  auto dec = decrypt_bytes(huge, alice_->cert_pem, alice_->key_pem);
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), Code::kInvalidArgument);
  EXPECT_NE(dec.status().message().find("larger than"), std::string::npos);
}

TEST_F(EnvelopeTest, RefusesABadRecipientCertificate) {
  auto enc = encrypt_bytes("x", {alice_->cert_pem, "not a certificate"});
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.status().code(), Code::kInvalidArgument);
  auto none = encrypt_bytes("x", {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kInvalidArgument);
}

TEST_F(EnvelopeTest, FileFormsLeaveNothingBehindOnFailure) {
  TempDir dir;
  write_file(dir / "plain", bytes(2500));
  ASSERT_TRUE(encrypt_file(dir / "plain", dir / "enc", {alice_->cert_pem}).ok());
  Status st = decrypt_file(dir / "enc", dir / "out", bob_->cert_pem, bob_->key_pem);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out.part"));
  ASSERT_TRUE(decrypt_file(dir / "enc", dir / "out", alice_->cert_pem, alice_->key_pem).ok());
  EXPECT_EQ(read_file(dir / "out"), bytes(2500));
}

TEST_F(EnvelopeTest, StockOpensslDecryptsASmallFile) {
  TempDir dir;
  std::string plain = "Məktub: a small file, one chunk.\n";
  auto enc = encrypt_bytes(plain, {alice_->cert_pem, bob_->cert_pem});
  ASSERT_TRUE(enc.ok());
  write_file(dir / "file.cms", *enc);
  write_file(dir / "cert.pem", bob_->cert_pem);
  write_file(dir / "key.pem", bob_->key_pem);
  auto r = run_command({"openssl", "cms", "-decrypt", "-inform", "DER", "-in", dir / "file.cms",
                        "-recip", dir / "cert.pem", "-inkey", dir / "key.pem", "-binary", "-out",
                        dir / "plain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(dir / "plain"), plain);
}

TEST(EncryptedMediaType, RecognisesTheMarker) {
  EXPECT_TRUE(is_encrypted_media_type(kEncryptedMediaType));
  EXPECT_TRUE(is_encrypted_media_type("Application/PKCS7-MIME; smime-type=\"authEnveloped-data\""));
  EXPECT_FALSE(is_encrypted_media_type("application/pkcs7-mime; smime-type=enveloped-data"));
  EXPECT_FALSE(is_encrypted_media_type("application/pdf"));
}

}  // namespace
}  // namespace sened::crypto
