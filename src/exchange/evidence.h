// The hub's collector of checkpoint evidence: witness cosignatures (C2SP
// tlog-witness) and RFC 3161 time stamps.
//
// A background thread looks at the latest signed checkpoint and, for each
// configured witness that has not cosigned it, submits it with a
// consistency proof from the size that witness last cosigned; a returned
// cosignature is verified against the witness's key before it is stored.
// When a TSA is configured, the thread time-stamps the bytes of the latest
// hub-signed note (without cosignature lines) and stores the checked token.
//
// The collector never blocks the hub: documents are accepted while a witness
// or the TSA is away. Failures are logged (warn on the first failure and on
// refusals, info on recovery), retried with exponential back-off, shown by
// status() and, when EvidenceOptions::status_file is set, written to that
// file for the operator (`sened journal evidence`). Only the latest checkpoint is ever completed: a
// cosignature on size N also vouches, through consistency, for every earlier tree head, so an
// outage leaves older checkpoints without evidence of their own but covered by the later one
// (docs/witness.md).
//
// The collector reaches the store only through the CheckpointLog hooks, so
// that it is independent of the store's schema. Hooks are called from the
// collector's thread only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "journal/checkpoint.h"
#include "store/store.h"

namespace sened::exchange {

// The hub's checkpoints as the collector sees them.
struct CheckpointLog {
  struct Latest {
    uint64_t size = 0;
    std::string note;                       // hub-signed note, no cosignature lines
    std::vector<std::string> cosignatures;  // lines already stored
    bool has_timestamp = false;
  };
  // The latest signed checkpoint; nullopt when none is signed yet.
  std::function<Result<std::optional<Latest>>()> latest;
  // Consistency proof (raw 32-byte hashes) between two tree sizes.
  std::function<Result<std::vector<std::string>>(uint64_t from, uint64_t to)> consistency_proof;
  // Stores a verified cosignature line of the checkpoint of `size`.
  std::function<Status(uint64_t size, const std::string& line)> add_cosignature;
  // Stores a verified RFC 3161 token (DER) of the checkpoint of `size`.
  std::function<Status(uint64_t size, const std::string& der)> set_timestamp;
};

// The hooks over the hub's store: its latest stored checkpoint, its
// consistency proofs, add_checkpoint_cosignature and
// set_checkpoint_timestamp. `store` must outlive the hooks.
CheckpointLog checkpoint_log_of(Store& store);

// An HTTP POST: url, body, content type, timeout in seconds. Ok with the
// status and body for any HTTP answer; kUnavailable if nothing answered.
struct PostAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};
using HttpPost = std::function<Result<PostAnswer>(const std::string& url, const std::string& body,
                                                  const std::string& content_type, int timeout)>;
// The default HttpPost, over client::HubClient (http:// and https:// URLs;
// https uses the system's default trust, no client certificate).
Result<PostAnswer> post_with_hub_client(const std::string& url, const std::string& body,
                                        const std::string& content_type, int timeout);

struct EvidenceOptions {
  std::vector<WitnessConfig> witnesses;  // vkey (type 0x04) and submission URL prefix
  int witness_timeout_seconds = 5;
  std::string tsa_url;  // empty: no time stamps
  std::string tsa_ca;   // PEM file the TSA's certificate chains to
  // How often the thread looks for a new checkpoint without a wake().
  std::chrono::milliseconds poll_interval{1000};
  // Back-off after a failure doubles from `first_backoff` up to `max_backoff`.
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{60000};
  // Asked on the collector's thread before each background pass; when set
  // and false the pass is skipped. The hub gives the holder test of lease
  // "journal.evidence", so that with several nodes one collects at a time.
  std::function<bool()> may_collect;
  // When set, evidence_status_json() of the current status is written here
  // (through a temporary name and a rename, so a reader never sees half a
  // file) by start() and after every pass that changed it. Its folder must
  // exist. The hub uses kEvidenceStatusFile under its data folder.
  std::string status_file;
};

// Where the hub keeps the collector's status, relative to its data folder.
inline constexpr const char* kEvidenceStatusFile = "status/evidence.json";

// What the operator sees (also logged).
struct EvidenceStatus {
  struct Witness {
    std::string name;
    std::string url;
    uint64_t cosigned_size = 0;  // largest size this witness cosigned for us
    bool ok = true;              // false after a failure, until a success
    int failures = 0;            // consecutive
    std::string last_error;
  };
  std::vector<Witness> witnesses;
  bool tsa_configured = false;
  uint64_t timestamped_size = 0;
  bool tsa_ok = true;
  int tsa_failures = 0;
  std::string tsa_last_error;
  uint64_t latest_size = 0;
};
// True when nothing configured is failing (no witness and no TSA: true).
bool evidence_healthy(const EvidenceStatus& s);
// One JSON object for logs or an admin view: {"healthy", "latest_size",
// "witnesses": [{"name", "url", "cosigned_size", "ok", "failures",
// "last_error"}], "tsa": {"configured", "timestamped_size", "ok", "failures",
// "last_error"}} (docs/witness.md).
std::string evidence_status_json(const EvidenceStatus& s);

class EvidenceCollector {
 public:
  // `post` defaults to post_with_hub_client.
  EvidenceCollector(CheckpointLog log, EvidenceOptions options, HttpPost post = {});
  ~EvidenceCollector();  // stop()s
  EvidenceCollector(const EvidenceCollector&) = delete;
  EvidenceCollector& operator=(const EvidenceCollector&) = delete;

  // Checks the configuration: kInvalidArgument for a witness key that is not
  // a cosignature/v1 verifier key, an empty or non-http(s) URL, or a TSA URL
  // without a CA file. Then starts the thread. Call once.
  Status start();
  // Stops and joins the thread (bounded by one HTTP timeout). Idempotent.
  void stop();
  // A new checkpoint was signed: look now rather than at the next poll.
  void wake();
  // Thread-safe snapshot.
  EvidenceStatus status() const;

  // One pass on the caller's thread, ignoring back-off: every witness and
  // the TSA are tried once for the latest checkpoint. For tests; do not mix
  // with start(). Errors as start()'s.
  Status run_once();

 private:
  struct WitnessState;
  Status configure();
  void loop();
  void pass(bool ignore_backoff);
  void submit(WitnessState& w, const CheckpointLog::Latest& latest);
  void timestamp(const CheckpointLog::Latest& latest);
  void failed(WitnessState& w, const std::string& why, bool refusal);
  std::chrono::milliseconds backoff(int failures) const;
  void publish();

  CheckpointLog log_;
  EvidenceOptions options_;
  HttpPost post_;
  bool configured_ = false;
  std::vector<std::unique_ptr<WitnessState>> witnesses_;
  std::chrono::steady_clock::time_point tsa_next_{};
  std::string published_;  // the status_file's last contents

  mutable std::mutex mu_;  // guards status_, stop_, woken_
  std::condition_variable cv_;
  EvidenceStatus status_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace sened::exchange
