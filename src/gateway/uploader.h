// Sending one large spooled file to the hub as a resumable upload (tus 1.0.0
// at /v1/uploads, docs/uploads.md), so that a cut connection or a killed
// gateway costs at most the chunk in flight, never the whole file.
//
// The upload's id is recorded in the gateway's database before the first
// byte is sent. On the next attempt (after a restart, or after a connection
// failure) the recorded upload is asked for its offset (HEAD) and continued
// from there; only when the hub no longer has it (404, or 410 for an upload
// a document has not used) is a new one started. A PATCH answered 404 also
// starts a new upload at once: with several hub nodes (--hub A,B) an upload
// lives on the node that created it, and after that node went away the
// client talks to another node that never heard of it.
//
// Not thread-safe: one sender thread per gateway, one HubClient per thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "client/hub_client.h"
#include "core/status.h"
#include "gateway/gateway_db.h"

namespace sened::gateway {

// Files larger than this go through a resumable upload (--resumable-above).
inline constexpr uint64_t kDefaultResumableAbove = 8ull * 1024 * 1024;
// Bytes sent per PATCH request: a cut costs at most the hub's checkpoint
// interval within the chunk in flight.
inline constexpr uint64_t kDefaultUploadChunk = 16ull * 1024 * 1024;

struct UploadJob {
  std::string spool_id;  // the package's spool folder name
  std::string name;      // the file's name in the envelope
  std::string path;      // the spooled copy of the file
  uint64_t chunk_bytes = kDefaultUploadChunk;
  const std::atomic<bool>* stopping = nullptr;  // checked between chunks
};

// Makes sure the hub holds the whole file in an upload and returns it (its
// id, size and SHA-256, for the document's metadata). An upload the hub
// reports as used by a document (410) is returned as it is: the retried
// submit with the same sender_ref then gets the first document.
// kUnavailable: try again later (the hub is unreachable, busy, or answered
// 5xx, 403 or 409; or `stopping` was set). kInvalidArgument: the hub refused
// the upload for good (e.g. 413, the file is over its limit). kInternal: the
// spooled file or the database cannot be read or written.
Result<UploadRecord> send_resumable(client::HubClient& hub, GatewayDb& db, const UploadJob& job);

}  // namespace sened::gateway
