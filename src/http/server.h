// The hub's HTTPS server: mutual TLS (or plain HTTP, see tls_enabled),
// HTTP/1.1 keep-alive, streamed uploads and downloads, event feeds over
// WebSocket and long polls. It owns the network threads; every Handler call runs on a
// separate blocking executor so that disk and database work never stalls a
// network thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "http/message.h"

namespace sened::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks one; see Server::port()

  // False: plain HTTP/1.1 over TCP, no certificates (the TLS files are not
  // read) and an empty Request::peer_fingerprint. Only for a loopback-only
  // local API, such as the agency gateway's; everything else works the same.
  bool tls_enabled = true;

  // PEM files. Clients must present a certificate that chains to `ca_file`
  // or to a CA certificate (*.pem) in `trust_dir` (optional); the CRLs of
  // `crl_file` (optional) and trust_dir/*.crl are checked wherever the issuing
  // CA has one (crypto/trust_store.h: an expired, untrusted or revoked
  // certificate fails the handshake). The server reloads all of these when one
  // changes (checked before new connections), without a restart; a damaged
  // file fails start() and, later, keeps the previous trust (logged).
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  std::string crl_file;
  std::string trust_dir;

  int network_threads = 0;   // 0: one per core
  int blocking_threads = 4;  // handler executor

  // Largest request head (request line and headers). Beyond: 431, closed.
  uint32_t header_limit = 16 * 1024;
  // Largest body of a non-streamed request. Beyond: 413.
  uint64_t body_limit = 1024 * 1024;
  // A connection silent for this long is closed.
  int idle_timeout_seconds = 60;
  // A TLS handshake must finish within this.
  int handshake_timeout_seconds = 10;
};

class Server {
 public:
  // `handler` must outlive the server.
  Server(ServerOptions options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the TLS material (when tls_enabled), binds and listens. kInvalidArgument for bad TLS
  // files, kUnavailable if the address cannot be bound.
  Status start();
  // The bound port (after start()).
  uint16_t port() const;
  // Serves until stop() or SIGTERM/SIGINT; then stops accepting, lets running
  // requests finish (bounded wait) and returns.
  void run();
  // Thread-safe; may be called from a signal-free context or another thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sened::http
