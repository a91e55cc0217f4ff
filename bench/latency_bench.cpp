// Measures how soon a recipient hears of a new document: the real hub on
// loopback, a recipient holding the WebSocket event stream, a sender posting
// 1 KiB documents at a steady rate. Latency runs from just before each POST
// is sent to the arrival of that document's document.new event. Prints
// figures; asserts nothing about time.
//
//   build/latency_bench [--rate DOCS_PER_SECOND] [--seconds S]
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "client/hub_client.h"
#include "support/hub_process.h"

namespace {
using sened::bench::percentile;
using sened::client::EventStream;
using sened::client::FormPart;
using sened::client::HubClient;
using sened::testing::HubProcess;
using Clock = std::chrono::steady_clock;

// After the last POST, how long the recipient may still wait for events.
constexpr auto kDrainTime = std::chrono::seconds(10);
// One read of the event stream waits at most this long.
constexpr int kReadSliceMs = 100;

struct Options {
  int rate = 200;
  int seconds = 30;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--rate" && value > 0) o.rate = value;
    if (flag == "--seconds" && value > 0) o.seconds = value;
  }
  return o;
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Arrival time of each document's document.new event, by document id.
class Recipient {
 public:
  explicit Recipient(HubProcess& hub) : hub_(hub) {}

  // Opens the stream before the sender starts, so no event is missed.
  bool open() {
    auto stream = EventStream::open(hub_.client("az.finance"), "/v1/stream");
    if (!stream.ok()) {
      std::fprintf(stderr, "cannot open the event stream: %s\n",
                   stream.status().to_string().c_str());
      return false;
    }
    stream_ = std::move(*stream);
    return true;
  }

  // Reads until `expected()` events arrived after stop was asked, or the
  // drain time passed.
  void run(const std::atomic<bool>& sending, const std::atomic<long>& expected) {
    Clock::time_point drain_end = Clock::time_point::max();
    for (;;) {
      if (!sending && drain_end == Clock::time_point::max()) drain_end = Clock::now() + kDrainTime;
      if (!sending && (received() >= expected || Clock::now() > drain_end)) break;
      auto message = stream_->read(kReadSliceMs);
      Clock::time_point now = Clock::now();
      if (!message.ok()) {
        std::fprintf(stderr, "event stream ended: %s\n", message.status().to_string().c_str());
        break;
      }
      if (*message) record(**message, now);
    }
    stream_->close();
  }

  std::map<std::string, Clock::time_point> arrivals() {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }

 private:
  void record(const std::string& text, Clock::time_point now) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) return;
    const auto& event = v.as_object();
    const auto* type = event.if_contains("type");
    const auto* document = event.if_contains("document");
    if (type == nullptr || document == nullptr || !document->is_string() ||
        *type != "document.new") {
      return;
    }
    std::lock_guard lock(mutex_);
    arrivals_.emplace(std::string(document->as_string()), now);
  }

  long received() {
    std::lock_guard lock(mutex_);
    return static_cast<long>(arrivals_.size());
  }

  HubProcess& hub_;
  std::unique_ptr<EventStream> stream_;
  std::mutex mutex_;
  std::map<std::string, Clock::time_point> arrivals_;
};

struct Sent {
  std::map<std::string, Clock::time_point> started;  // by document id
  std::vector<double> round_trips_ms;
  long failed = 0;
};

// Posts at a steady pace: document n is due at start + n/rate. A late POST
// is sent at once (the next ones keep their own due times).
Sent send_steadily(HubProcess& hub, const Options& o) {
  Sent sent;
  HubClient c(hub.client("az.mddt"));
  std::string file(1024, 'x');
  auto period = std::chrono::duration<double>(1.0 / o.rate);
  long total = static_cast<long>(o.rate) * o.seconds;
  auto start = Clock::now();
  for (long n = 0; n < total; ++n) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(period * n));
    auto before = Clock::now();
    auto r = c.post_multipart(
        "/v1/documents", {FormPart{"metadata", "", "application/json", std::nullopt,
                                   sened::bench::letter_metadata("latency-" + std::to_string(n),
                                                                 "Latency benchmark", false)},
                          FormPart{"file", "letter.pdf", "", std::nullopt, file}});
    auto after = Clock::now();
    if (!r.ok() || r->status != 201) {
      ++sent.failed;
      continue;
    }
    std::string id(boost::json::parse(r->body).as_object().at("id").as_string());
    sent.started.emplace(std::move(id), before);
    sent.round_trips_ms.push_back(ms_between(before, after));
  }
  return sent;
}

void report(const Options& o, Sent& sent, const std::map<std::string, Clock::time_point>& arrived) {
  std::vector<double> latencies;
  for (const auto& [id, before] : sent.started) {
    auto it = arrived.find(id);
    if (it != arrived.end()) latencies.push_back(ms_between(before, it->second));
  }
  std::sort(latencies.begin(), latencies.end());
  std::sort(sent.round_trips_ms.begin(), sent.round_trips_ms.end());
  std::printf(
      "document.new over WebSocket, 1 KiB documents at %d/s for %d s: %zu events, %zu missing, "
      "%ld POSTs failed\n",
      o.rate, o.seconds, latencies.size(), sent.started.size() - latencies.size(), sent.failed);
  std::printf("  POST to event: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              percentile(latencies, 0.5), percentile(latencies, 0.99),
              latencies.empty() ? 0.0 : latencies.back());
  std::printf("  POST round trip: p50 %.2f ms, p99 %.2f ms\n", percentile(sent.round_trips_ms, 0.5),
              percentile(sent.round_trips_ms, 0.99));
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  HubProcess hub({"az.mddt", "az.finance"});
  hub.start();

  Recipient recipient(hub);
  if (!recipient.open()) return 1;
  std::atomic<bool> sending{true};
  std::atomic<long> expected{0};
  std::thread reader([&] { recipient.run(sending, expected); });

  Sent sent = send_steadily(hub, o);
  expected = static_cast<long>(sent.started.size());
  sending = false;
  reader.join();
  report(o, sent, recipient.arrivals());
  return 0;
}
