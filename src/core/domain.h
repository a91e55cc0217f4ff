// Domain types of the exchange: participants, certificates, documents, files,
// deliveries and journal entries. Plain values with no behaviour beyond
// conversions to and from their wire names; validation lives in validate.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sened {

// Lifecycle of a participant; only `kActive` ones send and receive.
enum class ParticipantStatus { kEnrolled, kTesting, kActive, kSuspended, kRetired };
std::string_view to_string(ParticipantStatus s);
std::optional<ParticipantStatus> parse_participant_status(std::string_view s);

struct Participant {
  std::string id;          // stable short code, e.g. "az.finance"
  std::string category;    // presidential-body, central-executive, ...
  std::string obligation;  // ordered, recommended, after-launch
  std::string deadline;    // ISO date or empty
  std::string name_az;
  std::string name_en;
  std::string name_ru;  // may be empty
  ParticipantStatus status = ParticipantStatus::kEnrolled;
};

// A client certificate registered to a participant. The participant is
// identified by `fingerprint` (lowercase hex SHA-256 of the DER), never by the
// names inside the certificate.
struct Certificate {
  std::string serial;       // uppercase hex, as `openssl x509 -serial` prints it
  std::string participant;  // participant id
  std::string fingerprint;  // lowercase hex SHA-256 of the DER encoding
  std::string subject;
  std::string not_before;  // RFC 3339 UTC
  std::string not_after;   // RFC 3339 UTC
  bool revoked = false;
  std::string revoked_at;  // RFC 3339 UTC or empty
  std::string pem;
};

// A file as the sender declared it in the metadata (all but name optional).
struct DeclaredFile {
  std::string name;
  std::optional<std::string> sha256;  // lowercase hex
  std::optional<uint64_t> size;
  // The id of a finished resumable upload (tus, /v1/uploads) that carries
  // this file's bytes instead of a multipart part.
  std::optional<std::string> upload;
  // The sender encrypted the bytes (CMS enveloped data): the hub cannot
  // check a signature over them and records it as not_checked.
  bool encrypted = false;
};

// Document metadata as the sender sent it, after validation.
struct DocumentMeta {
  std::string sender_ref;  // sender's idempotency key, unique per sender
  std::string kind;        // letter, order, request, reply, notice, other
  std::string subject;
  std::string urgency;  // normal, urgent, immediate
  std::string reg_number;
  std::string reg_date;  // ISO date or empty
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::optional<std::string> in_reply_to;
  std::string due_date;             // ISO date or empty
  std::vector<DeclaredFile> files;  // may be empty: then nothing is checked
};

// A stored file of a document.
struct FileInfo {
  int index = 0;           // 0 is the main document
  std::string name;        // byte for byte as sent (valid UTF-8)
  std::string media_type;  // from the part's Content-Type
  uint64_t size = 0;
  std::string sha256;      // lowercase hex
  std::string role;        // "main" or "attachment"
  bool encrypted = false;  // as the sender declared (DeclaredFile::encrypted)
  // The file's detached CMS signature, if it came with one (see
  // docs/signatures.md); all empty/zero when it has none.
  std::string signature_status;  // valid, invalid, unknown_signer, expired, revoked, not_checked
  std::string signer;            // the signer certificate's subject (RFC 2253, UTF-8)
  std::string signature_sha256;  // lowercase hex SHA-256 of the signature's bytes
  uint64_t signature_size = 0;
};

struct Document {
  std::string id;      // UUIDv7, time ordered
  int64_t seq = 0;     // hub order (ascending with acceptance)
  std::string sender;  // participant id
  DocumentMeta meta;
  std::vector<FileInfo> files;
  std::string created_at;  // RFC 3339 UTC
};

// Per-recipient state machine: queued -> delivered -> registered | rejected;
// registered -> assigned -> executed (registered -> executed also allowed);
// queued -> recalled (by the sender) | expired (not delivered in time).
// Final: rejected, executed, recalled, expired.
enum class DeliveryStatus {
  kQueued,
  kDelivered,
  kRegistered,
  kRejected,
  kAssigned,
  kExecuted,
  kRecalled,
  kExpired
};
std::string_view to_string(DeliveryStatus s);
std::optional<DeliveryStatus> parse_delivery_status(std::string_view s);

struct Delivery {
  std::string document_id;
  std::string recipient;  // participant id
  std::string role;       // "to" or "cc"
  DeliveryStatus status = DeliveryStatus::kQueued;
  std::string updated_at;  // RFC 3339 UTC of the last transition
  std::string delivered_at;
  std::string reg_number;  // set when registered
  std::string reg_date;
  std::string reason;    // set when rejected or recalled
  std::string executor;  // set when assigned
  std::string reply;     // executed: the reply document's id, or empty
  bool overdue = false;  // the due date passed before executed
};

// One line of the journal. `hash` chains the entry to the one before:
// see journal/chain.h for exactly what it covers.
struct JournalEntry {
  int64_t seq = 0;             // 1, 2, 3, ... with no gap
  std::string time;            // RFC 3339 UTC
  std::string actor;           // participant id, or "operator"
  std::string kind;            // document.submitted, delivery.delivered, ...
  std::string document;        // document id or empty
  std::string recipient;       // participant id or empty
  std::string content_digest;  // lowercase hex SHA-256 of the event's content
  std::string prev_hash;       // lowercase hex; 64 zeros for the first entry
  std::string hash;            // lowercase hex
  // Lowercase hex of the 32 random bytes that salt the entry's public Merkle
  // leaf (see journal/tree.h). Secret: shown only to the document's parties,
  // operators and auditors. Empty where a reader did not load it.
  std::string salt;
};

}  // namespace sened
