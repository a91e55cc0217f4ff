// Reading a stored file's bytes in pieces, whichever way the store keeps them.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "store/store.h"

namespace sened {
namespace {

Status pieces_of_bytes(std::string_view bytes, size_t piece,
                       const std::function<Status(std::string_view)>& sink) {
  for (size_t at = 0; at < bytes.size(); at += piece) {
    SENED_RETURN_IF_ERROR(sink(bytes.substr(at, piece)));
  }
  return Status();
}

Status pieces_of_path(const FileContent& c, size_t piece,
                      const std::function<Status(std::string_view)>& sink) {
  int fd = ::open(c.path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return internal_error("cannot open content file " + *c.path);
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
  std::string buffer(piece, '\0');
  uint64_t done = 0;
  while (done < c.info.size) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return internal_error("cannot read content file " + *c.path);
    if (n == 0) return internal_error("content file " + *c.path + " is shorter than its size");
    SENED_RETURN_IF_ERROR(sink(std::string_view(buffer.data(), static_cast<size_t>(n))));
    done += static_cast<uint64_t>(n);
  }
  return Status();
}

Status pieces_of_reader(const FileContent& c, size_t piece,
                        const std::function<Status(std::string_view)>& sink) {
  std::string buffer(piece, '\0');
  uint64_t done = 0;
  while (done < c.info.size) {
    Result<size_t> n = c.reader->read_at(done, buffer.data(), buffer.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return internal_error("stored file is shorter than its size");
    SENED_RETURN_IF_ERROR(sink(std::string_view(buffer.data(), *n)));
    done += *n;
  }
  return Status();
}

}  // namespace

Status for_each_piece(const FileContent& content, size_t piece,
                      const std::function<Status(std::string_view)>& sink) {
  if (piece == 0) return invalid_argument("piece size must be positive");
  if (content.inline_bytes) return pieces_of_bytes(*content.inline_bytes, piece, sink);
  if (content.path) return pieces_of_path(content, piece, sink);
  if (content.reader) return pieces_of_reader(content, piece, sink);
  return internal_error("file content with neither bytes, path nor reader");
}

}  // namespace sened
