#include "gateway/durable.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/fd.h"
#include "core/ids.h"

namespace sened::gateway {
namespace fs = std::filesystem;

namespace {

Status io_error(const std::string& what, const std::string& path) {
  return unavailable(what + " " + path + ": " + std::strerror(errno));
}

std::string parent_of(const std::string& path) {
  std::string p = fs::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

Status write_all(int fd, const char* p, size_t n, const std::string& path) {
  if (!sened::write_all(fd, std::string_view(p, n))) return io_error("cannot write", path);
  return Status();
}

}  // namespace

Status sync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path);
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return io_error("cannot fsync", path);
  return Status();
}

Status make_dirs(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status();
  fs::create_directories(path, ec);
  if (ec) return unavailable("cannot create " + path + ": " + ec.message());
  return sync_path(parent_of(path));
}

Status write_durably(const std::string& path, const std::string& bytes) {
  // A hidden name (".NAME.tmp"), so that an EDMS listing the folder never
  // sees a half-written file (names starting with '.' are never its own).
  std::string::size_type slash = path.rfind('/');
  std::string tmp = slash == std::string::npos
                        ? "." + path + ".tmp"
                        : path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp);
  Status st = write_all(fd, bytes.data(), bytes.size(), tmp);
  // fsync before the rename, or a crash could leave an empty file under the
  // final name.
  if (st.ok() && ::fsync(fd) != 0) st = io_error("cannot fsync", tmp);
  ::close(fd);
  if (!st.ok()) return st;
  return rename_durably(tmp, path);
}

Status copy_file_synced(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) return io_error("cannot read", from);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return io_error("cannot create", to);
  }
  Status st;
  char buf[64 * 1024];
  while (st.ok()) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) st = io_error("cannot read", from);
    if (n <= 0) break;
    st = write_all(out, buf, static_cast<size_t>(n), to);
  }
  if (st.ok() && ::fsync(out) != 0) st = io_error("cannot fsync", to);
  ::close(in);
  ::close(out);
  return st;
}

Status rename_durably(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    return unavailable("cannot rename " + from + " to " + to + ": " + std::strerror(errno));
  }
  // Sync the target's folder so that the new name survives, and the source's
  // so that the old one does not come back.
  SENED_RETURN_IF_ERROR(sync_path(parent_of(to)));
  if (parent_of(from) != parent_of(to)) SENED_RETURN_IF_ERROR(sync_path(parent_of(from)));
  return Status();
}

std::string free_name(const std::string& base) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(base, ec))) return base;
  for (int i = 2;; ++i) {
    std::string candidate = base + "." + std::to_string(i);
    if (!fs::exists(fs::symlink_status(candidate, ec))) return candidate;
  }
}

Status discard(const std::string& path, const std::string& trash) {
  std::string target = trash + "/" + new_uuid_v7();
  SENED_RETURN_IF_ERROR(rename_durably(path, target));
  std::error_code ec;
  fs::remove_all(target, ec);
  return Status();
}

}  // namespace sened::gateway
