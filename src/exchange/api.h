// The hub's HTTP API: routes requests to the exchange (submit, inbox,
// outbox, fetch, acknowledge, register, reject, history, directory).
//
// It sees plain http::Request values, never the network, so it is tested
// without sockets. Authentication: the server has already checked that the
// client certificate chains to a trusted CA; here the certificate's
// fingerprint must be registered, not revoked, and belong to an active
// participant (else 403). A participant reads only documents it sent or
// received: anything else is 404, never 403, so ids do not leak.
//
// Thread-safe: every method may run on several threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "exchange/events.h"
#include "exchange/journal_api.h"
#include "http/message.h"
#include "store/store.h"

namespace sened::exchange {

class Uploads;
class Receipts;
class Signatures;

class Api : public http::Handler {
 public:
  // Public PEM files the hub serves to anyone with a trusted certificate:
  // its CA certificate (GET /ca.pem) and the current CRL (GET /crl.pem).
  struct PublicFiles {
    std::string ca_file;
    std::string crl_file;
    // The journal's log key, for GET /v1/journal/key.
    JournalKeyInfo journal;
    // The receipt key and certificate that sign evidence manifests
    // (GET /v1/documents/{id}/evidence, exchange/bundle.h); empty: none.
    std::string receipt_key_file;
    std::string receipt_cert_file;
  };

  // `store` must outlive the Api.
  Api(Store& store, Limits limits, PublicFiles files = {});
  ~Api() override;

  http::Response handle(const http::Request& request) override;
  std::optional<UploadStart> begin_upload(const http::Request& head) override;
  // GET /v1/stream (WebSocket) and GET /v1/events (long poll).
  std::optional<FeedStart> open_feed(const http::Request& head) override;

  // Document signature checks and signed receipts (signatures.h,
  // receipts.h). Without them, signatures are checked against an empty trust
  // store and /v1/documents/{id}/receipts answers 503. Set before serving.
  struct Evidence {
    std::shared_ptr<Signatures> signatures;
    std::shared_ptr<Receipts> receipts;
  };
  void set_evidence(Evidence evidence);

  // Wakes the feeds; the hub's background jobs (expiry, webhooks) use it too.
  EventBus& bus() { return bus_; }
  // Removes expired resumable uploads (the hub's sweep calls it); how many.
  int sweep_uploads();

 private:
  // The caller's participant id, or kPermissionDenied.
  Result<std::string> authenticate(const http::Request& request);

  Store& store_;
  Limits limits_;
  PublicFiles files_;
  EventBus bus_;
  // Resumable uploads (/v1/uploads), kept under the store's staging folder.
  std::unique_ptr<Uploads> uploads_;
  // Checkpoints, proofs, exports and tiles (journal_api.h).
  JournalApi journal_;
  Evidence evidence_;
};

}  // namespace sened::exchange
