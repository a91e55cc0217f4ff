// The gateway's folder layout under DIR, shared by the gateway (writer) and
// `sened gateway status` (reader). docs/gateway.md describes each folder.
#pragma once

namespace sened::gateway {

// Packages the EDMS drops; one folder each, complete once kReadyFile exists.
inline constexpr const char* kOutboxDir = "outbox";
// Packages the hub accepted, each with the hub's answer in kAnswerFile.
inline constexpr const char* kSentDir = "sent";
// Packages and action files refused for good, each with a readable reason.
inline constexpr const char* kFailedDir = "failed";
// Incoming documents, one folder per document id.
inline constexpr const char* kInboxDir = "inbox";
// Where the EDMS moves an inbox folder once it has taken it.
inline constexpr const char* kProcessedDir = "inbox/processed";
// One JSON file per status change: "<document id>.<sequence>.json".
inline constexpr const char* kStatusDir = "status";
// Action files the EDMS drops: register, reject, assign, execute, recall.
inline constexpr const char* kActionsDir = "actions";
// The gateway's own state: database, spool, trash. Not for the EDMS.
inline constexpr const char* kStateDir = ".gateway";
inline constexpr const char* kDatabaseFile = ".gateway/gateway.db";
inline constexpr const char* kSpoolDir = ".gateway/spool";
inline constexpr const char* kTrashDir = ".gateway/trash";

// Inside a package and an inbox folder.
inline constexpr const char* kReadyFile = "READY";
inline constexpr const char* kEnvelopeFile = "envelope.json";
inline constexpr const char* kFilesDir = "files";
inline constexpr const char* kSignatureSuffix = ".p7s";
// Written into a sent package: the hub's JSON answer.
inline constexpr const char* kAnswerFile = "answer.json";
// Written into a failed package, or beside a failed action file.
inline constexpr const char* kErrorFile = "error.txt";
// Inbox folders are written under this prefix, then renamed.
inline constexpr const char* kTempPrefix = ".tmp-";
// Field added to an inbox envelope: the cursor of the hub event that
// announced the document (decimal, increasing in hub order).
inline constexpr const char* kEventCursorField = "gateway_event_cursor";
// Field added to an inbox envelope: this gateway's arrival number, 1, 2, 3,
// ... in the order documents were written (gaps after a crash are normal).
inline constexpr const char* kArrivalField = "gateway_arrival";

}  // namespace sened::gateway
