#include "exchange/events.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

namespace sened::exchange {
namespace json = boost::json;

// --- EventBus ----------------------------------------------------------------

uint64_t EventBus::subscribe(const std::string& participant, Waker wake) {
  std::lock_guard lock(mu_);
  uint64_t token = next_token_++;
  subscriptions_[token] = {participant, std::make_shared<Waker>(std::move(wake))};
  return token;
}

void EventBus::unsubscribe(uint64_t token) {
  std::lock_guard calling(calling_);
  std::lock_guard lock(mu_);
  subscriptions_.erase(token);
}

void EventBus::publish(const std::vector<std::string>& participants) {
  std::vector<std::shared_ptr<Waker>> woken;
  {
    std::lock_guard lock(mu_);
    for (const auto& [token, s] : subscriptions_) {
      bool wanted = s.participant == "*";
      for (const auto& p : participants) wanted = wanted || p == s.participant;
      if (wanted) woken.push_back(s.wake);
    }
  }
  std::lock_guard calling(calling_);
  for (const auto& w : woken) (*w)();
}

void EventBus::publish_all() {
  std::vector<std::shared_ptr<Waker>> woken;
  {
    std::lock_guard lock(mu_);
    for (const auto& [token, s] : subscriptions_) woken.push_back(s.wake);
  }
  std::lock_guard calling(calling_);
  for (const auto& w : woken) (*w)();
}

// --- wire form -----------------------------------------------------------------

std::string event_json(const Event& e) {
  json::object o{{"cursor", std::to_string(e.cursor)},
                 {"type", e.type},
                 {"document", e.document},
                 {"sender", e.sender},
                 {"participant", e.recipient},
                 {"status", e.status},
                 {"at", e.at},
                 {"actor", e.actor}};
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) o[key] = value;
  };
  add("number", e.reg_number);
  add("date", e.reg_date);
  add("reason", e.reason);
  add("executor", e.executor);
  add("reply", e.reply);
  return json::serialize(o);
}

Result<std::optional<int64_t>> parse_event_cursor(std::string_view text) {
  if (text.empty()) return std::optional<int64_t>();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.size() > 18 || ec != std::errc() || end != text.data() + text.size() || v < 0 ||
      text[0] == '+' || text[0] == '-') {
    return invalid_argument("a cursor is a decimal number as the hub gave it");
  }
  return std::optional<int64_t>(v);
}

Result<int64_t> acknowledge(Store& store, const std::string& participant, std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return invalid_argument("send {\"ack\":\"CURSOR\"}");
  const json::value* ack = v.as_object().if_contains("ack");
  if (ack == nullptr || !ack->is_string()) return invalid_argument("send {\"ack\":\"CURSOR\"}");
  auto cursor = parse_event_cursor(std::string_view(ack->as_string()));
  if (!cursor.ok()) return cursor.status();
  if (!*cursor) return invalid_argument("send {\"ack\":\"CURSOR\"}");
  return store.acknowledge_events(participant, **cursor);
}

// --- ParticipantFeed -----------------------------------------------------------

ParticipantFeed::ParticipantFeed(Store& store, EventBus& bus, std::string participant,
                                 int64_t after, int max_batch)
    : store_(store),
      bus_(bus),
      participant_(std::move(participant)),
      after_(after),
      max_batch_(max_batch) {}

ParticipantFeed::~ParticipantFeed() {
  if (token_ != 0) bus_.unsubscribe(token_);
}

void ParticipantFeed::set_waker(std::function<void()> wake) {
  if (token_ != 0) bus_.unsubscribe(token_);
  token_ = bus_.subscribe(participant_, std::move(wake));
}

Result<std::vector<std::string>> ParticipantFeed::next(int limit) {
  auto events = store_.events(participant_, after_, std::min(limit, max_batch_));
  if (!events.ok()) return events.status();
  std::vector<std::string> out;
  out.reserve(events->size());
  for (const auto& e : *events) {
    out.push_back(event_json(e));
    after_ = e.cursor;
  }
  return out;
}

std::optional<std::string> ParticipantFeed::receive(std::string_view text) {
  auto saved = acknowledge(store_, participant_, text);
  if (saved.ok()) return std::nullopt;
  json::object err{{"code", std::string(code_name(saved.status().code()))},
                   {"message", saved.status().message()}};
  return json::serialize(json::object{{"error", std::move(err)}});
}

http::Response ParticipantFeed::respond(std::vector<std::string> events) {
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) body += ',';
    body += events[i];
  }
  body += "],\"cursor\":\"" + std::to_string(after_) + "\"}\n";
  return http::json_response(200, std::move(body));
}

}  // namespace sened::exchange
