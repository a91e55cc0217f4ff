// The store's file area: a content-addressed folder for large files and the
// staging folder where uploads write their temp files.
//
// Layout under files_dir: `<aa>/<sha256>` for each stored file, `aa` being
// the first two hex digits of its SHA-256, and `.staging/` for temp files.
// Durability rule: a file is moved into place and its folder fsynced before
// the database row that points at it commits, so a committed row never
// points at a file a crash could lose. A crash before the commit leaves an
// unreferenced content file, which is harmless.
//
// Errors: kUnavailable means an fsync failed and nothing written since can be
// trusted (the store stops writing); kInvalidArgument a malformed digest;
// kInternal any other file system failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "store/store.h"

namespace sened::sqlite {

// fsyncs a folder, making the creation, renaming or removal of its entries
// durable.
Status sync_dir(const std::string& path);

// Creates `path` and any missing parents; each folder created is fsynced
// together with its parent, so that it survives a crash.
Status ensure_dir(const std::string& path);

// Moves the staged file into `files_dir/<aa>/<sha256>` and makes the move
// durable. If that path already holds the same content, the temp file is
// removed instead. A file kept in memory (`file.content`) is first written
// and fsynced under `files_dir/.staging`. Returns the path relative to
// `files_dir`.
Result<std::string> adopt_content_file(const std::string& files_dir, const StagedFile& file);

// Reads a small staged file (or returns its bytes kept in memory), checking its size and SHA-256
// against `file.info` (a mismatch is kInternal: the caller computed them wrongly).
Result<std::string> read_staged_file(const StagedFile& file);

// Removes regular files in `staging_dir` not modified for `min_age`: temp
// files of uploads cut short by a crash. Younger files may belong to an
// upload in progress in another process, and are kept.
Status remove_stale_staged_files(const std::string& staging_dir, std::chrono::seconds min_age);

}  // namespace sened::sqlite
