// A local RFC 3161 time-stamping authority for tests, built from stock
// `openssl`: a CA, a TSA certificate with the critical timeStamping EKU, and
// `openssl ts -reply` behind a small plain-HTTP server on 127.0.0.1.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "support/test_support.h"

namespace sened::http {
class Server;
}

namespace sened::testing {

// Keys, certificates and the `openssl ts` configuration in a temp folder.
// Throws std::runtime_error if openssl fails.
class TsaAuthority {
 public:
  TsaAuthority();
  // The CA certificate that TSA answers chain to (PEM file).
  std::string ca_file() const { return dir_ / "ca.pem"; }
  // Another CA, which did not issue the TSA's certificate.
  std::string other_ca_file() const { return dir_ / "other-ca.pem"; }
  // The DER TimeStampResp that `openssl ts -reply` gives for `query_der`.
  std::string reply(const std::string& query_der) const;

 private:
  TempDir dir_;
};

// POST any path with a TimeStampReq body: the reply of a TsaAuthority.
// Listens on 127.0.0.1; stop() closes the port (the TSA is then down) and
// start() opens it again on the same port.
class TsaResponder {
 public:
  explicit TsaResponder(const TsaAuthority& authority);
  ~TsaResponder();
  // Starts listening (on the previous port after a stop()). Throws on failure.
  void start();
  void stop();
  // "http://127.0.0.1:PORT/tsa"; valid after the first start().
  std::string url() const;
  // Requests answered so far.
  int answered() const;

 private:
  struct Handler;
  const TsaAuthority& authority_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace sened::testing
