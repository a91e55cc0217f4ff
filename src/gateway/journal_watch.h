// The gateway's watch over the hub's journal: is the hub showing this
// agency the same, append-only journal that the witnesses saw?
//
// Now and then (every `interval`, and soon after each received document)
// the watch fetches GET /v1/journal/checkpoint and checks, in order:
//   1. the hub's log signature (the log key from --log-key; without it, the
//      key served at GET /v1/journal/key is trusted on first use and saved);
//   2. consistency with the last good checkpoint it saw, using
//      GET /v1/journal/proof/consistency?from=A&to=B (a same-size checkpoint
//      must have the same root; a smaller one must be a prefix of it);
//   3. at least `witness_threshold` valid cosignatures of the --witness keys.
// Consistency comes before the witnesses so that a fork, which the
// witnesses refuse to cosign, is named as a fork, not as a shortfall.
// A checkpoint that passes becomes the last good one (saved in
// DIR/.gateway/journal-watch.json, fsynced). A failure is logged as an error
// and written to DIR/status/journal-warning.json; documents keep flowing.
// Warnings about an inconsistent journal (a fork or a rollback) stay until
// the operator deletes the file; others (signature, too few witnesses) are
// removed by the next good check. An unreachable hub is not a warning, nor
// is a hub that has never served a checkpoint (404 before the first one).
//
// Thread-safe: document_received() from any thread; tick() and check()
// from one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "journal/checkpoint.h"

namespace sened::gateway {

// File names under the gateway's folder.
inline constexpr const char* kJournalWatchFile = ".gateway/journal-watch.json";
inline constexpr const char* kJournalWarningFile = "status/journal-warning.json";

struct JournalWatchOptions {
  std::string log_vkey;                    // empty: trust on first use
  std::vector<std::string> witness_vkeys;  // cosignature/v1 verifier keys
  size_t witness_threshold = 0;
  std::chrono::seconds interval{60};
};

// An HTTP GET to the hub: ok with (status, body) for any answer,
// kUnavailable when the hub cannot be reached.
struct HubAnswer {
  int status = 0;
  std::string body;
};
using HubGet = std::function<Result<HubAnswer>(const std::string& target)>;

class JournalWatch {
 public:
  // Reads the saved state of `dir` (the gateway folder). kInvalidArgument for
  // a malformed key, a threshold above the number of witness keys, or a
  // --log-key that differs from the key saved by an earlier run (a changed
  // log key is a decision for the operator: delete the state file);
  // kInternal for a state file that does not parse.
  static Result<std::unique_ptr<JournalWatch>> open(const std::string& dir,
                                                    JournalWatchOptions options);

  // Marks a check as due soon (after a received document).
  void document_received() { due_ = true; }
  // Runs check() if one is due (interval passed or a document arrived).
  void tick(const HubGet& get);
  // Fetches and checks the latest checkpoint now. Ok if it is good;
  // kUnavailable if the hub could not be asked or has no journal yet
  // (nothing written);
  // kPermissionDenied for a failed check (warning written and logged).
  Status check(const HubGet& get);

  // The last good checkpoint's size (0 before the first).
  uint64_t last_size() const { return last_size_; }

 private:
  JournalWatch(std::string dir, JournalWatchOptions options);
  Status learn_log_key(const HubGet& get);
  Status verify(const HubGet& get, const std::string& note, journal::Checkpoint& out, bool& fork);
  // Is `cp` consistent with the last good checkpoint? `fork` is set when
  // it is not (or cannot be shown to be).
  Status check_consistency(const HubGet& get, const journal::Checkpoint& cp, bool& fork);
  Status warn(const std::string& kind, const std::string& message, const std::string& note);
  Status save();

  std::string dir_;
  JournalWatchOptions options_;
  std::vector<journal::NoteKey> witnesses_;
  std::string log_vkey_;  // known log key (flag or saved)
  std::string origin_;
  uint64_t last_size_ = 0;
  std::string last_root_;  // 32 bytes
  std::string last_note_;
  std::atomic<bool> due_{true};
  std::chrono::steady_clock::time_point next_{};
};

}  // namespace sened::gateway
