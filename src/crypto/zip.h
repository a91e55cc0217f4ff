// ZIP containers for evidence bundles (ASiC-E), on top of libzip.
//
// The writer stores every entry uncompressed, in the order given, with
// CRC-32 and, past 4 GiB, ZIP64; file entries are streamed from disk. The
// reader is meant for untrusted files: it refuses an archive whose local and
// central headers disagree, entry names that could leave a folder (absolute,
// "..", backslashes, empty segments, control characters, not UTF-8), the
// same name twice, and, while reading, data whose size or CRC-32 differs
// from what the headers say.
//
// Not thread-safe: one ZipReader per thread. Errors: kInvalidArgument for a
// malformed or refused archive (the message names the entry), kNotFound for
// a missing entry, kPayloadTooLarge when an entry exceeds a caller's limit,
// kUnavailable when a file cannot be read or written.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sened::crypto {

// One entry to write: the bytes of `path` if set, else `data`.
struct ZipInput {
  std::string name;
  std::optional<std::string> path;
  std::string data;
};

// Writes `entries` to `out_path` (through a temporary file renamed into
// place). kInvalidArgument for a name the reader would refuse, or twice.
Status write_zip(const std::string& out_path, const std::vector<ZipInput>& entries);

// True if `name` is an acceptable entry name: UTF-8, relative, no "." or
// ".." segment, no empty segment (a trailing "/" marks a folder), no
// backslash or control character, at most 1024 bytes.
bool is_safe_entry_name(std::string_view name);

class ZipReader {
 public:
  struct Entry {
    std::string name;
    uint64_t size = 0;         // uncompressed size the headers declare
    uint32_t crc = 0;          // CRC-32 the headers declare
    bool stored = false;       // no compression
    bool extra_field = false;  // the entry carries any extra field
    bool is_folder = false;    // name ends with "/"
  };

  // Opens and checks the archive as described above.
  static Result<std::unique_ptr<ZipReader>> open(const std::string& path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  // Entries in the order of the central directory.
  const std::vector<Entry>& entries() const { return entries_; }
  // The position of `name` in entries(), if there.
  std::optional<size_t> find(std::string_view name) const;

  // Streams entry `i` to `sink` in pieces; the size and CRC-32 are checked
  // at the end (the sink has then seen the bytes: use it to hash, and trust
  // the result only if this returns ok). A sink error stops the read.
  Status read(size_t i, const std::function<Status(std::string_view)>& sink);
  // The whole entry in memory; kPayloadTooLarge past `max_size` bytes.
  Result<std::string> read_all(size_t i, uint64_t max_size);

 private:
  ZipReader() = default;
  void* archive_ = nullptr;  // zip_t*
  std::vector<Entry> entries_;
};

}  // namespace sened::crypto
