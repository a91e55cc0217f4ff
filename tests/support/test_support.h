// Helpers shared by the tests: temporary folders, files, running commands.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace sened::testing {

// A fresh folder under the system temp dir, removed with everything in it
// when the object dies (unless SENED_KEEP_TEST_DIRS is set).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Polls `condition` until it holds or `deadline` runs out; returns whether
// it held. The deadline is a bound on a slow, shared machine, not a timing
// assertion.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::seconds deadline = std::chrono::seconds(300),
                std::chrono::milliseconds poll = std::chrono::milliseconds(20));

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

struct CommandResult {
  int exit_code = -1;  // the exit status, or 128+signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs argv[0] (searched in PATH) with the arguments, no shell, and waits.
CommandResult run_command(const std::vector<std::string>& argv);

// The path of the `sened` binary built alongside the test.
std::string sened_binary();
// The repository's root folder (examples/ lives there).
std::string source_dir();

}  // namespace sened::testing
