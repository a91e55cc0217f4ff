// The journal's hash chain, version 1.
//
// Every journal entry carries `hash`, a SHA-256 over an unambiguous encoding
// of the entry including `prev_hash`, the hash of the entry before it. An
// edited, deleted or reordered entry therefore breaks the chain at the point
// where it happened, and a verifier that reads the entries in order can name
// that point. The exact byte encoding is fixed in docs/journal.md; this
// header holds the constants that the writer (the store) and every reader
// share.
//
// All functions are pure and thread-safe. ChainVerifier is a plain value:
// thread-compatible, one verifier per pass over a journal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/domain.h"

namespace sened::journal {

// prev_hash of the first entry.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
// First field of every hashed entry, so that a v1 entry hash can never be
// mistaken for any other SHA-256 the hub computes.
inline constexpr std::string_view kEntryHashTag = "sened-journal-v1";

// Event kinds written by the store.
inline constexpr std::string_view kDocumentSubmitted = "document.submitted";
inline constexpr std::string_view kDeliveryDelivered = "delivery.delivered";
inline constexpr std::string_view kDeliveryRegistered = "delivery.registered";
inline constexpr std::string_view kDeliveryRejected = "delivery.rejected";
inline constexpr std::string_view kDeliveryAssigned = "delivery.assigned";
inline constexpr std::string_view kDeliveryExecuted = "delivery.executed";
inline constexpr std::string_view kDeliveryRecalled = "delivery.recalled";
inline constexpr std::string_view kDeliveryExpired = "delivery.expired";
inline constexpr std::string_view kDeliveryOverdue = "delivery.overdue";
inline constexpr std::string_view kParticipantAdded = "participant.added";
inline constexpr std::string_view kParticipantUpdated = "participant.updated";
inline constexpr std::string_view kParticipantStatus = "participant.status";
inline constexpr std::string_view kCertificateIssued = "certificate.issued";
inline constexpr std::string_view kCertificateRevoked = "certificate.revoked";

// Appends `bytes` to `out` as an 8-byte big-endian length followed by the
// bytes themselves: the building block of every encoding in this file.
void append_length_prefixed(std::string& out, std::string_view bytes);
// Appends `value` as an 8-byte big-endian unsigned integer (no prefix).
void append_u64(std::string& out, uint64_t value);

// Lowercase hex SHA-256 of the entry's v1 encoding: kEntryHashTag, prev_hash,
// seq (as 8 big-endian bytes), time, actor, kind, document, recipient,
// content_digest, each length-prefixed. `e.hash` itself is not covered.
std::string entry_hash(const JournalEntry& e);

// Lowercase hex SHA-256 over the (key, value) pairs in the given order, each
// key and each value length-prefixed. The journal commits to an event's
// content through this digest without holding the content itself.
std::string content_digest(const std::vector<std::pair<std::string, std::string>>& fields);

struct VerifyReport {
  bool ok = true;
  int64_t entries = 0;        // entries checked, up to and including the first bad one
  int64_t first_bad_seq = 0;  // 0 when ok
  std::string problem;        // empty when ok
  std::string head_hash = std::string(kGenesisHash);  // hash of the last good entry
};

// Checks a journal incrementally, fed its entries in stored order (seq
// ascending). It notices a seq that does not follow the previous one (an
// entry deleted or moved), a prev_hash that is not the previous entry's hash
// (an entry deleted, moved or replaced), and a hash that is not entry_hash()
// of the entry (an entry edited). The first problem found sticks.
class ChainVerifier {
 public:
  // Checks one entry. Ignored once a problem has been found.
  void add(const JournalEntry& e);

  // Ends the pass. `highest_referenced` is the highest journal seq that the
  // store's rows claim to have written (Store::highest_referenced_journal_seq):
  // if it lies beyond the last entry, the journal was cut short.
  VerifyReport finish(int64_t highest_referenced);

 private:
  void fail(int64_t seq, std::string problem);

  VerifyReport report_;
  int64_t last_seq_ = 0;
};

}  // namespace sened::journal
