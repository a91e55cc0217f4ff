// `sened watch`: the participant's events as they happen, over the hub's
// WebSocket stream (GET /v1/stream). Prints each event once, in hub order,
// and comes back by itself from the last cursor it printed whenever the hub
// goes away. Ends with exit 0 on SIGINT or SIGTERM.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <random>
#include <thread>

#include "cli/common.h"
#include "client/hub_client.h"

namespace sened::cli {
namespace {
namespace json = boost::json;
using std::chrono::milliseconds;

// Reconnection back-off: the ceiling doubles from kFirstRetryCeiling up to
// kMaxRetryCeiling, and each wait is drawn from the upper half of the
// ceiling, so that many watchers cut off at once do not return in step.
constexpr milliseconds kFirstRetryCeiling{250};
constexpr milliseconds kMaxRetryCeiling{5000};
// How long one read or one slice of a wait lasts before the stop flag is
// looked at again: the bound on how late a signal is noticed.
constexpr int kStopCheckMs = 200;
// Event fields printed, after the fixed columns, in the readable form.
constexpr std::array<std::string_view, 7> kDetails = {"sender",   "number", "date", "reason",
                                                      "executor", "reply",  "actor"};

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool is_cursor(std::string_view text) {
  return !text.empty() && text.size() <= 20 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether decimal cursor `a` comes after `b` (both pass is_cursor).
bool comes_after(std::string_view a, std::string_view b) {
  auto strip = [](std::string_view s) {
    size_t first = s.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view() : s.substr(first);
  };
  a = strip(a);
  b = strip(b);
  return a.size() != b.size() ? a.size() > b.size() : a > b;
}

std::string text_of(const json::object& event, std::string_view key) {
  const auto* value = event.if_contains(key);
  if (value == nullptr) return "";
  if (value->is_string()) return std::string(value->as_string());
  return json::serialize(*value);
}

// "AT  TYPE  DOCUMENT  PARTICIPANT  STATUS  key=value…", "-" for a blank column.
std::string readable(const json::object& event) {
  std::string line;
  for (std::string_view key : {"at", "type", "document", "participant", "status"}) {
    std::string value = text_of(event, key);
    if (!line.empty()) line += "  ";
    line += value.empty() ? "-" : value;
  }
  for (std::string_view key : kDetails) {
    std::string value = text_of(event, key);
    if (!value.empty()) line += "  " + std::string(key) + "=" + value;
  }
  return line;
}

struct WatchFlags {
  Connection conn;
  std::string after;
  bool ack = false;
};

class Watcher {
 public:
  Watcher(client::ClientOptions options, const WatchFlags& flags)
      : options_(std::move(options)),
        json_(flags.conn.json),
        ack_(flags.ack),
        last_(flags.after),
        random_(std::random_device{}()) {}

  // Follows the stream until a stop signal (ok) or an error the hub will
  // keep giving (e.g. a refused cursor or certificate).
  Status run() {
    while (!g_stop) {
      auto stream = client::EventStream::open(options_, target());
      if (!stream.ok() && stream.status().code() != Code::kUnavailable) return stream.status();
      if (!stream.ok()) {
        back_off(stream.status());
        continue;
      }
      spdlog::info("watch connected hub={} after={}", options_.url, last_.empty() ? "-" : last_);
      ceiling_ = kFirstRetryCeiling;
      Status ended = follow(**stream);
      (*stream)->close();
      if (g_stop) break;
      if (ended.code() != Code::kUnavailable) return ended;
      back_off(ended);
    }
    return Status::ok_status();
  }

 private:
  std::string target() const { return last_.empty() ? "/v1/stream" : "/v1/stream?after=" + last_; }

  // Hands each message to handle() until the connection ends (kUnavailable)
  // or a stop signal (ok).
  Status follow(client::EventStream& stream) {
    while (!g_stop) {
      auto message = stream.read(kStopCheckMs);
      if (!message.ok()) return message.status();
      if (!*message) continue;
      Status handled = handle(**message, stream);
      if (!handled.ok()) return handled;
    }
    return Status::ok_status();
  }

  // Prints an event unless it is a repeat, then acknowledges it if asked.
  Status handle(const std::string& text, client::EventStream& stream) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec || !value.is_object()) {
      spdlog::warn("watch skipped a message that is not a JSON object");
      return Status::ok_status();
    }
    const json::object& event = value.as_object();
    if (const auto* error = event.if_contains("error")) {
      spdlog::warn("watch hub reported error={}", json::serialize(*error));
      return Status::ok_status();
    }
    std::string cursor = text_of(event, "cursor");
    if (!is_cursor(cursor)) {
      spdlog::warn("watch skipped an event without a valid cursor");
      return Status::ok_status();
    }
    if (!last_.empty() && !comes_after(cursor, last_)) return Status::ok_status();

    std::cout << (json_ ? json::serialize(event) : readable(event)) << std::endl;
    last_ = cursor;
    if (!ack_) return Status::ok_status();
    return stream.send(json::serialize(json::object{{"ack", cursor}}));
  }

  // Waits before the next attempt, in slices so that a stop signal ends it.
  void back_off(const Status& why) {
    std::uniform_int_distribution<long> pick(ceiling_.count() / 2, ceiling_.count());
    milliseconds wait(pick(random_));
    ceiling_ = std::min(ceiling_ * 2, kMaxRetryCeiling);
    spdlog::warn("watch reconnecting in_ms={} after={} reason=\"{}\"", wait.count(),
                 last_.empty() ? "-" : last_, why.message());
    auto until = std::chrono::steady_clock::now() + wait;
    while (!g_stop && std::chrono::steady_clock::now() < until) {
      auto left =
          std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
      std::this_thread::sleep_for(std::min(left, milliseconds(kStopCheckMs)));
    }
  }

  client::ClientOptions options_;
  bool json_;
  bool ack_;
  std::string last_;  // cursor of the last event printed; empty: none yet
  milliseconds ceiling_ = kFirstRetryCeiling;
  std::mt19937_64 random_;
};

void watch(const WatchFlags& flags) {
  if (!flags.after.empty() && !is_cursor(flags.after)) {
    return report(
        invalid_argument("--after must be a cursor (decimal digits, as in an event's "
                         "\"cursor\"), not \"" +
                         flags.after + "\""));
  }
  auto options = resolve(flags.conn);
  if (!options.ok()) return report(options.status());
  install_stop_handlers();
  Watcher watcher(*options, flags);
  Status ended = watcher.run();
  if (!ended.ok()) report(ended);
}

}  // namespace

void add_watch_command(CLI::App& app) {
  auto flags = std::make_shared<WatchFlags>();
  auto* cmd = app.add_subcommand(
      "watch",
      "Print your events as they happen (new documents, status changes); reconnects by itself");
  cmd->add_option("--after", flags->after,
                  "Start after this cursor (default: after your acknowledged position)");
  cmd->add_flag("--ack", flags->ack, "Acknowledge each event to the hub once it is printed");
  add_connection_flags(*cmd, flags->conn);
  cmd->callback([flags] { watch(*flags); });
}

}  // namespace sened::cli
