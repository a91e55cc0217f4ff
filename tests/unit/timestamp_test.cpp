#include "crypto/timestamp.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/digest.h"
#include "support/test_support.h"
#include "support/tsa_responder.h"

namespace sened::crypto {
namespace {

// One local TSA for the whole suite: making its keys runs openssl a few times.
const testing::TsaAuthority& tsa() {
  static const testing::TsaAuthority authority;
  return authority;
}

constexpr std::string_view kNote =
    "sened.test/journal\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\xE2\x80\x94 sened.test/journal AAAA\n";

TEST(TimestampTest, RequestCarriesSha256ImprintAndNonce) {
  Result<TimestampRequest> req = make_timestamp_request(kNote);
  ASSERT_TRUE(req.ok()) << req.status().to_string();
  EXPECT_EQ(req->digest, sha256(kNote));
  EXPECT_EQ(req->nonce.size(), 8u);
  EXPECT_NE(req->der.find(req->digest), std::string::npos);
  testing::TempDir dir;
  testing::write_file(dir / "q.der", req->der);
  testing::CommandResult text =
      testing::run_command({"openssl", "ts", "-query", "-in", dir / "q.der", "-text"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("sha256"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Certificate required: yes"), std::string::npos) << text.out;
  EXPECT_EQ(make_timestamp_request(kNote)->nonce == req->nonce, false);
}

TEST(TimestampTest, GoodReplyGivesATokenThatVerifies) {
  TimestampRequest req = *make_timestamp_request(kNote);
  Result<TimestampToken> token = accept_timestamp_reply(tsa().reply(req.der), req, tsa().ca_file());
  ASSERT_TRUE(token.ok()) << token.status().to_string();
  EXPECT_GT(token->gen_time, 1700000000);
  EXPECT_FALSE(token->serial.empty());
  Result<TimestampToken> again = verify_timestamp_token(token->der, kNote, tsa().ca_file());
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->gen_time, token->gen_time);
}

TEST(TimestampTest, TokenVerifiesWithStockOpenssl) {
  TimestampRequest req = *make_timestamp_request(kNote);
  TimestampToken token = *accept_timestamp_reply(tsa().reply(req.der), req, tsa().ca_file());
  testing::TempDir dir;
  testing::write_file(dir / "note", std::string(kNote));
  testing::write_file(dir / "token.der", token.der);
  testing::CommandResult r =
      testing::run_command({"openssl", "ts", "-verify", "-data", dir / "note", "-in",
                            dir / "token.der", "-token_in", "-CAfile", tsa().ca_file()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(TimestampTest, TokenForOtherBytesIsRefused) {
  TimestampRequest req = *make_timestamp_request(kNote);
  TimestampToken token = *accept_timestamp_reply(tsa().reply(req.der), req, tsa().ca_file());
  Result<TimestampToken> other =
      verify_timestamp_token(token.der, "other bytes\n", tsa().ca_file());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Code::kInvalidArgument);
}

TEST(TimestampTest, ReplyToAnotherRequestIsRefused) {
  TimestampRequest mine = *make_timestamp_request(kNote);
  TimestampRequest theirs = *make_timestamp_request(kNote);  // same bytes, other nonce
  Result<TimestampToken> r = accept_timestamp_reply(tsa().reply(theirs.der), mine, tsa().ca_file());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(TimestampTest, TokenFromUntrustedCaIsRefused) {
  TimestampRequest req = *make_timestamp_request(kNote);
  Result<TimestampToken> r =
      accept_timestamp_reply(tsa().reply(req.der), req, tsa().other_ca_file());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
}

TEST(TimestampTest, GarbageIsRefused) {
  TimestampRequest req = *make_timestamp_request(kNote);
  EXPECT_EQ(accept_timestamp_reply("not DER", req, tsa().ca_file()).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(verify_timestamp_token("", kNote, tsa().ca_file()).status().code(),
            Code::kInvalidArgument);
  std::string reply = tsa().reply(req.der);
  EXPECT_EQ(accept_timestamp_reply(reply + "x", req, tsa().ca_file()).status().code(),
            Code::kInvalidArgument);
}

TEST(TimestampTest, ResponderAnswersOverHttp) {
  testing::TsaResponder responder(tsa());
  responder.start();
  TimestampRequest req = *make_timestamp_request(kNote);
  testing::TempDir dir;
  testing::write_file(dir / "q.der", req.der);
  testing::CommandResult r = testing::run_command(
      {"curl", "-sS", "--fail", "-H", "Content-Type: application/timestamp-query", "--data-binary",
       "@" + (dir / "q.der"), "-o", dir / "r.der", responder.url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(accept_timestamp_reply(testing::read_file(dir / "r.der"), req, tsa().ca_file()).ok());
  EXPECT_EQ(responder.answered(), 1);
}

}  // namespace
}  // namespace sened::crypto
