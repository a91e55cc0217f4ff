// `sened hub`: the central exchange.
#include <spdlog/spdlog.h>

#include <boost/url/parse.hpp>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/common.h"
#include "client/hub_client.h"
#include "core/ids.h"
#include "exchange/api.h"
#include "exchange/background.h"
#include "exchange/evidence.h"
#include "exchange/receipts.h"
#include "exchange/signatures.h"
#include "http/server.h"
#include "journal/signer.h"
#include "store/lease.h"

namespace sened::cli {
namespace {

struct HubFlags {
  std::string dir;
  std::string listen;
  std::string port_file;
  std::string journal_listen;  // plain read-only listener for the log's tiles
  std::string journal_port_file;
};

Status parse_listen(const std::string& listen, http::ServerOptions& o) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return invalid_argument("--listen wants ADDRESS:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string port = listen.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535 || host.empty()) {
    return invalid_argument("--listen wants ADDRESS:PORT, got " + listen);
  }
  o.address = host;
  o.port = static_cast<uint16_t>(value);
  return Status();
}

http::ServerOptions server_options(const HubConfig& c) {
  http::ServerOptions o;
  o.cert_file = c.path(c.tls_cert);
  o.key_file = c.path(c.tls_key);
  o.ca_file = c.path(c.ca_cert);
  o.crl_file = c.path(c.crl);
  o.trust_dir = c.path(c.trust_dir);
  o.network_threads = c.network_threads;
  o.blocking_threads = c.blocking_threads;
  o.header_limit = c.limits.header_limit;
  o.body_limit = c.limits.max_body_size;
  o.idle_timeout_seconds = c.limits.idle_timeout_seconds;
  o.handshake_timeout_seconds = c.limits.handshake_timeout_seconds;
  return o;
}

// Pushes a webhook event over mutual TLS: the hub presents its own
// certificate, and the endpoint's must chain to the configured CA.
exchange::WebhookPoster webhook_poster(const HubConfig& c) {
  client::ClientOptions base;
  base.cert_file = c.path(c.tls_cert);
  base.key_file = c.path(c.tls_key);
  base.ca_file = c.path(c.webhook_ca);
  base.timeout_seconds = c.webhook_timeout_seconds;
  return [base](const std::string& url, const std::string& body,
                const http::Headers& headers) -> Result<int> {
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed) return invalid_argument("bad webhook url");
    client::ClientOptions o = base;
    o.url = std::string(parsed->scheme()) + "://" + std::string(parsed->encoded_host_and_port());
    std::string target = std::string(parsed->encoded_path());
    if (target.empty()) target = "/";
    if (parsed->has_query()) target += "?" + std::string(parsed->encoded_query());
    client::HubClient endpoint(o);
    auto r = endpoint.request("POST", target, body, "application/json", headers);
    if (!r.ok()) return r.status();
    return r->status;
  };
}

// SENED_CLOCK_OFFSET moves the hub's clock (expiry and overdue drills).
Status apply_clock_offset() {
  const char* text = std::getenv("SENED_CLOCK_OFFSET");
  if (text == nullptr || *text == '\0') return Status();
  std::chrono::seconds offset{};
  if (!parse_clock_offset(text, offset)) {
    return invalid_argument("SENED_CLOCK_OFFSET wants seconds or +3d, -2h, 90m, 15s");
  }
  set_clock_offset(offset);
  spdlog::warn("hub clock moved by SENED_CLOCK_OFFSET seconds={}", offset.count());
  return Status();
}

// Receipts need their key (made here on the first start that lacks it);
// signatures are checked against the hub CA, its CRL and the trust folder.
Status set_up_evidence(const HubConfig& c, Store& store, exchange::Api& api) {
  auto made = exchange::ensure_receipt_key(c);
  if (!made.ok()) return made.status().with_context("receipt key");
  if (*made) spdlog::info("receipt key made key={}", c.path(c.receipt_key));
  auto signer = exchange::load_receipt_signer(c);
  if (!signer.ok()) return signer.status().with_context("receipt key");
  exchange::Api::Evidence evidence;
  evidence.receipts = std::make_shared<exchange::Receipts>(store, std::move(*signer));
  evidence.signatures =
      std::make_shared<exchange::Signatures>(exchange::Signatures::Options{c, true});
  api.set_evidence(std::move(evidence));
  return Status();
}

Status run_hub(const HubFlags& f) {
  SENED_RETURN_IF_ERROR(apply_clock_offset());
  auto data = open_hub_data(f.dir);
  if (!data.ok()) return data.status();
  http::ServerOptions options = server_options(data->config);
  SENED_RETURN_IF_ERROR(parse_listen(f.listen.empty() ? data->config.listen : f.listen, options));

  const HubConfig& c = data->config;
  // Names this process in leases and logs; several nodes may share the store.
  const std::string node = new_node_id();
  spdlog::info("hub node id={}", node);
  // The log key signs every checkpoint; an older data folder gets one now.
  auto log_key = journal::load_or_create_log_key(c.path(c.journal_key), c.journal_origin);
  if (!log_key.ok()) return log_key.status();
  auto key_pem = journal::public_key_pem(*log_key);
  if (!key_pem.ok()) return key_pem.status();
  journal::CheckpointSigner signer(*data->store, *log_key,
                                   std::chrono::milliseconds(c.checkpoint_interval_ms), node);
  SENED_RETURN_IF_ERROR(signer.start());

  exchange::Api api(*data->store, c.limits,
                    {c.path(c.ca_cert),
                     c.path(c.crl),
                     {c.journal_origin, journal::verifier_key_string(*log_key), *key_pem},
                     c.path(c.receipt_key),
                     c.path(c.receipt_cert)});
  SENED_RETURN_IF_ERROR(set_up_evidence(c, *data->store, api));
  // Events committed by other nodes on the same database wake this node's
  // feeds too (nothing to hear of on the embedded store).
  auto watch = data->store->watch_changes([&api](const std::vector<std::string>& participants) {
    if (participants.size() == 1 && participants[0] == "*") {
      api.bus().publish_all();
    } else {
      api.bus().publish(participants);
    }
  });
  if (!watch.ok()) return watch.status();
  http::Server server(options, api);
  SENED_RETURN_IF_ERROR(server.start());

  // Optional plain HTTP listener that serves only the static log paths.
  std::unique_ptr<exchange::JournalApi> log_api;
  std::unique_ptr<exchange::JournalLogHandler> log_handler;
  std::unique_ptr<http::Server> log_server;
  std::thread log_thread;
  if (!f.journal_listen.empty()) {
    http::ServerOptions lo;
    lo.tls_enabled = false;
    lo.network_threads = 1;
    lo.blocking_threads = 2;
    SENED_RETURN_IF_ERROR(parse_listen(f.journal_listen, lo));
    log_api = std::make_unique<exchange::JournalApi>(*data->store, exchange::JournalKeyInfo{});
    log_handler = std::make_unique<exchange::JournalLogHandler>(*log_api);
    log_server = std::make_unique<http::Server>(lo, *log_handler);
    SENED_RETURN_IF_ERROR(log_server->start());
    spdlog::info("journal log listener address={}:{}", lo.address, log_server->port());
    if (!f.journal_port_file.empty()) {
      SENED_RETURN_IF_ERROR(write_file_atomic(
          f.journal_port_file, lo.address + ":" + std::to_string(log_server->port()) + "\n"));
    }
    log_thread = std::thread([&] { log_server->run(); });
  }
  // Whatever happens below, the listener thread is joined before it dies.
  struct JoinLog {
    http::Server* server;
    std::thread& thread;
    ~JoinLog() {
      if (thread.joinable()) {
        server->stop();
        thread.join();
      }
    }
  } join_log{log_server.get(), log_thread};
  exchange::LifecycleSweeper sweeper(
      *data->store, api.bus(), node, std::chrono::hours(c.expire_after_hours),
      std::chrono::seconds(c.sweep_interval_seconds), [&api] { api.sweep_uploads(); });
  // A webhook attempt's lease outlives the poster's timeouts (connect, send
  // and answer each have one) with room to record the outcome.
  exchange::WebhookPusher pusher(*data->store, api.bus(), webhook_poster(c),
                                 std::chrono::seconds(c.webhook_max_backoff_seconds), node,
                                 std::chrono::seconds(3 * c.webhook_timeout_seconds + 5));
  sweeper.start();
  pusher.start();
  // Witness cosignatures and time stamps, collected in the background.
  exchange::EvidenceOptions evidence_options;
  evidence_options.witnesses = c.witnesses;
  evidence_options.witness_timeout_seconds = c.witness_timeout_seconds;
  evidence_options.tsa_url = c.tsa_url;
  evidence_options.tsa_ca = c.tsa_ca.empty() ? "" : c.path(c.tsa_ca);
  // The operator's view of the collector (`sened journal evidence`).
  evidence_options.status_file = c.path(exchange::kEvidenceStatusFile);
  std::error_code status_dir_error;
  std::filesystem::create_directories(
      std::filesystem::path(evidence_options.status_file).parent_path(), status_dir_error);
  if (status_dir_error) {
    return unavailable("cannot create the folder of " + evidence_options.status_file + ": " +
                       status_dir_error.message());
  }
  // One node at a time asks the witnesses and the TSA. The ttl covers a pass
  // that waits on a few slow endpoints.
  LeaseHolder evidence_lease(*data->store, "journal.evidence", node, std::chrono::seconds(60));
  if (!c.witnesses.empty() || !c.tsa_url.empty()) {
    evidence_options.may_collect = [&evidence_lease] { return evidence_lease.hold(); };
  }
  exchange::EvidenceCollector evidence(exchange::checkpoint_log_of(*data->store), evidence_options);
  SENED_RETURN_IF_ERROR(evidence.start());
  std::string address = options.address + ":" + std::to_string(server.port());
  if (!f.port_file.empty()) {
    SENED_RETURN_IF_ERROR(write_file_atomic(f.port_file, address + "\n"));
  }
  spdlog::info("hub started data={} address={}", data->config.data_dir, address);
  server.run();
  evidence.stop();
  evidence_lease.release();
  signer.stop();
  spdlog::info("hub stopped");
  return Status();
}

}  // namespace

void add_hub_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("hub", "Run the hub: HTTPS API with mutual TLS");
  auto f = std::make_shared<HubFlags>();
  add_data_flag(*cmd, f->dir);
  cmd->add_option("--listen", f->listen,
                  "ADDRESS:PORT to listen on (default from sened.toml; port 0: any free port)");
  cmd->add_option("--port-file", f->port_file,
                  "Write the address actually listened on to this file once ready");
  cmd->add_option("--journal-listen", f->journal_listen,
                  "Also serve the journal's checkpoint and tiles (C2SP tlog-tiles, read-only) "
                  "over plain HTTP on ADDRESS:PORT, under /journal/");
  cmd->add_option("--journal-port-file", f->journal_port_file,
                  "Write the journal listener's address to this file once ready");
  cmd->callback([f] {
    Status st = run_hub(*f);
    if (!st.ok()) report(st);
  });
}

}  // namespace sened::cli
