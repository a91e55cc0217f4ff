// Durable file operations for the gateway's folders: every function makes its
// effect survive a power cut before it returns (file data fsynced, then the
// folder that names it). Errors are kUnavailable with the path and errno text.
// Thread-compatible: plain functions on paths.
#pragma once

#include <string>

#include "core/status.h"

namespace sened::gateway {

// fsyncs a file or a folder.
Status sync_path(const std::string& path);
// Creates `path` and its parents if missing, then syncs the parent folder.
Status make_dirs(const std::string& path);
// Writes `bytes` to `path` through the hidden ".<name>.tmp" beside it: write,
// fsync, rename, fsync the folder. Readers of the folder never see a partial file.
Status write_durably(const std::string& path, const std::string& bytes);
// Copies a regular file's bytes to `to` (created, not overwritten) and
// fsyncs it. The folder is not synced: callers sync it once at the end.
Status copy_file_synced(const std::string& from, const std::string& to);
// Renames `from` to `to` and syncs both parent folders.
Status rename_durably(const std::string& from, const std::string& to);
// `base` if nothing exists there, else "base.2", "base.3", ...
std::string free_name(const std::string& base);
// Moves `path` into the trash folder `trash` (a rename, so it vanishes from
// its folder at once) and then deletes it.
Status discard(const std::string& path, const std::string& trash);

}  // namespace sened::gateway
