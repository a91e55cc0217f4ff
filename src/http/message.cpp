#include "http/message.h"

#include <boost/json.hpp>

namespace sened::http {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
}  // namespace

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response error_response(const Status& status) {
  boost::json::object err;
  err["code"] = code_name(status.code());
  err["message"] = status.message();
  boost::json::object outer;
  outer["error"] = std::move(err);
  return json_response(http_status(status.code()), boost::json::serialize(outer) + "\n");
}

}  // namespace sened::http
