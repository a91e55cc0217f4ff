// See store_rules.h.
#include "store/store_rules.h"

#include <set>
#include <tuple>
#include <utility>

#include "crypto/digest.h"
#include "journal/chain.h"

namespace sened::store_rules {
namespace {

void append_list(std::string& out, const std::vector<std::string>& items) {
  journal::append_u64(out, items.size());
  for (const auto& item : items) journal::append_length_prefixed(out, item);
}

// Where a status stands on the main line queued -> delivered -> registered
// -> assigned -> executed; the side exits (rejected, recalled, expired) are
// final and handled apart.
int rank(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kQueued:
      return 0;
    case DeliveryStatus::kDelivered:
      return 1;
    case DeliveryStatus::kRegistered:
      return 2;
    case DeliveryStatus::kAssigned:
      return 3;
    case DeliveryStatus::kExecuted:
      return 4;
    default:
      return -1;
  }
}

}  // namespace

// The idempotency digest: every metadata field and each file's name, size and
// sha256, in a length-prefixed encoding (docs/storage.md).
std::string meta_digest(const NewDocument& doc) {
  const DocumentMeta& m = doc.meta;
  std::string out;
  for (std::string_view field :
       {std::string_view("sened-document-meta-v1"), std::string_view(m.sender_ref),
        std::string_view(m.kind), std::string_view(m.subject), std::string_view(m.urgency),
        std::string_view(m.reg_number), std::string_view(m.reg_date)}) {
    journal::append_length_prefixed(out, field);
  }
  append_list(out, m.to);
  append_list(out, m.cc);
  journal::append_length_prefixed(out, m.in_reply_to ? "1" : "0");
  journal::append_length_prefixed(out, m.in_reply_to.value_or(""));
  journal::append_length_prefixed(out, m.due_date);
  journal::append_u64(out, doc.files.size());
  for (const auto& f : doc.files) {
    journal::append_length_prefixed(out, f.info.name);
    journal::append_length_prefixed(out, std::to_string(f.info.size));
    journal::append_length_prefixed(out, f.info.sha256);
  }
  return crypto::sha256_hex(out);
}

// To then cc, each participant once, in the order first named.
std::vector<Recipient> recipients_of(const DocumentMeta& meta) {
  std::vector<Recipient> out;
  std::set<std::string> seen;
  for (const auto& id : meta.to) {
    if (seen.insert(id).second) out.push_back({id, "to"});
  }
  for (const auto& id : meta.cc) {
    if (seen.insert(id).second) out.push_back({id, "cc"});
  }
  return out;
}

// A file's signature and encryption flag are covered only when it has them,
// so entries written before they existed keep their digests.
std::string submitted_digest(const std::string& meta_digest, const std::vector<Recipient>& to,
                             const std::vector<FileInfo>& files) {
  std::vector<std::pair<std::string, std::string>> fields{{"meta_digest", meta_digest}};
  for (const auto& r : to) fields.emplace_back(r.role, r.id);
  for (size_t i = 0; i < files.size(); ++i) {
    const FileInfo& f = files[i];
    std::string file = "file." + std::to_string(i) + ".";
    if (f.encrypted) fields.emplace_back(file + "encrypted", "true");
    if (f.signature_status.empty()) continue;
    fields.emplace_back(file + "signature_sha256", f.signature_sha256);
    fields.emplace_back(file + "signature_status", f.signature_status);
    fields.emplace_back(file + "signer", f.signer);
  }
  return journal::content_digest(fields);
}

std::vector<FileInfo> infos_of(const std::vector<StagedFile>& files) {
  std::vector<FileInfo> out;
  for (const auto& f : files) out.push_back(f.info);
  return out;
}

// The fields added with the later lifecycle steps are covered only when set,
// so entries written before they existed keep their digests.
std::string delivery_digest(const DeliveryUpdate& u, bool overdue) {
  std::vector<std::pair<std::string, std::string>> fields{
      {"status", std::string(to_string(u.status))},
      {"reg_number", u.reg_number},
      {"reg_date", u.reg_date},
      {"reason", u.reason},
      {"at", u.at}};
  if (!u.executor.empty()) fields.emplace_back("executor", u.executor);
  if (!u.reply.empty()) fields.emplace_back("reply", u.reply);
  if (overdue) fields.emplace_back("overdue", "true");
  return journal::content_digest(fields);
}

// The update that leads to `d`'s current state (for digests and repeats).
DeliveryUpdate step_of(const Delivery& d) {
  return {d.status, d.reg_number, d.reg_date, d.reason, d.updated_at, d.executor, d.reply};
}

std::string participant_digest(const Participant& p) {
  return journal::content_digest({{"id", p.id},
                                  {"category", p.category},
                                  {"obligation", p.obligation},
                                  {"deadline", p.deadline},
                                  {"name_az", p.name_az},
                                  {"name_en", p.name_en},
                                  {"name_ru", p.name_ru},
                                  {"status", std::string(to_string(p.status))}});
}

std::string certificate_digest(const Certificate& c) {
  return journal::content_digest({{"serial", c.serial}, {"fingerprint", c.fingerprint}});
}

bool same_participant(const Participant& a, const Participant& b) {
  auto fields = [](const Participant& p) {
    return std::tie(p.id, p.category, p.obligation, p.deadline, p.name_az, p.name_en, p.name_ru,
                    p.status);
  };
  return fields(a) == fields(b);
}

std::string row_name(std::string_view table, std::string_view key) {
  return std::string(table) + " row (" + std::string(key) + ")";
}

std::string row_name(std::string_view table, std::string_view key1, std::string_view key2) {
  return row_name(table, std::string(key1) + ", " + std::string(key2));
}

// The fields a certificate entry's content digest covers.
Certificate certificate_key(std::string serial, std::string participant, std::string fingerprint) {
  Certificate c;
  c.serial = std::move(serial);
  c.participant = std::move(participant);
  c.fingerprint = std::move(fingerprint);
  return c;
}

std::string entry_name(int64_t seq) { return "journal entry " + std::to_string(seq); }

bool is_final(DeliveryStatus s) {
  return s == DeliveryStatus::kRejected || s == DeliveryStatus::kExecuted ||
         s == DeliveryStatus::kRecalled || s == DeliveryStatus::kExpired;
}

bool is_legal(DeliveryStatus from, DeliveryStatus to) {
  if (is_final(from)) return false;
  switch (to) {
    case DeliveryStatus::kRejected:
      return from == DeliveryStatus::kQueued || from == DeliveryStatus::kDelivered;
    case DeliveryStatus::kRecalled:
    case DeliveryStatus::kExpired:
      return from == DeliveryStatus::kQueued;
    case DeliveryStatus::kAssigned:
      return rank(from) < rank(to) || from == DeliveryStatus::kAssigned;
    default:
      return rank(to) > rank(from);
  }
}

std::string_view journal_kind(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kDelivered:
      return journal::kDeliveryDelivered;
    case DeliveryStatus::kRegistered:
      return journal::kDeliveryRegistered;
    case DeliveryStatus::kRejected:
      return journal::kDeliveryRejected;
    case DeliveryStatus::kAssigned:
      return journal::kDeliveryAssigned;
    case DeliveryStatus::kExecuted:
      return journal::kDeliveryExecuted;
    case DeliveryStatus::kRecalled:
      return journal::kDeliveryRecalled;
    default:
      return journal::kDeliveryExpired;
  }
}

std::string state_of(const Delivery& d) {
  std::string out = "delivery to " + d.recipient + " is " + std::string(to_string(d.status));
  if (d.status == DeliveryStatus::kAssigned) out += " (executor " + d.executor + ")";
  return out;
}

bool is_delivery_kind(std::string_view kind) {
  return kind == journal::kDeliveryDelivered || kind == journal::kDeliveryRegistered ||
         kind == journal::kDeliveryRejected || kind == journal::kDeliveryAssigned ||
         kind == journal::kDeliveryExecuted || kind == journal::kDeliveryRecalled ||
         kind == journal::kDeliveryExpired || kind == journal::kDeliveryOverdue;
}

bool is_participant_kind(std::string_view kind) {
  return kind == journal::kParticipantAdded || kind == journal::kParticipantUpdated ||
         kind == journal::kParticipantStatus;
}

bool is_certificate_kind(std::string_view kind) {
  return kind == journal::kCertificateIssued || kind == journal::kCertificateRevoked;
}

// True if the fields other than status match `digest`, whatever the status
// was when that entry was written.
bool matches_but_status(Participant p, const std::string& digest) {
  for (auto s :
       {ParticipantStatus::kEnrolled, ParticipantStatus::kTesting, ParticipantStatus::kActive,
        ParticipantStatus::kSuspended, ParticipantStatus::kRetired}) {
    p.status = s;
    if (participant_digest(p) == digest) return true;
  }
  return false;
}

}  // namespace sened::store_rules
