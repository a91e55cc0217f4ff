#include "support/hub_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <stdexcept>
#include <thread>

#include "core/process.h"

namespace sened::testing {
namespace fs = std::filesystem;

namespace {

void must(const CommandResult& r, const std::string& what) {
  if (r.exit_code != 0) {
    throw std::runtime_error(what + " failed: " + r.out + r.err);
  }
}
}  // namespace

HubProcess::HubProcess(const std::vector<std::string>& orgs) {
  must(sened({"admin", "init", "--data", dir()}), "admin init");
  must(sened({"admin", "org", "import", "--data", dir(),
              source_dir() + "/examples/participants.csv"}),
       "org import");
  for (const auto& org : orgs) {
    must(sened({"admin", "cert", "issue", "--data", dir(), "--org", org, "--out", client_dir(org)}),
         "cert issue");
  }
}

HubProcess::~HubProcess() {
  if (pid_ > 0) stop(SIGKILL);
}

void HubProcess::set_config(const std::string& key, const std::string& value) {
  std::string path = dir() + "/sened.toml";
  std::string text = read_file(path);
  std::regex line("(^|\\n)" + key + " = [^\\n]*");
  std::string replaced = std::regex_replace(text, line, "$1" + key + " = " + value);
  if (replaced == text) throw std::runtime_error("no setting " + key);
  write_file(path, replaced);
}

void HubProcess::start(const std::string& listen, const std::vector<std::string>& extra_args) {
  std::string port_file = dir() + "/hub.addr";
  fs::remove(port_file);
  std::vector<std::string> args{sened_binary(), "hub",  "--data",      dir(),
                                "--listen",     listen, "--port-file", port_file};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log_path = dir() + "/hub.log";
  pid_ = spawn_tied_to_parent(argv, log_path, SIGKILL);
  int rc = pid_ > 0 ? 0 : -1;
  if (rc != 0) throw std::runtime_error("cannot start the hub");
  // A bound on how long a start may take, not a timing assertion.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(port_file)) {
      std::string text = read_file(port_file);
      if (!text.empty() && text.back() == '\n') {
        url_ = "https://" + text.substr(0, text.size() - 1);
        return;
      }
    }
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("the hub exited at start: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("the hub did not start: " + log());
}

int HubProcess::stop(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string HubProcess::listen_address() const {
  const std::string scheme = "https://";
  return url_.starts_with(scheme) ? url_.substr(scheme.size()) : url_;
}

std::string HubProcess::client_dir(const std::string& org) const {
  return dir() + "/clients/" + org;
}

client::ClientOptions HubProcess::client(const std::string& org) const {
  client::ClientOptions o;
  o.url = url_;
  o.cert_file = client_dir(org) + "/cert.pem";
  o.key_file = client_dir(org) + "/key.pem";
  o.ca_file = client_dir(org) + "/ca.pem";
  o.timeout_seconds = 60;
  return o;
}

std::vector<std::string> HubProcess::curl(const std::string& org,
                                          const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"curl",     "-sS",
                                "--cacert", client_dir(org) + "/ca.pem",
                                "--cert",   client_dir(org) + "/cert.pem",
                                "--key",    client_dir(org) + "/key.pem"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult HubProcess::sened(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{sened_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

CommandResult HubProcess::verify_journal() const {
  return sened({"journal", "verify", "--data", dir()});
}

int HubProcess::journal_entries() const {
  CommandResult r = verify_journal();
  std::smatch m;
  std::regex count("journal ok: ([0-9]+) entries");
  if (r.exit_code != 0 || !std::regex_search(r.out, m, count)) return -1;
  return std::stoi(m[1].str());
}

int HubProcess::stored_file_count() const {
  int n = 0;
  if (!fs::exists(dir() + "/files")) return 0;
  for (const auto& e : fs::recursive_directory_iterator(dir() + "/files")) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

std::string HubProcess::log() const {
  try {
    return read_file(dir() + "/hub.log");
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace sened::testing
