// Identifiers and timestamps.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sened {

// A new UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so ids
// sort by creation time. Lowercase, hyphenated. Thread-safe.
std::string new_uuid_v7();
// True for a lowercase or uppercase hyphenated UUID of any version.
bool is_uuid(std::string_view s);

// "2026-12-04T17:30:00.123Z": RFC 3339, UTC, milliseconds.
std::string format_rfc3339(std::chrono::system_clock::time_point t);

// The hub's clock: the system clock moved by an offset. The offset is zero
// unless set; tests and expiry drills move time forward with it (the hub
// takes it from the SENED_CLOCK_OFFSET variable, in seconds) instead of
// waiting days. Thread-safe.
std::chrono::system_clock::time_point hub_now();
void set_clock_offset(std::chrono::seconds offset);
// Parses SENED_CLOCK_OFFSET ("" -> 0; "259200" or "+3d", "-2h", "90m", "15s").
bool parse_clock_offset(std::string_view text, std::chrono::seconds& out);

std::string now_rfc3339();
// Today's date in UTC, "2026-12-04".
std::string today_utc();

}  // namespace sened
