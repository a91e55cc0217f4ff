// Small helpers on file descriptors, shared by every writer of files.
#pragma once

#include <string_view>

namespace sened {

// Writes all of `data` to `fd`, retrying short writes and EINTR. False on
// an error, with errno set; each caller names the file in its own error.
bool write_all(int fd, std::string_view data);

}  // namespace sened
