// Measures accepted documents per second against real hub processes on
// loopback, in three configurations in one run: one node on SQLite, one node
// on PostgreSQL, three nodes on one PostgreSQL database (clients spread over
// the nodes). Each configuration takes 1 KiB and 64 KiB documents with two
// recipients from concurrent keep-alive mutual-TLS clients. Prints docs/s,
// latency p50/p99, the hubs' peak resident memory and CPU time per document;
// asserts nothing about time.
//
// PostgreSQL comes from SENED_TEST_PG_URL (scripts/pg-test-server.sh run --
// build/cluster_bench); without it the PostgreSQL configurations are skipped
// with a message.
//
//   build/cluster_bench [--clients N] [--seconds S] [--runs R]
//                       [--only sqlite|pg1|pg3] [--blocking-threads T]
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "client/hub_client.h"
#include "core/process.h"
#include "support/hub_process.h"
#include "support/pg_test_support.h"

namespace {
using sened::bench::peak_rss_kb;
using sened::bench::percentile;
namespace fs = std::filesystem;
using sened::client::ClientOptions;
using sened::client::FormPart;
using sened::client::HubClient;
using sened::testing::HubProcess;
using sened::testing::PgSchema;
using Clock = std::chrono::steady_clock;

// A bound on how long an extra node may take to start listening.
constexpr auto kNodeStartLimit = std::chrono::seconds(60);
// Clients run this long before the measured window, so that connections are
// up and the first batches formed.
constexpr auto kWarmUp = std::chrono::seconds(1);

struct Options {
  int clients = 64;
  int seconds = 10;
  int runs = 3;
  int blocking_threads = 64;
  std::string only;  // empty: every configuration
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--clients") o.clients = std::max(1, std::atoi(value.c_str()));
    if (flag == "--seconds") o.seconds = std::max(1, std::atoi(value.c_str()));
    if (flag == "--runs") o.runs = std::max(1, std::atoi(value.c_str()));
    if (flag == "--blocking-threads") o.blocking_threads = std::max(1, std::atoi(value.c_str()));
    if (flag == "--only") o.only = value;
  }
  return o;
}

// User plus system CPU time a process has used so far, in seconds.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t end = text.rfind(')');
  if (end == std::string::npos) return 0;
  std::istringstream fields(text.substr(end + 2));
  std::string skip;
  // Fields 3..13 come before utime (14) and stime (15).
  for (int i = 3; i <= 13; ++i) fields >> skip;
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// A further `sened hub` on the data folder of the first node, with the same
// configuration and store (the nodes of one cluster share both).
class ExtraNode {
 public:
  ExtraNode(const std::string& data_dir, int n) {
    std::string port_file = data_dir + "/node" + std::to_string(n) + ".addr";
    fs::remove(port_file);
    std::vector<std::string> args{sened::testing::sened_binary(),
                                  "hub",
                                  "--data",
                                  data_dir,
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--port-file",
                                  port_file};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = data_dir + "/node" + std::to_string(n) + ".log";
    pid_ = sened::spawn_tied_to_parent(argv, log, SIGKILL);
    if (pid_ <= 0) throw std::runtime_error("cannot start hub node " + std::to_string(n));
    auto deadline = Clock::now() + kNodeStartLimit;
    while (Clock::now() < deadline) {
      std::string text = fs::exists(port_file) ? sened::testing::read_file(port_file) : "";
      if (!text.empty() && text.back() == '\n') {
        url_ = "https://" + text.substr(0, text.size() - 1);
        return;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("hub node exited at start: " + sened::testing::read_file(log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("hub node did not start");
  }
  ~ExtraNode() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  ExtraNode(const ExtraNode&) = delete;
  ExtraNode& operator=(const ExtraNode&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

// The hub processes of one configuration, as the clients reach them.
struct Target {
  std::vector<std::string> urls;
  std::vector<pid_t> pids;
};

struct Figures {
  double docs_per_second = 0;
  long accepted = 0;
  long failed = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double hub_cpu_ms_per_doc = 0;
  double bench_cpu_ms_per_doc = 0;
  double hub_cpu_share = 0;  // hub CPU seconds per second of wall time (2.0 = two cores busy)
  std::string first_error;
};

// One measured window: `clients` threads post documents of `size` bytes for
// `seconds`; client t talks to node t % nodes.
Figures measure(const HubProcess& first, const Target& target, size_t size, const Options& o,
                const std::string& tag) {
  std::atomic<long> accepted{0}, failed{0};
  std::vector<std::vector<double>> latencies(o.clients);
  std::vector<std::string> errors(o.clients);
  auto start_at = Clock::now() + kWarmUp;
  auto stop_at = start_at + std::chrono::seconds(o.seconds);
  std::string file(size, 'x');
  std::atomic<int> ready{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < o.clients; ++t) {
    threads.emplace_back([&, t] {
      ClientOptions co = first.client("az.mddt");
      co.url = target.urls[static_cast<size_t>(t) % target.urls.size()];
      HubClient c(co);
      for (long n = 0; Clock::now() < stop_at; ++n) {
        std::string ref = tag + "-" + std::to_string(t) + "-" + std::to_string(n);
        auto sent = Clock::now();
        auto r = c.post_multipart(
            "/v1/documents",
            {FormPart{"metadata", "", "application/json", std::nullopt,
                      sened::bench::letter_metadata(ref, "Cluster benchmark", true)},
             FormPart{"file", "letter.pdf", "", std::nullopt, file}});
        auto done = Clock::now();
        if (sent < start_at || done > stop_at) continue;  // outside the window
        if (r.ok() && r->status == 201) {
          ++accepted;
          latencies[t].push_back(std::chrono::duration<double, std::milli>(done - sent).count());
        } else {
          ++failed;
          if (errors[t].empty()) {
            errors[t] = r.ok() ? std::to_string(r->status) + " " + r->body : r.status().to_string();
          }
        }
      }
    });
  }

  // CPU time is read at the window's edges.
  std::this_thread::sleep_until(start_at);
  double hub_cpu0 = 0, bench_cpu0 = own_cpu_seconds();
  for (pid_t p : target.pids) hub_cpu0 += cpu_seconds(p);
  std::this_thread::sleep_until(stop_at);
  double hub_cpu1 = 0, bench_cpu1 = own_cpu_seconds();
  for (pid_t p : target.pids) hub_cpu1 += cpu_seconds(p);
  for (auto& th : threads) th.join();

  Figures f;
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  f.accepted = accepted;
  f.failed = failed;
  f.docs_per_second = static_cast<double>(f.accepted) / o.seconds;
  f.p50_ms = percentile(all, 0.5);
  f.p99_ms = percentile(all, 0.99);
  double docs = std::max(1.0, static_cast<double>(f.accepted));
  f.hub_cpu_ms_per_doc = (hub_cpu1 - hub_cpu0) * 1000 / docs;
  f.bench_cpu_ms_per_doc = (bench_cpu1 - bench_cpu0) * 1000 / docs;
  f.hub_cpu_share = (hub_cpu1 - hub_cpu0) / o.seconds;
  for (auto& e : errors) {
    if (!e.empty()) {
      f.first_error = e;
      break;
    }
  }
  return f;
}

long peak_rss_mib(const Target& target) {
  long peak = 0;
  for (pid_t p : target.pids) peak = std::max(peak, peak_rss_kb(p));
  return peak / 1024;
}

// Runs both sizes `runs` times on a started configuration and prints the
// median run of each (by docs/s) with every run's rate.
void run_sizes(const std::string& name, const HubProcess& first, const Target& target,
               const Options& o) {
  for (size_t size : {size_t{1024}, size_t{64 * 1024}}) {
    std::vector<Figures> runs;
    for (int r = 0; r < o.runs; ++r) {
      std::string tag = name + "-" + std::to_string(size) + "-" + std::to_string(r);
      runs.push_back(measure(first, target, size, o, tag));
    }
    std::vector<Figures> sorted = runs;
    std::sort(sorted.begin(), sorted.end(), [](const Figures& a, const Figures& b) {
      return a.docs_per_second < b.docs_per_second;
    });
    const Figures& m = sorted[sorted.size() / 2];
    std::string each;
    for (const auto& r : runs)
      each += (each.empty() ? "" : " ") + std::to_string(static_cast<long>(r.docs_per_second));
    std::printf(
        "%-12s %3zu KiB  %7.0f docs/s (runs: %s)  p50 %6.2f ms  p99 %7.2f ms  "
        "peak RSS %ld MiB  hub CPU %.2f ms/doc (%.2f cores)  bench CPU %.2f ms/doc  "
        "failed %ld%s%s\n",
        name.c_str(), size / 1024, m.docs_per_second, each.c_str(), m.p50_ms, m.p99_ms,
        peak_rss_mib(target), m.hub_cpu_ms_per_doc, m.hub_cpu_share, m.bench_cpu_ms_per_doc,
        m.failed, m.first_error.empty() ? "" : "  first error: ", m.first_error.c_str());
    std::fflush(stdout);
  }
}

const std::vector<std::string> kOrgs{"az.mddt", "az.finance", "az.baku-executive"};

void prepare(HubProcess& hub, const Options& o) {
  hub.set_config("blocking_threads", std::to_string(o.blocking_threads));
}

void report_journal(const HubProcess& hub) {
  int entries = hub.journal_entries();
  if (entries < 0) {
    std::printf("             journal verify FAILED: %s\n", hub.verify_journal().out.c_str());
  } else {
    std::printf("             journal verify: ok, %d entries\n", entries);
  }
}

void sqlite_node(const Options& o) {
  HubProcess hub(kOrgs);
  prepare(hub, o);
  hub.start();
  run_sizes("sqlite x1", hub, Target{{hub.url()}, {hub.pid()}}, o);
  hub.stop(SIGTERM);
  report_journal(hub);
}

void postgres_nodes(const Options& o, int nodes) {
  PgSchema schema;
  // Inherited by every `sened` the fixture runs, the extra nodes included.
  setenv("SENED_STORE", schema.url().c_str(), 1);
  {
    HubProcess hub(kOrgs);
    prepare(hub, o);
    hub.start();
    Target target{{hub.url()}, {hub.pid()}};
    std::vector<std::unique_ptr<ExtraNode>> extra;
    for (int n = 2; n <= nodes; ++n) {
      extra.push_back(std::make_unique<ExtraNode>(hub.dir(), n));
      target.urls.push_back(extra.back()->url());
      target.pids.push_back(extra.back()->pid());
    }
    run_sizes("postgres x" + std::to_string(nodes), hub, target, o);
    extra.clear();
    hub.stop(SIGTERM);
    report_journal(hub);
  }
  unsetenv("SENED_STORE");
}

bool wanted(const Options& o, const std::string& name) { return o.only.empty() || o.only == name; }

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::printf(
      "cluster_bench: %d keep-alive mutual-TLS clients, 2 recipients, %d s per run, "
      "median of %d runs, hub blocking_threads %d, %u CPUs\n",
      o.clients, o.seconds, o.runs, o.blocking_threads, std::thread::hardware_concurrency());
  std::fflush(stdout);
  if (wanted(o, "sqlite")) sqlite_node(o);
  if (sened::testing::pg_test_url().empty()) {
    std::printf(
        "postgres: SKIPPED, SENED_TEST_PG_URL is not set (run through "
        "scripts/pg-test-server.sh run -- build/cluster_bench, as `make bench` does)\n");
    return 0;
  }
  if (wanted(o, "pg1")) postgres_nodes(o, 1);
  if (wanted(o, "pg3")) postgres_nodes(o, 3);
  return 0;
}
