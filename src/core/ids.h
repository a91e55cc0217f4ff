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
std::string now_rfc3339();
// Today's date in UTC, "2026-12-04".
std::string today_utc();

}  // namespace sened
