// Real time across hub nodes on one PostgreSQL database (docs/cluster.md).
//
// Every write transaction that adds events also sends, inside the same
// transaction, one notification on kEventsChannel whose payload names the
// participants concerned. PostgreSQL delivers it to every listening session
// after, and only after, the commit. Each hub node keeps one listener on a
// connection of its own (not from the pool) and turns each notification into
// a wake-up of the feeds of those participants; the feeds then read the
// store from their cursors, so a notification carries no event data and a
// lost one is made good by the catch-up wake-up ("*") after a reconnect.
//
// The channel is per database, not per schema: hubs on other schemas of the
// same database only cause extra wake-ups, which cost one read each.
#pragma once

#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace sened::pg {

// The notification channel the store sends on and the listener listens to.
inline constexpr const char* kEventsChannel = "sened_events";
// PostgreSQL refuses payloads of 8000 bytes or more.
inline constexpr size_t kMaxPayload = 7999;
// The payload meaning "anyone's events may have changed".
inline constexpr const char* kEveryone = "*";
// fallback_application_name of the listener's session (a connection string
// that names its own application_name wins), shown in pg_stat_activity.
inline constexpr const char* kListenerApplication = "sened-listener";

// The payload for `participants`: their ids joined by ',' (participant ids
// never hold a comma), or kEveryone when that would not fit.
std::string notify_payload(const std::set<std::string>& participants);
// The participants of a payload; {"*"} for kEveryone or an empty payload.
std::vector<std::string> parse_payload(const std::string& payload);

// Connects a listener to `conninfo` and starts its thread, which calls
// `on_change` for every notification (store.h, Store::watch_changes). When
// the connection is lost it reconnects with back-off, then calls
// `on_change({"*"})` for the catch-up read. kUnavailable when the first
// connection fails.
Result<std::unique_ptr<ChangeWatch>> watch_changes(const std::string& conninfo,
                                                   ChangeCallback on_change);

}  // namespace sened::pg
