// The hub's configuration: DIR/sened.toml inside a hub data folder.
//
// Every limit has a default here and is written out in full by
// `sened admin init`, so an operator sees what is in force. Relative paths
// in the file are relative to the data folder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace sened {

struct Limits {
  // Largest single file of a document (the 2 GiB).
  uint64_t max_file_size = 2ull * 1024 * 1024 * 1024;
  // Largest whole upload body; refused with 413 before it is read.
  uint64_t max_upload_size = 8ull * 1024 * 1024 * 1024;
  // Largest metadata part of an upload.
  uint64_t max_metadata_size = 1024 * 1024;
  // Most files in one document.
  uint32_t max_files = 1000;
  // Largest body of an ordinary (non-upload) request.
  uint64_t max_body_size = 1024 * 1024;
  // Largest request head.
  uint32_t header_limit = 16 * 1024;
  // A connection silent this long is closed.
  int idle_timeout_seconds = 60;
  // A TLS handshake must finish within this.
  int handshake_timeout_seconds = 10;
  // Most documents in one inbox or outbox page.
  int page_size = 100;
};

// A witness the hub asks to cosign its checkpoints ([[journal.witness]]).
struct WitnessConfig {
  // The witness's verifier key, "<name>+<hex key id>+<base64 key>".
  std::string vkey;
  // Base URL of its C2SP tlog-witness endpoint (http:// or https://).
  std::string url;
};

struct HubConfig {
  std::string data_dir;
  std::string listen = "127.0.0.1:8443";
  // "sqlite:PATH" (relative to the data folder) or "postgresql://..." (see
  // store/open_store.h).
  std::string store = "sqlite:sened.db";
  std::string files_dir = "files";
  uint64_t inline_file_limit = 64 * 1024;
  // Where files larger than inline_file_limit go: kFileStorageFolder (the
  // files folder, shared by the nodes of a cluster) or kFileStoragePostgres
  // (chunked inside the PostgreSQL store; refused with a sqlite: store).
  std::string file_storage = "folder";
  int network_threads = 0;  // 0: one per core
  int blocking_threads = 4;

  std::string tls_cert = "tls/hub.pem";
  std::string tls_key = "tls/hub.key";
  std::string ca_cert = "ca/ca.pem";
  std::string ca_key = "ca/ca.key";
  std::string crl = "ca/crl.pem";

  Limits limits;

  // [delivery] A delivery still queued this long after acceptance expires.
  int64_t expire_after_hours = 7 * 24;
  // How often the hub looks for expired and overdue deliveries (also once at
  // start-up).
  int sweep_interval_seconds = 60;

  // [webhooks] Endpoints' certificates must chain to this CA file (PEM).
  std::string webhook_ca = "ca/ca.pem";
  int webhook_timeout_seconds = 10;
  // Retries back off exponentially (with jitter) up to this many seconds.
  int webhook_max_backoff_seconds = 600;

  // [journal] The log's origin line in every checkpoint.
  std::string journal_origin = "sened.local/journal";
  // The log's Ed25519 signing key (PKCS#8 PEM), made by `admin init`.
  std::string journal_key = "journal/log.key";
  // A new checkpoint is signed at most this often while entries arrive.
  int checkpoint_interval_ms = 1000;
  // Witnesses asked to cosign each checkpoint, and how long to wait for one.
  std::vector<WitnessConfig> witnesses;
  int witness_timeout_seconds = 5;

  // [timestamp] RFC 3161 time-stamping authority for checkpoints; empty: off.
  std::string tsa_url;
  // CA certificate(s) (PEM) that the TSA's signing certificate chains to.
  std::string tsa_ca;

  // [receipts] The hub's receipt-signing key and certificate (PEM), issued by
  // the hub's CA; made by `admin init` or at the first start that lacks them.
  std::string receipt_key = "receipts/receipts.key";
  std::string receipt_cert = "receipts/receipts.pem";

  // [trust] Folder of extra CA certificates (*.pem) and CRLs (*.crl, PEM)
  // trusted for participants' TLS certificates and for document signatures,
  // besides the hub's own CA; managed with `sened admin trust`.
  std::string trust_dir = "trust";
  // [signatures] Document kinds whose main file must carry a valid signature.
  std::vector<std::string> require_signature_kinds;

  // `relative` resolved against data_dir (absolute paths returned as they are).
  std::string path(const std::string& relative) const;
  // The SQLite database path, or kInvalidArgument for another store scheme.
  Result<std::string> sqlite_path() const;
};

inline constexpr const char* kFileStorageFolder = "folder";
inline constexpr const char* kFileStoragePostgres = "postgresql";

// kInvalidArgument, saying why, unless `file_storage` is one of the two
// values above and fits the store address (postgresql needs a postgresql://
// store).
Status check_file_storage(const std::string& file_storage, const std::string& store);

// Reads DIR/sened.toml. kNotFound if the folder is not a hub data folder;
// kInvalidArgument for a malformed file or a bad value (named).
Result<HubConfig> load_config(const std::string& data_dir);
// The configuration file's text with every setting and its default.
// `store` and `file_storage`, when not empty, replace the defaults.
std::string default_config_text(const std::string& store = "",
                                const std::string& file_storage = "");

}  // namespace sened
