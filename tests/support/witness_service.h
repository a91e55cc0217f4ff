// A real `sened witness` for integration tests: its own folder, made with
// `sened witness init` and `add-log`, and the binary on 127.0.0.1.
#pragma once

#include <string>
#include <vector>

#include "journal/checkpoint.h"
#include "support/service_process.h"
#include "support/test_support.h"

namespace sened::testing {

class WitnessService {
 public:
  // Makes a witness named `name` that witnesses the log `origin` whose
  // verifier key is `log_vkey`. Throws std::runtime_error if a command fails.
  WitnessService(const std::string& origin, const std::string& log_vkey,
                 const std::string& name = "witness.test/w1");

  // Starts the witness: on a port the kernel picks the first time, then on
  // that same port, so that a hub configured with url() finds it again.
  void start();
  // SIGTERM and wait; the port is free afterwards.
  void stop();
  bool running() const { return process_.running(); }

  // "http://127.0.0.1:PORT"; valid after the first start().
  std::string url() const { return "http://" + address_; }
  // The witness's verifier key (cosignature/v1), as `witness init` printed it.
  const std::string& vkey() const { return vkey_; }
  journal::NoteKey key() const;
  // `sened witness logs` on its folder: sizes cosigned and forks refused.
  CommandResult logs() const;
  // The checkpoints it refused as inconsistent (forks), oldest first, as the
  // witness keeps them for evidence in its database.
  std::vector<std::string> refused_notes() const;
  // What the witness process logged.
  std::string log() const { return process_.log(); }

 private:
  std::string data() const { return dir_ / "w"; }

  TempDir dir_;
  ServiceProcess process_;
  std::string address_;
  std::string vkey_;
};

}  // namespace sened::testing
