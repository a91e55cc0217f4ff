// Files kept in PostgreSQL, chunked (the `file_storage = "postgresql"` mode
// of the PostgreSQL store; see docs/storage.md, "Files in the database").
//
// A file's bytes are rows of file_chunks (sha256, n, bytes), n counting from
// 0, each chunk kFileChunkSize bytes except the last; a file_contents row
// (sha256, size, chunks) is written after the last chunk, in the same
// transaction, so a committed file_contents row means every chunk is there.
// Content is shared by digest: a file whose digest is already stored is not
// written again. Nothing here ever holds a whole file in memory: writing
// reads the staged file one chunk at a time, reading fetches one chunk per
// query.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/postgres/pg_db.h"
#include "store/store.h"

namespace sened::pg {

// Bytes per file_chunks row (the last one of a file may be shorter).
inline constexpr size_t kFileChunkSize = 1024 * 1024;

// Writes a staged file (its temp file, or its bytes when the upload kept
// them in memory; of info.size bytes and SHA-256 info.sha256, lowercase
// hex) as chunks inside the transaction open on `db`, unless its content is
// stored already (committed, or written earlier in this transaction). The
// bytes are hashed while they are read: kInternal if they do not match
// `size` and `sha256` (the transaction must then be rolled back). Another
// transaction writing the same content at the same moment makes this wait
// for it (the chunks' primary key), then skip what it committed.
Status put_file_chunks(Connection& db, const StagedFile& file);

// Reads the stored content `sha256` (of `size` bytes) through `db` chunk by
// chunk, hashing it: "" when it is complete and hashes to `sha256`, else
// what is wrong (missing content, a missing or short chunk, another
// digest). Errors are the database's.
Result<std::string> check_file_chunks(Connection& db, const std::string& sha256, uint64_t size);

// Connections for FileReaders, apart from the store's own pool so that a
// download in progress never holds a store session. Thread-safe. Shared by
// the store and its readers (a reader keeps it alive).
class ReaderConnections {
 public:
  explicit ReaderConnections(std::string conninfo, int idle = 4)
      : conninfo_(std::move(conninfo)), idle_limit_(idle) {}

  Result<std::unique_ptr<Connection>> acquire();
  void release(std::unique_ptr<Connection> db);

 private:
  const std::string conninfo_;
  const int idle_limit_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

// A FileReader over the chunks of `sha256`: one query per chunk, keeping
// the last chunk fetched so that sequential reads in smaller pieces cost one
// query per chunk.
std::shared_ptr<FileReader> chunk_reader(std::shared_ptr<ReaderConnections> connections,
                                         std::string sha256, uint64_t size);

}  // namespace sened::pg
