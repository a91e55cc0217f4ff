// `sened journal …`: the journal's tree heads, proofs and exports, and the
// offline checks anyone can run on them.
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "cli/common.h"
#include "crypto/digest.h"
#include "exchange/evidence.h"
#include "journal/chain.h"
#include "journal/checkpoint.h"
#include "journal/cosignature.h"
#include "journal/export.h"
#include "journal/signer.h"

namespace sened::cli {
namespace {

constexpr int kVerifyPage = 1000;
// The most a checkpoint note or a key file may hold: a note has at most
// journal::kMaxNoteSignatures lines of about 150 bytes.
constexpr uint64_t kMaxSmallFileBytes = 64 * 1024;
// Read in pieces, so that a device or a pipe is refused at the bound.

Result<journal::VerifyReport> verify_chain(Store& store) {
  journal::ChainVerifier verifier;
  int64_t after = 0;
  for (;;) {
    auto page = store.journal(after, kVerifyPage);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    for (const auto& e : *page) verifier.add(e);
    after = page->back().seq;
  }
  auto highest = store.highest_referenced_journal_seq();
  if (!highest.ok()) return highest.status();
  return verifier.finish(*highest);
}

// The existing audit of a hub data folder: chain, rows and files.
void audit_data(const std::string& dir, bool skip_files) {
  auto data = open_hub_data(dir);
  if (!data.ok()) return report(data.status());
  auto report_or = verify_chain(*data->store);
  if (!report_or.ok()) return report(report_or.status());
  const auto& r = *report_or;
  if (!r.ok) {
    std::cout << "journal BROKEN at entry " << r.first_bad_seq << ": " << r.problem << "\n";
    exit_code() = kExitFailed;
    return;
  }
  auto problems = data->store->audit(!skip_files);
  if (!problems.ok()) return report(problems.status());
  if (!problems->empty()) {
    const auto& first = problems->front();
    std::cout << "journal BROKEN at entry " << first.seq << ": " << first.problem << "\n";
    for (size_t i = 1; i < problems->size(); ++i) {
      std::cout << "  also entry " << (*problems)[i].seq << ": " << (*problems)[i].problem << "\n";
    }
    exit_code() = kExitFailed;
    return;
  }
  std::cout << "journal ok: " << r.entries << " entries, head " << r.head_hash
            << "; every stored row" << (skip_files ? "" : " and file") << " matches it\n";
}

// Where a command gets its data: the hub over mTLS, or a data folder.
struct Source {
  Connection connection;
  std::string data_dir;
};

Result<std::string> hub_get(const Connection& c, const std::string& target) {
  auto options = resolve(c);
  if (!options.ok()) return options.status();
  client::HubClient hub(*options);
  auto r = hub.request("GET", target);
  if (!r.ok()) return r.status();
  SENED_RETURN_IF_ERROR(answer_status(*r));
  return r->body;
}

// The hub's log key from its data folder.
Result<journal::NoteKey> data_log_key(const HubData& data) {
  const HubConfig& c = data.config;
  return journal::load_or_create_log_key(c.path(c.journal_key), c.journal_origin);
}

Status write_out(const std::string& out, const std::string& bytes) {
  if (out.empty() || out == "-") {
    std::cout << bytes;
    return Status();
  }
  return write_file_atomic(out, bytes);
}

// --- head ------------------------------------------------------------------

struct Head {
  std::string note;  // as served
  std::string public_key_pem;
  std::string vkey;  // the verifier key "name+id+base64"
};

Result<Head> head_from_data(const std::string& dir) {
  auto data = open_hub_data(dir);
  if (!data.ok()) return data.status();
  auto key = data_log_key(*data);
  if (!key.ok()) return key.status();
  auto c = journal::sign_current(*data->store, *key);
  if (!c.ok()) return c.status();
  auto pem = journal::public_key_pem(*key);
  if (!pem.ok()) return pem.status();
  return Head{journal::served_note(*c), *pem, journal::verifier_key_string(*key)};
}

Result<Head> head_from_hub(const Connection& c) {
  auto note = hub_get(c, "/v1/journal/checkpoint");
  if (!note.ok()) return note.status();
  auto key = hub_get(c, "/v1/journal/key");
  if (!key.ok()) return key.status();
  boost::system::error_code ec;
  auto v = boost::json::parse(*key, ec);
  const boost::json::object* o = ec ? nullptr : v.if_object();
  const boost::json::value* pem = o ? o->if_contains("public_key_pem") : nullptr;
  const boost::json::value* vkey = o ? o->if_contains("vkey") : nullptr;
  if (!pem || !pem->is_string() || !vkey || !vkey->is_string()) {
    return unavailable("the hub's /v1/journal/key answer is not understood");
  }
  return Head{*note, std::string(pem->as_string()), std::string(vkey->as_string())};
}

// A head taken apart: the signed body, its parse and the raw signature.
struct HeadParts {
  std::string body;  // exactly the signed bytes
  journal::Checkpoint checkpoint;
  std::string signature;  // raw 64-byte Ed25519
};

Result<HeadParts> split_head(const Head& h) {
  // The note's own signature line, found by the key it names.
  size_t split = h.note.rfind("\n\n");
  if (split == std::string::npos) return unavailable("the checkpoint is not a signed note");
  HeadParts parts;
  parts.body = h.note.substr(0, split + 1);
  auto parsed = journal::parse_checkpoint_body(parts.body);
  if (!parsed.ok()) return parsed.status();
  parts.checkpoint = *parsed;
  std::string prefix = std::string(journal::kSignatureLineStart) + parsed->origin + " ";
  size_t line = h.note.find(prefix, split);
  if (line == std::string::npos) return unavailable("the checkpoint carries no hub signature");
  size_t end = h.note.find('\n', line);
  auto raw = crypto::base64_decode(h.note.substr(line + prefix.size(), end - line - prefix.size()));
  if (!raw || raw->size() != journal::kKeyIdSize + journal::kEd25519SignatureSize) {
    return unavailable("the hub's signature line is malformed");
  }
  parts.signature = raw->substr(journal::kKeyIdSize);
  return parts;
}

// DIR/checkpoint, DIR/head.bin (the signed bytes), DIR/head.sig (raw
// Ed25519 signature), DIR/hub-key.pem: enough for `openssl pkeyutl -verify`;
// and DIR/hub-key.vkey, the verifier key for `--key` of the other commands.
Status write_head(const Head& h, const HeadParts& parts, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return unavailable("cannot create " + dir + ": " + ec.message());
  SENED_RETURN_IF_ERROR(write_file_atomic(dir + "/checkpoint", h.note));
  SENED_RETURN_IF_ERROR(write_file_atomic(dir + "/head.bin", parts.body));
  SENED_RETURN_IF_ERROR(write_file_atomic(dir + "/head.sig", parts.signature));
  SENED_RETURN_IF_ERROR(write_file_atomic(dir + "/hub-key.pem", h.public_key_pem));
  return write_file_atomic(dir + "/hub-key.vkey", h.vkey + "\n");
}

// `journal head --json`: the head and the log's keys as one JSON object.
std::string head_json(const Head& h, const HeadParts& parts) {
  boost::json::object o{{"origin", parts.checkpoint.origin},
                        {"size", parts.checkpoint.size},
                        {"root", crypto::base64_encode(parts.checkpoint.root)},
                        {"checkpoint", h.note},
                        {"vkey", h.vkey},
                        {"public_key_pem", h.public_key_pem}};
  return boost::json::serialize(o) + "\n";
}

// --- export ----------------------------------------------------------------

Result<std::string> full_export(const std::string& dir) {
  auto data = open_hub_data(dir);
  if (!data.ok()) return data.status();
  auto key = data_log_key(*data);
  if (!key.ok()) return key.status();
  auto c = journal::sign_current(*data->store, *key);
  if (!c.ok()) return c.status();
  journal::JournalExport e;
  e.checkpoint = journal::served_note(*c);
  e.complete = true;
  for (int64_t after = 0; static_cast<uint64_t>(after) < c->size;) {
    auto page = data->store->journal(after, kVerifyPage);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    for (const auto& entry : *page) {
      if (static_cast<uint64_t>(entry.seq) <= c->size) e.entries.push_back({entry, {}});
    }
    after = page->back().seq;
  }
  return journal::export_to_json(e);
}

// --- consistency proofs to earlier checkpoints ------------------------------

struct ConsistencyFlags {
  std::vector<std::string> checkpoints;  // checkpoint note files
  std::vector<uint64_t> sizes;           // tree sizes
};

void add_consistency_flags(CLI::App& cmd, ConsistencyFlags& f) {
  cmd.add_option("--checkpoint", f.checkpoints,
                 "A checkpoint seen before (e.g. DIR/checkpoint of `journal head`): embed the "
                 "hub's consistency proof from its size, so that `journal verify --checkpoint` "
                 "can compare the two. Repeatable");
  cmd.add_option("--consistency-from", f.sizes,
                 "Embed the hub's consistency proof from this earlier tree size. Repeatable");
}

// The tree size a checkpoint note names. Its signature is not checked here:
// `journal verify` does that with the hub's key.
Result<uint64_t> checkpoint_size(const std::string& path) {
  auto note = read_bounded(path, kMaxSmallFileBytes, "checkpoint");
  if (!note.ok()) return note.status();
  size_t split = note->rfind("\n\n");
  auto c = journal::parse_checkpoint_body(split == std::string::npos ? *note
                                                                     : note->substr(0, split + 1));
  if (!c.ok()) return c.status().with_context(path);
  return c->size;
}

// GET /v1/journal/proof/consistency, its hashes raw.
Result<std::vector<std::string>> fetch_consistency(const Connection& c, uint64_t from,
                                                   uint64_t to) {
  auto body = hub_get(c, "/v1/journal/proof/consistency?from=" + std::to_string(from) +
                             "&to=" + std::to_string(to));
  if (!body.ok()) return body.status();
  boost::system::error_code ec;
  auto v = boost::json::parse(*body, ec);
  const boost::json::object* o = ec ? nullptr : v.if_object();
  const boost::json::value* list = o ? o->if_contains("consistency_proof") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return unavailable("the hub's consistency proof answer is not understood");
  }
  std::vector<std::string> hashes;
  for (const boost::json::value& h : list->as_array()) {
    auto raw = h.is_string() ? crypto::base64_decode(h.as_string()) : std::nullopt;
    if (!raw) return unavailable("the hub's consistency proof holds a hash that is not base64");
    hashes.push_back(std::move(*raw));
  }
  return hashes;
}

// The export in `body` with the hub's consistency proofs from each size
// asked for (directly or through a checkpoint file) to its own checkpoint.
Result<std::string> with_consistency(const Connection& c, const ConsistencyFlags& f,
                                     std::string body) {
  if (f.checkpoints.empty() && f.sizes.empty()) return body;
  std::set<uint64_t> sizes(f.sizes.begin(), f.sizes.end());
  for (const std::string& path : f.checkpoints) {
    auto size = checkpoint_size(path);
    if (!size.ok()) return size.status().with_context("--checkpoint");
    sizes.insert(*size);
  }
  auto e = journal::parse_export(body);
  if (!e.ok()) return e.status().with_context("the hub's answer");
  auto head =
      journal::parse_checkpoint_body(e->checkpoint.substr(0, e->checkpoint.rfind("\n\n") + 1));
  if (!head.ok()) return head.status().with_context("the hub's checkpoint");
  for (uint64_t from : sizes) {
    if (from > head->size) {
      return conflict("the hub's latest checkpoint (size " + std::to_string(head->size) +
                      ") is older than the one of size " + std::to_string(from) +
                      ": either a newer one was signed meanwhile (run the command again) or the "
                      "hub's journal was rolled back or forked (keep both checkpoints)");
    }
    if (from == head->size) continue;  // compared by root, no proof needed
    auto proof = fetch_consistency(c, from, head->size);
    if (!proof.ok()) return proof.status();
    e->consistency.push_back({from, std::move(*proof)});
  }
  return journal::export_to_json(*e);
}

// --- verify ----------------------------------------------------------------

struct VerifyFlags {
  std::string data_dir;
  bool skip_files = false;
  std::string export_file;
  std::vector<std::string> checkpoints;
  std::string key;
  std::string origin = "sened.local/journal";
  std::vector<std::string> witnesses;  // witness verifier keys
  size_t threshold = 0;                // 0: every witness given
};

// The export's checkpoint must carry cosignatures of enough known
// witnesses. A shortfall is a problem of the export; bad flags are errors.
Status check_witnesses(const VerifyFlags& f, const journal::JournalExport& e,
                       journal::ExportReport& r) {
  if (f.witnesses.empty() && f.threshold == 0) return Status();
  std::vector<journal::NoteKey> keys;
  for (const std::string& w : f.witnesses) {
    auto k = journal::parse_witness_verifier_key(w);
    if (!k.ok()) return k.status().with_context("--witness");
    keys.push_back(*k);
  }
  size_t threshold = f.threshold == 0 ? keys.size() : f.threshold;
  if (threshold > keys.size()) {
    return invalid_argument("--threshold " + std::to_string(threshold) + " exceeds the " +
                            std::to_string(keys.size()) + " witnesses given");
  }
  Status st = journal::check_witness_threshold(e.checkpoint, keys, threshold);
  if (st.code() == Code::kPermissionDenied) {
    r.problems.push_back({"witness threshold", 0, st.message()});
    return Status();
  }
  return st;
}

// The hub's log key from --key: a verifier key, or a file holding one or
// the Ed25519 public key PEM (named --origin).
Result<journal::NoteKey> verify_key(const VerifyFlags& f) {
  std::error_code ec;
  bool is_file = std::filesystem::exists(f.key, ec);
  std::string text = f.key;
  if (is_file) {
    auto t = read_bounded(f.key, kMaxSmallFileBytes, "--key file");
    if (!t.ok()) return t.status();
    text = std::move(*t);
  }
  auto key = journal::parse_log_key(text, f.origin);
  if (key.ok()) return key;
  std::string given = is_file ? "the file " + f.key : "'" + f.key + "' (not a file either)";
  return invalid_argument(
      "--key: " + given + " is not the hub's log key (" + key.status().message() +
      "); give its verifier key \"<name>+<key id>+<base64>\" (\"vkey\" of GET /v1/journal/key, "
      "or DIR/hub-key.vkey from `sened journal head --out DIR`), or DIR/hub-key.pem from "
      "`sened journal head` with --origin when the log's origin is not the default");
}

void print_report(const journal::ExportReport& r) {
  for (const std::string& w : r.warnings) std::cout << "warning: " << w << "\n";
  for (const auto& p : r.problems) {
    std::cout << "journal BROKEN: " << p.kind;
    if (p.seq != 0) std::cout << " (entry " << p.seq << ")";
    std::cout << ": " << p.message << "\n";
  }
  for (const std::string& u : r.unchecked) std::cout << "journal NOT VERIFIED: " << u << "\n";
}

void verify_export_command(const VerifyFlags& f) {
  auto text = read_bounded(f.export_file, journal::kMaxExportBytes, "export", true);
  if (!text.ok()) return report(text.status());
  auto e = journal::parse_export(*text);
  if (!e.ok()) return report(e.status());
  auto key = verify_key(f);
  if (!key.ok()) return report(key.status());
  std::vector<std::string> earlier;
  for (const std::string& path : f.checkpoints) {
    auto note = read_bounded(path, kMaxSmallFileBytes, "checkpoint");
    if (!note.ok()) return report(note.status().with_context("--checkpoint"));
    earlier.push_back(std::move(*note));
  }
  auto r = journal::verify_export(*e, *key, earlier);
  if (!r.ok()) return report(r.status());
  if (Status st = check_witnesses(f, *e, *r); !st.ok()) return report(st);
  print_report(*r);
  if (!r->ok()) {
    exit_code() = kExitFailed;
    return;
  }
  if (e->complete) {
    std::cout << "journal ok: " << r->entries
              << " entries (complete) proven in the checkpoint of size " << r->size << " signed by "
              << key->name << "\n";
    return;
  }
  std::cout << "journal ok: " << r->entries
            << " entries, each proven at its index in the checkpoint of size " << r->size
            << " signed by " << key->name
            << " (a partial export cannot show that no entry is left out: see docs/journal.md)\n";
}

// --- evidence --------------------------------------------------------------

namespace json = boost::json;

// The hub writes a few hundred bytes per witness.
constexpr size_t kMaxStatusFile = 1024 * 1024;

// Every field print_evidence() and --json read, with its type.
bool has_evidence_shape(const json::object& o) {
  auto has = [](const json::object& x, const char* key, json::kind kind) {
    const json::value* v = x.if_contains(key);
    if (v == nullptr) return false;
    if (kind == json::kind::int64) return v->is_int64() || v->is_uint64();
    return v->kind() == kind;
  };
  auto health = [&](const json::object& x) {
    return has(x, "ok", json::kind::bool_) && has(x, "failures", json::kind::int64) &&
           has(x, "last_error", json::kind::string);
  };
  if (!has(o, "healthy", json::kind::bool_) || !has(o, "latest_size", json::kind::int64) ||
      !has(o, "witnesses", json::kind::array) || !has(o, "tsa", json::kind::object)) {
    return false;
  }
  for (const json::value& w : o.at("witnesses").as_array()) {
    if (!w.is_object() || !health(w.as_object()) ||
        !has(w.as_object(), "name", json::kind::string) ||
        !has(w.as_object(), "url", json::kind::string) ||
        !has(w.as_object(), "cosigned_size", json::kind::int64)) {
      return false;
    }
  }
  const json::object& t = o.at("tsa").as_object();
  return has(t, "configured", json::kind::bool_) && health(t) &&
         has(t, "timestamped_size", json::kind::int64);
}

// The collector's status as the running hub last wrote it.
Result<json::object> read_evidence_status(const std::string& dir) {
  std::string path = dir + "/" + exchange::kEvidenceStatusFile;
  if (!std::filesystem::exists(path)) {
    return not_found(path + " does not exist: the hub writes it when it starts");
  }
  auto text = read_text_file(path, kMaxStatusFile);
  if (!text.ok()) return text.status().with_context("evidence status");
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object() || !has_evidence_shape(v.as_object())) {
    return invalid_argument(path + " is not an evidence status as the hub writes it");
  }
  return v.as_object();
}

// One line per witness and one for the TSA, for a person.
void print_evidence(const json::object& o) {
  auto health = [](const json::object& x) { return x.at("ok").as_bool() ? "ok" : "FAILING"; };
  const json::object& t = o.at("tsa").as_object();
  if (o.at("witnesses").as_array().empty() && !t.at("configured").as_bool()) {
    std::cout << "evidence: no witness and no TSA configured\n";
    return;
  }
  std::cout << "evidence " << (o.at("healthy").as_bool() ? "healthy" : "FAILING")
            << ": latest checkpoint size " << json::serialize(o.at("latest_size")) << "\n";
  for (const json::value& v : o.at("witnesses").as_array()) {
    const json::object& w = v.as_object();
    std::cout << "witness " << w.at("name").as_string().c_str() << " "
              << w.at("url").as_string().c_str() << " " << health(w)
              << " cosigned_size=" << json::serialize(w.at("cosigned_size"));
    if (!w.at("ok").as_bool()) {
      std::cout << " failures=" << json::serialize(w.at("failures")) << " last_error=\""
                << w.at("last_error").as_string().c_str() << "\"";
    }
    std::cout << "\n";
  }
  if (!t.at("configured").as_bool()) {
    std::cout << "tsa not configured\n";
    return;
  }
  std::cout << "tsa " << health(t)
            << " timestamped_size=" << json::serialize(t.at("timestamped_size"));
  if (!t.at("ok").as_bool()) {
    std::cout << " failures=" << json::serialize(t.at("failures")) << " last_error=\""
              << t.at("last_error").as_string().c_str() << "\"";
  }
  std::cout << "\n";
}

// OUT/timestamped-note (the hub-signed note, the exact bytes the token
// covers) and OUT/timestamp.tsr (the DER TimeStampToken) of the latest
// checkpoint that has a time stamp: the latest one, else the size the
// status names. kNotFound when none has one yet.
Status write_timestamp(const std::string& dir, uint64_t status_size, const std::string& out) {
  auto data = open_hub_data(dir);
  if (!data.ok()) return data.status();
  auto c = data->store->latest_checkpoint();
  if (!c.ok()) return c.status();
  if ((!c->has_value() || (*c)->timestamp_token.empty()) && status_size > 0) {
    c = data->store->checkpoint(status_size);
    if (!c.ok()) return c.status();
  }
  if (!c->has_value() || (*c)->timestamp_token.empty()) {
    return not_found("no checkpoint carries a time stamp yet");
  }
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) return unavailable("cannot create " + out + ": " + ec.message());
  SENED_RETURN_IF_ERROR(write_file_atomic(out + "/timestamped-note", (*c)->note));
  SENED_RETURN_IF_ERROR(write_file_atomic(out + "/timestamp.tsr", (*c)->timestamp_token));
  std::cout << "time stamp of the checkpoint of size " << (*c)->size << " written to " << out
            << "\n";
  return Status();
}

struct EvidenceFlags {
  std::string data_dir;
  bool json = false;
  std::string out;
};

void evidence_command(const EvidenceFlags& f) {
  auto o = read_evidence_status(f.data_dir);
  if (!o.ok()) return report(o.status());
  uint64_t status_size = 0;
  try {
    status_size = o->at("tsa").as_object().at("timestamped_size").to_number<uint64_t>();
    if (f.json) {
      std::cout << json::serialize(*o) << "\n";
    } else {
      print_evidence(*o);
    }
  } catch (const std::exception& e) {
    return report(internal_error("the evidence status is malformed: " + std::string(e.what())));
  }
  if (!f.out.empty()) {
    if (Status st = write_timestamp(f.data_dir, status_size, f.out); !st.ok()) return report(st);
  }
  if (!o->at("healthy").as_bool()) exit_code() = kExitFailed;
}

void add_evidence(CLI::App& journal) {
  auto* cmd = journal.add_subcommand(
      "evidence",
      "The running hub's witnesses and TSA: what each last cosigned or time-stamped, and "
      "which are failing (exit 1 when any is). With --out, also the latest time stamp, for "
      "`openssl ts -verify -data OUT/timestamped-note -in OUT/timestamp.tsr -token_in -CAfile "
      "TSA-CA.pem`");
  auto f = std::make_shared<EvidenceFlags>();
  add_data_flag(*cmd, f->data_dir);
  cmd->add_flag("--json", f->json, "Print the status as JSON");
  cmd->add_option("--out", f->out,
                  "Folder to write the latest time-stamped checkpoint's note and token into");
  cmd->callback([f] { evidence_command(*f); });
}

void add_head(CLI::App& journal) {
  auto* cmd = journal.add_subcommand(
      "head",
      "Write the latest checkpoint as DIR/checkpoint, DIR/head.bin, DIR/head.sig and "
      "DIR/hub-key.pem (for `openssl pkeyutl -verify -pubin -inkey DIR/hub-key.pem -rawin -in "
      "DIR/head.bin -sigfile DIR/head.sig`), and the log's verifier key as DIR/hub-key.vkey; "
      "with --json, print the checkpoint and keys as JSON");
  auto s = std::make_shared<Source>();
  auto out = std::make_shared<std::string>();
  add_connection_flags(*cmd, s->connection);
  cmd->add_option("--data", s->data_dir, "Read the hub's own data folder instead of asking it");
  cmd->add_option("--store", store_flag(),
                  "With --data: the store address, instead of sened.toml's (or SENED_STORE)");
  cmd->add_option("--out", *out, "Folder to write into (optional with --json)");
  cmd->callback([s, out] {
    if (out->empty() && !s->connection.json) {
      return report(invalid_argument("give --out DIR, --json, or both"));
    }
    auto h = s->data_dir.empty() ? head_from_hub(s->connection) : head_from_data(s->data_dir);
    if (!h.ok()) return report(h.status());
    auto parts = split_head(*h);
    if (!parts.ok()) return report(parts.status());
    if (!out->empty()) {
      if (Status st = write_head(*h, *parts, *out); !st.ok()) return report(st);
    }
    if (s->connection.json) {
      std::cout << head_json(*h, *parts);
    } else {
      std::cout << "checkpoint size " << parts->checkpoint.size << " written to " << *out << "\n";
    }
  });
}

void add_proof(CLI::App& journal) {
  auto* cmd = journal.add_subcommand(
      "proof",
      "Print a document's journal entries with their salts and inclusion proofs in the latest "
      "checkpoint: everything a third party needs (check it with `journal verify --export`)");
  auto c = std::make_shared<Connection>();
  auto doc = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto earlier = std::make_shared<ConsistencyFlags>();
  add_connection_flags(*cmd, *c);
  cmd->add_option("DOC", *doc, "Document id")->required();
  cmd->add_option("--out", *out, "Write the JSON bundle here (default: standard output)");
  add_consistency_flags(*cmd, *earlier);
  cmd->callback([c, doc, out, earlier] {
    auto body = hub_get(*c, "/v1/documents/" + *doc + "/proof");
    if (body.ok()) body = with_consistency(*c, *earlier, std::move(*body));
    if (!body.ok()) return report(body.status());
    if (Status st = write_out(*out, *body); !st.ok()) report(st);
  });
}

void add_export(CLI::App& journal) {
  auto* cmd = journal.add_subcommand(
      "export",
      "Export journal entries with salts: as a participant, those of its documents, with "
      "proofs; with --data, every entry (for auditors)");
  auto s = std::make_shared<Source>();
  auto out = std::make_shared<std::string>();
  auto earlier = std::make_shared<ConsistencyFlags>();
  add_connection_flags(*cmd, s->connection);
  cmd->add_option("--data", s->data_dir, "Export every entry from the hub's data folder");
  cmd->add_option("--store", store_flag(),
                  "With --data: the store address, instead of sened.toml's (or SENED_STORE)");
  cmd->add_option("--out", *out, "Write the JSON export here (default: standard output)");
  add_consistency_flags(*cmd, *earlier);
  cmd->callback([s, out, earlier] {
    if (!s->data_dir.empty() && (!earlier->checkpoints.empty() || !earlier->sizes.empty())) {
      return report(invalid_argument(
          "--data makes a complete export, which needs no consistency proofs: drop "
          "--checkpoint and --consistency-from"));
    }
    auto body = s->data_dir.empty() ? hub_get(s->connection, "/v1/journal/export")
                                    : full_export(s->data_dir);
    if (body.ok() && s->data_dir.empty()) {
      body = with_consistency(s->connection, *earlier, std::move(*body));
    }
    if (!body.ok()) return report(body.status());
    if (Status st = write_out(*out, *body); !st.ok()) report(st);
  });
}

void add_verify(CLI::App& journal) {
  auto* cmd = journal.add_subcommand(
      "verify",
      "Offline checks. With --data: the journal's chain and every stored row and file against "
      "it. With --export: an export against the hub's key and checkpoints seen before, naming "
      "any tampered, missing or reordered entry, root mismatch or fork. Exit 1 when broken");
  auto f = std::make_shared<VerifyFlags>();
  cmd->add_option("--data", f->data_dir, "Hub data folder to audit")->envname("SENED_DATA");
  cmd->add_option("--store", store_flag(),
                  "Store address, instead of sened.toml's (or SENED_STORE)");
  cmd->add_flag("--skip-files", f->skip_files,
                "Do not re-hash stored file contents (faster on a large store)");
  cmd->add_option("--export", f->export_file, "A journal export or proof bundle (JSON)");
  cmd->add_option("--checkpoint", f->checkpoints,
                  "A checkpoint seen before (e.g. DIR/checkpoint of `journal head`); the export "
                  "must be consistent with it. A complete export is compared by its entries, a "
                  "partial one by the consistency proof that `journal proof|export --checkpoint` "
                  "embeds; without one the check fails as not verified. Repeatable");
  cmd->add_option("--key", f->key,
                  "The hub's log key: its verifier key \"name+id+base64\" (or a file holding it, "
                  "e.g. DIR/hub-key.vkey of `journal head`), or DIR/hub-key.pem with --origin");
  cmd->add_option("--origin", f->origin, "The log's origin, when --key is a PEM file")
      ->capture_default_str();
  cmd->add_option("--witness", f->witnesses,
                  "A known witness's verifier key (c2sp.org/tlog-cosignature); repeatable");
  cmd->add_option("--threshold", f->threshold,
                  "How many of the --witness keys must have cosigned the export's checkpoint "
                  "(default: all of them)");
  cmd->callback([f] {
    if (!f->export_file.empty()) {
      if (f->key.empty()) return report(invalid_argument("--export needs --key"));
      return verify_export_command(*f);
    }
    if (f->data_dir.empty()) return report(invalid_argument("give --data DIR or --export FILE"));
    audit_data(f->data_dir, f->skip_files);
  });
}

}  // namespace

void add_journal_commands(CLI::App& app) {
  auto* journal = app.add_subcommand("journal", "The verifiable journal: heads, proofs, checks");
  journal->require_subcommand(1);
  add_verify(*journal);
  add_head(*journal);
  add_proof(*journal);
  add_export(*journal);
  add_evidence(*journal);
}

}  // namespace sened::cli
