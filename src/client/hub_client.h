// A synchronous HTTPS client for the hub's API, with mutual TLS and a kept-alive
// connection, and EventStream, the hub's event feed over a WebSocket. Used by
// the CLI, the gateway, the demo, the benchmarks and the tests; the only
// client-side file that sees Beast is hub_client.cpp.
//
// URLs are https://host[:port] (TLS, the hub) or http://host[:port] (plain
// TCP, for loopback services such as a test's webhook receiver).
//
// Failover. ClientOptions::url may list several nodes of one hub cluster,
// separated by commas ("https://a:8443,https://b:8443"; see
// parse_node_list()). Each call then goes to the node that last answered
// (at first the first one) and, when that node does not answer, moves on to
// the next, once around the list:
//   - moved on: kUnavailable from the node (connection refused, TLS handshake
//     failed, connection dropped before the whole answer arrived, timeout)
//     and an HTTP 503 answer (the node says it cannot serve now);
//   - returned as they are: every other HTTP answer, 4xx and 5xx included
//     (another node would give the same one), and local errors such as a
//     file to send that cannot be read (kInvalidArgument).
// When every node failed, one kUnavailable names each node and why. With a
// single URL nothing changes: its error or its 503 answer is returned as is.
// The node that answered is remembered for the rest of the process (for
// every client of the same list), so later calls start there.
//
// Why resending on another node is safe: the hub's writes are idempotent.
// A document's submit is keyed by (sender, sender_ref): a submit that node A
// took before it died is answered by node B with the first document (200),
// never stored twice. Status changes, ack, recall and the events ack repeat
// as "unchanged". Any request may be sent again whole on the next node, also
// one whose answer was cut off halfway; a streamed body (multipart files, a
// file range for a tus PATCH) is then sent again from its first byte, never
// continued halfway. A download writes to a temporary name and renames only
// a complete file, so a cut download leaves nothing behind. A tus upload
// lives on the node that created it: on another node its PATCH or HEAD is
// answered 404, and the caller starts a new upload there (gateway/uploader).
//
// Not thread-safe: one HubClient or EventStream per thread (the remembered
// node is shared safely).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "http/message.h"

namespace sened::client {

struct ClientOptions {
  // "https://127.0.0.1:8443" (or "http://…": no TLS), or several node URLs
  // separated by commas (failover, above).
  std::string url;
  std::string cert_file;  // PEM client certificate (optional for /healthz)
  std::string key_file;   // PEM private key
  std::string ca_file;    // PEM CA that the hub's certificate must chain to
  // Longest wait for one step of a request: connecting, the TLS handshake,
  // sending a piece, receiving a piece.
  int timeout_seconds = 60;
  // With several nodes in `url`, connecting and the TLS handshake wait at
  // most this long (and at most timeout_seconds), so that a node that is down
  // but not refusing costs little before the next node is tried. A single
  // node connects within timeout_seconds.
  int connect_timeout_seconds = 10;
};

// Splits a comma-separated list of hub node URLs into its URLs, in order,
// with the whitespace around each item trimmed. Each item must be
// https://host[:port] or http://host[:port] (an optional trailing slash is
// allowed). kInvalidArgument, naming the item, for an empty list, an empty
// item ("a,,b", a trailing comma), an item that is not such a URL, or a node
// listed twice (same scheme, host and port, default ports included).
Result<std::vector<std::string>> parse_node_list(std::string_view list);

struct ClientResponse {
  int status = 0;
  http::Headers headers;
  std::string body;
  std::optional<std::string> header(std::string_view name) const {
    return http::find_header(headers, name);
  }
};

// One part of a multipart/form-data body. Either `path` (streamed from disk)
// or `data` (in memory).
struct FormPart {
  std::string name;      // form field name: "metadata", "file", ...
  std::string filename;  // empty: no filename parameter
  std::string content_type;
  std::optional<std::string> path;
  std::string data;
};

class HubClient {
 public:
  // A bad node list or unreadable certificate files do not throw: every call
  // then returns that kInvalidArgument and sends nothing.
  explicit HubClient(ClientOptions options);
  ~HubClient();
  HubClient(const HubClient&) = delete;
  HubClient& operator=(const HubClient&) = delete;

  // kUnavailable when the hub cannot be reached or the TLS handshake fails
  // (message says which; with several nodes, after trying each); any HTTP
  // answer, error statuses included, is ok.
  Result<ClientResponse> request(const std::string& method, const std::string& target,
                                 const std::string& body = "",
                                 const std::string& content_type = "application/json");

  // The same, with extra request headers (e.g. Tus-Resumable, Range). A
  // Content-Type among them replaces `content_type`. kInvalidArgument, and
  // nothing sent, for a header name that is not a token, a value with CR, LF
  // or NUL, or a field the client sets itself (Host, Content-Length,
  // Transfer-Encoding, Connection, Expect, Upgrade).
  Result<ClientResponse> request(const std::string& method, const std::string& target,
                                 const std::string& body, const std::string& content_type,
                                 const http::Headers& extra_headers);

  // Sends bytes [offset, offset+length) of the file at `path` as the body
  // (e.g. a tus PATCH with Content-Type application/offset+octet-stream in
  // `headers`), streamed in bounded memory, after the server's 100 Continue
  // (a final answer instead refuses the body and is returned). `headers`
  // follow request()'s rules. kInvalidArgument, and nothing sent, when the
  // file cannot be read or the range passes its end; also when the file
  // shrinks while it is being sent (the connection is then dropped).
  Result<ClientResponse> send_file(const std::string& method, const std::string& target,
                                   const http::Headers& headers, const std::string& path,
                                   uint64_t offset, uint64_t length);

  // POSTs multipart/form-data, streaming file parts from disk. The filename
  // is sent both as filename="…" (raw UTF-8) and as filename*=UTF-8''…
  // (RFC 5987 percent-encoding).
  Result<ClientResponse> post_multipart(const std::string& target,
                                        const std::vector<FormPart>& parts);

  // GETs `target` and streams a 200 body into `out_path` (written to a temp
  // name, then renamed). For other statuses the body is returned in memory
  // and nothing is written.
  Result<ClientResponse> download(const std::string& target, const std::string& out_path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The hub's event feed held open over a WebSocket (GET /v1/stream?after=…),
// on a connection of its own with the same TLS settings as HubClient. The
// hub's text messages (one event each) are handed out in arrival order.
// While the stream is open and idle it pings the hub, and counts the
// connection as lost when the hub stops answering.
//
// Not thread-safe: one thread uses an EventStream. Destroying it drops the
// connection without a close frame; call close() first to end politely.
class EventStream {
 public:
  // Connects and upgrades `target` (e.g. "/v1/stream?after=17").
  // kInvalidArgument: bad URL or certificate files. kUnavailable: the hub
  // cannot be reached, TLS fails, or the connection broke during the
  // upgrade. When the hub answers the upgrade with an error instead, that
  // error's code and message (e.g. kInvalidArgument for a bad cursor).
  // With several nodes in options.url, tries them as HubClient does (a node
  // that refuses with 5xx is passed over too); the stream then stays on the
  // node that took it. To move on after the stream ends, open again with the
  // cursor of the last event handled: the next open starts at that same node
  // and passes over it when it is gone.
  static Result<std::unique_ptr<EventStream>> open(const ClientOptions& options,
                                                   const std::string& target);
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // The next text message, waiting up to `timeout_ms` for one (0: only what
  // has already arrived); nullopt when none came in time. Messages that
  // arrived before the connection ended are still handed out; after them,
  // kUnavailable says why it ended (the hub closed the stream, went away, or
  // stopped answering pings), on this and every later call.
  Result<std::optional<std::string>> read(int timeout_ms);

  // Sends one text message (e.g. {"ack":"42"}). kUnavailable once the
  // connection has ended.
  Status send(const std::string& text);

  // Sends a close frame and waits, for a bounded time, for the hub's; then
  // drops the connection. Later read() and send() return kUnavailable.
  void close();

 private:
  struct Impl;
  explicit EventStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sened::client
