// `sened witness`: a C2SP tlog-witness service that independent bodies run
// next to the hub, and its set-up commands (init, add-log, logs).
//
// It serves plain HTTP (the protocol authenticates by signatures, not by
// the channel): put a TLS-terminating proxy in front of it to publish it
// beyond the machine. Logic and state live in journal/witness.h.
#include <spdlog/spdlog.h>

#include <charconv>
#include <iostream>

#include "cli/common.h"
#include "crypto/digest.h"
#include "http/server.h"
#include "journal/witness.h"

namespace sened::cli {
namespace {

struct WitnessFlags {
  std::string dir;
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  std::string name;
  std::string origin;
  std::string key;
};

// POST /add-checkpoint; everything else is 404 or 405.
class WitnessHandler : public http::Handler {
 public:
  explicit WitnessHandler(journal::Witness& witness) : witness_(witness) {}

  http::Response handle(const http::Request& request) override {
    std::string path = request.target.substr(0, request.target.find('?'));
    if (path != "/add-checkpoint") return text(404, "not found\n");
    if (request.method != "POST") {
      http::Response r = text(405, "use POST\n");
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    journal::WitnessAnswer a = witness_.add_checkpoint(request.body);
    if (a.status == 200) {
      spdlog::info("witness cosigned remote={}", request.remote);
    } else {
      spdlog::warn("witness refused status={} remote={} reason=\"{}\"", a.status, request.remote,
                   a.reason);
    }
    http::Response r;
    r.status = a.status;
    r.headers.emplace_back("Content-Type", a.content_type);
    r.body = std::move(a.body);
    return r;
  }

  std::optional<UploadStart> begin_upload(const http::Request&) override { return std::nullopt; }

 private:
  static http::Response text(int status, std::string body) {
    http::Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    r.body = std::move(body);
    return r;
  }

  journal::Witness& witness_;
};

Status parse_address(const std::string& listen, http::ServerOptions& o) {
  size_t colon = listen.rfind(':');
  unsigned port = 0;
  const char* begin = listen.data() + (colon == std::string::npos ? 0 : colon + 1);
  const char* end = listen.data() + listen.size();
  auto [stop, ec] = std::from_chars(begin, end, port);
  if (colon == std::string::npos || colon == 0 || ec != std::errc() || stop != end ||
      port > 65535) {
    return invalid_argument("--listen wants ADDRESS:PORT, got " + listen);
  }
  o.address = listen.substr(0, colon);
  o.port = static_cast<uint16_t>(port);
  return Status();
}

Status run_witness(const WitnessFlags& f) {
  if (f.dir.empty()) return invalid_argument("sened witness needs --data DIR");
  auto witness = journal::Witness::open(f.dir);
  if (!witness.ok()) return witness.status();
  http::ServerOptions o;
  o.tls_enabled = false;
  o.body_limit = journal::kMaxWitnessRequestBytes;
  o.network_threads = 1;
  o.blocking_threads = 2;
  SENED_RETURN_IF_ERROR(parse_address(f.listen, o));
  WitnessHandler handler(**witness);
  http::Server server(o, handler);
  SENED_RETURN_IF_ERROR(server.start());
  std::string address = o.address + ":" + std::to_string(server.port());
  if (!f.port_file.empty()) SENED_RETURN_IF_ERROR(write_file_atomic(f.port_file, address + "\n"));
  spdlog::info("witness started name={} address={}", (*witness)->name(), address);
  server.run();
  spdlog::info("witness stopped");
  return Status();
}

Status run_init(const WitnessFlags& f) {
  SENED_RETURN_IF_ERROR(journal::Witness::init(f.dir, f.name));
  auto witness = journal::Witness::open(f.dir);
  if (!witness.ok()) return witness.status();
  std::cout << (*witness)->verifier_key() << "\n";
  return Status();
}

Status run_add_log(const WitnessFlags& f) {
  auto witness = journal::Witness::open(f.dir);
  if (!witness.ok()) return witness.status();
  return (*witness)->add_log(f.origin, f.key);
}

Status run_logs(const WitnessFlags& f) {
  auto witness = journal::Witness::open(f.dir);
  if (!witness.ok()) return witness.status();
  auto logs = (*witness)->logs();
  if (!logs.ok()) return logs.status();
  std::cout << "witness " << (*witness)->verifier_key() << "\n";
  for (const journal::WitnessedLog& l : *logs) {
    auto refused = (*witness)->refused_count(l.origin);
    std::cout << l.origin << " size=" << l.size
              << " root=" << (l.size == 0 ? std::string("-") : crypto::base64_encode(l.root))
              << " refused=" << (refused.ok() ? *refused : -1) << " key=" << l.log_vkey << "\n";
  }
  return Status();
}

// The witness's own folder (never a hub's): required by every subcommand.
CLI::Option* add_witness_data_flag(CLI::App& cmd, std::string& dir) {
  return cmd.add_option("--data", dir, "Witness data folder");
}

template <typename Run>
void on_run(CLI::App* cmd, std::shared_ptr<WitnessFlags> f, Run run) {
  cmd->callback([f, run] {
    Status st = run(*f);
    if (!st.ok()) report(st);
  });
}

}  // namespace

void add_witness_command(CLI::App& app) {
  auto f = std::make_shared<WitnessFlags>();
  auto* cmd = app.add_subcommand(
      "witness", "Run a C2SP tlog-witness that cosigns consistent journal checkpoints");
  cmd->require_subcommand(0, 1);
  add_witness_data_flag(*cmd, f->dir);
  cmd->add_option("--listen", f->listen, "ADDRESS:PORT to serve on (plain HTTP; port 0: any)");
  cmd->add_option("--port-file", f->port_file, "Write the address listened on here once ready");
  cmd->callback([f, cmd] {
    if (!cmd->get_subcommands().empty()) return;
    Status st = run_witness(*f);
    if (!st.ok()) report(st);
  });

  auto* init = cmd->add_subcommand("init", "Make the witness's key and state; prints its vkey");
  add_witness_data_flag(*init, f->dir)->required();
  init->add_option("--name", f->name, "The witness's key name, e.g. witness.example.gov")
      ->required();
  on_run(init, f, run_init);

  auto* add = cmd->add_subcommand("add-log", "Witness a log: its origin and verifier key");
  add_witness_data_flag(*add, f->dir)->required();
  add->add_option("--origin", f->origin, "The log's origin line")->required();
  add->add_option("--key", f->key, "The log's note verifier key (name+id+key)")->required();
  on_run(add, f, run_add_log);

  auto* logs = cmd->add_subcommand("logs", "List witnessed logs and their last cosigned size");
  add_witness_data_flag(*logs, f->dir)->required();
  on_run(logs, f, run_logs);
}

}  // namespace sened::cli
