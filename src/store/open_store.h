// Opens the Store named by a store address, so that callers need not know the
// backends:
//
//   sqlite:PATH                   the embedded SQLite store (PATH relative to
//                                 the hub data folder unless absolute)
//   postgresql://USER@HOST/DB...  the PostgreSQL store (also postgres://),
//                                 any libpq URL parameters allowed
//
// Both keep files above `inline_file_limit` bytes in `files_dir`, which the
// nodes of a PostgreSQL cluster must share, unless `files_in_database` asks
// the PostgreSQL store to keep them itself, chunked (sened.toml's
// hub.file_storage = "postgresql"; the SQLite store refuses it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/status.h"
#include "store/store.h"

namespace sened {

struct StoreLocation {
  std::string address;   // sqlite:PATH or postgresql://...
  std::string data_dir;  // what a relative sqlite PATH is relative to
  std::string files_dir;
  uint64_t inline_file_limit = 64 * 1024;
  bool files_in_database = false;
  // Only `sened admin init` and the target of `sened admin store copy` make
  // a new store; every other command refuses a store that does not exist
  // (kNotFound), so that a mistyped address is not mistaken for an empty
  // installation.
  bool create = false;
};

// The location sened.toml describes, with `address` (when not empty) in
// place of its store.
StoreLocation store_location(const HubConfig& config, const std::string& address = "");

// True for an address open_store() understands (checked before anything is
// written, e.g. by `admin init --store`).
Status check_store_address(const std::string& address);

// Opens (creating and migrating when needed) the store at `where.address`.
// kInvalidArgument for an address of an unknown scheme or for files in the
// database with a sqlite: address; otherwise whatever the backend's open
// reports.
Result<std::unique_ptr<Store>> open_store(const StoreLocation& where);

}  // namespace sened
