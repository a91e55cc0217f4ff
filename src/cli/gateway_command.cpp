// `sened gateway`: the agency gateway beside an EDMS, and `sened gateway
// status`, its queue depths and failures.
#include <pthread.h>
#include <signal.h>

#include <boost/json.hpp>
#include <iostream>
#include <thread>

#include "cli/common.h"
#include "gateway/gateway.h"

namespace sened::cli {
namespace {
namespace json = boost::json;

struct GatewayFlags {
  Connection conn;
  std::string dir;
  int poll_ms = 200;
  int event_wait = 25;
  int max_backoff_ms = 30000;
  std::string deliver_url;
};

// Runs the gateway until SIGTERM or SIGINT. The signals are blocked in every
// thread and taken by one waiting thread, which asks the gateway to stop.
void run_gateway(const GatewayFlags& f) {
  auto options = resolve(f.conn);
  if (!options.ok()) return report(options.status());
  gateway::GatewayOptions o;
  o.dir = f.dir;
  o.hub = *options;
  // A long poll must end before the client gives up on it.
  o.hub.timeout_seconds = std::max(o.hub.timeout_seconds, f.event_wait + 30);
  o.poll_ms = f.poll_ms;
  o.event_wait_seconds = f.event_wait;
  o.max_backoff_ms = f.max_backoff_ms;
  o.deliver_url = f.deliver_url;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto g = gateway::Gateway::open(std::move(o));
  if (!g.ok()) return report(g.status());
  gateway::Gateway& gw = **g;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    gw.stop();
  });
  gw.run();
  // run() only returns after stop(), so the waiter has already finished.
  waiter.join();
}

void print_status(const std::string& dir, bool as_json) {
  auto text = gateway::status_report_json(dir);
  if (!text.ok()) return report(text.status());
  if (as_json) {
    std::cout << *text << "\n";
    return;
  }
  json::object o = json::parse(*text).as_object();
  auto show = [&](const char* label, const char* key) {
    const json::value& v = o.at(key);
    std::cout << label << ": " << (v.is_null() ? "never" : json::serialize(v)) << "\n";
  };
  show("outbox waiting", "outbox_waiting");
  show("queued for the hub", "queued");
  show("sent", "sent");
  show("failed", "failed");
  show("received", "received");
  show("inbox not yet taken", "inbox_not_taken");
  show("actions waiting", "actions_waiting");
  show("last contact", "last_contact");
  show("last error", "last_error");
  show("failures", "failures");
  for (const auto& f : o.at("recent_failures").as_array()) {
    const auto& x = f.as_object();
    std::cout << "  " << x.at("at").as_string().c_str() << " " << x.at("what").as_string().c_str()
              << ": " << x.at("reason").as_string().c_str() << "\n";
  }
}

}  // namespace

void add_gateway_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "gateway", "Run the agency gateway: hot folders under --dir, connected to the hub");
  auto f = std::make_shared<GatewayFlags>();
  add_connection_flags(*cmd, f->conn);
  // Not ->required(): `gateway status` has its own --dir.
  cmd->add_option("--dir", f->dir, "The gateway's folder (outbox/, inbox/, status/, ...)");
  cmd->add_option("--poll-ms", f->poll_ms, "How often the folders are scanned, milliseconds")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000));
  cmd->add_option("--event-wait", f->event_wait, "Long-poll wait for hub events, seconds")
      ->capture_default_str()
      ->check(CLI::Range(0, 60));
  cmd->add_option("--max-backoff-ms", f->max_backoff_ms,
                  "Longest wait between attempts while the hub is unreachable")
      ->capture_default_str()
      ->check(CLI::Range(10, 3600000));
  cmd->add_option("--deliver-url", f->deliver_url,
                  "Also POST each received document's envelope to this local URL, "
                  "http://127.0.0.1:PORT/path");
  cmd->callback([f, cmd] {
    if (!cmd->get_subcommands().empty()) return;
    if (f->dir.empty()) return report(invalid_argument("--dir is required"));
    run_gateway(*f);
  });

  auto* status = cmd->add_subcommand("status", "Queue depths, last contact with the hub, failures");
  auto s = std::make_shared<std::pair<std::string, bool>>();
  status->add_option("--dir", s->first, "The gateway's folder")->required();
  status->add_flag("--json", s->second, "Print JSON for scripts");
  status->callback([s] { print_status(s->first, s->second); });
}

}  // namespace sened::cli
