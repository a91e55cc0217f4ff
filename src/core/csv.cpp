#include "core/csv.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <utility>

#include "core/validate.h"

namespace sened {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

struct Record {
  size_t line = 0;  // the line the record starts on
  std::vector<std::string> fields;
};

Status line_error(size_t line, std::string_view problem) {
  return invalid_argument("line " + std::to_string(line) + ": " + std::string(problem));
}

// Splits CSV text into records, one call to next() at a time.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {}

  // Reads the next record into `record`; false with an ok status at the end.
  Result<bool> next(Record& record);

 private:
  bool at_end() const { return pos_ == text_.size(); }
  // Consumes a CRLF or LF at the current position, if there is one.
  bool take_line_break();
  Status read_field(std::string& field);
  Status read_quoted(std::string& field);
  Status read_plain(std::string& field);

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

bool CsvReader::take_line_break() {
  const std::string_view rest = text_.substr(pos_);
  const size_t length = rest.starts_with("\r\n") ? 2 : rest.starts_with('\n') ? 1 : 0;
  pos_ += length;
  line_ += length == 0 ? 0 : 1;
  return length != 0;
}

Result<bool> CsvReader::next(Record& record) {
  // Blank lines hold no record.
  while (take_line_break()) {
  }
  if (at_end()) return false;

  record.line = line_;
  record.fields.clear();
  while (true) {
    SENED_RETURN_IF_ERROR(read_field(record.fields.emplace_back()));
    if (at_end() || take_line_break()) return true;
    if (text_[pos_] != ',') return line_error(line_, "carriage return without a line feed");
    ++pos_;
  }
}

Status CsvReader::read_field(std::string& field) {
  return !at_end() && text_[pos_] == '"' ? read_quoted(field) : read_plain(field);
}

Status CsvReader::read_plain(std::string& field) {
  const size_t end = std::min(text_.find_first_of(",\r\n\"", pos_), text_.size());
  if (end < text_.size() && text_[end] == '"') {
    return line_error(line_, "a quote inside an unquoted field");
  }
  field.assign(text_.substr(pos_, end - pos_));
  pos_ = end;
  return {};
}

Status CsvReader::read_quoted(std::string& field) {
  const size_t opened_on = line_;
  ++pos_;  // the opening quote
  while (true) {
    const size_t quote = text_.find('"', pos_);
    if (quote == std::string_view::npos) return line_error(opened_on, "unterminated quote");
    const std::string_view piece = text_.substr(pos_, quote - pos_);
    line_ += std::count(piece.begin(), piece.end(), '\n');
    field.append(piece);
    pos_ = quote + 1;
    if (at_end() || text_[pos_] != '"') break;
    field.push_back('"');  // "" stands for one quote
    ++pos_;
  }
  if (at_end() || text_[pos_] == ',' || text_[pos_] == '\n' ||
      text_.substr(pos_).starts_with("\r\n")) {
    return {};
  }
  return line_error(line_, "characters after a closing quote");
}

// All records of `text` with the lines they start on.
Result<std::vector<Record>> read_records(std::string_view text) {
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  const size_t valid = valid_utf8_prefix(text);
  if (valid != text.size()) {
    const std::string_view before = text.substr(0, valid);
    return line_error(1 + std::count(before.begin(), before.end(), '\n'), "invalid UTF-8");
  }

  std::vector<Record> records;
  CsvReader reader(text);
  while (true) {
    Record record;
    Result<bool> more = reader.next(record);
    if (!more.ok()) return more.status();
    if (!*more) return records;
    records.push_back(std::move(record));
  }
}

// ---- The participant registry ----

constexpr std::array<std::string_view, 6> kRequiredColumns = {"id",       "category", "obligation",
                                                              "deadline", "name_az",  "name_en"};
constexpr std::array<std::string_view, 9> kCategories = {
    "presidential-body", "central-executive", "local-executive",
    "state-owned",       "legislature",       "court",
    "central-bank",      "oversight",         "other"};
constexpr std::array<std::string_view, 3> kObligations = {"ordered", "recommended", "after-launch"};

// Where each column of the registry is, by name.
using Header = std::map<std::string, size_t, std::less<>>;

Result<Header> read_header(const Record& record) {
  Header header;
  for (size_t i = 0; i < record.fields.size(); ++i) {
    if (!header.emplace(record.fields[i], i).second) {
      return line_error(record.line, "column " + record.fields[i] + " appears twice");
    }
  }
  for (std::string_view column : kRequiredColumns) {
    if (!header.contains(column)) {
      return line_error(record.line, "missing column " + std::string(column));
    }
  }
  return header;
}

// Reads one participant's row, checking each value; errors name the column.
class RowReader {
 public:
  RowReader(const Record& record, const Header& header) : record_(record), header_(header) {}

  // The value in `column`, or empty if the header has no such column.
  const std::string& cell(std::string_view column) const {
    static const std::string kEmpty;
    const auto it = header_.find(column);
    return it == header_.end() ? kEmpty : record_.fields[it->second];
  }

  Status error(std::string_view column, std::string_view problem) const {
    return invalid_argument("line " + std::to_string(record_.line) + ", column " +
                            std::string(column) + ": " + std::string(problem));
  }

  template <size_t N>
  Status check_one_of(std::string_view column, const std::array<std::string_view, N>& allowed,
                      std::string_view what) const {
    const std::string& value = cell(column);
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return {};
    return error(column, "unknown " + std::string(what) + " \"" + value + "\"");
  }

  Status check_name(std::string_view column, bool required) const {
    const std::string& value = cell(column);
    if (required && value.empty()) return error(column, "must not be empty");
    if (has_control_character(value)) return error(column, "contains a control character");
    return {};
  }

 private:
  const Record& record_;
  const Header& header_;
};

Status check_participant(const RowReader& row) {
  if (!is_valid_participant_id(row.cell("id"))) {
    return row.error("id", "\"" + row.cell("id") + "\" is not a participant id");
  }
  SENED_RETURN_IF_ERROR(row.check_one_of("category", kCategories, "category"));
  SENED_RETURN_IF_ERROR(row.check_one_of("obligation", kObligations, "obligation"));

  const std::string& deadline = row.cell("deadline");
  if (deadline.empty() && row.cell("obligation") == "ordered") {
    return row.error("deadline", "required when the obligation is ordered");
  }
  if (!deadline.empty() && !is_valid_date(deadline)) {
    return row.error("deadline", "\"" + deadline + "\" is not a valid date");
  }

  SENED_RETURN_IF_ERROR(row.check_name("name_az", true));
  SENED_RETURN_IF_ERROR(row.check_name("name_en", true));
  return row.check_name("name_ru", false);
}

Result<Participant> read_participant(const Record& record, const Header& header) {
  if (record.fields.size() != header.size()) {
    return line_error(record.line, std::to_string(record.fields.size()) +
                                       " fields where the header has " +
                                       std::to_string(header.size()));
  }
  const RowReader row(record, header);
  SENED_RETURN_IF_ERROR(check_participant(row));
  Participant p;
  p.id = row.cell("id");
  p.category = row.cell("category");
  p.obligation = row.cell("obligation");
  p.deadline = row.cell("deadline");
  p.name_az = row.cell("name_az");
  p.name_en = row.cell("name_en");
  p.name_ru = row.cell("name_ru");
  p.status = ParticipantStatus::kActive;
  return p;
}

}  // namespace

Result<std::vector<std::vector<std::string>>> parse_csv(std::string_view text) {
  Result<std::vector<Record>> records = read_records(text);
  if (!records.ok()) return records.status();
  std::vector<std::vector<std::string>> out;
  out.reserve(records->size());
  for (Record& record : *records) out.push_back(std::move(record.fields));
  return out;
}

Result<std::vector<Participant>> parse_participants_csv(std::string_view text) {
  Result<std::vector<Record>> records = read_records(text);
  if (!records.ok()) return records.status();
  if (records->empty()) return line_error(1, "missing the header row");
  Result<Header> header = read_header(records->front());
  if (!header.ok()) return header.status();

  std::vector<Participant> participants;
  std::map<std::string, size_t, std::less<>> first_line;  // id -> line it appeared on
  for (size_t i = 1; i < records->size(); ++i) {
    const Record& record = (*records)[i];
    Result<Participant> p = read_participant(record, *header);
    if (!p.ok()) return p.status();
    const auto [it, fresh] = first_line.emplace(p->id, record.line);
    if (!fresh) {
      return invalid_argument("line " + std::to_string(record.line) + ", column id: " + p->id +
                              " already appears on line " + std::to_string(it->second));
    }
    participants.push_back(std::move(p).value());
  }
  return participants;
}

}  // namespace sened
