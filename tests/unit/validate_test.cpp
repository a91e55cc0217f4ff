#include "core/validate.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <string>

namespace sened {
namespace {

namespace json = boost::json;

// ---- UTF-8 ----

TEST(Utf8, AcceptsAsciiAndMultibyteText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("Azərbaycan Respublikası"));
  EXPECT_TRUE(is_valid_utf8("Министерство финансов №5 — ok"));
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x93\x84"));  // U+1F4C4, four bytes
}

TEST(Utf8, AcceptsTheEdgesOfTheValidRanges) {
  EXPECT_TRUE(is_valid_utf8("\xC2\x80"));          // U+0080
  EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xEE\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(Utf8, RejectsOverlongEncodings) {
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));
  EXPECT_FALSE(is_valid_utf8("\xC1\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x80\x80\xAF"));
}

TEST(Utf8, RejectsSurrogates) {
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // U+D800
  EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));  // U+DFFF
}

TEST(Utf8, RejectsCodePointsAboveTheMaximum) {
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(Utf8, RejectsTruncatedSequences) {
  EXPECT_FALSE(is_valid_utf8("a\xC3"));
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x93"));
  EXPECT_FALSE(is_valid_utf8("\xE2\x82z"));
}

TEST(Utf8, RejectsStrayContinuationBytes) { EXPECT_FALSE(is_valid_utf8("ab\x80")); }

TEST(Utf8, ValidPrefixEndsAtTheFirstBadByte) {
  EXPECT_EQ(valid_utf8_prefix("ə\xFFz"), 2u);
  EXPECT_EQ(valid_utf8_prefix("əz"), 3u);
}

// ---- File names ----

TEST(FileName, KeepsNamesInAnyScriptAsValid) {
  EXPECT_TRUE(validate_file_name("Məktub № 14-3-2051 (inteqrasiya).pdf").ok());
  EXPECT_TRUE(validate_file_name("Письмо — приложение 2.docx").ok());
  EXPECT_TRUE(validate_file_name("a name with spaces.txt").ok());
  EXPECT_TRUE(validate_file_name(".hidden").ok());
  EXPECT_TRUE(validate_file_name("a..b").ok());
}

TEST(FileName, RejectsEmptyName) {
  EXPECT_EQ(validate_file_name("").code(), Code::kInvalidArgument);
}

TEST(FileName, AcceptsExactly255BytesAndRejectsMore) {
  EXPECT_TRUE(validate_file_name(std::string(255, 'a')).ok());
  const Status st = validate_file_name(std::string(256, 'a'));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("255"), std::string::npos);
}

TEST(FileName, RejectsSlashAndBackslash) {
  EXPECT_EQ(validate_file_name("dir/file.pdf").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("dir\\file.pdf").code(), Code::kInvalidArgument);
}

TEST(FileName, RejectsFileNameWithParentDirectory) {
  EXPECT_EQ(validate_file_name("..").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("..secret").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name(".").code(), Code::kInvalidArgument);
}

TEST(FileName, RejectsControlCharacters) {
  EXPECT_EQ(validate_file_name(std::string("a\0b", 3)).code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\tb").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\nb").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\x7F").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\xC2\x85").code(), Code::kInvalidArgument);  // NEL, C1
  EXPECT_EQ(validate_file_name("a\xC2\x9F").code(), Code::kInvalidArgument);
}

TEST(FileName, RejectsInvalidUtf8) {
  const Status st = validate_file_name("report\xFF.pdf");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("UTF-8"), std::string::npos);
}

// ---- NFC ----

TEST(Nfc, ComposesCombiningMarks) {
  EXPECT_EQ(to_nfc("e\xCC\x81"), "\xC3\xA9");  // e + acute -> é
  EXPECT_EQ(to_nfc("A\xCC\x8A"), "\xC3\x85");  // A + ring -> Å
}

TEST(Nfc, LeavesComposedTextUnchanged) {
  EXPECT_EQ(to_nfc("Azərbaycan İqtisadiyyat Şəki"), "Azərbaycan İqtisadiyyat Şəki");
  EXPECT_EQ(to_nfc(""), "");
}

// ---- Dates ----

TEST(Date, AcceptsRealDays) {
  EXPECT_TRUE(is_valid_date("2026-12-02"));
  EXPECT_TRUE(is_valid_date("2024-02-29"));
  EXPECT_TRUE(is_valid_date("2000-02-29"));
  EXPECT_TRUE(is_valid_date("2026-01-31"));
}

TEST(Date, RejectsDaysThatDoNotExist) {
  EXPECT_FALSE(is_valid_date("2023-02-29"));
  EXPECT_FALSE(is_valid_date("1900-02-29"));
  EXPECT_FALSE(is_valid_date("2026-04-31"));
  EXPECT_FALSE(is_valid_date("2026-13-01"));
  EXPECT_FALSE(is_valid_date("2026-00-10"));
  EXPECT_FALSE(is_valid_date("2026-01-00"));
  EXPECT_FALSE(is_valid_date("0000-01-01"));
}

TEST(Date, RejectsOtherShapes) {
  EXPECT_FALSE(is_valid_date(""));
  EXPECT_FALSE(is_valid_date("2026-1-01"));
  EXPECT_FALSE(is_valid_date("2026/12/02"));
  EXPECT_FALSE(is_valid_date("+026-12-02"));
  EXPECT_FALSE(is_valid_date("2026-12-02T00:00:00Z"));
}

// ---- Participant ids ----

TEST(ParticipantId, AcceptsRegistryIds) {
  EXPECT_TRUE(is_valid_participant_id("az.finance"));
  EXPECT_TRUE(is_valid_participant_id("az.baku-executive"));
  EXPECT_TRUE(is_valid_participant_id("ab"));
  EXPECT_TRUE(is_valid_participant_id("a1"));
  EXPECT_TRUE(is_valid_participant_id("a" + std::string(63, 'b')));
}

TEST(ParticipantId, RejectsWrongLengths) {
  EXPECT_FALSE(is_valid_participant_id(""));
  EXPECT_FALSE(is_valid_participant_id("a"));
  EXPECT_FALSE(is_valid_participant_id("a" + std::string(64, 'b')));
}

TEST(ParticipantId, RejectsBadCharactersAndShapes) {
  EXPECT_FALSE(is_valid_participant_id("1az"));
  EXPECT_FALSE(is_valid_participant_id(".az"));
  EXPECT_FALSE(is_valid_participant_id("Az.finance"));
  EXPECT_FALSE(is_valid_participant_id("az..finance"));
  EXPECT_FALSE(is_valid_participant_id("az."));
  EXPECT_FALSE(is_valid_participant_id("az-"));
  EXPECT_FALSE(is_valid_participant_id("az_finance"));
  EXPECT_FALSE(is_valid_participant_id("az finance"));
}

// ---- Metadata ----

constexpr char kFullMetadata[] = R"({
  "sender_ref": "MDDT-2026-2051", "kind": "letter",
  "subject": "Elektron sənəd dövriyyəsi sisteminin inteqrasiyası", "urgency": "urgent",
  "registration": {"number": "14/3-2051", "date": "2026-12-02"},
  "recipients": {"to": ["az.finance"], "cc": ["az.baku-executive"]},
  "in_reply_to": null, "due_date": "2026-12-15",
  "files": [{"name": "Məktub № 14-3-2051 (inteqrasiya).pdf",
             "sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
             "size": 25340}]
})";

// The smallest metadata that passes, changed by `edit`.
std::string minimal_with(const std::function<void(json::object&)>& edit) {
  json::object obj{{"sender_ref", "ref-1"},
                   {"kind", "letter"},
                   {"subject", "Test"},
                   {"recipients", json::object{{"to", json::array{"az.finance"}}}}};
  edit(obj);
  return json::serialize(obj);
}

// The error of parse_metadata on the minimal metadata changed by `edit`.
Status error_with(const std::function<void(json::object&)>& edit) {
  return parse_metadata(minimal_with(edit)).status();
}

TEST(Metadata, ParsesEveryFieldOfTheExample) {
  const Result<DocumentMeta> meta = parse_metadata(kFullMetadata);
  ASSERT_TRUE(meta.ok()) << meta.status().to_string();
  EXPECT_EQ(meta->sender_ref, "MDDT-2026-2051");
  EXPECT_EQ(meta->kind, "letter");
  EXPECT_EQ(meta->subject, "Elektron sənəd dövriyyəsi sisteminin inteqrasiyası");
  EXPECT_EQ(meta->urgency, "urgent");
  EXPECT_EQ(meta->reg_number, "14/3-2051");
  EXPECT_EQ(meta->reg_date, "2026-12-02");
  EXPECT_EQ(meta->to, std::vector<std::string>{"az.finance"});
  EXPECT_EQ(meta->cc, std::vector<std::string>{"az.baku-executive"});
  EXPECT_FALSE(meta->in_reply_to.has_value());
  EXPECT_EQ(meta->due_date, "2026-12-15");
  ASSERT_EQ(meta->files.size(), 1u);
  EXPECT_EQ(meta->files[0].name, "Məktub № 14-3-2051 (inteqrasiya).pdf");
  EXPECT_EQ(meta->files[0].sha256,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(meta->files[0].size, 25340u);
}

TEST(Metadata, FillsDefaultsWhenOptionalFieldsAreAbsent) {
  const Result<DocumentMeta> meta = parse_metadata(minimal_with([](json::object&) {}));
  ASSERT_TRUE(meta.ok()) << meta.status().to_string();
  EXPECT_EQ(meta->urgency, "normal");
  EXPECT_TRUE(meta->reg_number.empty());
  EXPECT_TRUE(meta->reg_date.empty());
  EXPECT_TRUE(meta->cc.empty());
  EXPECT_FALSE(meta->in_reply_to.has_value());
  EXPECT_TRUE(meta->due_date.empty());
  EXPECT_TRUE(meta->files.empty());
}

TEST(Metadata, IgnoresUnknownFields) {
  const Result<DocumentMeta> meta = parse_metadata(minimal_with([](json::object& o) {
    o["security_label"] = "internal";
    o["extra"] = json::array{1, 2, json::object{{"x", nullptr}}};
  }));
  EXPECT_TRUE(meta.ok()) << meta.status().to_string();
}

TEST(Metadata, RejectsEmptyBody) {
  EXPECT_EQ(parse_metadata("").status().code(), Code::kInvalidArgument);
}

TEST(Metadata, RejectsInvalidJson) {
  EXPECT_EQ(parse_metadata("{\"kind\": ").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(parse_metadata("{} trailing").status().code(), Code::kInvalidArgument);
}

TEST(Metadata, RejectsBodyThatIsNotAnObject) {
  EXPECT_EQ(parse_metadata("[]").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(parse_metadata("\"letter\"").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(parse_metadata("null").status().code(), Code::kInvalidArgument);
}

TEST(Metadata, RejectsInvalidUtf8AnywhereInTheBody) {
  std::string body = minimal_with([](json::object& o) { o["unknown"] = "xx"; });
  body.replace(body.find("xx"), 2, "\xC0\xAF");
  const Status st = parse_metadata(body).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("UTF-8"), std::string::npos);
}

TEST(Metadata, RefusesHostileDeepNesting) {
  std::string body = "{\"deep\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(parse_metadata(body).status().code(), Code::kInvalidArgument);
}

TEST(Metadata, RejectsMissingSenderRef) {
  const Status st = error_with([](json::object& o) { o.erase("sender_ref"); });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "sender_ref: required");
}

TEST(Metadata, AcceptsSenderRefOf128BytesButNotMore) {
  EXPECT_TRUE(error_with([](json::object& o) { o["sender_ref"] = std::string(128, 'r'); }).ok());
  const Status st = error_with([](json::object& o) { o["sender_ref"] = std::string(129, 'r'); });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("sender_ref:", 0), 0u);
}

TEST(Metadata, RejectsSenderRefWithControlCharacter) {
  EXPECT_EQ(error_with([](json::object& o) { o["sender_ref"] = "a\x01z"; }).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(error_with([](json::object& o) { o["sender_ref"] = "a\tz"; }).code(),
            Code::kInvalidArgument);
}

TEST(Metadata, RejectsEmptySenderRef) {
  EXPECT_EQ(error_with([](json::object& o) { o["sender_ref"] = ""; }).code(),
            Code::kInvalidArgument);
}

TEST(Metadata, RejectsUnknownKind) {
  const Status st = error_with([](json::object& o) { o["kind"] = "memo"; });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("kind:", 0), 0u);
}

TEST(Metadata, AcceptsEveryKnownKind) {
  for (const char* kind : {"letter", "order", "request", "reply", "notice", "other"}) {
    EXPECT_TRUE(error_with([&](json::object& o) { o["kind"] = kind; }).ok()) << kind;
  }
}

TEST(Metadata, RejectsWrongTypeNamingTheField) {
  const Status st = error_with([](json::object& o) { o["kind"] = 5; });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "kind: must be a string");
}

TEST(Metadata, RejectsBlankSubject) {
  const Status st = error_with([](json::object& o) { o["subject"] = " \t  "; });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "subject: must not be blank");
}

TEST(Metadata, RejectsSubjectWithLineBreak) {
  EXPECT_EQ(error_with([](json::object& o) { o["subject"] = "one\ntwo"; }).code(),
            Code::kInvalidArgument);
}

TEST(Metadata, AcceptsSubjectWithTab) {
  EXPECT_TRUE(error_with([](json::object& o) { o["subject"] = "one\ttwo"; }).ok());
}

TEST(Metadata, RejectsSubjectLongerThan2000Bytes) {
  EXPECT_TRUE(error_with([](json::object& o) { o["subject"] = std::string(2000, 's'); }).ok());
  EXPECT_EQ(error_with([](json::object& o) { o["subject"] = std::string(2001, 's'); }).code(),
            Code::kInvalidArgument);
}

TEST(Metadata, RejectsUnknownUrgency) {
  const Status st = error_with([](json::object& o) { o["urgency"] = "asap"; });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("urgency:", 0), 0u);
}

TEST(Metadata, RejectsRegistrationThatIsNotAnObject) {
  const Status st = error_with([](json::object& o) { o["registration"] = "14/3"; });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "registration: must be an object");
}

TEST(Metadata, RejectsRegistrationDateThatDoesNotExist) {
  const Status st = error_with([](json::object& o) {
    o["registration"] = json::object{{"number", "1"}, {"date", "2026-02-30"}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "registration.date: not a valid date");
}

TEST(Metadata, RejectsRegistrationNumberLongerThan64Bytes) {
  const Status st = error_with([](json::object& o) {
    o["registration"] = json::object{{"number", std::string(65, '1')}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("registration.number:", 0), 0u);
}

TEST(Metadata, RejectsRegistrationNumberWithControlCharacter) {
  const Status st = error_with([](json::object& o) {
    o["registration"] = json::object{{"number", "14\t3"}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "registration.number: contains a control character");
}

TEST(Metadata, RejectsSubjectWithC1Control) {
  EXPECT_EQ(error_with([](json::object& o) {
              o["subject"] =
                  "a\xC2\x85"
                  "b";
            }).code(),
            Code::kInvalidArgument);
}

TEST(Metadata, RejectsControlCharacterWrittenAsJsonEscape) {
  std::string body = minimal_with([](json::object&) {});
  body.replace(body.find("ref-1"), 5, "ref\\u0007");
  const Status st = parse_metadata(body).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "sender_ref: contains a control character");
}

TEST(Metadata, RejectsMissingRecipients) {
  const Status st = error_with([](json::object& o) { o.erase("recipients"); });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "recipients: required");
}

TEST(Metadata, RejectsEmptyToList) {
  const Status st = error_with([](json::object& o) {
    o["recipients"] = json::object{{"to", json::array{}}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("recipients.to:", 0), 0u);
}

TEST(Metadata, RejectsToThatIsNotAnArray) {
  const Status st = error_with([](json::object& o) {
    o["recipients"] = json::object{{"to", "az.finance"}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "recipients.to: must be an array");
}

TEST(Metadata, RejectsInvalidRecipientNamingItsIndex) {
  const Status st = error_with([](json::object& o) {
    o["recipients"] = json::object{{"to", json::array{"az.finance", "AZ.JUSTICE"}}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "recipients.to[1]: not a participant id");
}

TEST(Metadata, RejectsInvalidCcRecipient) {
  const Status st = error_with([](json::object& o) {
    o["recipients"] = json::object{{"to", json::array{"az.finance"}}, {"cc", json::array{7}}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "recipients.cc[0]: must be a string");
}

TEST(Metadata, RejectsMoreThan500Recipients) {
  const Status st = error_with([](json::object& o) {
    json::array to;
    json::array cc;
    for (int i = 0; i < 300; ++i) to.emplace_back("az.to" + std::to_string(i));
    for (int i = 0; i < 201; ++i) cc.emplace_back("az.cc" + std::to_string(i));
    o["recipients"] = json::object{{"to", to}, {"cc", cc}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("recipients:", 0), 0u);
}

TEST(Metadata, DropsRepeatedRecipientsKeepingTheFirst) {
  const Result<DocumentMeta> meta = parse_metadata(minimal_with([](json::object& o) {
    o["recipients"] = json::object{{"to", json::array{"az.a", "az.b", "az.a"}},
                                   {"cc", json::array{"az.c", "az.b", "az.c", "az.d"}}};
  }));
  ASSERT_TRUE(meta.ok()) << meta.status().to_string();
  EXPECT_EQ(meta->to, (std::vector<std::string>{"az.a", "az.b"}));
  EXPECT_EQ(meta->cc, (std::vector<std::string>{"az.c", "az.d"}));
}

TEST(Metadata, AcceptsInReplyToUuidAndLowercasesIt) {
  const Result<DocumentMeta> meta = parse_metadata(minimal_with(
      [](json::object& o) { o["in_reply_to"] = "0193A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B"; }));
  ASSERT_TRUE(meta.ok()) << meta.status().to_string();
  EXPECT_EQ(meta->in_reply_to, "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
}

TEST(Metadata, RejectsInReplyToThatIsNotAUuid) {
  const Status st = error_with([](json::object& o) { o["in_reply_to"] = "MDDT-2026-2050"; });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("in_reply_to:", 0), 0u);
}

TEST(Metadata, RejectsDueDateThatDoesNotExist) {
  const Status st = error_with([](json::object& o) { o["due_date"] = "2026-11-31"; });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "due_date: not a valid date");
}

TEST(Metadata, RejectsFileWithParentDirectoryName) {
  const Status st = error_with([](json::object& o) {
    o["files"] = json::array{json::object{{"name", "ok.pdf"}}, json::object{{"name", "../x"}}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("files[1].name:", 0), 0u);
}

TEST(Metadata, RejectsFileWithoutName) {
  const Status st = error_with([](json::object& o) {
    o["files"] = json::array{json::object{{"size", 1}}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "files[0].name: required");
}

TEST(Metadata, RejectsFileEntryThatIsNotAnObject) {
  const Status st = error_with([](json::object& o) { o["files"] = json::array{"a.pdf"}; });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "files[0]: must be an object");
}

TEST(Metadata, RejectsSha256ThatIsNot64HexDigits) {
  const Status st = error_with([](json::object& o) {
    o["files"] = json::array{json::object{{"name", "a.pdf"}, {"sha256", "abc123"}}};
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("files[0].sha256:", 0), 0u);
}

TEST(Metadata, RejectsNegativeFractionalOrTextualFileSize) {
  for (json::value size : {json::value(-1), json::value(1.5), json::value("10")}) {
    const Status st = error_with([&](json::object& o) {
      o["files"] = json::array{json::object{{"name", "a.pdf"}, {"size", size}}};
    });
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << json::serialize(size);
    EXPECT_EQ(st.message(), "files[0].size: must be a non-negative integer");
  }
}

TEST(Metadata, AcceptsFileSizeBeyondTwoGigabytes) {
  const Result<DocumentMeta> meta = parse_metadata(minimal_with([](json::object& o) {
    o["files"] = json::array{json::object{{"name", "big.bin"}, {"size", 5000000000}}};
  }));
  ASSERT_TRUE(meta.ok()) << meta.status().to_string();
  EXPECT_EQ(meta->files[0].size, 5000000000u);
}

TEST(Metadata, RejectsMoreThan1000Files) {
  const Status st = error_with([](json::object& o) {
    json::array files;
    for (int i = 0; i < 1001; ++i) files.emplace_back(json::object{{"name", "f.txt"}});
    o["files"] = files;
  });
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("files:", 0), 0u);
}

TEST(ValidateFileNameTest, RefusesDirectionChangingCharacters) {
  EXPECT_EQ(validate_file_name("invoice\u202Etxt.exe").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\u2066b.pdf").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\u061Cb.pdf").code(), Code::kInvalidArgument);
}

TEST(ValidateFileNameTest, RefusesInvisibleCharactersAndNoncharacters) {
  EXPECT_EQ(validate_file_name("a\u200Bb.pdf").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("\uFEFFa.pdf").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\u2028b.pdf").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\uFFFF.pdf").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\uFDD0.pdf").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("a\U0001FFFE.pdf").code(), Code::kInvalidArgument);
}

TEST(ValidateFileNameTest, RefusesBlankNamesAndTrailingDotsOrSpaces) {
  EXPECT_EQ(validate_file_name("   ").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("x. ").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name("report.").code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_file_name(" report.pdf").code(), Code::kInvalidArgument);
}

TEST(ValidateFileNameTest, KeepsInnerSpacesAndOtherScripts) {
  EXPECT_TRUE(validate_file_name("Əlavə 1 — qoşulma qrafiki.csv").ok());
  EXPECT_TRUE(validate_file_name("Письмо № 07-118к.docx").ok());
  EXPECT_TRUE(validate_file_name("\u0645\u0631\u062D\u0628\u0627.pdf").ok());
}

}  // namespace
}  // namespace sened
