#include "exchange/background.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <random>

#include "core/ids.h"
#include "crypto/digest.h"

namespace sened::exchange {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("background");
    return l ? l : spdlog::default_logger()->clone("background");
  }();
  return log;
}

// Parses our own RFC 3339 stamps ("2026-12-04T17:30:00.123Z"); nullopt if not one.
std::optional<std::chrono::system_clock::time_point> parse_stamp(const std::string& s) {
  std::tm tm{};
  if (s.size() < 20 || ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

}  // namespace

// --- BackgroundJob -----------------------------------------------------------

BackgroundJob::~BackgroundJob() { stop(); }

void BackgroundJob::start() {
  thread_ = std::thread([this] { loop(); });
}

void BackgroundJob::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundJob::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void BackgroundJob::loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    std::chrono::milliseconds pause = run_once();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, pause, [this] { return stopping_ || woken_; });
  }
}

// --- LifecycleSweeper --------------------------------------------------------

namespace {

// The sweep lease outlives two missed passes, so a slow pass keeps it; a
// dead holder's lease passes on after that long.
std::chrono::milliseconds sweep_lease_ttl(std::chrono::seconds interval) {
  return std::max<std::chrono::milliseconds>(interval * 3, std::chrono::seconds(10));
}

}  // namespace

LifecycleSweeper::LifecycleSweeper(Store& store, EventBus& bus, std::string node,
                                   std::chrono::hours expire_after, std::chrono::seconds interval,
                                   std::function<void()> also)
    : store_(store),
      bus_(bus),
      expire_after_(expire_after),
      interval_(interval),
      also_(std::move(also)),
      lease_(store, "lifecycle.sweep", std::move(node), sweep_lease_ttl(interval)) {}

std::chrono::milliseconds LifecycleSweeper::run_once() {
  if (!lease_.hold()) {
    // Another node sweeps the shared store; this one keeps only its own.
    if (also_) also_();
    return interval_;
  }
  auto now = hub_now();
  std::string at = format_rfc3339(now);
  auto expired = store_.expire_deliveries(format_rfc3339(now - expire_after_), at);
  if (!expired.ok()) {
    logger()->warn("expiry sweep failed error=\"{}\"", expired.status().message());
  } else if (*expired > 0) {
    logger()->info("deliveries expired count={}", *expired);
  }
  auto overdue = store_.mark_overdue(at.substr(0, 10), at);
  if (!overdue.ok()) {
    logger()->warn("overdue sweep failed error=\"{}\"", overdue.status().message());
  } else if (*overdue > 0) {
    logger()->info("deliveries overdue count={}", *overdue);
  }
  if ((expired.ok() && *expired > 0) || (overdue.ok() && *overdue > 0)) bus_.publish_all();
  if (also_) also_();
  logger()->debug("lifecycle sweep at={} expired={} overdue={}", at, expired.ok() ? *expired : -1,
                  overdue.ok() ? *overdue : -1);
  if (!swept_once_) {
    swept_once_ = true;
    logger()->info("lifecycle sweep ready at={} expire_after_hours={}", at, expire_after_.count());
  }
  return interval_;
}

// --- webhooks ------------------------------------------------------------------

std::string webhook_signature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
  return "sha256=" + crypto::to_hex(std::string_view(reinterpret_cast<char*>(mac), length));
}

WebhookPusher::WebhookPusher(Store& store, EventBus& bus, WebhookPoster poster,
                             std::chrono::seconds max_backoff, std::string node,
                             std::chrono::milliseconds attempt_ttl)
    : store_(store),
      bus_(bus),
      poster_(std::move(poster)),
      max_backoff_(max_backoff),
      node_(std::move(node)),
      attempt_ttl_(attempt_ttl) {
  token_ = bus_.subscribe("*", [this] { wake(); });
}

WebhookPusher::~WebhookPusher() {
  bus_.unsubscribe(token_);
  stop();
}

std::chrono::milliseconds WebhookPusher::run_once() {
  // With nothing to push, look again now and then: a webhook registered or
  // retried on another node is noticed without a wake-up.
  std::chrono::milliseconds pause(5000);
  auto hooks = store_.list_webhooks();
  if (!hooks.ok()) {
    logger()->warn("webhook list failed error=\"{}\"", hooks.status().message());
    return pause;
  }
  for (const auto& hook : *hooks) pause = std::min(pause, push(hook));
  return pause;
}

std::chrono::milliseconds WebhookPusher::push(const Webhook& hook) {
  auto now = hub_now();
  if (auto due = parse_stamp(hook.next_attempt_at); due && *due > now) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(*due - now) +
           std::chrono::milliseconds(1);
  }
  // Nothing waits (a cheap read, no lease written): look again later.
  auto waiting = store_.events(hook.participant, hook.cursor, 1);
  if (!waiting.ok()) return std::chrono::milliseconds(1000);
  if (waiting->empty()) return std::chrono::milliseconds(5000);
  // Another node may be pushing to this endpoint: one attempt at a time.
  std::string lease = "webhook:" + hook.participant;
  auto renewed = std::chrono::steady_clock::now();
  auto held = store_.acquire_lease(lease, node_, attempt_ttl_);
  if (!held.ok() || !*held) return std::chrono::milliseconds(1000);
  // Read again under the lease: the cursor may have moved on another node
  // since the list was read, and pushing from the old one would repeat events.
  auto fresh = store_.get_webhook(hook.participant);
  auto pause = fresh.ok() ? push_held(*fresh, lease, renewed) : std::chrono::milliseconds(1000);
  (void)store_.release_lease(lease, node_);
  return pause;
}

std::chrono::milliseconds WebhookPusher::push_held(const Webhook& hook, const std::string& lease,
                                                   std::chrono::steady_clock::time_point renewed) {
  auto now = hub_now();
  if (auto due = parse_stamp(hook.next_attempt_at); due && *due > now) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(*due - now) +
           std::chrono::milliseconds(1);
  }
  // A bounded batch per pass, so one busy participant cannot hold up others.
  auto events = store_.events(hook.participant, hook.cursor, 100);
  if (!events.ok()) return std::chrono::milliseconds(1000);
  for (const auto& e : *events) {
    // Renewed before a POST once a third of the ttl has gone, so that the
    // lease outlives every attempt without a write per event.
    if (auto now = std::chrono::steady_clock::now(); now - renewed > attempt_ttl_ / 3) {
      auto held = store_.acquire_lease(lease, node_, attempt_ttl_);
      if (!held.ok() || !*held) return std::chrono::milliseconds(1000);
      renewed = now;
    }
    std::string body = event_json(e);
    http::Headers headers{{"Sened-Signature", webhook_signature(hook.secret, body)},
                          {"Sened-Event", e.type},
                          {"Sened-Cursor", std::to_string(e.cursor)}};
    auto status = poster_(hook.url, body, headers);
    std::string at = now_rfc3339();
    if (status.ok() && *status >= 200 && *status < 300) {
      (void)store_.record_webhook_attempt(hook.participant, true, e.cursor, "", at, "");
      continue;
    }
    std::string error = status.ok() ? "HTTP " + std::to_string(*status) : status.status().message();
    // Exponential back-off from one second, capped, with full jitter in its
    // upper half so that endpoints coming back are not hit all at once.
    int failures = std::min(hook.failures, 30);
    auto backoff = std::min<int64_t>(max_backoff_.count(), int64_t{1} << std::min(failures, 20));
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_int_distribution<int64_t> jitter(backoff * 500, backoff * 1000);
    auto wait = std::chrono::milliseconds(jitter(rng));
    (void)store_.record_webhook_attempt(hook.participant, false, 0, error, at,
                                        format_rfc3339(hub_now() + wait));
    logger()->warn("webhook push failed participant={} cursor={} failures={} error=\"{}\"",
                   hook.participant, e.cursor, hook.failures + 1, error);
    return wait;
  }
  return events->size() == 100 ? std::chrono::milliseconds(0) : std::chrono::milliseconds(5000);
}

}  // namespace sened::exchange
