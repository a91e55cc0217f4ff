#include "support/tsa_responder.h"

#include <atomic>
#include <mutex>
#include <stdexcept>

#include "http/server.h"

namespace sened::testing {

namespace {

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = run_command(argv);
  if (r.exit_code != 0) throw std::runtime_error("openssl " + args[0] + " failed: " + r.err);
}

// A self-signed CA named `cn` in <base>.key / <base>.pem.
void make_ca(const TempDir& dir, const std::string& base, const std::string& cn) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", dir / (base + ".key"), "-out", dir / (base + ".pem"), "-days", "30", "-subj",
           "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"});
}

}  // namespace

TsaAuthority::TsaAuthority() {
  make_ca(dir_, "ca", "Sened Test TSA CA");
  make_ca(dir_, "other-ca", "Unrelated CA");
  openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
           dir_ / "tsa.key", "-out", dir_ / "tsa.csr", "-subj", "/CN=Sened Test TSA"});
  write_file(dir_ / "tsa.ext",
             "basicConstraints=critical,CA:FALSE\n"
             "keyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=critical,timeStamping\n");
  openssl({"x509", "-req", "-in", dir_ / "tsa.csr", "-CA", dir_ / "ca.pem", "-CAkey",
           dir_ / "ca.key", "-CAcreateserial", "-out", dir_ / "tsa.pem", "-days", "30", "-extfile",
           dir_ / "tsa.ext"});
  write_file(dir_ / "serial", "01\n");
  write_file(dir_ / "tsa.cnf",
             "[ tsa ]\n"
             "default_tsa = test_tsa\n"
             "[ test_tsa ]\n"
             "serial = " +
                 (dir_ / "serial") +
                 "\n"
                 "crypto_device = builtin\n"
                 "signer_digest = sha256\n"
                 "default_policy = 1.3.6.1.4.1.99999.1\n"
                 "digests = sha256, sha384, sha512\n"
                 "accuracy = secs:1\n"
                 "ordering = no\n"
                 "tsa_name = yes\n"
                 "ess_cert_id_chain = no\n"
                 "ess_cert_id_alg = sha256\n");
}

std::string TsaAuthority::reply(const std::string& query_der) const {
  // One request at a time: the serial file is shared.
  static std::mutex mu;
  std::lock_guard lock(mu);
  write_file(dir_ / "query.der", query_der);
  openssl({"ts", "-reply", "-config", dir_ / "tsa.cnf", "-queryfile", dir_ / "query.der", "-inkey",
           dir_ / "tsa.key", "-signer", dir_ / "tsa.pem", "-out", dir_ / "reply.der"});
  return read_file(dir_ / "reply.der");
}

struct TsaResponder::Handler : http::Handler {
  explicit Handler(const TsaAuthority& a) : authority(a) {}
  http::Response handle(const http::Request& request) override {
    http::Response r;
    if (request.method != "POST") {
      r.status = 405;
      return r;
    }
    try {
      r.body = authority.reply(request.body);
      r.headers.emplace_back("Content-Type", "application/timestamp-reply");
      ++count;
    } catch (const std::exception& e) {
      r.status = 400;
      r.body = e.what();
    }
    return r;
  }
  std::optional<UploadStart> begin_upload(const http::Request&) override { return std::nullopt; }

  const TsaAuthority& authority;
  std::atomic<int> count{0};
};

TsaResponder::TsaResponder(const TsaAuthority& authority)
    : authority_(authority), handler_(std::make_unique<Handler>(authority)) {}

TsaResponder::~TsaResponder() { stop(); }

void TsaResponder::start() {
  if (server_) return;
  http::ServerOptions o;
  o.tls_enabled = false;
  o.port = port_;
  o.network_threads = 1;
  o.blocking_threads = 1;
  server_ = std::make_unique<http::Server>(o, *handler_);
  Status st = server_->start();
  if (!st.ok()) {
    server_.reset();
    throw std::runtime_error("TSA responder: " + st.to_string());
  }
  port_ = server_->port();
  thread_ = std::thread([this] { server_->run(); });
}

void TsaResponder::stop() {
  if (!server_) return;
  server_->stop();
  thread_.join();
  server_.reset();
}

std::string TsaResponder::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/tsa";
}

int TsaResponder::answered() const { return handler_->count.load(); }

}  // namespace sened::testing
