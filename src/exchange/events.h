// Real-time delivery of the store's events: who is waiting for what.
//
// The store writes each participant's events in the same commit as the
// change they report (store.h, Store::events). This file wakes the clients
// that wait for them: an EventBus maps a participant to the feeds (WebSocket
// streams, long polls) and webhook pushers waiting on it; whoever commits a
// change publishes the participants concerned, and a woken feed reads the
// store from its cursor. A wake-up carries no data, so a lost or doubled one
// costs at most one extra read: the store stays the only source of events.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/message.h"
#include "store/store.h"

namespace sened::exchange {

// Thread-safe. Wakers are called with no lock held and must not block.
class EventBus {
 public:
  using Waker = std::function<void()>;

  // Registers `wake` for `participant`'s events ("*": every participant's).
  // Returns a token for unsubscribe().
  uint64_t subscribe(const std::string& participant, Waker wake);
  // After it returns, `wake` of that token is not called again.
  void unsubscribe(uint64_t token);
  // Wakes everyone waiting on one of `participants`, and every "*".
  void publish(const std::vector<std::string>& participants);
  // Wakes every subscriber (after a sweep that may touch anyone).
  void publish_all();

 private:
  struct Subscription {
    std::string participant;
    std::shared_ptr<Waker> wake;
  };
  std::mutex mu_;
  uint64_t next_token_ = 1;
  std::map<uint64_t, Subscription> subscriptions_;  // guarded by mu_
  // A waker being called holds its shared_ptr; unsubscribe waits for none to
  // run by taking this lock around the calls.
  std::mutex calling_;
};

// The wire form of an event: {"cursor":"17","type":"document.status",...}
// (docs/api.md, "Events"). Empty details are left out.
std::string event_json(const Event& e);

// A feed of one participant's events from a cursor on, for the server's
// WebSocket stream (websocket=true) and long polls.
class ParticipantFeed final : public http::EventFeed {
 public:
  // `max_batch`: at most this many events per next() (a client's limit=).
  ParticipantFeed(Store& store, EventBus& bus, std::string participant, int64_t after,
                  int max_batch = 1000);
  ~ParticipantFeed() override;

  void set_waker(std::function<void()> wake) override;
  Result<std::vector<std::string>> next(int limit) override;
  // {"ack":"CURSOR"}: saves the participant's position. Answers only on a
  // bad message ({"error":…}); acknowledging is idempotent.
  std::optional<std::string> receive(std::string_view text) override;
  // {"events":[…],"cursor":"…"}
  http::Response respond(std::vector<std::string> events) override;

 private:
  Store& store_;
  EventBus& bus_;
  std::string participant_;
  int64_t after_;
  int max_batch_;
  uint64_t token_ = 0;
};

// Parses a client's cursor ("" -> nullopt; digits only, at most 18).
Result<std::optional<int64_t>> parse_event_cursor(std::string_view text);
// Parses {"ack":"CURSOR"} and saves it. Returns the saved position.
Result<int64_t> acknowledge(Store& store, const std::string& participant, std::string_view body);

}  // namespace sened::exchange
