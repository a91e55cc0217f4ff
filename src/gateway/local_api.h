// The gateway's local HTTP API, for an EDMS that prefers HTTP to folders. It
// does exactly what the folders do and goes through them, so both ways can
// be mixed: a package PUT here becomes an outbox/ package, an action POSTed
// here becomes an actions/ file, and the inbox and status answers read the
// inbox/ and status/ folders.
//
//   PUT  /v1/outbox/{name}          multipart: part "envelope" (JSON), then
//                                   "file" parts, each optionally followed
//                                   by a "signature" part (stored as
//                                   NAME.p7s; a "file" part named NAME.p7s
//                                   does the same) -> 202 {"package":name}
//   GET  /v1/inbox                  -> {"documents":[envelope, ...]}
//   GET  /v1/inbox/{id}/files/{n}   -> the bytes of file n (from 0)
//   POST /v1/inbox/{id}/processed   -> 200, moved to inbox/processed/
//   POST /v1/actions                action JSON -> 202 {"action":file}
//   GET  /v1/status                 -> as `sened gateway status --json`
//   GET  /v1/status-changes?document=ID -> {"changes":[{"file","change"}]}
//
// Errors are {"error":{"code","message"}} as at the hub; a refused request
// changes no folder. Serve it on loopback only: it has no authentication.
// Thread-safe (every call works on the folders alone).
#pragma once

#include <string>

#include "http/message.h"

namespace sened::gateway {

class LocalApi : public http::Handler {
 public:
  explicit LocalApi(std::string dir) : dir_(std::move(dir)) {}
  http::Response handle(const http::Request& request) override;
  std::optional<UploadStart> begin_upload(const http::Request& head) override;

 private:
  std::string dir_;
};

}  // namespace sened::gateway
