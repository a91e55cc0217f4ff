// `sened hub`: the central exchange.
#include <spdlog/spdlog.h>

#include <charconv>
#include <iostream>

#include "cli/common.h"
#include "exchange/api.h"
#include "http/server.h"

namespace sened::cli {
namespace {

struct HubFlags {
  std::string dir;
  std::string listen;
  std::string port_file;
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
  o.network_threads = c.network_threads;
  o.blocking_threads = c.blocking_threads;
  o.header_limit = c.limits.header_limit;
  o.body_limit = c.limits.max_body_size;
  o.idle_timeout_seconds = c.limits.idle_timeout_seconds;
  o.handshake_timeout_seconds = c.limits.handshake_timeout_seconds;
  return o;
}

Status run_hub(const HubFlags& f) {
  auto data = open_hub_data(f.dir);
  if (!data.ok()) return data.status();
  http::ServerOptions options = server_options(data->config);
  SENED_RETURN_IF_ERROR(parse_listen(f.listen.empty() ? data->config.listen : f.listen, options));

  exchange::Api api(*data->store, data->config.limits,
                    {data->config.path(data->config.ca_cert), data->config.path(data->config.crl)});
  http::Server server(options, api);
  SENED_RETURN_IF_ERROR(server.start());
  std::string address = options.address + ":" + std::to_string(server.port());
  if (!f.port_file.empty()) {
    SENED_RETURN_IF_ERROR(write_file_atomic(f.port_file, address + "\n"));
  }
  spdlog::info("hub started data={} address={}", data->config.data_dir, address);
  server.run();
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
  cmd->callback([f] {
    Status st = run_hub(*f);
    if (!st.ok()) report(st);
  });
}

}  // namespace sened::cli
