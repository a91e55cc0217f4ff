// Error values, domain conversions, identifiers and the configuration file.
#include "core/status.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/config.h"
#include "core/domain.h"
#include "core/ids.h"
#include "support/test_support.h"

namespace sened {
namespace {
using testing::TempDir;
using testing::write_file;

TEST(StatusTest, EachCodeHasItsApiNameAndHttpStatus) {
  EXPECT_EQ(code_name(Code::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(http_status(Code::kInvalidArgument), 400);
  EXPECT_EQ(code_name(Code::kPermissionDenied), "permission_denied");
  EXPECT_EQ(http_status(Code::kPermissionDenied), 403);
  EXPECT_EQ(http_status(Code::kNotFound), 404);
  EXPECT_EQ(http_status(Code::kConflict), 409);
  EXPECT_EQ(code_name(Code::kPayloadTooLarge), "payload_too_large");
  EXPECT_EQ(http_status(Code::kPayloadTooLarge), 413);
  EXPECT_EQ(code_name(Code::kUnsupportedMediaType), "unsupported_media_type");
  EXPECT_EQ(http_status(Code::kUnsupportedMediaType), 415);
  EXPECT_EQ(code_name(Code::kPolicyRefused), "policy_refused");
  EXPECT_EQ(http_status(Code::kPolicyRefused), 422);
  EXPECT_EQ(http_status(Code::kUnavailable), 503);
  EXPECT_EQ(http_status(Code::kInternal), 500);
}

TEST(StatusTest, EachApiNameReadsBackAsItsCode) {
  for (Code c : {Code::kInvalidArgument, Code::kPermissionDenied, Code::kNotFound, Code::kConflict,
                 Code::kPayloadTooLarge, Code::kUnsupportedMediaType, Code::kPolicyRefused,
                 Code::kUnavailable, Code::kInternal}) {
    EXPECT_EQ(code_from_name(code_name(c)), c) << code_name(c);
  }
  EXPECT_EQ(code_from_name("ok"), std::nullopt);
  EXPECT_EQ(code_from_name("no_such_code"), std::nullopt);
}

TEST(StatusTest, ContextIsPrefixedAndTheCodeKept) {
  Status s = not_found("no document x").with_context("fetch");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "fetch: no document x");
  EXPECT_EQ(s.to_string(), "not_found: fetch: no document x");
  EXPECT_TRUE(Status().with_context("x").ok());
}

TEST(StatusTest, ResultHoldsAValueOrAnError) {
  Result<int> ok = 7;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 7);
  EXPECT_TRUE(ok.status().ok());
  Result<int> bad = conflict("taken");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kConflict);
}

TEST(DomainTest, StatusesRoundTripThroughTheirNames) {
  for (auto s :
       {ParticipantStatus::kEnrolled, ParticipantStatus::kTesting, ParticipantStatus::kActive,
        ParticipantStatus::kSuspended, ParticipantStatus::kRetired}) {
    EXPECT_EQ(parse_participant_status(to_string(s)), s);
  }
  for (auto s : {DeliveryStatus::kQueued, DeliveryStatus::kDelivered, DeliveryStatus::kRegistered,
                 DeliveryStatus::kRejected}) {
    EXPECT_EQ(parse_delivery_status(to_string(s)), s);
  }
  EXPECT_FALSE(parse_participant_status("Active").has_value());
  EXPECT_FALSE(parse_delivery_status("").has_value());
}

TEST(IdsTest, MakesVersion7UuidsThatSortByTime) {
  std::string a = new_uuid_v7();
  std::string b = new_uuid_v7();
  EXPECT_TRUE(is_uuid(a));
  EXPECT_EQ(a[14], '7');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  EXPECT_NE(a, b);
  EXPECT_LE(a.substr(0, 13), b.substr(0, 13));  // the millisecond prefix never goes back
}

TEST(IdsTest, RecognisesOnlyHyphenatedUuids) {
  EXPECT_TRUE(is_uuid("01a2421e-0b58-7ce2-b698-370d26fa0984"));
  EXPECT_FALSE(is_uuid("01a2421e0b587ce2b698370d26fa0984"));
  EXPECT_FALSE(is_uuid("01a2421e-0b58-7ce2-b698-370d26fa098g"));
  EXPECT_FALSE(is_uuid("../../etc/passwd"));
}

TEST(IdsTest, FormatsRfc3339InUtcWithMilliseconds) {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796405400123));
  EXPECT_EQ(format_rfc3339(t), "2026-12-04T17:30:00.123Z");
}

TEST(ConfigTest, TheWrittenDefaultsLoadBackUnchanged) {
  TempDir dir;
  write_file(dir / "sened.toml", default_config_text());
  auto c = load_config(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  HubConfig d;
  EXPECT_EQ(c->limits.max_file_size, d.limits.max_file_size);
  EXPECT_EQ(c->limits.max_file_size, 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(c->limits.header_limit, d.limits.header_limit);
  EXPECT_EQ(c->listen, d.listen);
  EXPECT_EQ(c->store, "sqlite:sened.db");
  EXPECT_EQ(*c->sqlite_path(), c->data_dir + "/sened.db");
}

TEST(ConfigTest, EveryLimitIsWrittenOut) {
  std::string text = default_config_text();
  for (const char* key : {"max_file_size", "max_upload_size", "max_metadata_size", "max_files",
                          "max_body_size", "header_limit", "idle_timeout_seconds",
                          "handshake_timeout_seconds", "page_size", "inline_file_limit"}) {
    EXPECT_NE(text.find(std::string(key) + " = "), std::string::npos) << key;
  }
}

TEST(ConfigTest, ReadsAChangedLimit) {
  TempDir dir;
  write_file(dir / "sened.toml", "[limits]\nmax_file_size = 1000\n");
  auto c = load_config(dir.path());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->limits.max_file_size, 1000u);
}

TEST(ConfigTest, RefusesANegativeLimit) {
  TempDir dir;
  write_file(dir / "sened.toml", "[limits]\nmax_file_size = -1\n");
  auto c = load_config(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("limits.max_file_size"), std::string::npos);
}

TEST(ConfigTest, RefusesAValueOfTheWrongType) {
  TempDir dir;
  write_file(dir / "sened.toml", "[hub]\nlisten = 8443\n");
  EXPECT_EQ(load_config(dir.path()).status().code(), Code::kInvalidArgument);
}

TEST(ConfigTest, RefusesMalformedToml) {
  TempDir dir;
  write_file(dir / "sened.toml", "[limits\n");
  EXPECT_EQ(load_config(dir.path()).status().code(), Code::kInvalidArgument);
}

TEST(ConfigTest, SaysWhenTheFolderIsNotAHubDataFolder) {
  TempDir dir;
  EXPECT_EQ(load_config(dir.path()).status().code(), Code::kNotFound);
}

TEST(ConfigTest, DefaultsOfTheJournalAndTrust) {
  TempDir dir;
  write_file(dir / "sened.toml", default_config_text());
  auto c = load_config(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->journal_origin, "sened.local/journal");
  EXPECT_EQ(c->checkpoint_interval_ms, 1000);
  EXPECT_TRUE(c->witnesses.empty());
  EXPECT_TRUE(c->tsa_url.empty());
  EXPECT_EQ(c->trust_dir, "trust");
  EXPECT_TRUE(c->require_signature_kinds.empty());
}

TEST(ConfigTest, ReadsWitnessesAndSignaturePolicy) {
  TempDir dir;
  write_file(dir / "sened.toml",
             "[journal]\norigin = \"hub.gov.az/journal\"\n"
             "[[journal.witness]]\nvkey = \"w1+01020304+AQ\"\nurl = \"http://127.0.0.1:1/\"\n"
             "[[journal.witness]]\nvkey = \"w2+01020305+AQ\"\nurl = \"http://127.0.0.1:2/\"\n"
             "[signatures]\nrequire_valid_for_kinds = [\"order\", \"decree\"]\n");
  auto c = load_config(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->journal_origin, "hub.gov.az/journal");
  ASSERT_EQ(c->witnesses.size(), 2u);
  EXPECT_EQ(c->witnesses[1].vkey, "w2+01020305+AQ");
  EXPECT_EQ(c->witnesses[1].url, "http://127.0.0.1:2/");
  EXPECT_EQ(c->require_signature_kinds, (std::vector<std::string>{"order", "decree"}));
}

TEST(ConfigTest, RefusesAWitnessWithoutUrlAndAPolicyOfNumbers) {
  TempDir dir;
  write_file(dir / "sened.toml", "[[journal.witness]]\nvkey = \"w1+01020304+AQ\"\n");
  auto c = load_config(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("journal.witness"), std::string::npos);
  write_file(dir / "sened.toml", "[signatures]\nrequire_valid_for_kinds = [1]\n");
  c = load_config(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("require_valid_for_kinds"), std::string::npos);
}

TEST(ConfigTest, RefusesAnUnsupportedStore) {
  TempDir dir;
  write_file(dir / "sened.toml", "store = \"mysql://x\"\n");
  auto c = load_config(dir.path());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sqlite_path().status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sened
