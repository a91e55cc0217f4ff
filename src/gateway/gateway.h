// The agency gateway: runs beside an EDMS and connects it to the hub through
// folders (see layout.h and docs/gateway.md).
//
// Outbox: packages dropped in DIR/outbox/ are checked, copied into the spool
// and recorded in the gateway's database before the outbox folder is
// removed; then sent in spool order with their sender_ref, retried with
// back-off while the hub is unreachable (files over resumable_above first
// go ahead as resumable uploads, continued after a cut), and filed under DIR/sent/ (with the
// hub's answer) or DIR/failed/ (with error.txt).
// Inbox: the hub's event feed is read in cursor order; each new document is
// written to DIR/inbox/<id>/ under a temporary name, fsynced and renamed, and
// only then acknowledged; every status change lands in DIR/status/. Action
// files in DIR/actions/ become status changes at the hub.
//
// Thread safety: run() blocks on the calling thread and starts one more;
// stop() may be called from any thread. The step functions (scan_outbox(),
// send_ready(), ...) are for tests that drive a gateway without run(); do
// not mix them with a running run().
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <string>

#include "client/hub_client.h"
#include "core/status.h"
#include "gateway/gateway_db.h"
#include "gateway/journal_watch.h"
#include "gateway/uploader.h"

namespace sened::gateway {

struct GatewayOptions {
  std::string dir;            // the gateway's folder (created if missing)
  client::ClientOptions hub;  // the hub and the agency's certificate
  int poll_ms = 200;          // how often the folders are scanned
  // Long-poll wait for GET /v1/events; also bounds how long stop() takes.
  int event_wait_seconds = 25;
  // Back-off after a failed attempt starts at poll_ms, doubles, and stops
  // growing here.
  int max_backoff_ms = 30000;
  // Optional "http://127.0.0.1:PORT/path": each received document's
  // envelope (plus "folder", its path) is POSTed there once its folder is
  // durable, until the EDMS answers 2xx.
  std::string deliver_url;
  // Files larger than this are sent ahead as resumable uploads (tus), in
  // chunks of upload_chunk_bytes, and resumed after a cut or a restart.
  uint64_t resumable_above = kDefaultResumableAbove;
  uint64_t upload_chunk_bytes = kDefaultUploadChunk;
  // PEM CA certificates and CRLs, besides hub.ca_file, that senders'
  // signatures of encrypted files are checked against after decrypting
  // (decrypt.h); empty: the hub CA alone.
  std::string trust_file;
  // Checks of the hub's journal checkpoints (journal_watch.h).
  JournalWatchOptions journal;
};

class Gateway {
 public:
  // Makes the folders, opens the database and finishes what a crash left
  // half done (temporary inbox folders, orphan spool copies, unfiled sent or
  // failed packages). kUnavailable if the folder or database cannot be used.
  static Result<std::unique_ptr<Gateway>> open(GatewayOptions options);
  ~Gateway();

  // Serves until stop(): folders on this thread, the hub's events on another.
  void run();
  void stop();

  // One pass over DIR/outbox/: spools each complete package, moves bad ones
  // to DIR/failed/.
  Status scan_outbox();
  // Sends queued packages in order until none is left or one fails for now
  // (then kUnavailable, and the package waits for its back-off).
  Status send_ready(client::HubClient& hub);
  // One GET /v1/events and everything it brings.
  Status poll_events(client::HubClient& hub);
  // One pass over DIR/actions/.
  Status run_actions(client::HubClient& hub);
  // Marks inbox documents that the EDMS moved to DIR/inbox/processed/.
  Status note_processed();
  // POSTs received documents not yet handed over to --deliver-url.
  Status hand_over();

  GatewayDb& db() { return *db_; }

 private:
  explicit Gateway(GatewayOptions options);
  // The parts of a package's submit; large files are uploaded first.
  // kUnavailable: try again later; other codes fail the package.
  Result<std::vector<client::FormPart>> submit_parts(client::HubClient& hub,
                                                     const SpooledPackage& p);
  Status retry_later(const SpooledPackage& p, const std::string& error);
  Status fail_package(const SpooledPackage& p, const std::string& error);
  void folders_loop();
  void events_loop();
  Status handle_event(client::HubClient& hub, const boost::json::object& event,
                      const std::string& cursor);
  Status poll_inbox(client::HubClient& hub);
  Status receive_document(client::HubClient& hub, const std::string& id, const std::string& cursor);
  // Writes status/<document>.<sequence>.json; `key` names the change (the
  // event's cursor) so that writing it again reuses its sequence number.
  Status write_status_file(const boost::json::object& event, const std::string& key);
  Status run_action(client::HubClient& hub, const std::string& name);
  Status fail_action(const std::string& name, const std::string& reason);
  void note_contact();
  void note_error(const Status& st, const char* where);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<GatewayDb> db_;
};

// The figures `sened gateway status` prints, as JSON text: queue depths, the
// last contact with the hub, the last error and recent failures. Reads the
// database beside a running gateway. kNotFound if DIR holds no gateway.
Result<std::string> status_report_json(const std::string& dir);

}  // namespace sened::gateway
