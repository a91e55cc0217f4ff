#include "gateway/action.h"

#include <boost/json.hpp>
#include <cctype>

#include "core/ids.h"
#include "core/validate.h"

namespace sened::gateway {
namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<std::string> required_text(const json::object& o, const char* key,
                                  const std::string& action) {
  std::string v = str(o, key);
  if (v.empty()) return invalid_argument(action + " needs '" + key + "' (a non-empty string)");
  return v;
}

Result<json::object> action_body(const json::object& o, const std::string& action) {
  if (action == "register") {
    auto number = required_text(o, "number", action);
    if (!number.ok()) return number.status();
    json::object b{{"status", "registered"}, {"number", *number}};
    if (!str(o, "date").empty()) b["date"] = str(o, "date");
    return b;
  }
  if (action == "reject") {
    auto reason = required_text(o, "reason", action);
    if (!reason.ok()) return reason.status();
    return json::object{{"status", "rejected"}, {"reason", *reason}};
  }
  if (action == "assign") {
    auto executor = required_text(o, "executor", action);
    if (!executor.ok()) return executor.status();
    return json::object{{"status", "assigned"}, {"executor", *executor}};
  }
  if (action == "execute") {
    json::object b{{"status", "executed"}};
    if (!str(o, "reply").empty()) b["reply"] = str(o, "reply");
    return b;
  }
  if (action == "recall") {
    json::object b;
    if (!str(o, "recipient").empty()) b["recipient"] = str(o, "recipient");
    return b;
  }
  return invalid_argument("unknown action '" + action +
                          "' (register, reject, assign, execute or recall)");
}

}  // namespace

Result<ActionCall> parse_action(const std::string& text) {
  if (!is_valid_utf8(text)) return invalid_argument("the action file is not valid UTF-8");
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return invalid_argument("the action file is not a JSON object");
  const json::object& o = v.as_object();
  ActionCall call;
  call.document = str(o, "document");
  if (!is_uuid(call.document)) return invalid_argument("'document' must be a document id");
  for (char& c : call.document) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string action = str(o, "action");
  auto body = action_body(o, action);
  if (!body.ok()) return body.status();
  std::string verb = action == "recall" ? "/recall" : "/status";
  call.target = "/v1/documents/" + call.document + verb;
  call.body = json::serialize(*body);
  return call;
}

}  // namespace sened::gateway
