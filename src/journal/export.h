// Journal exports and their offline verification (`sened journal export`,
// `sened journal proof`, `sened journal verify`).
//
// An export is JSON (format in docs/journal.md): the checkpoint it was made
// against (the served note), whether it holds every entry up to that
// checkpoint's size ("complete", the auditor's export) or only some (a
// participant's export, a document's proof), and the entries with their
// salts; in a partial export each entry carries its inclusion proof in that
// checkpoint. Nothing else is needed to check it: the hub's public key, and
// optionally checkpoints seen earlier, to notice a fork.
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

struct ExportEntry {
  JournalEntry entry;              // salt included
  std::vector<std::string> proof;  // partial exports: inclusion proof (raw hashes)
};

struct JournalExport {
  std::string checkpoint;  // the served note (hub signature and any cosignatures)
  bool complete = false;   // entries 1..size, all of them, in order
  std::vector<ExportEntry> entries;
};

std::string export_to_json(const JournalExport& e);
// kInvalidArgument naming the first malformed field.
Result<JournalExport> parse_export(std::string_view json);

// One problem found, named by `kind`: "bad signature", "tampered entry",
// "missing entry", "reordered entries", "root mismatch", "fork".
struct ExportProblem {
  std::string kind;
  int64_t seq = 0;  // the entry concerned, 0 if none
  std::string message;
};

struct ExportReport {
  std::vector<ExportProblem> problems;  // empty: everything checked out
  uint64_t size = 0;                    // the export's checkpoint size
  size_t entries = 0;
  std::vector<std::string> warnings;  // checks that could not be made
  bool ok() const { return problems.empty(); }
};

// Checks, offline: the export's checkpoint is signed by `hub_key` (and
// names its origin); every entry's hash covers its fields; every leaf is in
// the checkpoint (a complete export: the entries are exactly 1..size in
// order and their leaves hash to the root; a partial one: each inclusion
// proof holds); and each of `earlier` (checkpoint notes seen before) is
// signed by the hub and consistent with the export's checkpoint (else
// "fork"). kInvalidArgument only for an export or checkpoint that does not
// parse; problems of content are in the report.
Result<ExportReport> verify_export(const JournalExport& e, const NoteKey& hub_key,
                                   const std::vector<std::string>& earlier);

}  // namespace sened::journal
