// The rules both Store backends share: how a submission, a delivery step, a
// participant and a certificate are digested for the journal, which delivery
// steps are legal, and how audit() names rows and entries. Pure functions:
// the backends differ only in how they read and write rows.
//
// The digests are part of the journal's format: a journal copied from one
// backend to the other (sened admin store copy) must verify on both, so these
// functions change only by adding fields that old entries do not have.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/domain.h"
#include "store/store.h"

namespace sened::store_rules {

// --- digests ---------------------------------------------------------------

// The idempotency digest: every metadata field and each file's name, size and
// sha256, in a length-prefixed encoding (docs/storage.md).
std::string meta_digest(const NewDocument& doc);

struct Recipient {
  std::string id;
  std::string role;  // "to" or "cc"
};

// To then cc, each participant once, in the order first named.
std::vector<Recipient> recipients_of(const DocumentMeta& meta);

// The content digest of a document.submitted entry. A file's signature and
// encryption flag are covered only when it has them, so entries written
// before they existed keep their digests.
std::string submitted_digest(const std::string& meta_digest, const std::vector<Recipient>& to,
                             const std::vector<FileInfo>& files);

std::vector<FileInfo> infos_of(const std::vector<StagedFile>& files);

// The content digest of a delivery entry. The fields added with the later
// lifecycle steps are covered only when set.
std::string delivery_digest(const DeliveryUpdate& u, bool overdue = false);

// The update that leads to `d`'s current state (for digests and repeats).
DeliveryUpdate step_of(const Delivery& d);

std::string participant_digest(const Participant& p);
std::string certificate_digest(const Certificate& c);
bool same_participant(const Participant& a, const Participant& b);

// True if the fields other than status match `digest`, whatever the status
// was when that entry was written.
bool matches_but_status(Participant p, const std::string& digest);

// Everything a new journal entry needs besides its place in the chain.
struct JournalEvent {
  std::string time;
  std::string actor;
  std::string_view kind;
  std::string document;
  std::string recipient;
  std::string content_digest;
};

// --- delivery steps --------------------------------------------------------

// Rejected, executed, recalled and expired end a delivery.
bool is_final(DeliveryStatus s);
// Whether a delivery may go from `from` to `to` (store.h, update_delivery).
bool is_legal(DeliveryStatus from, DeliveryStatus to);
// The journal entry kind that records reaching `s`.
std::string_view journal_kind(DeliveryStatus s);
// "delivery to X is registered", for conflict messages.
std::string state_of(const Delivery& d);

// --- audit -----------------------------------------------------------------

// "documents row (id)", "deliveries row (id, recipient)".
std::string row_name(std::string_view table, std::string_view key);
std::string row_name(std::string_view table, std::string_view key1, std::string_view key2);
// "journal entry 17".
std::string entry_name(int64_t seq);
// The fields a certificate entry's content digest covers.
Certificate certificate_key(std::string serial, std::string participant, std::string fingerprint);

bool is_delivery_kind(std::string_view kind);
bool is_participant_kind(std::string_view kind);
bool is_certificate_kind(std::string_view kind);

}  // namespace sened::store_rules
