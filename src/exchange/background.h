// The hub's background jobs: the lifecycle sweep (expiry and overdue flags)
// and webhook push. Each runs on its own thread, started by start() and
// ended by stop() (also by the destructor); neither holds a network thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "exchange/events.h"
#include "http/message.h"
#include "store/lease.h"
#include "store/store.h"

namespace sened::exchange {

// Base of a thread that sleeps until woken, stopped or a deadline passes.
class BackgroundJob {
 public:
  virtual ~BackgroundJob();
  void start();
  void stop();
  // Makes the job run a pass now. Thread-safe, never blocks for long.
  void wake();

 protected:
  // One pass; returns how long to sleep before the next one at most.
  virtual std::chrono::milliseconds run_once() = 0;

 private:
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
};

// Expires deliveries left queued past `expire_after` and flags overdue ones
// (store.h, expire_deliveries and mark_overdue), then wakes every feed. With
// several nodes on one store only the holder of lease "lifecycle.sweep"
// does so (store/lease.h); the others only run `also`.
class LifecycleSweeper final : public BackgroundJob {
 public:
  // `node` is this process's node id (the lease holder). `also` (optional)
  // runs on every pass, on every node: the hub sweeps its own expired
  // resumable uploads with it.
  LifecycleSweeper(Store& store, EventBus& bus, std::string node, std::chrono::hours expire_after,
                   std::chrono::seconds interval, std::function<void()> also = {});
  // Stops the thread, then gives the lease back so that another node need
  // not wait for it to expire.
  ~LifecycleSweeper() override {
    stop();
    lease_.release();
  }

 protected:
  std::chrono::milliseconds run_once() override;

 private:
  Store& store_;
  EventBus& bus_;
  std::chrono::hours expire_after_;
  std::chrono::seconds interval_;
  std::function<void()> also_;
  LeaseHolder lease_;        // the sweep thread's own while it runs
  bool swept_once_ = false;  // the sweep thread's own
};

// POSTs an event to a webhook URL; returns the HTTP status, or kUnavailable
// when the endpoint cannot be reached.
using WebhookPoster = std::function<Result<int>(const std::string& url, const std::string& body,
                                                const http::Headers& headers)>;

// The signature header of a push: "sha256=" + hex HMAC-SHA256(secret, body),
// where the secret is the hex text given at registration, used as bytes.
std::string webhook_signature(const std::string& secret, const std::string& body);

// Pushes each participant's events to its webhook in order, one at a time,
// at least once: the cursor moves only after a 2xx. A failure is retried
// with exponential back-off and jitter (store.h, record_webhook_attempt).
//
// With several nodes on one store, each attempt runs on one node only: the
// pusher takes lease "webhook:<participant>" before it reads the webhook's
// cursor, renews it between POSTs (once a third of its ttl has passed) and
// gives it up after the batch. An
// endpoint may still see an event twice (a node dies after the 2xx, before
// it records the cursor), never miss one.
class WebhookPusher final : public BackgroundJob {
 public:
  // `node` is this process's node id. `attempt_ttl` must exceed the longest
  // one POST can take (the poster's timeout), so that the lease outlives an
  // attempt.
  WebhookPusher(Store& store, EventBus& bus, WebhookPoster poster, std::chrono::seconds max_backoff,
                std::string node, std::chrono::milliseconds attempt_ttl);
  ~WebhookPusher() override;

 protected:
  std::chrono::milliseconds run_once() override;

 private:
  // Takes the webhook's lease and pushes what waits; returns when to look again.
  std::chrono::milliseconds push(const Webhook& hook);
  // Pushes what waits for one webhook, the lease held (taken or renewed at
  // `renewed`, on this process's steady clock).
  std::chrono::milliseconds push_held(const Webhook& hook, const std::string& lease,
                                      std::chrono::steady_clock::time_point renewed);

  Store& store_;
  EventBus& bus_;
  WebhookPoster poster_;
  std::chrono::seconds max_backoff_;
  std::string node_;
  std::chrono::milliseconds attempt_ttl_;
  uint64_t token_ = 0;
};

}  // namespace sened::exchange
