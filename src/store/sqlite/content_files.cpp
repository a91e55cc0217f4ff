#include "store/sqlite/content_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/fd.h"
#include "core/ids.h"
#include "crypto/digest.h"

namespace sened::sqlite {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string parent_of(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

}  // namespace

Status sync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return unavailable("cannot open folder " + path + " to fsync: " + errno_text());
  int rc = ::fsync(fd);
  std::string why = rc == 0 ? "" : errno_text();
  ::close(fd);
  if (rc != 0) return unavailable("fsync of folder " + path + " failed: " + why);
  return Status();
}

// Uploads do not fsync what they stage: small files end up inside the
// database commit, so only a file that is kept as a file is synced, here.
Status sync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return internal_error("cannot open staged file " + path + ": " + errno_text());
  int rc = ::fsync(fd);
  std::string why = rc == 0 ? "" : errno_text();
  ::close(fd);
  if (rc != 0) return unavailable("fsync of " + path + " failed: " + why);
  return Status();
}

Status ensure_dir(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status();
    return internal_error(path + " exists and is not a folder");
  }
  std::string parent = parent_of(path);
  if (parent != path) SENED_RETURN_IF_ERROR(ensure_dir(parent));
  if (::mkdir(path.c_str(), 0750) != 0 && errno != EEXIST) {
    return internal_error("cannot create folder " + path + ": " + errno_text());
  }
  // The new folder exists after a crash only once its parent is fsynced.
  SENED_RETURN_IF_ERROR(sync_dir(path));
  return sync_dir(parent);
}

namespace {

// Writes bytes kept in memory to a new file in the staging folder and fsyncs
// it, so that it can be renamed into the content folder like an upload's.
Result<std::string> write_staged_copy(const std::string& files_dir, const std::string& bytes) {
  std::string staging = files_dir + "/.staging";
  SENED_RETURN_IF_ERROR(ensure_dir(staging));
  std::string path = staging + "/memory-" + new_uuid_v7();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return internal_error("cannot create " + path + ": " + errno_text());
  bool written = write_all(fd, bytes);
  int rc = written ? ::fsync(fd) : 0;
  std::string why = errno_text();
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return internal_error("cannot write " + path + ": " + why);
  }
  if (rc != 0) return unavailable("fsync of " + path + " failed: " + why);
  return path;
}

}  // namespace

Result<std::string> adopt_content_file(const std::string& files_dir, const StagedFile& file) {
  const std::string& digest = file.info.sha256;
  if (!crypto::is_sha256_hex(digest)) return invalid_argument("malformed sha256 " + digest);
  std::string dir = files_dir + "/" + digest.substr(0, 2);
  SENED_RETURN_IF_ERROR(ensure_dir(dir));

  std::string relative = digest.substr(0, 2) + "/" + digest;
  std::string target = files_dir + "/" + relative;
  struct stat st;
  bool present =
      ::stat(target.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == file.info.size;
  if (present) {
    // Same digest and size: the bytes are already here and durable.
    if (!file.content) ::unlink(file.temp_path.c_str());
  } else if (file.content) {
    Result<std::string> copy = write_staged_copy(files_dir, *file.content);
    if (!copy.ok()) return copy.status();
    if (::rename(copy->c_str(), target.c_str()) != 0) {
      ::unlink(copy->c_str());
      return internal_error("cannot move " + *copy + " to " + target + ": " + errno_text());
    }
  } else if (Status synced = sync_file(file.temp_path); !synced.ok()) {
    return synced;
  } else if (::rename(file.temp_path.c_str(), target.c_str()) != 0) {
    return internal_error("cannot move " + file.temp_path + " to " + target + ": " + errno_text());
  }

  // The bytes were fsynced above; the new name is durable only after its
  // folder is fsynced, and that must happen before the row commits.
  SENED_RETURN_IF_ERROR(sync_dir(dir));
  return relative;
}

Result<std::string> read_staged_file(const StagedFile& file) {
  if (file.content) {
    if (file.content->size() != file.info.size ||
        crypto::sha256_hex(*file.content) != file.info.sha256) {
      return internal_error("file " + file.info.name +
                            " in memory does not match its size or sha256");
    }
    return *file.content;
  }
  std::ifstream in(file.temp_path, std::ios::binary);
  if (!in) return internal_error("cannot open staged file " + file.temp_path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return internal_error("cannot read staged file " + file.temp_path);
  if (bytes.size() != file.info.size || crypto::sha256_hex(bytes) != file.info.sha256) {
    return internal_error("staged file " + file.temp_path + " does not match its size or sha256");
  }
  return bytes;
}

Status remove_stale_staged_files(const std::string& staging_dir, std::chrono::seconds min_age) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto cutoff = fs::file_time_type::clock::now() - min_age;
  for (const auto& entry : fs::directory_iterator(staging_dir, ec)) {
    std::error_code entry_ec;
    if (!entry.is_regular_file(entry_ec)) continue;
    if (entry.last_write_time(entry_ec) < cutoff && !entry_ec) fs::remove(entry.path(), entry_ec);
  }
  if (ec) return internal_error("cannot list " + staging_dir + ": " + ec.message());
  return Status();
}

}  // namespace sened::sqlite
