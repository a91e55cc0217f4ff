// Measures the real hub on loopback: documents accepted per second with
// concurrent keep-alive mutual-TLS clients, and the hub's peak memory while a
// large file streams through it. Prints figures; asserts nothing about time.
//
//   build/submit_bench [--clients N] [--seconds S] [--large-mib M]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "client/hub_client.h"
#include "support/hub_process.h"

namespace {
using sened::bench::peak_rss_kb;
using sened::client::FormPart;
using sened::client::HubClient;
using sened::testing::HubProcess;
using Clock = std::chrono::steady_clock;

struct Options {
  int clients = 16;
  int seconds = 10;
  int large_mib = 1024;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--clients") o.clients = value;
    if (flag == "--seconds") o.seconds = value;
    if (flag == "--large-mib") o.large_mib = value;
  }
  return o;
}

void throughput(HubProcess& hub, const Options& o) {
  std::atomic<long> accepted{0}, failed{0};
  std::vector<std::vector<double>> latencies(o.clients);
  auto stop_at = Clock::now() + std::chrono::seconds(o.seconds);
  std::string file(1024, 'x');
  std::vector<std::thread> threads;
  for (int t = 0; t < o.clients; ++t) {
    threads.emplace_back([&, t] {
      HubClient c(hub.client("az.mddt"));
      for (long n = 0; Clock::now() < stop_at; ++n) {
        std::string ref = "bench-" + std::to_string(t) + "-" + std::to_string(n);
        auto start = Clock::now();
        auto r = c.post_multipart("/v1/documents",
                                  {FormPart{"metadata", "", "application/json", std::nullopt,
                                            sened::bench::letter_metadata(ref, "Benchmark", true)},
                                   FormPart{"file", "letter.pdf", "", std::nullopt, file}});
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (r.ok() && r->status == 201) {
          ++accepted;
          latencies[t].push_back(ms);
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[static_cast<size_t>(p * (all.size() - 1))];
  };
  std::printf(
      "submit 1 KiB, 2 recipients, %d clients, %d s: %.0f documents/s accepted "
      "(%ld accepted, %ld failed); latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      o.clients, o.seconds, static_cast<double>(accepted) / o.seconds, accepted.load(),
      failed.load(), pct(0.5), pct(0.99), all.empty() ? 0.0 : all.back());
}

void large_file(HubProcess& hub, const Options& o) {
  sened::testing::TempDir tmp;
  std::string path = tmp / "large.bin";
  {
    std::ofstream out(path, std::ios::binary);
    std::string block(1 << 20, '\0');
    for (int i = 0; i < o.large_mib; ++i) {
      for (size_t j = 0; j < block.size(); j += 4096) block[j] = static_cast<char>(i + j);
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
  }
  long before = peak_rss_kb(hub.pid());
  HubClient c(hub.client("az.mddt"));
  auto start = Clock::now();
  auto r = c.post_multipart("/v1/documents",
                            {FormPart{"metadata", "", "application/json", std::nullopt,
                                      sened::bench::letter_metadata("large-1", "Benchmark", true)},
                             FormPart{"file", "large.bin", "", path, ""}});
  double up = std::chrono::duration<double>(Clock::now() - start).count();
  if (!r.ok() || r->status != 201) {
    std::printf("large upload failed: %s\n",
                r.ok() ? r->body.c_str() : r.status().to_string().c_str());
    return;
  }
  std::string id(boost::json::parse(r->body).at("id").as_string());
  HubClient f(hub.client("az.finance"));
  start = Clock::now();
  auto d = f.download("/v1/documents/" + id + "/files/0", tmp / "back.bin");
  double down = std::chrono::duration<double>(Clock::now() - start).count();
  long after = peak_rss_kb(hub.pid());
  std::printf(
      "large file %d MiB: upload %.1f s (%.0f MiB/s), download %.1f s (%.0f MiB/s), "
      "status %d; hub peak RSS %ld MiB before, %ld MiB after\n",
      o.large_mib, up, o.large_mib / up, down, o.large_mib / down, d.ok() ? d->status : 0,
      before / 1024, after / 1024);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  HubProcess hub({"az.mddt", "az.finance", "az.baku-executive"});
  hub.start();
  throughput(hub, o);
  if (o.large_mib > 0) large_file(hub, o);
  return 0;
}
