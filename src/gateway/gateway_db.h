// The gateway's own database (DIR/.gateway/gateway.db): what it spooled, sent
// and received, the hub's event cursor, and failures. It is the record that
// makes the EDMS see each document exactly once across crashes: folders are
// written first, then a row says they are complete.
//
// SQLite in WAL mode with synchronous=FULL, so every call that returns ok is
// durable. Thread-safe: one connection behind a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/sqlite/sqlite_db.h"

namespace sened::gateway {

// A package copied into the spool. state: "queued" (to send), "sent" or
// "failed"; `filed` once its spool folder moved to sent/ or failed/.
struct SpooledPackage {
  std::string id;    // spool folder name
  std::string name;  // package folder name in outbox/
  std::string sender_ref;
  std::string state;
  int64_t attempts = 0;
  std::string document;  // the hub's id, once sent
  std::string answer;    // the hub's JSON answer, once sent
  std::string error;     // last error or the reason of a failure
};

// Figures for `sened gateway status`.
struct GatewayCounts {
  int64_t queued = 0;        // spooled, not yet accepted by the hub
  int64_t sent = 0;          // accepted by the hub
  int64_t failed = 0;        // packages refused for good
  int64_t received = 0;      // inbox folders written
  int64_t not_taken = 0;     // inbox folders the EDMS has not moved to processed/
  int64_t failures = 0;      // refused packages and action files, all time
  int64_t status_files = 0;  // status/ files written
};

struct FailureRecord {
  std::string at, what, reason;
};

class GatewayDb {
 public:
  // Opens or creates the database and its tables.
  static Result<std::unique_ptr<GatewayDb>> open(const std::string& path);

  // Outbox. add_package records a spooled copy (state queued, not picked).
  Status add_package(const std::string& id, const std::string& name, const std::string& ref);
  // The spool id of a package named `name` whose outbox folder was not yet
  // removed (a crash came between spooling and removal), if any.
  Result<std::optional<std::string>> unpicked(const std::string& name);
  Status mark_picked(const std::string& id);
  // The oldest queued package, in spool order.
  Result<std::optional<SpooledPackage>> next_queued();
  Status record_attempt(const std::string& id, const std::string& error);
  // Ends a package: state "sent" (with document and answer) or "failed".
  Status finish(const std::string& id, const std::string& state, const std::string& document,
                const std::string& answer, const std::string& error);
  // Finished packages whose spool folder has not yet been moved.
  Result<std::vector<SpooledPackage>> unfiled();
  Status mark_filed(const std::string& id);
  // Every spool id the database knows (to clear orphans at start).
  Result<std::vector<std::string>> spool_ids();

  // Inbox: state "written" (folder durable), "acked" (hub told), "taken".
  Result<std::optional<std::string>> received_state(const std::string& document);
  Status set_received(const std::string& document, const std::string& cursor,
                      const std::string& state);
  Result<std::vector<std::string>> received_in_state(const std::string& state);
  // Received documents not yet handed over to --deliver-url, oldest first.
  Result<std::vector<std::string>> not_handed_over();
  Status mark_handed_over(const std::string& document);
  // The next arrival number (durably counted; never given twice).
  Result<int64_t> next_arrival();

  // The sequence number of the status file for event `cursor` about
  // `document`: the same on every call for one event, else one more than the
  // document's last.
  Result<int64_t> status_sequence(const std::string& cursor, const std::string& document);

  // Small named values: "event_cursor", "last_contact", "last_error".
  Result<std::optional<std::string>> setting(const std::string& key);
  Status set_setting(const std::string& key, const std::string& value);

  Status add_failure(const std::string& what, const std::string& reason);
  Result<std::vector<FailureRecord>> recent_failures(int limit);
  Result<GatewayCounts> counts();

 private:
  explicit GatewayDb(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  Result<int64_t> count(const char* sql);

  std::mutex mu_;
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace sened::gateway
