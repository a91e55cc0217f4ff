// Journal exports and their offline verification (`sened journal export`,
// `sened journal proof`, `sened journal verify`).
//
// An export is JSON (format in docs/journal.md): the checkpoint it was made
// against (the served note), whether it holds every entry up to that
// checkpoint's size ("complete", the auditor's export) or only some (a
// participant's export, a document's proof), and the entries with their
// salts; in a partial export each entry carries its inclusion proof in that
// checkpoint. A partial export may also carry consistency proofs from
// earlier tree sizes to its checkpoint, so that checkpoints seen before can be
// compared with it. Nothing else is needed to check it: the hub's public key,
// and optionally checkpoints seen earlier, to notice a fork.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/domain.h"
#include "core/status.h"
#include "journal/checkpoint.h"

namespace sened::journal {

inline constexpr std::string_view kExportFormat = "sened-journal-export-v1";
// The largest export `sened journal verify` reads (a complete export of a
// million entries is about 600 MB); anything larger is refused unread.
inline constexpr uint64_t kMaxExportBytes = uint64_t{1} << 30;
// Most hashes in one consistency proof (ceil(log2(2^64)) + 1 would be 65).
inline constexpr size_t kMaxConsistencyProofHashes = 65;

struct ExportEntry {
  JournalEntry entry;              // salt included
  std::vector<std::string> proof;  // partial exports: inclusion proof (raw hashes)
};

// A consistency proof from tree size `from` to the export's checkpoint.
struct ConsistencyProof {
  uint64_t from = 0;
  std::vector<std::string> proof;  // raw hashes
};

struct JournalExport {
  std::string checkpoint;  // the served note (hub signature and any cosignatures)
  bool complete = false;   // entries 1..size, all of them, in order
  std::vector<ExportEntry> entries;
  std::vector<ConsistencyProof> consistency;  // optional ("consistency_proofs")
};

std::string export_to_json(const JournalExport& e);
// kInvalidArgument naming the first malformed field.
Result<JournalExport> parse_export(std::string_view json);

// One problem found, named by `kind`: "bad signature", "tampered entry",
// "missing entry", "duplicate entry", "reordered entries", "root mismatch",
// "fork", "bad proof" (an embedded consistency proof that does not verify
// and does not by itself show a fork).
struct ExportProblem {
  std::string kind;
  int64_t seq = 0;  // the entry concerned, 0 if none
  std::string message;
};

struct ExportReport {
  std::vector<ExportProblem> problems;  // what is wrong with the export
  // Earlier checkpoints that could not be compared with the export (one
  // message each, "cannot compare checkpoint of size N: why; how to fix").
  // Not a sign of tampering, but nothing was proven about them.
  std::vector<std::string> unchecked;
  uint64_t size = 0;  // the export's checkpoint size
  size_t entries = 0;
  std::vector<std::string> warnings;  // notes for the reader; they never make ok() false
  // Everything asked for was checked and held.
  bool ok() const { return problems.empty() && unchecked.empty(); }
};

// Checks, offline: the export's checkpoint is signed by `hub_key` (and
// names its origin); every entry's hash covers its fields; no seq appears
// twice and the seqs ascend; where two listed entries are consecutive, the
// later one links to the earlier (prev_hash); every leaf is in the
// checkpoint (a complete export: the entries are exactly 1..size and their
// leaves hash to the root; a partial one: each inclusion proof holds); and
// each of `earlier` (checkpoint notes seen before) is signed by the hub and
// consistent with the export's checkpoint, else "fork". An earlier
// checkpoint is compared by rebuilding its root (complete export), by equal
// roots (same size) or with the export's consistency proof from its size;
// one that cannot be compared so (a partial export without that proof, or a
// checkpoint newer than the export's) is listed in `unchecked`.
// A partial export cannot show that none of a document's entries is left
// out; only a complete export can. kInvalidArgument only for an export or
// checkpoint that does not parse; problems of content are in the report.
Result<ExportReport> verify_export(const JournalExport& e, const NoteKey& hub_key,
                                   const std::vector<std::string>& earlier);

}  // namespace sened::journal
