// Starting child processes that must not outlive their parent.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sened {

// Starts `argv` (argv[0] a path, argv null-terminated) with stdin from
// /dev/null and stdout and stderr appended to `log_path`. The child receives
// `death_signal` when the calling thread's process dies, so an interrupted
// demo or a crashed test never leaves a hub behind holding its pipes.
// Returns the child's pid, or -1 if fork failed. Safe to call from a
// multithreaded process: the child runs only async-signal-safe calls.
pid_t spawn_tied_to_parent(const std::vector<char*>& argv, const std::string& log_path,
                           int death_signal);

}  // namespace sened
