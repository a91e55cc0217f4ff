#include "core/csv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace sened {
namespace {

using Records = std::vector<std::vector<std::string>>;

constexpr char kHeader[] = "id,category,obligation,deadline,name_az,name_en,name_ru\n";

// The records of `text`, failing the test if it does not parse.
Records parse_ok(std::string_view text) {
  Result<Records> records = parse_csv(text);
  EXPECT_TRUE(records.ok()) << records.status().to_string();
  return records.ok() ? std::move(records).value() : Records{};
}

// The participant with `id`, or nullptr.
const Participant* find(const std::vector<Participant>& participants, std::string_view id) {
  const auto it = std::find_if(participants.begin(), participants.end(),
                               [&](const Participant& p) { return p.id == id; });
  return it == participants.end() ? nullptr : &*it;
}

// ---- parse_csv ----

TEST(Csv, SplitsFieldsAndRecords) {
  EXPECT_EQ(parse_ok("a,b,c\nd,e,f\n"), (Records{{"a", "b", "c"}, {"d", "e", "f"}}));
}

TEST(Csv, AcceptsCrlfAndLfLineBreaksMixed) {
  EXPECT_EQ(parse_ok("a,b\r\nc,d\ne,f\r\n"), (Records{{"a", "b"}, {"c", "d"}, {"e", "f"}}));
}

TEST(Csv, KeepsCommasQuotesAndLineBreaksInsideQuotedFields) {
  EXPECT_EQ(parse_ok("\"a,b\",\"say \"\"hi\"\"\",\"one\r\ntwo\nthree\"\nz\n"),
            (Records{{"a,b", "say \"hi\"", "one\r\ntwo\nthree"}, {"z"}}));
}

TEST(Csv, KeepsEmptyFields) {
  EXPECT_EQ(parse_ok("a,,b,\n\"\",x\n"), (Records{{"a", "", "b", ""}, {"", "x"}}));
}

TEST(Csv, SkipsByteOrderMarkAtTheStart) {
  EXPECT_EQ(parse_ok("\xEF\xBB\xBFid,name\n"), (Records{{"id", "name"}}));
}

TEST(Csv, TrailingLineBreakMakesNoEmptyRecord) {
  EXPECT_EQ(parse_ok("a\r\n"), (Records{{"a"}}));
  EXPECT_EQ(parse_ok("a"), (Records{{"a"}}));
}

TEST(Csv, SkipsBlankLines) {
  EXPECT_EQ(parse_ok("\n\r\na\n\n\nb\r\n\r\n"), (Records{{"a"}, {"b"}}));
}

TEST(Csv, EmptyTextHasNoRecords) {
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok("\xEF\xBB\xBF").empty());
}

TEST(Csv, KeepsUtf8TextByteForByte) {
  EXPECT_EQ(parse_ok("Şəki,Шеки\n"), (Records{{"Şəki", "Шеки"}}));
}

TEST(Csv, RejectsUnterminatedQuoteNamingTheLineItOpenedOn) {
  const Status st = parse_csv("a\nb,\"open\nmore\nlines\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2: unterminated quote");
}

TEST(Csv, RejectsQuoteInsideUnquotedField) {
  const Status st = parse_csv("ok\nab\"c\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2: a quote inside an unquoted field");
}

TEST(Csv, RejectsCharactersAfterClosingQuote) {
  const Status st = parse_csv("\"ab\"c,d\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 1: characters after a closing quote");
}

TEST(Csv, RejectsInvalidUtf8NamingTheLine) {
  const Status st = parse_csv("a\nb\nc\xC0\xAF\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 3: invalid UTF-8");
}

TEST(Csv, RejectsCarriageReturnWithoutLineFeed) {
  const Status st = parse_csv("a\rb\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 1: carriage return without a line feed");
}

TEST(Csv, CountsLineBreaksInsideQuotedFields) {
  const Status st = parse_csv("\"a\nb\",c\nd\"e\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 3: a quote inside an unquoted field");
}

// ---- parse_participants_csv ----

TEST(ParticipantsCsv, ReadsTheRealRegistry) {
  const std::string text = testing::read_file(testing::source_dir() + "/examples/participants.csv");
  const Result<std::vector<Participant>> participants = parse_participants_csv(text);
  ASSERT_TRUE(participants.ok()) << participants.status().to_string();
  ASSERT_EQ(participants->size(), 29u);

  const Participant& first = participants->front();
  EXPECT_EQ(first.id, "az.presidential-administration");
  EXPECT_EQ(first.category, "presidential-body");
  EXPECT_EQ(first.obligation, "after-launch");
  EXPECT_EQ(first.deadline, "");
  EXPECT_EQ(first.name_az, "Azərbaycan Respublikası Prezidentinin Administrasiyası");
  EXPECT_EQ(first.name_en, "Administration of the President");
  EXPECT_EQ(first.name_ru, "Администрация Президента");
  EXPECT_EQ(participants->back().id, "az.azersu");
  for (const Participant& p : *participants) {
    EXPECT_EQ(p.status, ParticipantStatus::kActive) << p.id;
  }
}

TEST(ParticipantsCsv, ReadsOrderedParticipantWithDeadline) {
  const std::string text = testing::read_file(testing::source_dir() + "/examples/participants.csv");
  const Result<std::vector<Participant>> participants = parse_participants_csv(text);
  ASSERT_TRUE(participants.ok()) << participants.status().to_string();
  const Participant* baku = find(*participants, "az.baku-executive");
  ASSERT_NE(baku, nullptr);
  EXPECT_EQ(baku->category, "local-executive");
  EXPECT_EQ(baku->obligation, "ordered");
  EXPECT_EQ(baku->deadline, "2024-08-01");
  EXPECT_EQ(baku->name_az, "Bakı Şəhər İcra Hakimiyyəti");
}

TEST(ParticipantsCsv, KeepsCommasInsideQuotedNames) {
  const std::string text = testing::read_file(testing::source_dir() + "/examples/participants.csv");
  const Result<std::vector<Participant>> participants = parse_participants_csv(text);
  ASSERT_TRUE(participants.ok()) << participants.status().to_string();
  const Participant* penitentiary = find(*participants, "az.penitentiary");
  ASSERT_NE(penitentiary, nullptr);
  EXPECT_EQ(penitentiary->name_az, "Ədliyyə Nazirliyinin Penitensiar Xidməti");
  EXPECT_EQ(penitentiary->name_en, "Penitentiary Service, Ministry of Justice");
  EXPECT_EQ(penitentiary->name_ru, "Пенитенциарная служба, Министерство юстиции");
}

TEST(ParticipantsCsv, TurnsDoubledQuotesIntoOne) {
  const std::string text = testing::read_file(testing::source_dir() + "/examples/participants.csv");
  const Result<std::vector<Participant>> participants = parse_participants_csv(text);
  ASSERT_TRUE(participants.ok()) << participants.status().to_string();
  const Participant* azerishig = find(*participants, "az.azerishig");
  ASSERT_NE(azerishig, nullptr);
  EXPECT_EQ(azerishig->name_az, "\"Azərişıq\" ASC");
  EXPECT_EQ(azerishig->name_en, "Azerishig OJSC");
  EXPECT_EQ(azerishig->name_ru, "ОАО \"Азеришыг\"");
  const Participant* azersu = find(*participants, "az.azersu");
  ASSERT_NE(azersu, nullptr);
  EXPECT_EQ(azersu->name_az, "\"Azərsu\" ASC");
}

TEST(ParticipantsCsv, AcceptsColumnsInAnyOrderWithoutRussianAndIgnoresUnknownOnes) {
  const Result<std::vector<Participant>> participants = parse_participants_csv(
      "name_en,note,id,name_az,deadline,obligation,category\n"
      "Ministry of Finance,anything,az.finance,Maliyyə Nazirliyi,2023-11-01,ordered,"
      "central-executive\n");
  ASSERT_TRUE(participants.ok()) << participants.status().to_string();
  ASSERT_EQ(participants->size(), 1u);
  const Participant& p = participants->front();
  EXPECT_EQ(p.id, "az.finance");
  EXPECT_EQ(p.category, "central-executive");
  EXPECT_EQ(p.obligation, "ordered");
  EXPECT_EQ(p.deadline, "2023-11-01");
  EXPECT_EQ(p.name_az, "Maliyyə Nazirliyi");
  EXPECT_EQ(p.name_en, "Ministry of Finance");
  EXPECT_EQ(p.name_ru, "");
}

TEST(ParticipantsCsv, HeaderAloneGivesNoParticipants) {
  const Result<std::vector<Participant>> participants = parse_participants_csv(kHeader);
  ASSERT_TRUE(participants.ok()) << participants.status().to_string();
  EXPECT_TRUE(participants->empty());
}

TEST(ParticipantsCsv, RejectsEmptyText) {
  const Status st = parse_participants_csv("").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 1: missing the header row");
}

TEST(ParticipantsCsv, RejectsMissingRequiredColumn) {
  const Status st = parse_participants_csv("id,category,obligation,deadline,name_az\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 1: missing column name_en");
}

TEST(ParticipantsCsv, RejectsColumnNamedTwice) {
  const Status st =
      parse_participants_csv("id,category,obligation,deadline,name_az,name_en,id\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 1: column id appears twice");
}

TEST(ParticipantsCsv, RejectsRowWithWrongFieldCount) {
  const Status st = parse_participants_csv(std::string(kHeader) +
                                           "az.cec,other,recommended,,Katiblik,Secretariat\n")
                        .status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2: 6 fields where the header has 7");
}

TEST(ParticipantsCsv, RejectsInvalidIdNamingLineAndColumn) {
  const Status st =
      parse_participants_csv(std::string(kHeader) + "\nAZ.CEC,other,recommended,,K,S,С\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 3, column id: \"AZ.CEC\" is not a participant id");
}

TEST(ParticipantsCsv, RejectsUnknownCategory) {
  const Status st =
      parse_participants_csv(std::string(kHeader) + "az.cec,ministry,recommended,,K,S,С\n")
          .status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2, column category: unknown category \"ministry\"");
}

TEST(ParticipantsCsv, RejectsUnknownObligation) {
  const Status st =
      parse_participants_csv(std::string(kHeader) + "az.cec,other,optional,,K,S,С\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2, column obligation: unknown obligation \"optional\"");
}

TEST(ParticipantsCsv, RejectsOrderedParticipantWithoutDeadline) {
  const Status st =
      parse_participants_csv(std::string(kHeader) + "az.cec,other,ordered,,K,S,С\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2, column deadline: required when the obligation is ordered");
}

TEST(ParticipantsCsv, RejectsDeadlineThatIsNotADate) {
  const Status st =
      parse_participants_csv(std::string(kHeader) + "az.cec,other,recommended,2024-02-30,K,S,С\n")
          .status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2, column deadline: \"2024-02-30\" is not a valid date");
}

TEST(ParticipantsCsv, RejectsEmptyAzerbaijaniName) {
  const Status st =
      parse_participants_csv(std::string(kHeader) + "az.cec,other,recommended,,,S,С\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2, column name_az: must not be empty");
}

TEST(ParticipantsCsv, RejectsEmptyEnglishName) {
  const Status st =
      parse_participants_csv(std::string(kHeader) + "az.cec,other,recommended,,K,,С\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2, column name_en: must not be empty");
}

TEST(ParticipantsCsv, RejectsNameWithLineBreak) {
  const Status st =
      parse_participants_csv(std::string(kHeader) + "az.cec,other,recommended,,K,\"S\nT\",С\n")
          .status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2, column name_en: contains a control character");
}

TEST(ParticipantsCsv, RejectsDuplicateIds) {
  const Status st = parse_participants_csv(std::string(kHeader) +
                                           "az.cec,other,recommended,,K,S,С\n"
                                           "az.ombudsman,oversight,recommended,,O,O,О\n"
                                           "az.cec,other,recommended,,K2,S2,С2\n")
                        .status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 4, column id: az.cec already appears on line 2");
}

TEST(ParticipantsCsv, ReportsCsvSyntaxErrors) {
  const Status st =
      parse_participants_csv(std::string(kHeader) + "az.cec,other,recommended,,\"K,S,С\n").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "line 2: unterminated quote");
}

}  // namespace
}  // namespace sened
