#include "exchange/bundle.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "core/json.h"
#include "crypto/cms.h"
#include "crypto/digest.h"
#include "exchange/asic.h"
#include "exchange/evidence_check.h"
#include "exchange/journal_api.h"
#include "exchange/receipts.h"
#include "journal/export.h"

namespace sened::exchange {
namespace json = boost::json;

namespace {

Result<std::string> read_pem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (path.empty() || !in) {
    return unavailable(std::string("the hub has no ") + what + " to sign evidence with");
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr const char* kJsonType = "application/json";
constexpr const char* kSignatureType = "application/pkcs7-signature";

json::object inline_object(const std::string& name, const std::string& bytes,
                           const char* mime_type = kJsonType) {
  return json::object{{"name", name},
                      {"mime_type", mime_type},
                      {"sha256", crypto::sha256_hex(bytes)},
                      {"size", bytes.size()},
                      {"content", crypto::base64_encode(bytes)}};
}

// The caller must be the sender or a recipient; anyone else learns nothing.
Result<std::pair<Document, std::vector<Delivery>>> party_view(Store& store, const std::string& who,
                                                              const std::string& id) {
  auto doc = store.get_document(id);
  if (!doc.ok()) {
    return doc.status().code() == Code::kNotFound ? not_found("no document " + id) : doc.status();
  }
  auto deliveries = store.deliveries(id);
  if (!deliveries.ok()) return deliveries.status();
  bool party = doc->sender == who;
  for (const auto& d : *deliveries) party = party || d.recipient == who;
  if (!party) return not_found("no document " + id);
  return std::make_pair(std::move(*doc), std::move(*deliveries));
}

// The files, each followed by its sender's signature when it came with one.
void add_files(const Document& doc, json::array& objects) {
  // Files sit under their index, so equal names in one document stay apart.
  for (const auto& f : doc.files) {
    std::string name = "files/" + std::to_string(f.index) + "/" + f.name;
    std::string source = "/v1/documents/" + doc.id + "/files/" + std::to_string(f.index);
    objects.push_back(json::object{{"name", name},
                                   {"mime_type", f.media_type},
                                   {"sha256", f.sha256},
                                   {"size", f.size},
                                   {"source", source}});
    if (f.signature_sha256.empty()) continue;
    objects.push_back(json::object{{"name", name + kSignatureSuffix},
                                   {"mime_type", kSignatureType},
                                   {"sha256", f.signature_sha256},
                                   {"size", f.signature_size},
                                   {"source", source + "/signature"}});
  }
}

// Each receipt as receipts/EVENT-PARTICIPANT.p7s.
Status add_receipts(Receipts* receipts, const Document& doc, json::array& objects) {
  if (receipts == nullptr) return Status();
  auto list = receipts->for_document(doc);
  if (!list.ok()) return list.status();
  for (const auto& r : *list) {
    std::string name = std::string(kEvidenceReceipts) + r.event + "-" + r.participant;
    objects.push_back(inline_object(name + kSignatureSuffix, r.der, kSignatureType));
  }
  return Status();
}

// The document's journal proof, its checkpoint and the log key; nothing
// before the first checkpoint.
Status add_journal(JournalApi* journal, const Document& doc, const std::string& who,
                   json::array& objects) {
  if (journal == nullptr) return Status();
  auto proof = journal->document_proof(doc.id, who);
  if (!proof.ok() && proof.status().code() == Code::kUnavailable) return Status();
  if (!proof.ok()) return proof.status();
  objects.push_back(inline_object(kEvidenceProof, journal::export_to_json(*proof)));
  objects.push_back(inline_object(kEvidenceCheckpoint, proof->checkpoint, "text/plain"));
  const JournalKeyInfo& key = journal->key();
  json::object k{
      {"origin", key.origin}, {"vkey", key.vkey}, {"public_key_pem", key.public_key_pem}};
  objects.push_back(inline_object(kEvidenceLogKey, json::serialize(k) + "\n"));
  return Status();
}

Result<json::array> data_objects(Store& store, const BundleSources& sources, const Document& doc,
                                 const std::vector<Delivery>& deliveries, const std::string& who) {
  json::array objects;
  add_files(doc, objects);
  objects.push_back(
      inline_object("document.json", json::serialize(to_json(doc, deliveries)) + "\n"));
  auto history = store.history(doc.id);
  if (!history.ok()) return history.status();
  json::array entries;
  for (const auto& e : *history) entries.push_back(to_json(e));
  objects.push_back(inline_object(
      "history.json",
      json::serialize(json::object{{"document", doc.id}, {"history", std::move(entries)}}) + "\n"));
  SENED_RETURN_IF_ERROR(add_receipts(sources.receipts, doc, objects));
  SENED_RETURN_IF_ERROR(add_journal(sources.journal, doc, who, objects));
  return objects;
}

}  // namespace

http::Response bundle_response(Store& store, const BundleSigner& signer,
                               const BundleSources& sources, const std::string& who,
                               const std::string& id) {
  auto view = party_view(store, who, id);
  if (!view.ok()) return http::error_response(view.status());
  auto key = read_pem(signer.key_file, "receipt key");
  if (!key.ok()) return http::error_response(key.status());
  auto cert = read_pem(signer.cert_file, "receipt certificate");
  if (!cert.ok()) return http::error_response(cert.status());
  auto ca = read_pem(signer.ca_file, "CA certificate");
  std::string chain = ca.ok() ? *ca : std::string();

  auto objects = data_objects(store, sources, view->first, view->second, who);
  if (!objects.ok()) return http::error_response(objects.status());
  std::vector<asic::DataObject> listed;
  for (const auto& o : *objects) {
    const auto& obj = o.as_object();
    listed.push_back({std::string(obj.at("name").as_string()),
                      std::string(obj.at("mime_type").as_string()),
                      std::string(obj.at("sha256").as_string())});
  }
  std::string manifest = asic::make_manifest(listed);
  auto signature = crypto::sign_detached(manifest, *key, *cert, chain);
  if (!signature.ok()) return http::error_response(signature.status());
  json::object answer{{"document", id},
                      {"objects", std::move(*objects)},
                      {"manifest", crypto::base64_encode(manifest)},
                      {"signature", crypto::base64_encode(*signature)}};
  return http::json_response(200, json::serialize(answer) + "\n");
}

}  // namespace sened::exchange
