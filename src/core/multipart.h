// A streaming parser of multipart/form-data bodies (RFC 7578 over the
// syntax of RFC 2046), used for document uploads of up to several GiB.
//
// The body is fed in chunks of any size, and each part's content is handed
// on as it arrives: the parser keeps only the few bytes that could be the
// start of a boundary split across chunks, plus one part's header section
// while it is being read. The callbacks therefore see the same events and the
// same bytes whether the body comes in one chunk or byte by byte; only how
// the content is cut into on_part_data calls differs.
//
// A parser is single-use and not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sened {

// The headers of one part that the exchange uses.
struct PartHeaders {
  std::string name;                     // the Content-Disposition name
  std::optional<std::string> filename;  // decoded bytes, not validated; see below
  std::string content_type;             // empty if absent
};

struct MultipartLimits {
  // The most bytes of one part's header section, line breaks included.
  size_t max_header_bytes = 16 * 1024;
  // The most parts in one body.
  size_t max_parts = 2000;
};

class MultipartParser {
 public:
  // Each callback may be empty. A callback that returns an error stops the
  // parse: feed() returns that error as is, now and on every later call.
  struct Callbacks {
    std::function<Status(const PartHeaders&)> on_part_begin;
    // The part's content, in any number of calls of any size (never empty).
    // The view is valid only during the call.
    std::function<Status(std::string_view)> on_part_data;
    std::function<Status()> on_part_end;
  };

  // The boundary from a Content-Type header value.
  // kUnsupportedMediaType: the media type is not multipart/form-data (the
  // type is compared case-insensitively, parameters may come in any order).
  // kInvalidArgument: the boundary parameter is missing, empty, longer than
  // 70 characters, holds characters RFC 2046 does not allow, or is quoted
  // wrongly; or the parameters are malformed.
  static Result<std::string> boundary_from_content_type(std::string_view content_type);

  // `boundary` as boundary_from_content_type returns it; an empty boundary
  // or one longer than 70 characters makes feed() fail.
  MultipartParser(std::string boundary, Callbacks callbacks, MultipartLimits limits = {});

  // Parses the next piece of the body.
  //
  // A preamble before the first boundary and an epilogue after the closing
  // one are ignored. Content-Disposition must be form-data with a non-empty
  // name; its filename="..." is taken as raw bytes with backslash escapes
  // undone (as curl sends it), and filename*=UTF-8''... (RFC 8187) is
  // percent-decoded and wins over filename. Other headers are ignored.
  //
  // kInvalidArgument: malformed input, e.g. a boundary followed by junk, a
  // header section over the limit, a part without a form-data name, a
  // filename* in a charset other than UTF-8 or with bad percent escapes, or
  // more parts than the limit. After any error the parser stays failed.
  Status feed(std::string_view chunk);

  // Ends the body. kInvalidArgument if the closing boundary has not been
  // seen (the upload was cut off); a part still open then gets no
  // on_part_end. Returns the earlier error if the parse had failed.
  Status finish();

  // The bytes the parser holds between calls to feed(); bounded by the
  // header limit plus a small constant, whatever the size of a part.
  size_t buffered_bytes() const { return pending_.size(); }

 private:
  enum class State {
    kPreamble,      // looking for the first boundary
    kBoundaryTail,  // after a boundary: "--", transport padding or CRLF
    kHeaders,       // reading a part's header lines
    kBody,          // passing a part's content on
    kEpilogue,      // after the closing boundary: ignored
  };

  // Runs the state machine over `input` until it needs more bytes or fails,
  // and returns how many bytes of `input` it has used.
  size_t consume(std::string_view input);
  size_t step_search(std::string_view input);
  size_t step_boundary_tail(std::string_view input);
  size_t step_headers(std::string_view input);
  Status read_header_line(std::string_view line);
  Status begin_part();
  // Records `status` as the parser's fate when it is an error.
  void fail(Status status);

  std::string delimiter_;  // CRLF "--" boundary
  Callbacks callbacks_;
  MultipartLimits limits_;
  State state_ = State::kPreamble;
  Status status_;
  // Bytes received but not yet used: a possible partial delimiter, or a
  // header line still incomplete.
  std::string pending_;
  size_t header_bytes_ = 0;  // of the current part's header section
  size_t line_scanned_ = 0;  // bytes of an incomplete header line known to hold no CRLF
  bool padded_ = false;      // transport padding seen after the boundary
  size_t parts_ = 0;
  bool saw_disposition_ = false;
  PartHeaders part_;
};

}  // namespace sened
