#include "exchange/evidence_check.h"

#include <boost/json.hpp>
#include <map>

#include "crypto/cms.h"
#include "journal/checkpoint.h"
#include "journal/export.h"

namespace sened::exchange {
namespace json = boost::json;

namespace {

// What the checks share: the container, where findings go, and what was
// learnt on the way (the document id, each proven entry's hash).
struct Checker {
  Checker(crypto::ZipReader& z, const asic::VerifyOptions& o, asic::Report& r)
      : zip(z), options(o), report(r) {}

  crypto::ZipReader& zip;
  const asic::VerifyOptions& options;
  asic::Report& report;
  std::string document;
  std::map<int64_t, std::string> proven;  // seq -> entry hash
  bool have_proof = false;

  void note(const std::string& item, const Status& st) {
    report.findings.push_back({item, st.ok(), st.ok() ? "" : st.message()});
  }

  Result<std::string> read(const std::string& name, size_t max) {
    auto at = zip.find(name);
    if (!at) return not_found("not in the container");
    return zip.read_all(*at, max);
  }
};

Result<json::object> parse_object(std::string_view text, const char* what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return invalid_argument(std::string(what) + " is not a JSON object");
  return std::move(v.as_object());
}

std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<std::string> document_id(Checker& c) {
  auto bytes = c.read(kEvidenceDocument, kMaxJournalObjectBytes);
  if (!bytes.ok()) return bytes.status();
  auto doc = parse_object(*bytes, kEvidenceDocument);
  if (!doc.ok()) return doc.status();
  std::string id = text_of(*doc, "id");
  if (id.empty()) return invalid_argument("no document id");
  return id;
}

Status check_receipt(Checker& c, const std::string& name, const crypto::TrustMaterial& trust) {
  auto der = c.read(name, crypto::kMaxSignatureBytes);
  if (!der.ok()) return der.status();
  auto opened = crypto::open_attached(*der, trust);
  if (!opened.ok()) return opened.status();
  SENED_RETURN_IF_ERROR(hub_signature_holds(opened->check, !trust.ca_pems.empty()));
  auto receipt = parse_object(opened->content, "the receipt");
  if (!receipt.ok()) return receipt.status();
  if (text_of(*receipt, "document") != c.document) {
    return permission_denied("the receipt is for document '" + text_of(*receipt, "document") +
                             "', not " + c.document);
  }
  std::string expected = std::string(kEvidenceReceipts) + text_of(*receipt, "event") + "-" +
                         text_of(*receipt, "participant");
  if (name.rfind(expected, 0) != 0) {
    return permission_denied("the receipt's event and participant do not match its name");
  }
  // The receipt's journal entry must be the one the proof shows.
  const json::value* seq = receipt->if_contains("journal_seq");
  if (!c.have_proof || seq == nullptr || !seq->is_int64()) return Status();
  auto it = c.proven.find(seq->as_int64());
  if (it == c.proven.end()) {
    c.report.warnings.push_back(name + ": its journal entry is newer than the checkpoint");
    return Status();
  }
  if (it->second != text_of(*receipt, "journal_entry_hash")) {
    return permission_denied("its journal entry hash is not the proven entry's");
  }
  return Status();
}

// The log key: pinned by the user, else the bundle's own (covered by the
// hub's manifest signature).
Result<journal::NoteKey> log_key(Checker& c, const std::string& origin) {
  Result<journal::NoteKey> pinned = not_found("");
  if (!c.options.log_key.empty()) {
    pinned = journal::parse_log_key(c.options.log_key, origin);
    if (!pinned.ok()) return pinned.status().with_context("--log-key");
  }
  auto bytes = c.read(kEvidenceLogKey, kMaxJournalObjectBytes);
  if (!bytes.ok() && pinned.ok()) return pinned;
  if (!bytes.ok()) return bytes.status().with_context(kEvidenceLogKey);
  auto o = parse_object(*bytes, kEvidenceLogKey);
  if (!o.ok()) return o.status();
  auto own = journal::parse_verifier_key(text_of(*o, "vkey"));
  if (!own.ok()) return own.status().with_context(kEvidenceLogKey);
  if (pinned.ok() && pinned->public_key_raw != own->public_key_raw) {
    return permission_denied(std::string(kEvidenceLogKey) + " is not the key given by --log-key");
  }
  if (!pinned.ok()) {
    c.report.warnings.push_back(
        "the log key is the bundle's own journal/key.json: pin it with --log-key");
  }
  return pinned.ok() ? pinned : own;
}

Status check_proof(Checker& c, journal::JournalExport& e) {
  auto text = c.read(kEvidenceProof, kMaxJournalObjectBytes);
  if (!text.ok()) return text.status();
  auto parsed = journal::parse_export(*text);
  if (!parsed.ok()) return parsed.status();
  e = std::move(*parsed);
  std::string origin = e.checkpoint.substr(0, e.checkpoint.find('\n'));
  auto key = log_key(c, origin);
  if (!key.ok()) return key.status();
  auto r = journal::verify_export(e, *key, {});
  if (!r.ok()) return r.status();
  for (const auto& w : r->warnings)
    c.report.warnings.push_back(std::string(kEvidenceProof) + ": " + w);
  if (!r->ok()) {
    std::string what;
    for (const auto& p : r->problems) {
      what += (what.empty() ? "" : "; ") + p.kind +
              (p.seq != 0 ? " (entry " + std::to_string(p.seq) + ")" : "") + ": " + p.message;
    }
    return permission_denied(what);
  }
  for (const auto& x : e.entries) {
    if (x.entry.document != c.document) {
      return permission_denied("entry " + std::to_string(x.entry.seq) + " is not this document's");
    }
  }

  // The checkpoint object must be the proof's, and signed by the log key.
  auto note = c.read(kEvidenceCheckpoint, kMaxJournalObjectBytes);
  Status checkpoint = note.status();
  if (note.ok()) {
    auto opened = journal::open_note(*note, {*key});
    checkpoint = opened.ok() ? Status() : opened.status();
    if (checkpoint.ok() && *note != e.checkpoint) {
      checkpoint = permission_denied("not the checkpoint the proof is against");
    }
  }
  c.note(kEvidenceCheckpoint, checkpoint);
  for (const auto& x : e.entries) c.proven[x.entry.seq] = x.entry.hash;
  c.have_proof = true;
  return Status();
}

}  // namespace

Status hub_signature_holds(const crypto::SignatureCheck& check, bool anchored) {
  bool ok = check.status == crypto::SignatureStatus::kValid ||
            (!anchored && !check.signer.empty() &&
             check.status == crypto::SignatureStatus::kUnknownSigner);
  if (ok) return Status();
  return permission_denied("signature " + std::string(crypto::to_string(check.status)) +
                           (check.detail.empty() ? "" : " (" + check.detail + ")"));
}

void check_evidence(crypto::ZipReader& zip, const std::vector<asic::DataObject>& objects,
                    const asic::VerifyOptions& options, asic::Report& report) {
  Checker c{zip, options, report};
  auto id = document_id(c);
  if (!id.ok()) {
    c.note(kEvidenceDocument, id.status());
    return;
  }
  c.document = *id;

  bool listed_proof = false;
  for (const auto& o : objects) listed_proof = listed_proof || o.name == kEvidenceProof;
  if (listed_proof) {
    journal::JournalExport e;
    c.note(kEvidenceProof, check_proof(c, e));
  } else {
    report.warnings.push_back("the bundle holds no journal proof (the hub had no checkpoint yet)");
  }

  crypto::TrustMaterial trust;
  if (!options.anchor_pem.empty()) trust.ca_pems.push_back(options.anchor_pem);
  for (const auto& o : objects) {
    if (o.name.rfind(kEvidenceReceipts, 0) == 0) c.note(o.name, check_receipt(c, o.name, trust));
  }
}

}  // namespace sened::exchange
