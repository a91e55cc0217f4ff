#include "journal/export.h"

#include <boost/json.hpp>
#include <map>
#include <set>

#include "crypto/digest.h"
#include "journal/chain.h"
#include "journal/merkle.h"
#include "journal/tree.h"

namespace sened::journal {

namespace json = boost::json;

namespace {

json::array hash_list(const std::vector<std::string>& hashes) {
  json::array a;
  for (const std::string& h : hashes) a.emplace_back(crypto::base64_encode(h));
  return a;
}

json::object entry_json(const ExportEntry& x) {
  const JournalEntry& e = x.entry;
  json::object o{{"seq", e.seq},
                 {"time", e.time},
                 {"actor", e.actor},
                 {"kind", e.kind},
                 {"document", e.document},
                 {"recipient", e.recipient},
                 {"content_digest", e.content_digest},
                 {"prev_hash", e.prev_hash},
                 {"hash", e.hash},
                 {"salt", e.salt}};
  if (!x.proof.empty()) o["inclusion_proof"] = hash_list(x.proof);
  return o;
}

// Raw 32-byte hashes from a JSON list of base64 strings; nullopt if any is not.
std::optional<std::vector<std::string>> parse_hashes(const json::value& v, size_t max) {
  if (!v.is_array() || v.as_array().size() > max) return std::nullopt;
  std::vector<std::string> out;
  for (const json::value& h : v.as_array()) {
    std::optional<std::string> raw =
        h.is_string() ? crypto::base64_decode(h.as_string()) : std::nullopt;
    if (!raw || raw->size() != kMerkleHashSize) return std::nullopt;
    out.push_back(std::move(*raw));
  }
  return out;
}

Result<std::vector<ConsistencyProof>> parse_consistency(const json::value& v) {
  if (!v.is_array()) return invalid_argument("export: \"consistency_proofs\" is not a list");
  std::vector<ConsistencyProof> out;
  for (const json::value& x : v.as_array()) {
    const json::object* o = x.if_object();
    const json::value* from = o ? o->if_contains("from") : nullptr;
    const json::value* proof = o ? o->if_contains("consistency_proof") : nullptr;
    if (from == nullptr || !from->is_number() || from->is_double() ||
        (from->is_int64() && from->as_int64() < 0) || proof == nullptr) {
      return invalid_argument(
          "export: a consistency proof is not {\"from\": size, \"consistency_proof\": [...]}");
    }
    uint64_t size = from->is_uint64() ? from->as_uint64() : static_cast<uint64_t>(from->as_int64());
    auto hashes = parse_hashes(*proof, kMaxConsistencyProofHashes);
    if (!hashes) {
      return invalid_argument("export: the consistency proof from size " + std::to_string(size) +
                              " is not a list of at most " +
                              std::to_string(kMaxConsistencyProofHashes) +
                              " base64 32-byte hashes");
    }
    out.push_back({size, std::move(*hashes)});
  }
  return out;
}

Result<std::string> text_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return invalid_argument("export: \"" + std::string(key) + "\" is not a string");
  }
  return std::string(v->as_string());
}

Result<ExportEntry> parse_entry(const json::value& v) {
  if (!v.is_object()) return invalid_argument("export: an entry is not an object");
  const json::object& o = v.as_object();
  ExportEntry x;
  const json::value* seq = o.if_contains("seq");
  if (seq == nullptr || !seq->is_int64() || seq->as_int64() < 1) {
    return invalid_argument("export: an entry has no valid seq");
  }
  x.entry.seq = seq->as_int64();
  std::string* fields[] = {&x.entry.time,      &x.entry.actor,     &x.entry.kind,
                           &x.entry.document,  &x.entry.recipient, &x.entry.content_digest,
                           &x.entry.prev_hash, &x.entry.hash,      &x.entry.salt};
  const char* names[] = {"time",           "actor",     "kind", "document", "recipient",
                         "content_digest", "prev_hash", "hash", "salt"};
  for (size_t i = 0; i < std::size(names); ++i) {
    Result<std::string> t = text_field(o, names[i]);
    if (!t.ok()) return t.status().with_context("entry " + std::to_string(x.entry.seq));
    *fields[i] = std::move(*t);
  }
  if (const json::value* proof = o.if_contains("inclusion_proof")) {
    if (!proof->is_array()) return invalid_argument("export: inclusion_proof is not a list");
    auto hashes = parse_hashes(*proof, proof->as_array().size());
    if (!hashes) {
      return invalid_argument("export: entry " + std::to_string(x.entry.seq) +
                              " has a proof hash that is not base64 of 32 bytes");
    }
    x.proof = std::move(*hashes);
  }
  return x;
}

// A checkpoint note opened with the hub key.
Result<Checkpoint> open_checkpoint(std::string_view note, const NoteKey& hub_key) {
  Result<VerifiedNote> opened = open_note(note, {hub_key});
  if (!opened.ok()) return opened.status();
  Result<Checkpoint> c = parse_checkpoint_body(opened->body);
  if (!c.ok()) return c.status();
  if (c->origin != hub_key.name) {
    return permission_denied("checkpoint names origin " + c->origin + ", not " + hub_key.name);
  }
  return c;
}

class Checker {
 public:
  Checker(const JournalExport& e, const Checkpoint& head, ExportReport& report)
      : export_(e), head_(head), report_(report) {}

  void check_entries() {
    for (const ExportEntry& x : export_.entries) {
      if (entry_hash(x.entry) != x.entry.hash) {
        add("tampered entry", x.entry.seq,
            "entry " + std::to_string(x.entry.seq) + " does not match its hash");
      }
    }
    check_seqs();
    check_links();
    if (export_.complete) {
      check_complete();
    } else {
      check_partial();
    }
  }

  // Each earlier checkpoint must be a prefix of (or equal to) the export's
  // tree; one that cannot be compared is named in report_.unchecked.
  void check_earlier(const Checkpoint& c) {
    std::string what = "cannot compare checkpoint of size " + std::to_string(c.size) + ": ";
    if (c.size == head_.size) {
      if (c.root != head_.root) fork(c, "has another root at the same size");
      return;
    }
    if (c.size > head_.size) {
      report_.unchecked.push_back(what + "it is newer than the export's (size " +
                                  std::to_string(head_.size) +
                                  "); make the export again, after that checkpoint");
      return;
    }
    if (export_.complete) {
      if (leaves_.size() < c.size) {
        report_.unchecked.push_back(what + "the export's entries are broken");
        return;
      }
      std::vector<std::string> prefix(leaves_.begin(), leaves_.begin() + c.size);
      if (root_from_leaves(prefix) != c.root) fork(c, "is not a prefix of the export's tree");
      return;
    }
    const ConsistencyProof* proof = consistency_from(c.size);
    if (proof == nullptr) {
      report_.unchecked.push_back(
          what +
          "the export carries no consistency proof to it; get one with `sened journal proof DOC "
          "--checkpoint FILE` (or `journal export --checkpoint FILE`), or use a complete export");
      return;
    }
    Status st = verify_consistency(c.size, head_.size, c.root, head_.root, proof->proof);
    if (st.ok()) return;
    // Only a proof that leads to the export's root from another old root
    // shows two signed trees; any other failure may be an altered export.
    if (proves_fork(c.size, head_.size, c.root, head_.root, proof->proof)) {
      fork(c, "is not a prefix of the export's tree");
      return;
    }
    add("bad proof", 0,
        "the export's consistency proof from size " + std::to_string(c.size) +
            " does not verify (" + st.message() +
            "): the export was altered, or the hub's log forked there; get a fresh proof from "
            "the hub with `journal proof|export --checkpoint FILE`");
  }

 private:
  void add(std::string kind, int64_t seq, std::string message) {
    report_.problems.push_back({std::move(kind), seq, std::move(message)});
  }
  // The message does not repeat the kind: callers print "fork: <message>".
  void fork(const Checkpoint& c, const std::string& why) {
    add("fork", 0,
        "the hub signed a checkpoint of size " + std::to_string(c.size) + " that " + why +
            " (size " + std::to_string(head_.size) + ")");
  }

  const ConsistencyProof* consistency_from(uint64_t size) const {
    for (const ConsistencyProof& p : export_.consistency) {
      if (p.from == size) return &p;
    }
    return nullptr;
  }

  Result<std::string> leaf_of(const JournalEntry& e) {
    Result<std::string> data = leaf_data_of(e);
    if (!data.ok()) {
      add("tampered entry", e.seq, data.status().message());
      return data.status();
    }
    return leaf_hash(*data);
  }

  // Every export lists each seq once, ascending.
  void check_seqs() {
    std::set<int64_t> seen;
    int64_t prev = 0;
    std::pair<int64_t, int64_t> disorder{0, 0};
    for (const ExportEntry& x : export_.entries) {
      if (!seen.insert(x.entry.seq).second) {
        add("duplicate entry", x.entry.seq,
            "entry " + std::to_string(x.entry.seq) + " appears twice");
      }
      if (x.entry.seq < prev && disorder.first == 0) disorder = {prev, x.entry.seq};
      prev = x.entry.seq;
    }
    if (disorder.first != 0) {
      add("reordered entries", disorder.second,
          "entries " + std::to_string(disorder.first) + " and " + std::to_string(disorder.second) +
              " are out of order");
    }
  }

  // Where two listed entries are consecutive (and entry 1), the chain links.
  void check_links() {
    const JournalEntry* before = nullptr;
    for (const ExportEntry& x : export_.entries) {
      const JournalEntry& e = x.entry;
      bool follows = before != nullptr && e.seq == before->seq + 1;
      if ((e.seq == 1 && e.prev_hash != kGenesisHash) || (follows && e.prev_hash != before->hash)) {
        add("tampered entry", e.seq,
            "entry " + std::to_string(e.seq) + " does not link to the entry before it");
      }
      before = &e;
    }
  }

  void check_complete() {
    std::set<int64_t> seen;
    for (const ExportEntry& x : export_.entries) seen.insert(x.entry.seq);
    for (uint64_t s = 1; s <= head_.size; ++s) {
      if (!seen.count(static_cast<int64_t>(s))) {
        add("missing entry", static_cast<int64_t>(s), "entry " + std::to_string(s) + " is missing");
      }
    }
    if (!report_.problems.empty()) return;

    // In order, whole and linked: the leaves must hash to the root.
    for (const ExportEntry& x : export_.entries) {
      if (static_cast<uint64_t>(x.entry.seq) > head_.size) break;
      Result<std::string> leaf = leaf_of(x.entry);
      if (leaf.ok()) leaves_.push_back(std::move(*leaf));
    }
    if (!report_.problems.empty()) return;
    if (root_from_leaves(leaves_) != head_.root) {
      add("root mismatch", 0,
          "the entries do not hash to the checkpoint's root at size " + std::to_string(head_.size));
    }
  }

  void check_partial() {
    for (const ExportEntry& x : export_.entries) {
      const JournalEntry& e = x.entry;
      if (static_cast<uint64_t>(e.seq) > head_.size) {
        add("missing entry", e.seq,
            "entry " + std::to_string(e.seq) + " lies beyond the checkpoint");
        continue;
      }
      Result<std::string> leaf = leaf_of(e);
      if (!leaf.ok()) continue;
      Status st = verify_inclusion(*leaf, static_cast<uint64_t>(e.seq - 1), head_.size, x.proof,
                                   head_.root);
      if (!st.ok()) {
        add("root mismatch", e.seq,
            "entry " + std::to_string(e.seq) + " is not in the checkpoint: " + st.message());
      }
    }
  }

  const JournalExport& export_;
  const Checkpoint& head_;
  ExportReport& report_;
  std::vector<std::string> leaves_;  // complete exports: leaf hashes 1..size
};

}  // namespace

std::string export_to_json(const JournalExport& e) {
  json::array entries;
  for (const ExportEntry& x : e.entries) entries.push_back(entry_json(x));
  json::object o{{"format", kExportFormat},
                 {"checkpoint", e.checkpoint},
                 {"complete", e.complete},
                 {"entries", std::move(entries)}};
  if (!e.consistency.empty()) {
    json::array proofs;
    for (const ConsistencyProof& p : e.consistency) {
      proofs.push_back(json::object{{"from", p.from}, {"consistency_proof", hash_list(p.proof)}});
    }
    o["consistency_proofs"] = std::move(proofs);
  }
  return json::serialize(o) + "\n";
}

Result<JournalExport> parse_export(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return invalid_argument("export is not a JSON object");
  const json::object& o = v.as_object();
  Result<std::string> format = text_field(o, "format");
  if (!format.ok() || *format != kExportFormat) {
    return invalid_argument("not a journal export (format is not " + std::string(kExportFormat) +
                            ")");
  }
  JournalExport e;
  Result<std::string> checkpoint = text_field(o, "checkpoint");
  if (!checkpoint.ok()) return checkpoint.status();
  e.checkpoint = std::move(*checkpoint);
  const json::value* complete = o.if_contains("complete");
  if (complete == nullptr || !complete->is_bool()) {
    return invalid_argument("export: \"complete\" is not true or false");
  }
  e.complete = complete->as_bool();
  const json::value* entries = o.if_contains("entries");
  if (entries == nullptr || !entries->is_array()) {
    return invalid_argument("export: \"entries\" is not a list");
  }
  for (const json::value& x : entries->as_array()) {
    Result<ExportEntry> entry = parse_entry(x);
    if (!entry.ok()) return entry.status();
    e.entries.push_back(std::move(*entry));
  }
  if (const json::value* proofs = o.if_contains("consistency_proofs")) {
    Result<std::vector<ConsistencyProof>> parsed = parse_consistency(*proofs);
    if (!parsed.ok()) return parsed.status();
    e.consistency = std::move(*parsed);
  }
  return e;
}

Result<ExportReport> verify_export(const JournalExport& e, const NoteKey& hub_key,
                                   const std::vector<std::string>& earlier) {
  ExportReport report;
  report.entries = e.entries.size();
  Result<Checkpoint> head = open_checkpoint(e.checkpoint, hub_key);
  if (!head.ok()) {
    if (head.status().code() != Code::kPermissionDenied) return head.status();
    report.problems.push_back(
        {"bad signature", 0, "the export's checkpoint: " + head.status().message()});
    return report;
  }
  report.size = head->size;
  Checker checker(e, *head, report);
  checker.check_entries();
  for (const std::string& note : earlier) {
    Result<Checkpoint> c = open_checkpoint(note, hub_key);
    if (!c.ok()) {
      if (c.status().code() != Code::kPermissionDenied) return c.status();
      report.problems.push_back({"bad signature", 0, "a checkpoint: " + c.status().message()});
      continue;
    }
    checker.check_earlier(*c);
  }
  return report;
}

}  // namespace sened::journal
