#include "exchange/receipts.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/fd.h"
#include "crypto/cms.h"
#include "crypto/pki.h"
#include "journal/chain.h"

namespace sened::exchange {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// The receipt certificate lives as long as the hub CA usually does.
constexpr int kReceiptCertDays = 3650;

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Temp file, fsync, rename, fsync the folder: a crash leaves the old file
// or the new one, never a torn key.
Status write_atomic(const std::string& path, const std::string& bytes, int mode) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return unavailable("cannot write " + temp);
  bool ok = write_all(fd, bytes) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return unavailable("cannot write " + path);
  }
  int dir = ::open(fs::path(path).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status();
}

json::array recipients_json(const Document& doc) {
  json::array out;
  for (const auto& id : doc.meta.to) out.push_back(json::object{{"id", id}, {"role", "to"}});
  for (const auto& id : doc.meta.cc) out.push_back(json::object{{"id", id}, {"role", "cc"}});
  return out;
}

json::array files_json(const Document& doc) {
  json::array out;
  for (const auto& f : doc.files) {
    json::object o{{"index", f.index}, {"name", f.name}, {"size", f.size}, {"sha256", f.sha256}};
    if (!f.signature_status.empty()) {
      o["signature"] = json::object{
          {"status", f.signature_status}, {"signer", f.signer}, {"sha256", f.signature_sha256}};
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

std::optional<std::string_view> receipt_event(std::string_view kind) {
  if (kind == journal::kDocumentSubmitted) return kReceiptAccepted;
  if (kind == journal::kDeliveryDelivered) return kReceiptDelivered;
  if (kind == journal::kDeliveryRegistered) return kReceiptRegistered;
  if (kind == journal::kDeliveryRejected) return kReceiptRejected;
  return std::nullopt;
}

std::string receipt_json(const Document& doc, const JournalEntry& entry, const std::string& hub) {
  std::string_view event = receipt_event(entry.kind).value_or("");
  bool accepted = event == kReceiptAccepted;
  json::object o;
  o["type"] = "sened-receipt-v1";
  o["event"] = event;
  o["document"] = doc.id;
  o["sender"] = doc.sender;
  o["participant"] = accepted ? doc.sender : entry.recipient;
  o["recipients"] = recipients_json(doc);
  o["subject"] = doc.meta.subject;
  o["sender_ref"] = doc.meta.sender_ref;
  o["files"] = files_json(doc);
  o["time"] = entry.time;
  o["journal_index"] = entry.seq - 1;  // the RFC 6962 leaf index
  o["journal_seq"] = entry.seq;
  o["journal_entry_hash"] = entry.hash;
  o["hub"] = hub;
  return json::serialize(o);
}

Result<bool> ensure_receipt_key(const HubConfig& config) {
  std::error_code ec;
  std::string key_path = config.path(config.receipt_key);
  std::string cert_path = config.path(config.receipt_cert);
  if (fs::exists(key_path, ec) && fs::exists(cert_path, ec)) return false;
  auto ca_key = read_file(config.path(config.ca_key));
  if (!ca_key.ok()) return ca_key.status();
  auto ca_cert = read_file(config.path(config.ca_cert));
  if (!ca_cert.ok()) return ca_cert.status();
  auto made =
      crypto::issue_client_cert({*ca_key, *ca_cert}, "Sened receipts", "Sened", kReceiptCertDays);
  if (!made.ok()) return made.status();
  // The key first: a certificate never sits beside a key it does not match.
  SENED_RETURN_IF_ERROR(write_atomic(key_path, made->key_pem, 0600));
  SENED_RETURN_IF_ERROR(write_atomic(cert_path, made->cert_pem, 0644));
  return true;
}

Result<ReceiptSigner> load_receipt_signer(const HubConfig& config) {
  ReceiptSigner s;
  auto key = read_file(config.path(config.receipt_key));
  if (!key.ok()) return key.status();
  auto cert = read_file(config.path(config.receipt_cert));
  if (!cert.ok()) return cert.status();
  auto ca = read_file(config.path(config.ca_cert));
  if (!ca.ok()) return ca.status();
  s.key_pem = std::move(*key);
  s.cert_pem = std::move(*cert);
  s.chain_pem = s.cert_pem + *ca;
  s.hub = config.journal_origin;
  return s;
}

Receipts::Receipts(Store& store, ReceiptSigner signer)
    : store_(store), signer_(std::move(signer)) {}

Result<std::vector<Receipt>> Receipts::for_document(const Document& doc) {
  auto entries = store_.history(doc.id);
  if (!entries.ok()) return entries.status();
  std::vector<Receipt> out;
  for (const auto& e : *entries) {
    auto event = receipt_event(e.kind);
    if (!event) continue;
    std::string participant = *event == kReceiptAccepted ? doc.sender : e.recipient;
    auto der = receipt_of(doc, e, participant);
    if (!der.ok()) return der.status();
    out.push_back({std::string(*event), participant, e.seq, std::move(*der)});
  }
  return out;
}

Result<std::string> Receipts::receipt_of(const Document& doc, const JournalEntry& entry,
                                         const std::string& participant) {
  auto kept = store_.find_receipt(entry.seq);
  if (!kept.ok()) return kept.status();
  if (*kept) return std::move(**kept);
  auto der = crypto::sign_attached(receipt_json(doc, entry, signer_.hub), signer_.key_pem,
                                   signer_.cert_pem);
  if (!der.ok()) return der.status();
  return store_.keep_receipt(entry.seq, doc.id, participant, *der);
}

}  // namespace sened::exchange
