// The agency's certificate and key, followed on disk: an operator rotating
// the gateway's certificate replaces the files while the gateway runs, and
// the gateway switches to them without a restart and without losing a
// document (a request cut by the switch is retried like any other failure).
#pragma once

#include <memory>
#include <string>

#include "client/hub_client.h"

namespace sened::gateway {

// A HubClient that is made anew when ClientOptions::cert_file or key_file
// changes (by inode, size and modification time). Not thread-safe: one per
// thread, like HubClient.
class ReloadingHubClient {
 public:
  explicit ReloadingHubClient(client::ClientOptions options);
  ~ReloadingHubClient();
  ReloadingHubClient(const ReloadingHubClient&) = delete;
  ReloadingHubClient& operator=(const ReloadingHubClient&) = delete;

  // The client to use for the next request. When the files changed since the
  // last call and the new key belongs to the new certificate, the previous
  // client (and its kept-alive connection) is dropped for one made from the
  // new files. A pair that does not match yet (one file replaced, the other
  // not) keeps the previous client until the files change again. Reads file
  // metadata on every call (two stat calls); the files only on a change.
  client::HubClient& current();

 private:
  client::ClientOptions options_;
  std::string stamp_;
  std::unique_ptr<client::HubClient> client_;
};

}  // namespace sened::gateway
