#include "core/multipart.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/digest.h"

namespace sened {
namespace {

constexpr char kBoundary[] = "----SenedBoundary7MA4YWxk";

// What the callbacks saw: one line per event, with the content of a part
// joined into one "data:" line however it was cut up.
struct Outcome {
  std::vector<std::string> events;
  Status status;  // the first error of feed(), or else what finish() returned

  bool operator==(const Outcome& other) const {
    return events == other.events && status.code() == other.status.code() &&
           status.message() == other.status.message();
  }
};

std::string describe(const PartHeaders& h) {
  return "begin name=" + h.name + " filename=" + (h.filename ? "[" + *h.filename + "]" : "none") +
         " type=" + h.content_type;
}

MultipartParser::Callbacks recording_callbacks(std::vector<std::string>& events) {
  MultipartParser::Callbacks callbacks;
  callbacks.on_part_begin = [&events](const PartHeaders& h) {
    events.push_back(describe(h));
    return Status();
  };
  callbacks.on_part_data = [&events](std::string_view data) {
    EXPECT_FALSE(data.empty());
    if (events.empty() || !events.back().starts_with("data:")) events.push_back("data:");
    events.back().append(data);
    return Status();
  };
  callbacks.on_part_end = [&events] {
    events.push_back("end");
    return Status();
  };
  return callbacks;
}

// Feeds `body` in pieces of `chunk_size` bytes (0: all at once), then ends it.
Outcome parse_in_chunks(std::string_view body, size_t chunk_size, MultipartLimits limits = {}) {
  Outcome outcome;
  MultipartParser parser(kBoundary, recording_callbacks(outcome.events), limits);
  const size_t step = chunk_size == 0 ? std::max<size_t>(body.size(), 1) : chunk_size;
  for (size_t pos = 0; pos < body.size() && outcome.status.ok(); pos += step) {
    outcome.status = parser.feed(body.substr(pos, step));
  }
  if (outcome.status.ok()) outcome.status = parser.finish();
  return outcome;
}

// Parses `body` whole and at chunk sizes 1, 2, 3, 7 and 64, expects the same
// outcome every time, and returns it.
Outcome parse(std::string_view body, MultipartLimits limits = {}) {
  const Outcome whole = parse_in_chunks(body, 0, limits);
  for (size_t chunk_size : {1, 2, 3, 7, 64}) {
    EXPECT_EQ(parse_in_chunks(body, chunk_size, limits), whole) << "chunk size " << chunk_size;
  }
  return whole;
}

std::string delimiter_line() { return std::string("--") + kBoundary + "\r\n"; }
std::string close_line() { return std::string("--") + kBoundary + "--\r\n"; }

// A part with the given header lines (each without CRLF) and content.
std::string part(const std::vector<std::string>& headers, std::string_view content) {
  std::string out = delimiter_line();
  for (const std::string& h : headers) out += h + "\r\n";
  out += "\r\n";
  out.append(content);
  out += "\r\n";
  return out;
}

std::string field(std::string_view name, std::string_view content) {
  return part({"Content-Disposition: form-data; name=\"" + std::string(name) + "\""}, content);
}

std::string percent_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// ---- Parsing ----

TEST(Multipart, ParsesTwoPartsWithDataThatLooksLikeBoundaries) {
  const std::string tricky = std::string("line\r\nbreaks\rand\nlone -- dashes\r\n--") + "\r\n--" +
                             std::string(kBoundary).substr(0, 10) + "\r\n-" + "--" + kBoundary +
                             " not at a line start\r\n\r\n--X" + kBoundary + "\r";
  const std::string body =
      part({"Content-Disposition: form-data; name=\"metadata\"", "Content-Type: application/json"},
           R"({"kind":"letter"})") +
      part({"Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\"",
            "Content-Type: application/octet-stream"},
           tricky) +
      close_line();
  const Outcome outcome = parse(body);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events, (std::vector<std::string>{
                                "begin name=metadata filename=none type=application/json",
                                R"(data:{"kind":"letter"})", "end",
                                "begin name=file filename=[a.bin] type=application/octet-stream",
                                "data:" + tricky, "end"}));
}

TEST(Multipart, GivesPartWithEmptyContentNoData) {
  const Outcome outcome = parse(field("empty", "") + close_line());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events,
            (std::vector<std::string>{"begin name=empty filename=none type=", "end"}));
}

TEST(Multipart, IgnoresPreambleAndEpilogue) {
  const std::string body = "This is a preamble.\r\n--" + std::string(kBoundary).substr(0, 12) +
                           " is only half a boundary\r\n" + field("a", "1") + close_line() +
                           "epilogue\r\n--" + kBoundary + "\r\nignored";
  const Outcome outcome = parse(body);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events,
            (std::vector<std::string>{"begin name=a filename=none type=", "data:1", "end"}));
}

TEST(Multipart, AcceptsMissingLineBreakAfterClosingBoundary) {
  const Outcome outcome = parse(field("a", "1") + "--" + kBoundary + "--");
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events.size(), 3u);
}

TEST(Multipart, AcceptsTransportPaddingAfterBoundary) {
  const std::string body = "--" + std::string(kBoundary) + " \t \r\n" +
                           "Content-Disposition: form-data; name=a\r\n\r\n1\r\n" + close_line();
  const Outcome outcome = parse(body);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events,
            (std::vector<std::string>{"begin name=a filename=none type=", "data:1", "end"}));
}

TEST(Multipart, AcceptsBodyWithNoParts) {
  const Outcome outcome = parse(close_line());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_TRUE(outcome.events.empty());
}

TEST(Multipart, ReadsHeaderNamesCaseInsensitively) {
  const Outcome outcome =
      parse(part({"content-disposition: FORM-DATA; NAME=\"a\"", "CONTENT-TYPE: text/plain"}, "x") +
            close_line());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events.front(), "begin name=a filename=none type=text/plain");
}

TEST(Multipart, IgnoresOtherPartHeaders) {
  const Outcome outcome = parse(part({"Content-Disposition: form-data; name=a",
                                      "Content-Transfer-Encoding: binary", "X-Extra: 1"},
                                     "x") +
                                close_line());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events.front(), "begin name=a filename=none type=");
}

// ---- File names ----

TEST(Multipart, DecodesFilenameStarInAzerbaijaniAndCyrillic) {
  const std::string az = "Məktub № 14-3-2051 (inteqrasiya).pdf";
  const std::string ru = "Письмо — приложение.docx";
  const Outcome outcome = parse(
      part({"Content-Disposition: form-data; name=file; filename*=UTF-8''" + percent_encode(az)},
           "1") +
      part({"Content-Disposition: form-data; name=file; filename*=utf-8'ru'" + percent_encode(ru)},
           "2") +
      close_line());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events[0], "begin name=file filename=[" + az + "] type=");
  EXPECT_EQ(outcome.events[3], "begin name=file filename=[" + ru + "] type=");
}

TEST(Multipart, PrefersFilenameStarOverFilename) {
  const Outcome outcome =
      parse(part({"Content-Disposition: form-data; filename*=UTF-8''%C5%9E%C9%99ki.txt; "
                  "filename=\"Seki.txt\"; name=\"file\""},
                 "x") +
            close_line());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events[0], "begin name=file filename=[Şəki.txt] type=");
}

TEST(Multipart, KeepsRawUtf8FilenameAndUndoesBackslashEscapes) {
  const Outcome outcome = parse(
      part({R"(Content-Disposition: form-data; name="file"; filename="Məktub \"№ 1\" \\ v2.pdf")"},
           "x") +
      close_line());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events[0], R"(begin name=file filename=[Məktub "№ 1" \ v2.pdf] type=)");
}

TEST(Multipart, KeepsEmptyFilenameAsGiven) {
  const Outcome outcome =
      parse(part({"Content-Disposition: form-data; name=file; filename=\"\""}, "") + close_line());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  EXPECT_EQ(outcome.events[0], "begin name=file filename=[] type=");
}

TEST(Multipart, RejectsFilenameStarInAnotherCharset) {
  const Outcome outcome = parse(
      part({"Content-Disposition: form-data; name=file; filename*=ISO-8859-1''caf%E9.txt"}, "x") +
      close_line());
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_TRUE(outcome.events.empty());
}

TEST(Multipart, RejectsFilenameStarWithBadPercentEscape) {
  for (const char* value : {"UTF-8''a%G1.txt", "UTF-8''a%4", "UTF-8''a%", "a.txt"}) {
    const Outcome outcome = parse(
        part({std::string("Content-Disposition: form-data; name=f; filename*=") + value}, "x") +
        close_line());
    EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument) << value;
  }
}

// ---- Malformed bodies ----

TEST(Multipart, ReportsUploadCutOffInsideAPartWithoutEndingIt) {
  const std::string body = field("a", "1") + part({"Content-Disposition: form-data; name=b"}, "");
  const Outcome outcome = parse(body.substr(0, body.size() - 2) + "partial content");
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("cut off"), std::string::npos);
  EXPECT_EQ(outcome.events,
            (std::vector<std::string>{"begin name=a filename=none type=", "data:1", "end",
                                      "begin name=b filename=none type=", "data:partial content"}));
}

TEST(Multipart, ReportsUploadCutOffInsideHeaders) {
  const Outcome outcome = parse(delimiter_line() + "Content-Disposition: form-da");
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_TRUE(outcome.events.empty());
}

TEST(Multipart, ReportsUploadCutOffInClosingBoundary) {
  const Outcome outcome = parse(field("a", "1") + "--" + kBoundary + "-");
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
}

TEST(Multipart, ReportsEmptyBodyAsCutOff) {
  EXPECT_EQ(parse("").status.code(), Code::kInvalidArgument);
}

// A boundary line followed by other characters is refused rather than read
// as content, so that no two parsers could split the body differently.
TEST(Multipart, RejectsJunkAfterBoundary) {
  const std::string body = field("a", "1") + "--" + kBoundary + "X\r\n" + close_line();
  const Outcome outcome = parse(body);
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(outcome.events.back(), "end");
}

TEST(Multipart, RejectsPaddingBeforeTheClosingDashes) {
  const Outcome outcome = parse(field("a", "1") + "--" + kBoundary + " --\r\n");
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
}

TEST(Multipart, RejectsPartWithoutContentDisposition) {
  const Outcome outcome = parse(part({"Content-Type: text/plain"}, "x") + close_line());
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_TRUE(outcome.events.empty());
}

TEST(Multipart, RejectsPartWithoutName) {
  const Outcome outcome =
      parse(part({"Content-Disposition: form-data; filename=\"a.pdf\""}, "x") + close_line());
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
}

TEST(Multipart, RejectsDispositionOtherThanFormData) {
  const Outcome outcome =
      parse(part({"Content-Disposition: attachment; name=\"a\""}, "x") + close_line());
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
}

TEST(Multipart, RejectsTwoContentDispositionHeaders) {
  const Outcome outcome = parse(
      part({"Content-Disposition: form-data; name=a", "Content-Disposition: form-data; name=b"},
           "x") +
      close_line());
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
}

TEST(Multipart, RejectsRepeatedDispositionParameter) {
  const Outcome outcome =
      parse(part({"Content-Disposition: form-data; name=a; name=b"}, "x") + close_line());
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
}

TEST(Multipart, RejectsUnterminatedQuotedName) {
  const Outcome outcome =
      parse(part({"Content-Disposition: form-data; name=\"a"}, "x") + close_line());
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
}

TEST(Multipart, RejectsHeaderLineWithoutColon) {
  const Outcome outcome =
      parse(part({"Content-Disposition: form-data; name=a", "garbage"}, "x") + close_line());
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
}

TEST(Multipart, RejectsControlCharacterInHeader) {
  const Outcome outcome =
      parse(part({std::string("Content-Disposition: form-data; name=a\x01")}, "x") + close_line());
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
}

TEST(Multipart, RejectsHeaderLongerThanTheLimit) {
  const std::string body =
      part({"Content-Disposition: form-data; name=a", "X-Long: " + std::string(20000, 'v')}, "x") +
      close_line();
  const Outcome outcome = parse(body);
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_NE(outcome.status.message().find("longer than"), std::string::npos);
  EXPECT_TRUE(outcome.events.empty());
}

TEST(Multipart, AcceptsHeadersExactlyAtTheLimit) {
  const std::string header = "Content-Disposition: form-data; name=a";
  // The header line and the empty line after it, each with CRLF.
  const MultipartLimits limits{.max_header_bytes = header.size() + 4};
  EXPECT_TRUE(parse(part({header}, "x") + close_line(), limits).status.ok());
  const MultipartLimits smaller{.max_header_bytes = header.size() + 3};
  EXPECT_EQ(parse(part({header}, "x") + close_line(), smaller).status.code(),
            Code::kInvalidArgument);
}

TEST(Multipart, RejectsMorePartsThanTheLimit) {
  const MultipartLimits limits{.max_parts = 2};
  EXPECT_TRUE(parse(field("a", "1") + field("b", "2") + close_line(), limits).status.ok());
  const Outcome outcome =
      parse(field("a", "1") + field("b", "2") + field("c", "3") + close_line(), limits);
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(outcome.events.size(), 6u);
}

TEST(Multipart, RejectsEmptyBoundaryGivenToTheParser) {
  MultipartParser parser("", {});
  EXPECT_EQ(parser.feed("--\r\n").code(), Code::kInvalidArgument);
}

// ---- Callbacks ----

TEST(Multipart, StopsWhenACallbackFails) {
  std::vector<std::string> events;
  MultipartParser::Callbacks callbacks = recording_callbacks(events);
  callbacks.on_part_begin = [&events](const PartHeaders& h) {
    if (h.name == "b") return permission_denied("no part b");
    events.push_back(describe(h));
    return Status();
  };
  MultipartParser parser(kBoundary, callbacks);
  const Status st = parser.feed(field("a", "1") + field("b", "2") + field("c", "3"));
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(st.message(), "no part b");
  EXPECT_EQ(parser.feed(close_line()).code(), Code::kPermissionDenied);
  EXPECT_EQ(parser.finish().code(), Code::kPermissionDenied);
  EXPECT_EQ(events,
            (std::vector<std::string>{"begin name=a filename=none type=", "data:1", "end"}));
}

TEST(Multipart, ReturnsTheDataCallbacksErrorAsIs) {
  MultipartParser::Callbacks callbacks;
  int data_calls = 0;
  callbacks.on_part_data = [&data_calls](std::string_view) {
    ++data_calls;
    return payload_too_large("file over the limit");
  };
  MultipartParser parser(kBoundary, callbacks);
  const Status st = parser.feed(field("a", "12345") + close_line());
  EXPECT_EQ(st.code(), Code::kPayloadTooLarge);
  EXPECT_EQ(st.message(), "file over the limit");
  EXPECT_EQ(data_calls, 1);
}

TEST(Multipart, WorksWithoutCallbacks) {
  MultipartParser parser(kBoundary, {});
  EXPECT_TRUE(parser.feed(field("a", "1") + close_line()).ok());
  EXPECT_TRUE(parser.finish().ok());
}

// ---- Memory ----

TEST(Multipart, KeepsBufferedBytesSmallForA50MegabytePart) {
  constexpr size_t kPartBytes = 50 * 1024 * 1024;
  constexpr size_t kChunkBytes = 64 * 1024;
  // Content full of line breaks and dashes, so the parser keeps checking for
  // a boundary, built deterministically.
  std::string content(kPartBytes, '\0');
  uint32_t x = 12345;
  for (char& c : content) {
    x = x * 1103515245 + 12345;
    c = "\r\n-ab"[(x >> 16) % 5];
  }
  const std::string body =
      part({"Content-Disposition: form-data; name=file; filename=big.bin"}, content) + close_line();

  size_t received = 0;
  crypto::Sha256 digest;
  MultipartParser::Callbacks callbacks;
  callbacks.on_part_data = [&](std::string_view data) {
    received += data.size();
    digest.update(data);
    return Status();
  };
  MultipartParser parser(kBoundary, callbacks);
  size_t most_buffered = 0;
  for (size_t pos = 0; pos < body.size(); pos += kChunkBytes) {
    ASSERT_TRUE(parser.feed(std::string_view(body).substr(pos, kChunkBytes)).ok());
    most_buffered = std::max(most_buffered, parser.buffered_bytes());
  }
  ASSERT_TRUE(parser.finish().ok());
  EXPECT_LT(most_buffered, 128u * 1024);
  EXPECT_EQ(received, kPartBytes);
  EXPECT_EQ(crypto::to_hex(digest.finish()), crypto::sha256_hex(content));
}

// ---- boundary_from_content_type ----

TEST(ContentTypeBoundary, ReadsUnquotedBoundary) {
  const Result<std::string> b =
      MultipartParser::boundary_from_content_type("multipart/form-data; boundary=abc123");
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(*b, "abc123");
}

TEST(ContentTypeBoundary, ReadsQuotedBoundaryWithSpacesAndSymbols) {
  const Result<std::string> b =
      MultipartParser::boundary_from_content_type(R"(multipart/form-data; boundary="a b:c=d?")");
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(*b, "a b:c=d?");
}

TEST(ContentTypeBoundary, AcceptsAnyCaseAndParameterOrder) {
  const Result<std::string> b = MultipartParser::boundary_from_content_type(
      "Multipart/Form-Data ; charset=utf-8;BOUNDARY=\"xyz\" ");
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(*b, "xyz");
}

TEST(ContentTypeBoundary, RejectsOtherMediaTypesAsUnsupported) {
  for (const char* type : {"application/json", "multipart/mixed; boundary=x", "",
                           "multipart/form-data-x; boundary=x", "text/plain; boundary=x"}) {
    EXPECT_EQ(MultipartParser::boundary_from_content_type(type).status().code(),
              Code::kUnsupportedMediaType)
        << type;
  }
}

TEST(ContentTypeBoundary, RejectsMissingBoundary) {
  EXPECT_EQ(MultipartParser::boundary_from_content_type("multipart/form-data").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(MultipartParser::boundary_from_content_type("multipart/form-data; charset=utf-8")
                .status()
                .code(),
            Code::kInvalidArgument);
}

TEST(ContentTypeBoundary, RejectsEmptyBoundary) {
  EXPECT_EQ(
      MultipartParser::boundary_from_content_type("multipart/form-data; boundary=").status().code(),
      Code::kInvalidArgument);
  EXPECT_EQ(MultipartParser::boundary_from_content_type("multipart/form-data; boundary=\"\"")
                .status()
                .code(),
            Code::kInvalidArgument);
}

TEST(ContentTypeBoundary, AcceptsSeventyCharactersButNotMore) {
  const std::string prefix = "multipart/form-data; boundary=";
  EXPECT_TRUE(MultipartParser::boundary_from_content_type(prefix + std::string(70, 'b')).ok());
  EXPECT_EQ(
      MultipartParser::boundary_from_content_type(prefix + std::string(71, 'b')).status().code(),
      Code::kInvalidArgument);
}

TEST(ContentTypeBoundary, RejectsWronglyQuotedBoundary) {
  for (const char* type :
       {"multipart/form-data; boundary=\"abc", "multipart/form-data; boundary=\"a\"b",
        "multipart/form-data; boundary=a\"b\"", "multipart/form-data; boundary=\"abc\" junk"}) {
    EXPECT_EQ(MultipartParser::boundary_from_content_type(type).status().code(),
              Code::kInvalidArgument)
        << type;
  }
}

TEST(ContentTypeBoundary, RejectsCharactersOutsideTheBoundaryAlphabet) {
  EXPECT_EQ(MultipartParser::boundary_from_content_type("multipart/form-data; boundary=\"a@b\"")
                .status()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(MultipartParser::boundary_from_content_type("multipart/form-data; boundary=\"ab \"")
                .status()
                .code(),
            Code::kInvalidArgument);
}

TEST(ContentTypeBoundary, RejectsRepeatedBoundary) {
  EXPECT_EQ(
      MultipartParser::boundary_from_content_type("multipart/form-data; boundary=a; boundary=b")
          .status()
          .code(),
      Code::kInvalidArgument);
}

}  // namespace
}  // namespace sened
