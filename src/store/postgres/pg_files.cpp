#include "store/postgres/pg_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <utility>

#include "crypto/digest.h"

namespace sened::pg {
namespace {

// The size chunk `n` of a file of `size` bytes must have.
uint64_t chunk_length(uint64_t size, int64_t n) {
  uint64_t start = static_cast<uint64_t>(n) * kFileChunkSize;
  return start >= size ? 0 : std::min<uint64_t>(kFileChunkSize, size - start);
}

int64_t chunk_count(uint64_t size) {
  return static_cast<int64_t>((size + kFileChunkSize - 1) / kFileChunkSize);
}

Result<bool> content_stored(Connection& db, const std::string& sha256) {
  Statement q = db.prepare("SELECT 1 FROM file_contents WHERE sha256 = ?");
  q.bind(sha256);
  return q.next();
}

// Reads up to `want` bytes, fewer only at the end of the file.
Result<size_t> read_full(int fd, char* out, size_t want, const std::string& path) {
  size_t done = 0;
  while (done < want) {
    ssize_t n = ::read(fd, out + done, want - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return internal_error("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// Fills `out` with up to its size in bytes, fewer only at the end.
using ChunkSource = std::function<Result<size_t>(char* out, size_t want)>;

// Streams the bytes `read` gives into file_chunks rows, hashing as it goes.
Status write_chunks(Connection& db, const ChunkSource& read, const std::string& path,
                    const std::string& sha256, uint64_t size) {
  std::string buffer(kFileChunkSize, '\0');
  crypto::Sha256 hash;
  uint64_t total = 0;
  for (int64_t n = 0;; ++n) {
    Result<size_t> got = read(buffer.data(), buffer.size());
    if (!got.ok()) return got.status();
    if (*got == 0) break;
    std::string_view chunk(buffer.data(), *got);
    hash.update(chunk);
    total += *got;
    if (total > size) break;  // refused below, before anything more is written
    Statement q = db.prepare(
        "INSERT INTO file_chunks (sha256, n, bytes) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
    q.bind(sha256, n, Blob{chunk});
    SENED_RETURN_IF_ERROR(q.run());
  }
  if (total != size || crypto::to_hex(hash.finish()) != sha256) {
    return internal_error("staged file " + path + " does not match its recorded size and sha256");
  }
  Statement q = db.prepare(
      "INSERT INTO file_contents (sha256, size, chunks) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
  q.bind(sha256, static_cast<int64_t>(size), chunk_count(size));
  return q.run();
}

Result<std::string> fetch_chunk(Connection& db, const std::string& sha256, int64_t n) {
  Statement q = db.prepare("SELECT bytes FROM file_chunks WHERE sha256 = ? AND n = ?");
  q.bind(sha256, n);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return internal_error("chunk " + std::to_string(n) + " of " + sha256 + " is missing");
  return q.blob(0);
}

class ChunkReader final : public FileReader {
 public:
  ChunkReader(std::shared_ptr<ReaderConnections> connections, std::string sha256, uint64_t size)
      : connections_(std::move(connections)), sha256_(std::move(sha256)), size_(size) {}

  Result<size_t> read_at(uint64_t offset, char* out, size_t size) override {
    size_t done = 0;
    while (done < size && offset + done < size_) {
      uint64_t at = offset + done;
      int64_t n = static_cast<int64_t>(at / kFileChunkSize);
      SENED_RETURN_IF_ERROR(load(n));
      size_t within = static_cast<size_t>(at % kFileChunkSize);
      size_t take = std::min(size - done, cached_.size() - within);
      std::memcpy(out + done, cached_.data() + within, take);
      done += take;
    }
    return done;
  }

 private:
  // Makes chunk `n` the cached one, checking its length.
  Status load(int64_t n) {
    if (cached_n_ == n) return Status();
    cached_n_ = -1;
    Result<std::unique_ptr<Connection>> db = connections_->acquire();
    if (!db.ok()) return db.status();
    Result<std::string> chunk = fetch_chunk(**db, sha256_, n);
    connections_->release(std::move(*db));
    if (!chunk.ok()) return chunk.status();
    if (chunk->size() != chunk_length(size_, n)) {
      return internal_error("chunk " + std::to_string(n) + " of " + sha256_ + " has " +
                            std::to_string(chunk->size()) + " bytes, not " +
                            std::to_string(chunk_length(size_, n)));
    }
    cached_ = std::move(*chunk);
    cached_n_ = n;
    return Status();
  }

  std::shared_ptr<ReaderConnections> connections_;
  const std::string sha256_;
  const uint64_t size_;
  int64_t cached_n_ = -1;
  std::string cached_;
};

}  // namespace

Status put_file_chunks(Connection& db, const StagedFile& file) {
  const std::string& sha256 = file.info.sha256;
  Result<bool> stored = content_stored(db, sha256);
  if (!stored.ok()) return stored.status();
  if (*stored) return Status();
  if (file.content) {
    size_t at = 0;
    const std::string& bytes = *file.content;
    auto from_memory = [&](char* out, size_t want) -> Result<size_t> {
      size_t take = std::min(want, bytes.size() - at);
      std::memcpy(out, bytes.data() + at, take);
      at += take;
      return take;
    };
    return write_chunks(db, from_memory, "in memory", sha256, file.info.size);
  }
  const std::string& path = file.temp_path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return internal_error("cannot open " + path + ": " + std::strerror(errno));
  auto from_file = [&](char* out, size_t want) { return read_full(fd, out, want, path); };
  Status st = write_chunks(db, from_file, path, sha256, file.info.size);
  ::close(fd);
  return st;
}

Result<std::string> check_file_chunks(Connection& db, const std::string& sha256, uint64_t size) {
  Statement q = db.prepare("SELECT size, chunks FROM file_contents WHERE sha256 = ?");
  q.bind(sha256);
  Result<bool> row = q.next();
  if (!row.ok()) return row.status();
  if (!*row) return std::string("its content is not in file_contents");
  if (static_cast<uint64_t>(q.integer(0)) != size || q.integer(1) != chunk_count(size)) {
    return "its file_contents row records " + q.text(0) + " bytes in " + q.text(1) + " chunks";
  }
  crypto::Sha256 hash;
  for (int64_t n = 0; n < chunk_count(size); ++n) {
    Statement c = db.prepare("SELECT bytes FROM file_chunks WHERE sha256 = ? AND n = ?");
    c.bind(sha256, n);
    Result<bool> found = c.next();
    if (!found.ok()) return found.status();
    if (!*found) return "its chunk " + std::to_string(n) + " is missing";
    std::string bytes = c.blob(0);
    if (bytes.size() != chunk_length(size, n)) {
      return "its chunk " + std::to_string(n) + " has " + std::to_string(bytes.size()) + " bytes";
    }
    hash.update(bytes);
  }
  if (crypto::to_hex(hash.finish()) != sha256)
    return std::string("its chunks do not hash to its sha256");
  return std::string();
}

Result<std::unique_ptr<Connection>> ReaderConnections::acquire() {
  {
    std::lock_guard lock(mu_);
    while (!idle_.empty()) {
      std::unique_ptr<Connection> db = std::move(idle_.back());
      idle_.pop_back();
      if (db->healthy()) return db;
    }
  }
  return Connection::open(conninfo_);
}

void ReaderConnections::release(std::unique_ptr<Connection> db) {
  if (!db->healthy()) return;
  std::lock_guard lock(mu_);
  if (static_cast<int>(idle_.size()) < idle_limit_) idle_.push_back(std::move(db));
}

std::shared_ptr<FileReader> chunk_reader(std::shared_ptr<ReaderConnections> connections,
                                         std::string sha256, uint64_t size) {
  return std::make_shared<ChunkReader>(std::move(connections), std::move(sha256), size);
}

}  // namespace sened::pg
