// A transparency log witness (c2sp.org/tlog-witness): the logic and the
// durable state behind `sened witness`.
//
// An independent body runs a witness so that the hub's operator cannot show
// different journals to different parties. For each log it knows (origin and
// the log's Ed25519 verifier key) the witness remembers the size and root of
// the last checkpoint it cosigned. A new checkpoint is cosigned only if it is
// signed by the log and a consistency proof shows that it extends that
// remembered tree; then the new size and root are remembered before the
// cosignature leaves. A fork (a checkpoint that does not extend it) is
// refused and kept as evidence.
//
// Data folder layout (see docs/witness.md):
//   witness.key  the witness's Ed25519 private key, PKCS#8 PEM, mode 0600
//   witness.db   SQLite: key name, known logs with their last cosigned
//                checkpoint, refused checkpoints
//
// Thread-safe: add_checkpoint() may be called from many threads at once.
// Checking the old size and storing the new state happen in one SQLite
// transaction that compares and swaps the stored size, with
// synchronous=FULL, so that neither a race between requests nor a crash can
// make the witness cosign two inconsistent checkpoints.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "journal/checkpoint.h"

namespace sened::sqlite {
class Database;
}

namespace sened::journal {

// File names inside the witness's data folder.
inline constexpr std::string_view kWitnessKeyFile = "witness.key";
inline constexpr std::string_view kWitnessDbFile = "witness.db";
// The spec's cap on consistency proof lines in one request.
inline constexpr size_t kMaxWitnessProofLines = 63;
// Largest add-checkpoint request body the witness reads (a checkpoint with a
// few signatures and 63 proof lines is far smaller).
inline constexpr size_t kMaxWitnessRequestBytes = 64 * 1024;
// Content-Type of a 409 answer carrying the witness's known tree size.
inline constexpr std::string_view kTlogSizeContentType = "text/x.tlog.size";
// Refused checkpoints kept as evidence, per log (oldest dropped first).
inline constexpr int kMaxRefusedPerLog = 1000;

// What the witness answers to one add-checkpoint request, with the HTTP
// status the spec gives: 200 cosigned (body: cosignature lines), 400
// malformed, 403 no valid log signature, 404 unknown origin, 409 old size
// (or root at equal size) does not match what was cosigned (body: the known
// size and a newline, content type text/x.tlog.size), 422 the consistency
// proof does not verify, 500/503 the state could not be read or written.
struct WitnessAnswer {
  int status = 0;
  std::string content_type;  // "text/plain; charset=utf-8" or kTlogSizeContentType
  std::string body;
  std::string reason;  // for logs; equals body for errors other than 409
};

// One log as the witness knows it.
struct WitnessedLog {
  std::string origin;
  std::string log_vkey;  // the log's verifier key string (type 0x01)
  uint64_t size = 0;     // of the last cosigned checkpoint; 0 if none yet
  std::string root;      // 32 bytes; empty when size is 0
};

class Witness {
 public:
  // Makes the data folder (if missing), a new key named `name` and the
  // database. kInvalidArgument for an invalid key name; kConflict if the
  // folder already holds a witness key or database; kUnavailable if files
  // cannot be written.
  static Status init(const std::string& dir, const std::string& name);
  // Opens an initialised folder. kNotFound if it is not one; kInvalidArgument
  // for a key that does not load; kUnavailable/kInternal for database errors.
  static Result<std::unique_ptr<Witness>> open(const std::string& dir);
  ~Witness();
  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  // The witness's cosignature verifier key ("name+id+base64(0x04||key)").
  std::string verifier_key() const;
  const std::string& name() const { return key_.name; }

  // Starts witnessing the log `origin` signed by `log_vkey` (a note verifier
  // key). Adding the same pair again is a no-op. kInvalidArgument for an
  // empty or malformed origin or key; kConflict if the origin is known with
  // another key (a witness never silently changes a log's key).
  Status add_log(const std::string& origin, const std::string& log_vkey);
  // The known logs, by origin.
  Result<std::vector<WitnessedLog>> logs() const;
  // How many checkpoints of `origin` were refused as inconsistent.
  Result<int> refused_count(const std::string& origin) const;

  // Handles one add-checkpoint request body (see the spec and
  // docs/witness.md). Never throws; every outcome is an answer.
  WitnessAnswer add_checkpoint(std::string_view request_body);

  // The clock used for cosignature times (seconds since the epoch); tests
  // may replace it before use.
  void set_clock(std::function<uint64_t()> clock) { clock_ = std::move(clock); }

 private:
  Witness(NoteKey key, std::unique_ptr<sqlite::Database> db);
  WitnessAnswer add_parsed(uint64_t old_size, const std::vector<std::string>& proof,
                           std::string_view note);
  void record_refused(const std::string& origin, std::string_view note);

  NoteKey key_;
  mutable std::mutex mu_;  // guards db_
  std::unique_ptr<sqlite::Database> db_;
  std::function<uint64_t()> clock_;
};

}  // namespace sened::journal
