#include "core/json.h"

namespace sened {
namespace json = boost::json;

namespace {
json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::value optional_string(const std::string& s) {
  if (s.empty()) return nullptr;
  return json::value(s);
}
}  // namespace

json::object to_json(const Participant& p) {
  json::object o;
  o["id"] = p.id;
  o["category"] = p.category;
  o["obligation"] = p.obligation;
  o["deadline"] = optional_string(p.deadline);
  o["name_az"] = p.name_az;
  o["name_en"] = p.name_en;
  o["name_ru"] = optional_string(p.name_ru);
  o["status"] = to_string(p.status);
  return o;
}

json::object to_json(const Certificate& c) {
  json::object o;
  o["serial"] = c.serial;
  o["participant"] = c.participant;
  o["fingerprint"] = c.fingerprint;
  o["subject"] = c.subject;
  o["not_before"] = c.not_before;
  o["not_after"] = c.not_after;
  o["revoked"] = c.revoked;
  o["revoked_at"] = optional_string(c.revoked_at);
  return o;
}

json::object to_json(const FileInfo& f) {
  json::object o;
  o["index"] = f.index;
  o["name"] = f.name;
  o["media_type"] = f.media_type;
  o["size"] = f.size;
  o["sha256"] = f.sha256;
  o["role"] = f.role;
  // Added with signatures and encryption: present only when they apply.
  if (f.encrypted) o["encrypted"] = true;
  if (!f.signature_status.empty()) {
    o["signature"] = json::object{{"status", f.signature_status},
                                  {"signer", f.signer},
                                  {"size", f.signature_size},
                                  {"sha256", f.signature_sha256}};
  }
  return o;
}

json::object to_json(const Delivery& d) {
  json::object o;
  o["recipient"] = d.recipient;
  o["role"] = d.role;
  o["status"] = to_string(d.status);
  o["updated_at"] = d.updated_at;
  o["delivered_at"] = optional_string(d.delivered_at);
  // Registration stays visible through the later steps.
  if (!d.reg_number.empty()) {
    o["registration"] = json::object{{"number", d.reg_number}, {"date", d.reg_date}};
  }
  if (!d.reason.empty() || d.status == DeliveryStatus::kRejected) o["reason"] = d.reason;
  if (!d.executor.empty()) o["executor"] = d.executor;
  if (!d.reply.empty()) o["reply"] = d.reply;
  o["overdue"] = d.overdue;
  return o;
}

json::object to_json(const JournalEntry& e) {
  json::object o;
  o["seq"] = e.seq;
  o["time"] = e.time;
  o["actor"] = e.actor;
  o["kind"] = e.kind;
  o["document"] = optional_string(e.document);
  o["participant"] = optional_string(e.recipient);
  o["content_digest"] = e.content_digest;
  o["prev_hash"] = e.prev_hash;
  o["hash"] = e.hash;
  return o;
}

json::object metadata_to_json(const DocumentMeta& m) {
  json::object o;
  o["sender_ref"] = m.sender_ref;
  o["kind"] = m.kind;
  o["subject"] = m.subject;
  o["urgency"] = m.urgency;
  if (!m.reg_number.empty() || !m.reg_date.empty()) {
    o["registration"] = json::object{{"number", m.reg_number}, {"date", m.reg_date}};
  } else {
    o["registration"] = nullptr;
  }
  o["recipients"] = json::object{{"to", string_array(m.to)}, {"cc", string_array(m.cc)}};
  o["in_reply_to"] = m.in_reply_to ? json::value(*m.in_reply_to) : json::value(nullptr);
  o["due_date"] = optional_string(m.due_date);
  return o;
}

json::object to_json(const Document& d) {
  json::object o;
  o["id"] = d.id;
  o["sender"] = d.sender;
  o["created_at"] = d.created_at;
  for (auto& [k, v] : metadata_to_json(d.meta)) o[k] = v;
  json::array files;
  for (const auto& f : d.files) files.push_back(to_json(f));
  o["files"] = std::move(files);
  return o;
}

json::object to_json(const Document& d, const std::vector<Delivery>& deliveries) {
  json::object o = to_json(d);
  json::array a;
  for (const auto& del : deliveries) a.push_back(to_json(del));
  o["deliveries"] = std::move(a);
  return o;
}

}  // namespace sened
