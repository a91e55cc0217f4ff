// Signed receipts: the hub's statement, signed as CMS signed data (DER)
// encapsulating a JSON text, that an event happened to a document (see
// docs/receipts.md for the JSON fields and how to check one).
//
// A receipt is made from the journal entry of its event: document.submitted
// gives `accepted` (for the sender), delivery.delivered, delivery.registered
// and delivery.rejected give `delivered`, `registered` and `rejected` (for
// that recipient). The JSON depends only on the entry and the document, so
// a receipt can be made whenever first asked for; it is then kept in the
// store, so that the same DER is handed out every time after.
//
// Thread-safe: Receipts holds its signer (immutable) and a Store reference.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/domain.h"
#include "core/status.h"
#include "store/store.h"

namespace sened::exchange {

// Event names of receipts (a contract: file names and the JSON use them).
inline constexpr std::string_view kReceiptAccepted = "accepted";
inline constexpr std::string_view kReceiptDelivered = "delivered";
inline constexpr std::string_view kReceiptRegistered = "registered";
inline constexpr std::string_view kReceiptRejected = "rejected";

// The receipt event a journal entry kind gives, or nullopt for none.
std::optional<std::string_view> receipt_event(std::string_view entry_kind);

// The receipt's JSON text for `entry` of `doc` (entry must give an event).
// `hub` names the hub (its journal origin).
std::string receipt_json(const Document& doc, const JournalEntry& entry, const std::string& hub);

// The key, certificate and chain the hub signs receipts with.
struct ReceiptSigner {
  std::string key_pem;
  std::string cert_pem;
  std::string chain_pem;  // receipt certificate then the hub CA: hub-chain.pem
  std::string hub;        // HubConfig::journal_origin
};

// Makes receipt_key / receipt_cert, issued by the hub CA, unless both exist
// (a pair where one is missing is replaced). Returns true when it made them.
// kNotFound without the hub CA key; kUnavailable when a file cannot be written.
Result<bool> ensure_receipt_key(const HubConfig& config);

// Reads the receipt key, certificate and hub CA of `config`. kNotFound if one
// is missing.
Result<ReceiptSigner> load_receipt_signer(const HubConfig& config);

struct Receipt {
  std::string event;        // accepted, delivered, registered, rejected
  std::string participant;  // whose event
  int64_t journal_seq = 0;
  std::string der;  // CMS signed data
};

class Receipts {
 public:
  // `store` must outlive this object.
  Receipts(Store& store, ReceiptSigner signer);

  // Every receipt of `doc` so far, in journal order, each signed on first
  // request and kept. Errors from the store or the signer pass through.
  Result<std::vector<Receipt>> for_document(const Document& doc);

  const std::string& chain_pem() const { return signer_.chain_pem; }

 private:
  Result<std::string> receipt_of(const Document& doc, const JournalEntry& entry,
                                 const std::string& participant);

  Store& store_;
  ReceiptSigner signer_;
};

}  // namespace sened::exchange
