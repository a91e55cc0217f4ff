// A real hub for integration tests: a fresh data folder made with the real
// `sened admin` commands, certificates for some participants, and the real
// `sened hub` binary on a loopback port chosen by the kernel.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "client/hub_client.h"
#include "support/test_support.h"

namespace sened::testing {

class HubProcess {
 public:
  // Makes the data folder, imports examples/participants.csv and issues
  // certificates for `orgs` into <dir>/clients/<org>/. Throws on failure.
  explicit HubProcess(const std::vector<std::string>& orgs);
  ~HubProcess();

  // Replaces `key = …` in sened.toml (before start()).
  void set_config(const std::string& key, const std::string& value);
  // Starts `sened hub` on `listen` (by default a port the kernel picks;
  // pass listen_address() to come back on the same port after stop());
  // waits until it listens. Throws if it does not. `extra_args` go to
  // `sened hub` after the others.
  void start(const std::string& listen = "127.0.0.1:0",
             const std::vector<std::string>& extra_args = {});
  // "127.0.0.1:PORT" of the last start(); empty before.
  std::string listen_address() const;
  // Sends `signal` and waits for the process; returns its exit status
  // (128+signal when killed).
  int stop(int signal);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  const std::string& dir() const { return dir_.path(); }
  const std::string& url() const { return url_; }
  std::string client_dir(const std::string& org) const;
  client::ClientOptions client(const std::string& org) const;
  // `curl -sS` with the participant's certificate, then `args`.
  std::vector<std::string> curl(const std::string& org, const std::vector<std::string>& args) const;
  // `sened ARGS…` (admin commands need --data themselves).
  CommandResult sened(const std::vector<std::string>& args) const;
  // `sened journal verify --data DIR`.
  CommandResult verify_journal() const;
  // How many journal entries `journal verify` counts (-1 if it fails).
  int journal_entries() const;
  // Regular files under files/ (content-addressed and staging).
  int stored_file_count() const;
  std::string log() const;

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::string url_;
};

}  // namespace sened::testing
