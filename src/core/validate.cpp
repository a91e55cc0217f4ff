#include "core/validate.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <climits>
#include <initializer_list>
#include <unordered_set>
#include <utility>

#include "core/ids.h"
#include "crypto/digest.h"

namespace sened {
namespace {

namespace json = boost::json;

// The shape of a UTF-8 sequence, told by its first byte.
struct LeadByte {
  size_t length = 0;      // 0: not a valid first byte
  char32_t bits = 0;      // the payload bits of the first byte
  char32_t smallest = 0;  // anything below this is an overlong form
};

LeadByte classify_lead_byte(unsigned char b) {
  if (b < 0x80) return {1, b, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, b & 0x1Fu, 0x80};
  if ((b & 0xF0) == 0xE0) return {3, b & 0x0Fu, 0x800};
  if (b >= 0xF0 && b <= 0xF4) return {4, b & 0x07u, 0x10000};
  return {};
}

// Decodes the code point at s[pos] into `cp` and returns its length in bytes,
// or 0 if the bytes there are not well-formed UTF-8.
size_t decode_utf8(std::string_view s, size_t pos, char32_t& cp) {
  const LeadByte lead = classify_lead_byte(static_cast<unsigned char>(s[pos]));
  if (lead.length == 0 || s.size() - pos < lead.length) return 0;
  cp = lead.bits;
  for (size_t i = 1; i < lead.length; ++i) {
    const auto b = static_cast<unsigned char>(s[pos + i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < lead.smallest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return lead.length;
}

// C0 controls, DEL and C1 controls.
bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// True if valid UTF-8 `text` holds a control character (tab aside, if allowed).
bool has_control(std::string_view text, bool allow_tab) {
  char32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = decode_utf8(text, pos, cp);
    if (length == 0) return true;  // not text at all; callers check UTF-8 first
    if (is_control(cp) && !(allow_tab && cp == '\t')) return true;
    pos += length;
  }
  return false;
}

// True if valid UTF-8 `text` is empty or holds only white space.
bool is_blank(std::string_view text) {
  char32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = decode_utf8(text, pos, cp);
    if (length == 0 || !u_isUWhiteSpace(static_cast<UChar32>(cp))) return false;
    pos += length;
  }
  return true;
}

// Parses exactly `digits.size()` decimal digits.
bool parse_digits(std::string_view digits, int& out) {
  out = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::string lowercase_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return s;
}

// Readers of the metadata, one per top-level member. Each names the field's
// path in its errors.

Status field_error(std::string_view path, std::string_view problem) {
  return invalid_argument(std::string(path) + ": " + std::string(problem));
}

// The member `key` of `obj`, or nullptr if it is absent or null.
const json::value* member(const json::object& obj, std::string_view key) {
  const auto it = obj.find(json::string_view(key.data(), key.size()));
  if (it == obj.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

// The string held by `v`, which must be valid UTF-8.
Result<std::string> string_at(const json::value& v, std::string_view path) {
  const json::string* s = v.if_string();
  if (s == nullptr) return field_error(path, "must be a string");
  std::string out(s->data(), s->size());
  if (!is_valid_utf8(out)) return field_error(path, "not valid UTF-8");
  return out;
}

// Reads the string member `key` into `out`. An absent or null member is an
// error when `required`, and otherwise leaves `out` as it is.
Status read_string(const json::object& obj, std::string_view key, std::string_view path,
                   bool required, std::string& out) {
  const json::value* v = member(obj, key);
  if (v == nullptr) return required ? field_error(path, "required") : Status();
  Result<std::string> s = string_at(*v, path);
  if (!s.ok()) return s.status();
  out = std::move(s).value();
  return {};
}

// A line of text: at most `max_bytes`, and no control characters (but tab
// where `allow_tab`).
Status check_text(std::string_view text, size_t max_bytes, bool allow_tab, std::string_view path) {
  if (text.size() > max_bytes) {
    return field_error(path, "longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (has_control(text, allow_tab)) return field_error(path, "contains a control character");
  return {};
}

Status check_one_of(std::string_view value, std::initializer_list<std::string_view> allowed,
                    std::string_view path) {
  std::string names;
  for (std::string_view name : allowed) {
    if (value == name) return {};
    names += names.empty() ? "" : ", ";
    names += name;
  }
  return field_error(path, "must be one of " + names);
}

Status check_date(std::string_view value, std::string_view path) {
  return value.empty() || is_valid_date(value) ? Status() : field_error(path, "not a valid date");
}

Status read_sender_ref(const json::object& obj, DocumentMeta& meta) {
  SENED_RETURN_IF_ERROR(read_string(obj, "sender_ref", "sender_ref", true, meta.sender_ref));
  if (meta.sender_ref.empty()) return field_error("sender_ref", "must not be empty");
  return check_text(meta.sender_ref, kMaxSenderRefBytes, /*allow_tab=*/false, "sender_ref");
}

Status read_kind(const json::object& obj, DocumentMeta& meta) {
  SENED_RETURN_IF_ERROR(read_string(obj, "kind", "kind", true, meta.kind));
  return check_one_of(meta.kind, {"letter", "order", "request", "reply", "notice", "other"},
                      "kind");
}

Status read_subject(const json::object& obj, DocumentMeta& meta) {
  SENED_RETURN_IF_ERROR(read_string(obj, "subject", "subject", true, meta.subject));
  if (is_blank(meta.subject)) return field_error("subject", "must not be blank");
  return check_text(meta.subject, kMaxSubjectBytes, /*allow_tab=*/true, "subject");
}

Status read_urgency(const json::object& obj, DocumentMeta& meta) {
  meta.urgency = "normal";
  SENED_RETURN_IF_ERROR(read_string(obj, "urgency", "urgency", false, meta.urgency));
  return check_one_of(meta.urgency, {"normal", "urgent", "immediate"}, "urgency");
}

Status read_registration(const json::object& obj, DocumentMeta& meta) {
  const json::value* v = member(obj, "registration");
  if (v == nullptr) return {};
  const json::object* reg = v->if_object();
  if (reg == nullptr) return field_error("registration", "must be an object");

  SENED_RETURN_IF_ERROR(read_string(*reg, "number", "registration.number", false, meta.reg_number));
  SENED_RETURN_IF_ERROR(
      check_text(meta.reg_number, kMaxRegNumberBytes, /*allow_tab=*/false, "registration.number"));
  SENED_RETURN_IF_ERROR(read_string(*reg, "date", "registration.date", false, meta.reg_date));
  return check_date(meta.reg_date, "registration.date");
}

// Fetches the array member `key`; `out` stays null when it is absent or null.
Status array_member(const json::object& obj, std::string_view key, std::string_view path,
                    bool required, const json::array*& out) {
  out = nullptr;
  const json::value* v = member(obj, key);
  if (v == nullptr) return required ? field_error(path, "required") : Status();
  out = v->if_array();
  return out == nullptr ? field_error(path, "must be an array") : Status();
}

// Appends the participant ids of `ids` to `out`, skipping any in `seen`.
Status read_ids(const json::array& ids, std::string_view path,
                std::unordered_set<std::string>& seen, std::vector<std::string>& out) {
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string item_path = std::string(path) + "[" + std::to_string(i) + "]";
    Result<std::string> id = string_at(ids[i], item_path);
    if (!id.ok()) return id.status();
    if (!is_valid_participant_id(*id)) return field_error(item_path, "not a participant id");
    if (seen.insert(*id).second) out.push_back(std::move(id).value());
  }
  return {};
}

Status read_recipients(const json::object& obj, DocumentMeta& meta) {
  const json::value* v = member(obj, "recipients");
  if (v == nullptr) return field_error("recipients", "required");
  const json::object* recipients = v->if_object();
  if (recipients == nullptr) return field_error("recipients", "must be an object");

  const json::array* to = nullptr;
  const json::array* cc = nullptr;
  SENED_RETURN_IF_ERROR(array_member(*recipients, "to", "recipients.to", true, to));
  SENED_RETURN_IF_ERROR(array_member(*recipients, "cc", "recipients.cc", false, cc));
  if (to->empty()) return field_error("recipients.to", "must name at least one recipient");
  if (to->size() + (cc == nullptr ? 0 : cc->size()) > kMaxRecipients) {
    return field_error("recipients", "more than " + std::to_string(kMaxRecipients) + " recipients");
  }

  // Reading to before cc makes an id named in both stay only in to.
  std::unordered_set<std::string> seen;
  SENED_RETURN_IF_ERROR(read_ids(*to, "recipients.to", seen, meta.to));
  return cc == nullptr ? Status() : read_ids(*cc, "recipients.cc", seen, meta.cc);
}

Status read_in_reply_to(const json::object& obj, DocumentMeta& meta) {
  std::string id;
  SENED_RETURN_IF_ERROR(read_string(obj, "in_reply_to", "in_reply_to", false, id));
  if (member(obj, "in_reply_to") == nullptr) return {};
  if (!is_uuid(id)) return field_error("in_reply_to", "not a document id");
  meta.in_reply_to = lowercase_ascii(std::move(id));
  return {};
}

Status read_due_date(const json::object& obj, DocumentMeta& meta) {
  SENED_RETURN_IF_ERROR(read_string(obj, "due_date", "due_date", false, meta.due_date));
  return check_date(meta.due_date, "due_date");
}

Status read_file_sha256(const json::object& obj, const std::string& path, DeclaredFile& file) {
  std::string sha256;
  SENED_RETURN_IF_ERROR(read_string(obj, "sha256", path + ".sha256", false, sha256));
  if (member(obj, "sha256") == nullptr) return {};
  sha256 = lowercase_ascii(std::move(sha256));
  if (!crypto::is_sha256_hex(sha256)) return field_error(path + ".sha256", "not 64 hex digits");
  file.sha256 = std::move(sha256);
  return {};
}

Status read_file_size(const json::object& obj, const std::string& path, DeclaredFile& file) {
  const json::value* v = member(obj, "size");
  if (v == nullptr) return {};
  if (const int64_t* i = v->if_int64(); i != nullptr && *i >= 0) {
    file.size = static_cast<uint64_t>(*i);
  } else if (const uint64_t* u = v->if_uint64(); u != nullptr) {
    file.size = *u;
  } else {
    return field_error(path + ".size", "must be a non-negative integer");
  }
  return {};
}

// `upload` names a finished resumable upload (an id the hub gave out at
// /v1/uploads) that carries this file instead of a multipart part.
Status read_file_upload(const json::object& obj, const std::string& path, DeclaredFile& file) {
  std::string id;
  SENED_RETURN_IF_ERROR(read_string(obj, "upload", path + ".upload", false, id));
  if (member(obj, "upload") == nullptr) return {};
  if (!is_uuid(id)) return field_error(path + ".upload", "not an upload id");
  file.upload = lowercase_ascii(std::move(id));
  return {};
}

Status read_file_entry(const json::value& v, const std::string& path, DeclaredFile& file) {
  const json::object* obj = v.if_object();
  if (obj == nullptr) return field_error(path, "must be an object");
  SENED_RETURN_IF_ERROR(read_string(*obj, "name", path + ".name", true, file.name));
  SENED_RETURN_IF_ERROR(validate_file_name(file.name).with_context(path + ".name"));
  SENED_RETURN_IF_ERROR(read_file_sha256(*obj, path, file));
  SENED_RETURN_IF_ERROR(read_file_upload(*obj, path, file));
  if (const json::value* enc = member(*obj, "encrypted"); enc != nullptr) {
    if (!enc->is_bool()) return field_error(path + ".encrypted", "must be true or false");
    file.encrypted = enc->as_bool();
  }
  return read_file_size(*obj, path, file);
}

Status read_files(const json::object& obj, DocumentMeta& meta) {
  const json::array* files = nullptr;
  SENED_RETURN_IF_ERROR(array_member(obj, "files", "files", false, files));
  if (files == nullptr) return {};
  if (files->size() > kMaxDeclaredFiles) {
    return field_error("files", "more than " + std::to_string(kMaxDeclaredFiles) + " files");
  }
  meta.files.resize(files->size());
  for (size_t i = 0; i < files->size(); ++i) {
    const std::string path = "files[" + std::to_string(i) + "]";
    SENED_RETURN_IF_ERROR(read_file_entry((*files)[i], path, meta.files[i]));
  }
  // One upload's bytes can become one file only.
  std::unordered_set<std::string> uploads;
  for (size_t i = 0; i < meta.files.size(); ++i) {
    const auto& upload = meta.files[i].upload;
    if (upload && !uploads.insert(*upload).second) {
      return field_error("files[" + std::to_string(i) + "].upload",
                         "names the same upload as an earlier file");
    }
  }
  return {};
}

// Parses `text` as a JSON object, refusing invalid UTF-8 and deep nesting.
Result<json::value> parse_json_object(std::string_view text) {
  if (text.empty()) return invalid_argument("body is empty");
  if (!is_valid_utf8(text)) return invalid_argument("body is not valid UTF-8");
  json::parse_options options;
  options.max_depth = kMaxMetadataDepth;
  boost::system::error_code error;
  json::value root = json::parse(json::string_view(text.data(), text.size()), error, {}, options);
  if (error) return invalid_argument("body is not valid JSON (" + error.message() + ")");
  if (!root.is_object()) return invalid_argument("body must be a JSON object");
  return root;
}

}  // namespace

size_t valid_utf8_prefix(std::string_view s) {
  char32_t cp = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t length = decode_utf8(s, pos, cp);
    if (length == 0) break;
    pos += length;
  }
  return pos;
}

bool is_valid_utf8(std::string_view s) { return valid_utf8_prefix(s) == s.size(); }

bool has_control_character(std::string_view utf8) { return has_control(utf8, false); }

namespace {

// Code points that change how a name displays without being seen: bidi
// controls (a name that reads "invoice.pdf" but ends in ".exe"), zero-width
// characters, line separators and noncharacters.
bool is_deceptive_code_point(char32_t c) {
  return c == 0x061C || (c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
         (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF ||
         (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

// Decodes valid UTF-8 and reports whether any code point is deceptive.
bool has_deceptive_code_point(std::string_view utf8) {
  size_t i = 0;
  while (i < utf8.size()) {
    auto b = static_cast<unsigned char>(utf8[i]);
    int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k < len && i + k < utf8.size(); ++k) {
      c = (c << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
    }
    if (is_deceptive_code_point(c)) return true;
    i += static_cast<size_t>(len);
  }
  return false;
}

}  // namespace

Status validate_file_name(std::string_view name) {
  if (name.empty()) return invalid_argument("file name is empty");
  if (name.size() > kMaxFileNameBytes) {
    return invalid_argument("file name is longer than " + std::to_string(kMaxFileNameBytes) +
                            " bytes");
  }
  if (!is_valid_utf8(name)) return invalid_argument("file name is not valid UTF-8");
  if (name.find_first_of("/\\") != std::string_view::npos) {
    return invalid_argument("file name contains '/' or '\\'");
  }
  if (has_control(name, /*allow_tab=*/false)) {
    return invalid_argument("file name contains a control character");
  }
  if (name == ".") return invalid_argument("file name is \".\"");
  if (name.starts_with("..")) return invalid_argument("file name starts with \"..\"");
  if (has_deceptive_code_point(name)) {
    return invalid_argument("file name contains an invisible or direction-changing character");
  }
  // Windows drops trailing dots and spaces, so such names would change on
  // the way to a recipient's disk.
  if (name.front() == ' ' || name.back() == ' ' || name.back() == '.') {
    return invalid_argument("file name starts or ends with a space, or ends with a dot");
  }
  return {};
}

std::string to_nfc(std::string_view utf8) {
  if (utf8.size() > INT32_MAX) return std::string(utf8);
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(error);
  if (U_FAILURE(error)) return std::string(utf8);
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(utf8.size()));
  nfc->normalizeUTF8(0, icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())), sink,
                     nullptr, error);
  return U_FAILURE(error) ? std::string(utf8) : out;
}

bool is_valid_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int year = 0;
  int month = 0;
  int day = 0;
  if (!parse_digits(s.substr(0, 4), year) || !parse_digits(s.substr(5, 2), month) ||
      !parse_digits(s.substr(8, 2), day)) {
    return false;
  }
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  return day <= days_in_month(year, month);
}

bool is_valid_participant_id(std::string_view s) {
  if (s.size() < 2 || s.size() > 64 || s.front() < 'a' || s.front() > 'z') return false;
  if (s.back() == '.' || s.back() == '-' || s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

Result<DocumentMeta> parse_metadata(std::string_view text) {
  Result<json::value> root = parse_json_object(text);
  if (!root.ok()) return root.status();
  const json::object& obj = root->get_object();

  using FieldReader = Status (*)(const json::object&, DocumentMeta&);
  static constexpr FieldReader kReaders[] = {
      read_sender_ref, read_kind,        read_subject,  read_urgency, read_registration,
      read_recipients, read_in_reply_to, read_due_date, read_files,
  };
  DocumentMeta meta;
  for (FieldReader read : kReaders) {
    SENED_RETURN_IF_ERROR(read(obj, meta));
  }
  return meta;
}

}  // namespace sened
