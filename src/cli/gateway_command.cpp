// `sened gateway`: the agency gateway beside an EDMS, and `sened gateway
// status`, its queue depths and failures.
#include <pthread.h>
#include <signal.h>

#include <boost/json.hpp>
#include <charconv>
#include <iostream>
#include <thread>

#include "cli/common.h"
#include "gateway/gateway.h"
#include "gateway/local_api.h"
#include "http/server.h"

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
  std::string trust_file;
  uint64_t resumable_above = gateway::kDefaultResumableAbove;
  std::string local_api;  // 127.0.0.1:PORT (port 0: any free one)
  std::string local_api_port_file;
  gateway::JournalWatchOptions journal;
  int journal_check_seconds = 60;
};

// The local API listens on loopback only: it has no authentication of its
// own, anyone who can reach it acts for the agency.
Status local_api_options(const std::string& listen, http::ServerOptions& o) {
  size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host != "127.0.0.1" || ec != std::errc() || end != port.data() + port.size() ||
      port.empty() || value > 65535) {
    return invalid_argument("--local-api must look like 127.0.0.1:PORT (loopback only), got " +
                            listen);
  }
  o.address = host;
  o.port = static_cast<uint16_t>(value);
  o.tls_enabled = false;
  o.network_threads = 1;
  o.blocking_threads = 2;
  return Status();
}

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
  o.trust_file = f.trust_file;
  o.resumable_above = f.resumable_above;
  o.journal = f.journal;
  o.journal.interval = std::chrono::seconds(f.journal_check_seconds);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  http::ServerOptions api_options;
  if (!f.local_api.empty()) {
    if (Status st = local_api_options(f.local_api, api_options); !st.ok()) return report(st);
  }
  auto g = gateway::Gateway::open(std::move(o));
  if (!g.ok()) return report(g.status());
  gateway::Gateway& gw = **g;

  gateway::LocalApi local(f.dir);
  std::unique_ptr<http::Server> server;
  std::thread serving;
  if (!f.local_api.empty()) {
    server = std::make_unique<http::Server>(api_options, local);
    if (Status st = server->start(); !st.ok()) return report(st);
    std::string address = api_options.address + ":" + std::to_string(server->port());
    if (!f.local_api_port_file.empty()) {
      if (Status st = write_file_atomic(f.local_api_port_file, address + "\n"); !st.ok()) {
        return report(st);
      }
    }
    serving = std::thread([&] { server->run(); });
  }
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    gw.stop();
  });
  gw.run();
  // run() only returns after stop(), so the waiter has already finished.
  waiter.join();
  if (server) {
    server->stop();
    serving.join();
  }
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
  cmd->add_option("--trust", f->trust_file,
                  "PEM CA certificates and CRLs, besides --ca, that senders' signatures of "
                  "encrypted files are checked against after decrypting");
  cmd->add_option("--resumable-above", f->resumable_above,
                  "Send files larger than this many bytes as resumable uploads, continued "
                  "after a cut or a restart")
      ->capture_default_str();
  cmd->add_option("--local-api", f->local_api,
                  "Serve the local HTTP API (plain HTTP, loopback only) on 127.0.0.1:PORT");
  cmd->add_option("--local-api-port-file", f->local_api_port_file,
                  "Write the local API's address to this file once it listens");
  cmd->add_option("--witness", f->journal.witness_vkeys,
                  "A witness's cosignature verifier key (repeatable); see --witness-threshold");
  cmd->add_option("--witness-threshold", f->journal.witness_threshold,
                  "Warn unless the hub's checkpoint is cosigned by this many --witness keys")
      ->capture_default_str();
  cmd->add_option("--log-key", f->journal.log_vkey,
                  "The hub's journal verifier key; without it, the key the hub serves is "
                  "trusted on first use and saved");
  cmd->add_option("--journal-check-seconds", f->journal_check_seconds,
                  "How often the hub's journal checkpoint is checked (also after each document)")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
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
