// A synchronous HTTPS client for the hub's API, with mutual TLS and a kept-alive
// connection. Used by the CLI, the demo and the tests; the only client-side
// file that sees Beast is hub_client.cpp.
//
// Not thread-safe: one HubClient per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "http/message.h"

namespace sened::client {

struct ClientOptions {
  std::string url;        // "https://127.0.0.1:8443"
  std::string cert_file;  // PEM client certificate (optional for /healthz)
  std::string key_file;   // PEM private key
  std::string ca_file;    // PEM CA that the hub's certificate must chain to
  int timeout_seconds = 60;
};

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
  explicit HubClient(ClientOptions options);
  ~HubClient();
  HubClient(const HubClient&) = delete;
  HubClient& operator=(const HubClient&) = delete;

  // kUnavailable when the hub cannot be reached or the TLS handshake fails
  // (message says which); any HTTP answer, error statuses included, is ok.
  Result<ClientResponse> request(const std::string& method, const std::string& target,
                                 const std::string& body = "",
                                 const std::string& content_type = "application/json");

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

}  // namespace sened::client
