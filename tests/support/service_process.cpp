#include "support/service_process.h"

#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "core/process.h"
#include "support/test_support.h"

namespace sened::testing {

namespace fs = std::filesystem;

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) stop(SIGKILL);
}

std::string ServiceProcess::start(const std::vector<std::string>& args,
                                  const std::string& port_file, const std::string& log_path,
                                  const std::string& port_flag) {
  log_path_ = log_path;
  fs::remove(port_file);
  std::vector<std::string> all{sened_binary()};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back(port_flag);
  all.push_back(port_file);
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = spawn_tied_to_parent(argv, log_path, SIGKILL);
  if (pid_ <= 0) throw std::runtime_error("cannot start sened");
  // A bound on how long a start may take, not a timing assertion.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(port_file)) {
      std::string text = read_file(port_file);
      if (!text.empty() && text.back() == '\n') return text.substr(0, text.size() - 1);
    }
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("sened exited at start: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("sened did not start: " + log());
}

int ServiceProcess::stop(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string ServiceProcess::log() const {
  return fs::exists(log_path_) ? read_file(log_path_) : std::string();
}

}  // namespace sened::testing
