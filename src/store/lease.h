// Holding a Store lease (store.h, acquire_lease) over time, for background
// work that must run on one hub node at a time: the checkpoint signer, the
// evidence collector, the lifecycle sweep, each webhook attempt.
//
// A job calls hold() at the start of every pass and does its work only when
// it returns true. hold() takes the lease or renews it; the ttl must exceed
// the longest time between two hold() calls plus one pass, or the lease
// lapses while the work runs and another node may start the same work. When
// a node dies its leases lapse after at most one ttl, and a surviving node's
// next hold() takes them over.
//
// Not thread-safe: one LeaseHolder belongs to one job's thread. The store
// must outlive it.
#pragma once

#include <chrono>
#include <string>

#include "store/store.h"

namespace sened {

class LeaseHolder {
 public:
  // `holder` is the node id (hub_command.cpp makes one per process).
  LeaseHolder(Store& store, std::string name, std::string holder, std::chrono::milliseconds ttl);

  // Takes or renews the lease; true while this holder has it. A store error
  // counts as not held (the work waits for the next pass). Logs each change.
  // Within a third of the ttl after a renewal it answers true without asking
  // the store again, so frequent passes do not write the lease each time.
  bool hold();
  // Gives the lease up now when held (e.g. after one webhook attempt, or at
  // shutdown so that another node need not wait for the ttl).
  void release();
  bool held() const { return held_; }
  const std::string& name() const { return name_; }

 private:
  Store& store_;
  std::string name_;
  std::string holder_;
  std::chrono::milliseconds ttl_;
  bool held_ = false;
  std::chrono::steady_clock::time_point renewed_at_;  // start of the last renewing call
  bool quiet_ = false;                                // set once "held by another" was logged
};

// A node id for leases and logs: "node-" and 12 random hex digits, new at
// every start.
std::string new_node_id();

}  // namespace sened
