// Opens the Store named by a store address, so that callers need not know the
// backends:
//
//   sqlite:PATH                   the embedded SQLite store (PATH relative to
//                                 the hub data folder unless absolute)
//   postgresql://USER@HOST/DB...  the PostgreSQL store (also postgres://),
//                                 any libpq URL parameters allowed
//
// Both keep files above `inline_file_limit` bytes in `files_dir`, which the
// nodes of a PostgreSQL cluster must share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "store/store.h"

namespace sened {

struct StoreLocation {
  std::string address;   // sqlite:PATH or postgresql://...
  std::string data_dir;  // what a relative sqlite PATH is relative to
  std::string files_dir;
  uint64_t inline_file_limit = 64 * 1024;
};

// True for an address open_store() understands (checked before anything is
// written, e.g. by `admin init --store`).
Status check_store_address(const std::string& address);

// Opens (creating and migrating when needed) the store at `where.address`.
// kInvalidArgument for an address of an unknown scheme; otherwise whatever
// the backend's open reports.
Result<std::unique_ptr<Store>> open_store(const StoreLocation& where);

}  // namespace sened
