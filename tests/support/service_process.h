// A `sened` subcommand run as a child process for integration tests (a
// witness, a gateway...): started with --port-file, waited for until it
// listens, killed at the latest when the object dies.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sened::testing {

class ServiceProcess {
 public:
  ServiceProcess() = default;
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // Runs `sened ARGS… <port_flag> <port_file>`, logging to `log_path`
  // (appended), and waits (bounded) until the port file holds
  // "ADDRESS:PORT\n". Returns that address. Throws if the process exits or
  // never writes the file. A gateway names its flag --local-api-port-file.
  std::string start(const std::vector<std::string>& args, const std::string& port_file,
                    const std::string& log_path, const std::string& port_flag = "--port-file");
  // Sends `signal`, waits; returns the exit status (128+signal if killed).
  int stop(int signal);
  bool running() const { return pid_ > 0; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

}  // namespace sened::testing
