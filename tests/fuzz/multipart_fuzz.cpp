// Fuzz target for the multipart parser and the Content-Type boundary reader.
//
// Input: a Content-Type header value, a line feed, then the body. The body is
// parsed whole and at several chunk sizes; any difference in what the
// callbacks see, or a pending buffer beyond its bound, aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/multipart.h"

namespace {

constexpr sened::MultipartLimits kLimits{.max_header_bytes = 512, .max_parts = 16};
// The header limit, one refill of the pending buffer and a delimiter.
constexpr size_t kMaxBuffered = 512 + 4096 + 80;

struct Outcome {
  std::vector<std::string> events;
  sened::Code code = sened::Code::kOk;
  std::string message;
  bool operator==(const Outcome&) const = default;
};

sened::MultipartParser::Callbacks recording_callbacks(std::vector<std::string>& events) {
  sened::MultipartParser::Callbacks callbacks;
  callbacks.on_part_begin = [&events](const sened::PartHeaders& h) {
    events.push_back("begin " + h.name + "|" + h.filename.value_or("-") + "|" + h.content_type);
    // Refusing a part named "stop" exercises the callback error path.
    return h.name == "stop" ? sened::permission_denied("stopped by the callback") : sened::Status();
  };
  callbacks.on_part_data = [&events](std::string_view data) {
    if (data.empty()) std::abort();
    if (events.empty() || events.back().rfind("data:", 0) != 0) events.push_back("data:");
    events.back().append(data);
    return sened::Status();
  };
  callbacks.on_part_end = [&events] {
    events.push_back("end");
    return sened::Status();
  };
  return callbacks;
}

Outcome parse_in_chunks(const std::string& boundary, std::string_view body, size_t chunk_size) {
  Outcome outcome;
  sened::MultipartParser parser(boundary, recording_callbacks(outcome.events), kLimits);
  sened::Status status;
  for (size_t pos = 0; pos < body.size() && status.ok(); pos += chunk_size) {
    status = parser.feed(body.substr(pos, chunk_size));
    if (parser.buffered_bytes() > kMaxBuffered) std::abort();
  }
  if (status.ok()) status = parser.finish();
  // A failed parser keeps failing the same way.
  if (!status.ok() && parser.feed("more").code() != status.code()) std::abort();
  outcome.code = status.code();
  outcome.message = status.message();
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t line_end = input.find('\n');
  const std::string_view content_type = input.substr(0, line_end);
  const std::string_view body =
      line_end == std::string_view::npos ? std::string_view() : input.substr(line_end + 1);

  auto boundary = sened::MultipartParser::boundary_from_content_type(content_type);
  const std::string chosen = boundary.ok() ? *boundary : "b0undary";

  const Outcome whole = parse_in_chunks(chosen, body, body.size() + 1);
  for (size_t chunk_size : {1, 2, 3, 7, 64}) {
    if (!(parse_in_chunks(chosen, body, chunk_size) == whole)) std::abort();
  }
  return 0;
}
