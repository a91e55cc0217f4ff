// Moves a single-machine installation to a cluster: copies every row of a
// SQLite store into an empty PostgreSQL store, the journal (entries, salts,
// leaves, tree nodes, checkpoints) byte for byte, so that every proof and
// checkpoint made before the move still verifies after it.
//
// Large files stay where they are when the target keeps them in the folder
// too: both stores name them by their path in the files folder, which the
// caller gives to both (the data folder's). When the target keeps files in
// the database (`to.files_in_database`), each content file is streamed from
// `from.files_dir` into the target's chunks, in the same transaction.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/open_store.h"

namespace sened {

// How many rows of each table were copied, in copy order.
struct CopyReport {
  std::vector<std::pair<std::string, int64_t>> tables;
};

// Copies `from` (a sqlite: address) into `to` (a postgresql:// address) in one
// PostgreSQL transaction: either every row arrives or none. Both stores are
// opened first, so both are migrated to this program's schema. The source is
// read in one read transaction; nothing else should write to it meanwhile
// (stop the hub). Errors: kInvalidArgument for another pair of schemes;
// kConflict when the target already holds participants or journal entries;
// kInternal when the counts read back differ or a content file is missing or
// does not match its digest; whatever the backends report.
Result<CopyReport> copy_store(const StoreLocation& from, const StoreLocation& to);

}  // namespace sened
