// Plain HTTP request and response values passed between the network layer
// (server.cpp, the only file that sees Beast) and the API handlers. No Boost
// headers here, so handlers and their tests compile fast.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sened::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup; the first match, or nullopt.
std::optional<std::string> find_header(const Headers& headers, std::string_view name);

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as received, e.g. "/v1/inbox?all=true"
  Headers headers;
  std::string body;  // whole body (not used for streamed uploads)
  // Lowercase hex SHA-256 of the client certificate's DER; empty if none.
  std::string peer_fingerprint;
  std::string remote;  // "127.0.0.1:53422", for logs

  std::optional<std::string> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

// Bytes to stream after the head of a response: a byte range of a file on
// disk, of an in-memory string, or of what `reader` reads (exactly one is
// set). The server calls `reader` on its blocking executor, one call at a
// time, with increasing offsets inside the range: it copies up to `size`
// bytes at `offset` into `out` and returns how many (fewer only at the end);
// an error or a short read cuts the response off.
struct FileSource {
  using Reader = std::function<Result<size_t>(uint64_t offset, char* out, size_t size)>;
  std::optional<std::string> path;
  std::optional<std::string> bytes;
  uint64_t offset = 0;
  uint64_t length = 0;
  Reader reader;  // last, so that {path, bytes, offset, length} still reads as before
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;                // used when `file` is empty
  std::optional<FileSource> file;  // streamed; Content-Length is its length
};

// JSON response with Content-Type: application/json.
Response json_response(int status, std::string body);
// {"error":{"code":…,"message":…}} with the status that fits the code.
Response error_response(const Status& status);

// Receives a streamed request body chunk by chunk. Destroying a sink without
// a successful finish() discards everything it wrote (a cut upload leaves
// nothing behind).
class UploadSink {
 public:
  virtual ~UploadSink() = default;
  // A non-ok status stops the upload; the server answers with it and closes.
  virtual Status write(std::string_view chunk) = 0;
  // The body is complete; returns the response to send.
  virtual Response finish() = 0;
};

// A live feed of events for one client: a WebSocket stream (GET /v1/stream)
// or one long poll (GET /v1/events?wait=N). Created by Handler::open_feed;
// the server then calls it from one thread at a time, never two calls at
// once, on its blocking executor (next() and receive() touch the database).
class EventFeed {
 public:
  virtual ~EventFeed() = default;
  // Registers `wake`, which the feed calls from any thread, without blocking,
  // whenever new events may be waiting. Called once, before the first next().
  // The feed stops calling it once destroyed.
  virtual void set_waker(std::function<void()> wake) = 0;
  // The events after those already returned (at first: after the cursor the
  // client asked for), oldest first, at most `limit`, each one complete JSON
  // text. Empty when none is waiting. An error ends the feed.
  virtual Result<std::vector<std::string>> next(int limit) = 0;
  // A text message the client sent on the WebSocket (e.g. {"ack":"42"});
  // returns a text to send back, if any (an error report).
  virtual std::optional<std::string> receive(std::string_view text) = 0;
  // Long poll only: the answer carrying `events` (may be empty when the wait
  // ran out).
  virtual Response respond(std::vector<std::string> events) = 0;
};

// What the server calls. Implementations must be thread-safe: requests of
// different connections arrive on different threads. Both calls may block
// (disk, database); the server runs them on its blocking executor.
class Handler {
 public:
  virtual ~Handler() = default;
  // A request whose body has been read whole (bodies of non-upload routes are
  // capped by the server's `body_limit`).
  virtual Response handle(const Request& request) = 0;
  // Called with the head only (body empty). Returns nullopt if this route
  // does not stream its body (the server then reads it whole and calls
  // handle()); a Response to refuse the upload before its body is read (the
  // server sends it and closes, without answering 100-continue); or a sink.
  struct UploadStart {
    std::unique_ptr<UploadSink> sink;  // set: stream into it
    std::optional<Response> refusal;   // set: answer this instead
  };
  virtual std::optional<UploadStart> begin_upload(const Request& head) = 0;

  // Called with the head of every GET request before anything else. Returns
  // nullopt if the route is not a feed. Otherwise either a refusal to send
  // (bad cursor, not authenticated, ...) or a feed: with `websocket`, the
  // server completes the WebSocket upgrade (answering 426 if the request is
  // not an upgrade) and sends each event as one text message as soon as it
  // is woken, forwarding client text messages to receive(); without, it calls
  // next(); if that is empty it waits up to `wait_seconds` for a wake-up (or
  // its own shutdown), calls next() again, and answers respond(events).
  struct FeedStart {
    std::unique_ptr<EventFeed> feed;
    std::optional<Response> refusal;
    bool websocket = false;
    int wait_seconds = 0;
  };
  virtual std::optional<FeedStart> open_feed(const Request& head) {
    (void)head;
    return std::nullopt;
  }
};

}  // namespace sened::http
