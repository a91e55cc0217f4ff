#include "core/multipart.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace sened {
namespace {

// RFC 2046 caps a boundary at 70 characters.
constexpr size_t kMaxBoundaryLength = 70;
// While earlier bytes wait in the pending buffer, a chunk is copied in at
// most this much at a time, so that the buffer stays small.
constexpr size_t kRefillBytes = 4096;

// ---- Text helpers ----

char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower_ascii(x) == lower_ascii(y);
         });
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alnum_ascii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A token character of RFC 9110.
bool is_tchar(char c) {
  return is_alnum_ascii(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// A control character that may not appear in a header value (tab may).
bool is_header_control(char c) {
  const auto b = static_cast<unsigned char>(c);
  return (b < 0x20 && c != '\t') || b == 0x7F;
}

// A character RFC 2046 allows in a boundary.
bool is_boundary_char(char c) {
  return is_alnum_ascii(c) || std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// The length of the longest proper prefix of `delimiter` that `input` ends with.
size_t partial_delimiter_length(std::string_view input, std::string_view delimiter) {
  const size_t longest = std::min(input.size(), delimiter.size() - 1);
  for (size_t i = input.size() - longest; i < input.size(); ++i) {
    if (delimiter.starts_with(input.substr(i))) return input.size() - i;
  }
  return 0;
}

// ---- Header parameters ----

struct Param {
  std::string name;  // lowercased
  std::string value;
};

// Reads the parameters after a header's main value: `; name=value` repeated,
// where a value is a token or a quoted-string with backslash escapes.
class ParamReader {
 public:
  explicit ParamReader(std::string_view text) : text_(text) {}

  Result<std::vector<Param>> read_all();

 private:
  bool at_end() const { return pos_ == text_.size(); }
  void skip_ows() {
    while (!at_end() && is_ows(text_[pos_])) ++pos_;
  }
  Status read_param(Param& param);
  Status read_token_value(std::string& value);
  Status read_quoted_value(std::string& value);

  std::string_view text_;
  size_t pos_ = 0;
};

Result<std::vector<Param>> ParamReader::read_all() {
  std::vector<Param> params;
  while (true) {
    skip_ows();
    if (at_end()) return params;
    if (text_[pos_] != ';') return invalid_argument("expected ';' between parameters");
    ++pos_;
    skip_ows();
    if (at_end() || text_[pos_] == ';') continue;  // an empty parameter is harmless
    SENED_RETURN_IF_ERROR(read_param(params.emplace_back()));
  }
}

Status ParamReader::read_param(Param& param) {
  const size_t start = pos_;
  while (!at_end() && is_tchar(text_[pos_])) ++pos_;
  if (pos_ == start) return invalid_argument("malformed parameter name");
  param.name.assign(text_.substr(start, pos_ - start));
  std::transform(param.name.begin(), param.name.end(), param.name.begin(), lower_ascii);

  skip_ows();
  if (at_end() || text_[pos_] != '=')
    return invalid_argument("parameter " + param.name + " has no value");
  ++pos_;
  skip_ows();
  return !at_end() && text_[pos_] == '"' ? read_quoted_value(param.value)
                                         : read_token_value(param.value);
}

Status ParamReader::read_token_value(std::string& value) {
  const size_t start = pos_;
  while (!at_end() && text_[pos_] != ';' && !is_ows(text_[pos_])) {
    if (text_[pos_] == '"') return invalid_argument("a quote inside an unquoted parameter value");
    ++pos_;
  }
  value.assign(text_.substr(start, pos_ - start));
  return {};
}

Status ParamReader::read_quoted_value(std::string& value) {
  ++pos_;  // the opening quote
  while (!at_end()) {
    const char c = text_[pos_++];
    if (c == '"') return {};
    if (c == '\\') {
      if (at_end()) break;
      value.push_back(text_[pos_++]);
    } else {
      value.push_back(c);
    }
  }
  return invalid_argument("unterminated quoted parameter value");
}

// The parameters of a header value whose main part is `expected_type`.
// `wrong_type` is the error for any other main part.
Result<std::vector<Param>> read_params(std::string_view header_value,
                                       std::string_view expected_type, Status wrong_type) {
  const size_t semicolon = header_value.find(';');
  if (!iequals(trim_ows(header_value.substr(0, semicolon)), expected_type)) return wrong_type;
  if (semicolon == std::string_view::npos) return std::vector<Param>{};
  Result<std::vector<Param>> params = ParamReader(header_value.substr(semicolon)).read_all();
  if (!params.ok()) return params;
  for (size_t i = 0; i < params->size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if ((*params)[i].name == (*params)[j].name) {
        return invalid_argument("parameter " + (*params)[i].name + " appears twice");
      }
    }
  }
  return params;
}

const Param* find_param(const std::vector<Param>& params, std::string_view name) {
  const auto it =
      std::find_if(params.begin(), params.end(), [&](const Param& p) { return p.name == name; });
  return it == params.end() ? nullptr : &*it;
}

Status check_boundary(std::string_view boundary) {
  if (boundary.empty()) return invalid_argument("the multipart boundary is empty");
  if (boundary.size() > kMaxBoundaryLength) {
    return invalid_argument("the multipart boundary is longer than 70 characters");
  }
  if (!std::all_of(boundary.begin(), boundary.end(), is_boundary_char) || boundary.back() == ' ') {
    return invalid_argument("the multipart boundary holds characters RFC 2046 does not allow");
  }
  return {};
}

// ---- Content-Disposition ----

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower_ascii(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) return invalid_argument("bad percent escape in filename*");
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

// Decodes an RFC 8187 ext-value, charset'language'percent-encoded bytes.
Result<std::string> decode_ext_value(std::string_view value) {
  const size_t first = value.find('\'');
  const size_t second = first == std::string_view::npos ? first : value.find('\'', first + 1);
  if (second == std::string_view::npos) {
    return invalid_argument("filename* is not of the form charset'language'value");
  }
  if (!iequals(value.substr(0, first), "utf-8")) {
    return invalid_argument("filename* must be in UTF-8");
  }
  return percent_decode(value.substr(second + 1));
}

Status read_disposition(std::string_view value, PartHeaders& part) {
  Result<std::vector<Param>> params = read_params(
      value, "form-data", invalid_argument("a part's Content-Disposition is not form-data"));
  if (!params.ok()) return params.status().with_context("Content-Disposition");

  if (const Param* name = find_param(*params, "name")) part.name = name->value;
  // filename* (RFC 8187) is the precise one; filename is the fallback.
  if (const Param* star = find_param(*params, "filename*")) {
    Result<std::string> decoded = decode_ext_value(star->value);
    if (!decoded.ok()) return decoded.status();
    part.filename = std::move(decoded).value();
  } else if (const Param* filename = find_param(*params, "filename")) {
    part.filename = filename->value;
  }
  return {};
}

}  // namespace

Result<std::string> MultipartParser::boundary_from_content_type(std::string_view content_type) {
  Result<std::vector<Param>> params =
      read_params(content_type, "multipart/form-data",
                  unsupported_media_type("the body must be multipart/form-data"));
  if (!params.ok()) return params.status();
  const Param* boundary = find_param(*params, "boundary");
  if (boundary == nullptr) return invalid_argument("the multipart boundary is missing");
  SENED_RETURN_IF_ERROR(check_boundary(boundary->value));
  return boundary->value;
}

// The pending buffer starts with a line break so that a boundary at the very
// start of the body is found like any other: a delimiter is CRLF "--" boundary.
MultipartParser::MultipartParser(std::string boundary, Callbacks callbacks, MultipartLimits limits)
    : delimiter_("\r\n--" + boundary),
      callbacks_(std::move(callbacks)),
      limits_(limits),
      pending_("\r\n") {
  if (boundary.empty() || boundary.size() > kMaxBoundaryLength) {
    status_ = invalid_argument("the multipart boundary must be 1 to 70 characters");
  }
}

Status MultipartParser::feed(std::string_view chunk) {
  while (status_.ok() && !chunk.empty()) {
    // With nothing held back, parse the caller's bytes where they are.
    if (pending_.empty()) {
      pending_.assign(chunk.substr(consume(chunk)));
      break;
    }
    const size_t take = std::min(chunk.size(), kRefillBytes);
    pending_.append(chunk.substr(0, take));
    chunk.remove_prefix(take);
    pending_.erase(0, consume(pending_));
  }
  if (!status_.ok()) pending_.clear();
  return status_;
}

Status MultipartParser::finish() {
  if (status_.ok() && state_ != State::kEpilogue) {
    fail(invalid_argument("upload cut off before the closing multipart boundary"));
  }
  return status_;
}

void MultipartParser::fail(Status status) {
  if (status_.ok() && !status.ok()) status_ = std::move(status);
}

size_t MultipartParser::consume(std::string_view input) {
  size_t used = 0;
  while (status_.ok() && used < input.size()) {
    const std::string_view rest = input.substr(used);
    size_t n = 0;
    switch (state_) {
      case State::kPreamble:
      case State::kBody:
        n = step_search(rest);
        break;
      case State::kBoundaryTail:
        n = step_boundary_tail(rest);
        break;
      case State::kHeaders:
        n = step_headers(rest);
        break;
      case State::kEpilogue:
        n = rest.size();
        break;
    }
    if (n == 0) break;
    used += n;
  }
  return used;
}

// Looks for the next delimiter, passing the bytes before it on when inside a
// part. Bytes that might begin a delimiter cut by the chunk's end are left.
size_t MultipartParser::step_search(std::string_view input) {
  const size_t found = input.find(delimiter_);
  const size_t data_end = found != std::string_view::npos
                              ? found
                              : input.size() - partial_delimiter_length(input, delimiter_);
  if (state_ == State::kBody) {
    if (data_end > 0 && callbacks_.on_part_data) {
      fail(callbacks_.on_part_data(input.substr(0, data_end)));
    }
    if (found != std::string_view::npos && status_.ok() && callbacks_.on_part_end) {
      fail(callbacks_.on_part_end());
    }
  }
  if (!status_.ok()) return 0;
  if (found == std::string_view::npos) return data_end;
  state_ = State::kBoundaryTail;
  padded_ = false;
  return found + delimiter_.size();
}

// After a boundary comes "--" (the end of the body), or optional transport
// padding and CRLF (the next part's headers).
size_t MultipartParser::step_boundary_tail(std::string_view input) {
  const size_t padding = std::min(input.find_first_not_of(" \t"), input.size());
  if (padding > 0) {
    padded_ = true;
    return padding;
  }
  if (input[0] != '-' && input[0] != '\r') {
    fail(invalid_argument("unexpected characters after a multipart boundary"));
    return 0;
  }
  if (input.size() < 2) return 0;
  if (input.starts_with("--") && !padded_) {
    state_ = State::kEpilogue;
    return 2;
  }
  if (!input.starts_with("\r\n")) {
    fail(invalid_argument("unexpected characters after a multipart boundary"));
    return 0;
  }
  state_ = State::kHeaders;
  part_ = PartHeaders();
  header_bytes_ = 0;
  saw_disposition_ = false;
  return 2;
}

// Reads one header line, or the empty line that ends the headers.
size_t MultipartParser::step_headers(std::string_view input) {
  // `input` starts at the line's start; resume the search where the last
  // call stopped, so that a line fed byte by byte costs linear time.
  const size_t eol = input.find("\r\n", line_scanned_ == 0 ? 0 : line_scanned_ - 1);
  line_scanned_ = eol == std::string_view::npos ? input.size() : 0;
  // Until the line is complete, the bytes so far plus its CR or LF are a
  // lower bound, so any chunking fails at the same limit.
  const size_t line_bytes = eol == std::string_view::npos ? input.size() + 1 : eol + 2;
  if (header_bytes_ + line_bytes > limits_.max_header_bytes) {
    fail(invalid_argument("a part's headers are longer than " +
                          std::to_string(limits_.max_header_bytes) + " bytes"));
    return 0;
  }
  if (eol == std::string_view::npos) return 0;

  header_bytes_ += line_bytes;
  fail(eol == 0 ? begin_part() : read_header_line(input.substr(0, eol)));
  return status_.ok() ? eol + 2 : 0;
}

Status MultipartParser::read_header_line(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
    return invalid_argument("malformed part header line");
  }
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim_ows(line.substr(colon + 1));
  if (std::any_of(value.begin(), value.end(), is_header_control)) {
    return invalid_argument("control character in a part header");
  }

  if (iequals(name, "Content-Type")) {
    part_.content_type.assign(value);
  } else if (iequals(name, "Content-Disposition")) {
    if (saw_disposition_) return invalid_argument("a part has two Content-Disposition headers");
    saw_disposition_ = true;
    return read_disposition(value, part_);
  }
  return {};
}

Status MultipartParser::begin_part() {
  if (!saw_disposition_ || part_.name.empty()) {
    return invalid_argument("a part has no Content-Disposition form-data name");
  }
  if (++parts_ > limits_.max_parts) {
    return invalid_argument("more than " + std::to_string(limits_.max_parts) + " parts");
  }
  state_ = State::kBody;
  return callbacks_.on_part_begin ? callbacks_.on_part_begin(part_) : Status();
}

}  // namespace sened
