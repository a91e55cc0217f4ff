#include "core/process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace sened {

pid_t spawn_tied_to_parent(const std::vector<char*>& argv, const std::string& log_path,
                           int death_signal) {
  pid_t parent = getpid();
  const char* log_file = log_path.c_str();
  pid_t pid = fork();
  if (pid != 0) return pid;
  // In the child: only async-signal-safe calls until exec.
  prctl(PR_SET_PDEATHSIG, death_signal);
  if (getppid() != parent) _exit(127);  // the parent died before prctl
  int log = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0) _exit(127);
  dup2(null, 0);
  dup2(log, 1);
  dup2(log, 2);
  execv(argv[0], argv.data());
  _exit(127);
}

}  // namespace sened
