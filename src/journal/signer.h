// The hub's side of checkpoints: its Ed25519 log key on disk, signing the
// journal's current tree head into the store, and a background signer that
// keeps the stored checkpoint at most one interval behind the journal.
//
// Key name of every note = the log's origin (HubConfig::journal_origin).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "journal/checkpoint.h"
#include "store/lease.h"
#include "store/store.h"

namespace sened::journal {

// Loads the log key (PKCS#8 PEM) from `path`; when the file does not exist,
// makes a new key and writes it there (mode 0600, parent folders made,
// fsynced). kInvalidArgument for a file that is not an Ed25519 key,
// kUnavailable when it cannot be written.
Result<NoteKey> load_or_create_log_key(const std::string& path, const std::string& origin);

// The checkpoint text as served: the hub-signed note followed by the
// witnesses' signature lines.
std::string served_note(const StoredCheckpoint& c);

// Signs the tree head at the store's current size (the empty tree too) and
// stores it, unless one of that size is stored already. Returns the stored
// checkpoint of that size. Errors are the store's and the signer's.
Result<StoredCheckpoint> sign_current(Store& store, const NoteKey& key);

// The shortest ttl of the signer's lease: how long a dead node's lease keeps
// the others from signing.
inline constexpr std::chrono::milliseconds kSignerLeaseTtl{5000};

// A thread that signs a checkpoint whenever the journal has grown: it checks
// every `interval` and at once after notify(). Thread-safe; the store and
// key must outlive it. Failures are logged and retried at the next tick.
//
// Several hub nodes on one store: only the holder of lease "journal.signer"
// (store/lease.h) signs. Every pass renews it first; a node that cannot
// renew it stops signing until it takes it again, and a dead holder's lease
// passes to another node after its ttl (kSignerLeaseTtl, or a few intervals
// when those are longer).
class CheckpointSigner {
 public:
  // `node` is this process's node id (the lease holder).
  CheckpointSigner(Store& store, NoteKey key, std::chrono::milliseconds interval, std::string node);
  ~CheckpointSigner();  // stops the thread, gives the lease up
  CheckpointSigner(const CheckpointSigner&) = delete;
  CheckpointSigner& operator=(const CheckpointSigner&) = delete;

  // Signs once now (the start-up checkpoint) when this node holds the lease,
  // then starts the thread.
  Status start();
  // Wakes the thread early (e.g. after a commit). Never blocks on the store.
  void notify();
  void stop();

 private:
  void run();

  Store& store_;
  NoteKey key_;
  std::chrono::milliseconds interval_;
  LeaseHolder lease_;  // used by start(), then by the thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace sened::journal
