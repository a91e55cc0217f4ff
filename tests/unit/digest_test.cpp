// SHA-256 and the encodings around it, against known answers.
#include "crypto/digest.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace sened::crypto {
namespace {

TEST(DigestTest, HashesTheEmptyString) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(DigestTest, IncrementalHashEqualsOneShot) {
  Sha256 h;
  h.update("ab");
  h.update("c");
  EXPECT_EQ(to_hex(h.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, HashesAFileAsItsBytes) {
  testing::TempDir dir;
  testing::write_file(dir / "f", "abc");
  EXPECT_EQ(*sha256_file_hex(dir / "f"), sha256_hex("abc"));
  EXPECT_EQ(sha256_file_hex(dir / "missing").status().code(), Code::kNotFound);
}

TEST(DigestTest, HexRoundTrips) {
  std::string bytes("\x00\xff\x10\xab", 4);
  EXPECT_EQ(to_hex(bytes), "00ff10ab");
  EXPECT_EQ(from_hex("00FF10ab"), bytes);
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
}

TEST(DigestTest, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(DigestTest, Base64RefusesMalformedText) {
  EXPECT_FALSE(base64_decode("Zg=").has_value());
  EXPECT_FALSE(base64_decode("Z!==").has_value());
  EXPECT_FALSE(base64_decode("=Zg=").has_value());
}

TEST(DigestTest, RecognisesLowercaseSha256Hex) {
  EXPECT_TRUE(is_sha256_hex(sha256_hex("x")));
  EXPECT_FALSE(is_sha256_hex(std::string(64, 'A')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a')));
}

}  // namespace
}  // namespace sened::crypto
