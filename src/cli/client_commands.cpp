// The client side of `sened`: send, inbox, outbox, fetch, ack, register,
// reject, status, history, participants. Each talks to the hub's API with
// the participant's certificate.
#include <stdlib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/common.h"
#include "client/hub_client.h"
#include "core/ids.h"
#include "core/validate.h"
#include "crypto/digest.h"
#include "crypto/envelope.h"
#include "gateway/decrypt.h"

namespace sened::cli {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

std::string field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? str(*v) : std::string();
}

// Runs one API call and hands the parsed JSON answer to `use`.
template <typename Use>
void call(const Connection& c, const std::string& method, const std::string& target,
          const std::string& body, Use use) {
  auto options = resolve(c);
  if (!options.ok()) return report(options.status());
  client::HubClient hub(*options);
  auto r = hub.request(method, target, body);
  if (!r.ok()) return report(r.status());
  Status st = answer_status(*r);
  if (!st.ok()) return report(st);
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return report(internal_error("the hub's answer is not JSON"));
  if (c.json) {
    std::cout << r->body;
    if (!r->body.empty() && r->body.back() != '\n') std::cout << "\n";
    return;
  }
  use(v.as_object());
}

std::vector<std::string> split_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::stringstream ss(item);
    std::string part;
    while (std::getline(ss, part, ',')) {
      if (!part.empty()) out.push_back(part);
    }
  }
  return out;
}

// ---- send -----------------------------------------------------------------

struct SendFlags {
  Connection conn;
  std::vector<std::string> to, cc, files, signatures;
  std::string subject, kind = "letter", urgency = "normal", ref, reg_number, reg_date;
  std::string in_reply_to, due;
  bool encrypt = false;
};

struct LocalFile {
  std::string path, name, sha256;
  uint64_t size = 0;
  std::string signature;         // path of its detached signature, or empty
  std::string signature_name;    // that signature's own file name
  std::string signature_sha256;  // of the signature as given (before any encryption)
  bool encrypted = false;
};

// Pairs each --signature with its file: NAME.p7s signs the file NAME; a
// single signature named otherwise signs the main file.
Status attach_signatures(const std::vector<std::string>& signatures,
                         std::vector<LocalFile>& files) {
  for (const auto& sig : signatures) {
    std::error_code ec;
    if (!fs::is_regular_file(sig, ec)) return not_found(sig + ": not a readable file");
    std::string name = fs::path(sig).filename().string();
    LocalFile* target = nullptr;
    for (auto& f : files) {
      if (f.name + ".p7s" == name) target = &f;
    }
    if (target == nullptr && signatures.size() == 1) target = &files[0];
    if (target == nullptr) {
      return invalid_argument("--signature " + sig + ": name it FILE.p7s after the file it signs");
    }
    if (!target->signature.empty()) {
      return invalid_argument(target->name + " has two signatures");
    }
    auto digest = crypto::sha256_file_hex(sig);
    if (!digest.ok()) return digest.status();
    target->signature = sig;
    target->signature_name = name;
    target->signature_sha256 = *digest;
  }
  return Status();
}

Result<std::vector<LocalFile>> describe_files(const std::vector<std::string>& paths) {
  std::vector<LocalFile> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return not_found(p + ": not a readable file");
    LocalFile f;
    f.path = p;
    f.name = fs::path(p).filename().string();
    f.size = fs::file_size(p, ec);
    auto digest = crypto::sha256_file_hex(p);
    if (!digest.ok()) return digest.status();
    f.sha256 = *digest;
    out.push_back(std::move(f));
  }
  return out;
}

// A sender_ref made from everything that defines the document, signatures
// included, so that running the same command again finds the first
// document instead of sending a second one, while a new signature makes a
// new document. A file without a signature adds what it always did.
std::string derived_ref(const SendFlags& f, const std::vector<LocalFile>& files) {
  crypto::Sha256 h;
  auto add = [&](const std::string& s) {
    h.update(std::to_string(s.size()) + ":");
    h.update(s);
  };
  for (const auto& s : split_list(f.to)) add("to=" + s);
  for (const auto& s : split_list(f.cc)) add("cc=" + s);
  for (const auto* s :
       {&f.subject, &f.kind, &f.urgency, &f.reg_number, &f.reg_date, &f.in_reply_to, &f.due}) {
    add(*s);
  }
  for (const auto& file : files) {
    add(file.name + "/" + file.sha256);
    if (!file.signature.empty()) add("signature=" + file.signature_sha256);
  }
  if (f.encrypt) add("encrypted");
  return "cli-" + crypto::to_hex(h.finish()).substr(0, 32);
}

// Encrypted copies of a document's files in a private temporary folder,
// removed when the object dies.
struct EncryptedFiles {
  std::string dir;
  std::vector<LocalFile> files;
  EncryptedFiles() = default;
  EncryptedFiles(EncryptedFiles&& o) noexcept : dir(std::move(o.dir)), files(std::move(o.files)) {
    o.dir.clear();
  }
  EncryptedFiles(const EncryptedFiles&) = delete;
  ~EncryptedFiles() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

// The PEMs of every valid certificate of `participant`, from the hub.
Result<std::vector<std::string>> certificates_of(client::HubClient& hub,
                                                 const std::string& participant) {
  if (!is_valid_participant_id(participant)) {
    return invalid_argument("not a participant id: " + participant);
  }
  auto r = hub.request("GET", "/v1/participants/" + participant + "/certificates");
  if (!r.ok()) return r.status();
  SENED_RETURN_IF_ERROR(answer_status(*r).with_context(participant));
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  const json::value* list =
      !ec && v.is_object() ? v.as_object().if_contains("certificates") : nullptr;
  if (list == nullptr || !list->is_array()) return internal_error("the hub's answer is not JSON");
  std::vector<std::string> pems;
  for (const auto& c : list->as_array()) {
    if (c.is_object()) pems.push_back(field(c.as_object(), "pem"));
  }
  if (pems.empty()) {
    return conflict(participant + " has no valid certificate to encrypt to");
  }
  return pems;
}

// Encrypts each file, and its detached signature, to every recipient's
// certificates and the sender's own (so the sender can read its outbox).
// A signature sent plain would show the hub the plaintext's digest in its
// messageDigest attribute, and the signer. Sizes and digests become the
// ciphertext's: that is what the hub receives and checks.
Result<EncryptedFiles> encrypt_files(const client::ClientOptions& options,
                                     const std::vector<std::string>& to,
                                     const std::vector<std::string>& cc,
                                     const std::vector<LocalFile>& plain) {
  auto own = read_text_file(options.cert_file);
  if (!own.ok()) return own.status().with_context("your certificate");
  std::vector<std::string> pems{*own};
  client::HubClient hub(options);
  std::vector<std::string> recipients = to;
  recipients.insert(recipients.end(), cc.begin(), cc.end());
  for (const auto& participant : recipients) {
    auto certs = certificates_of(hub, participant);
    if (!certs.ok()) return certs.status();
    pems.insert(pems.end(), certs->begin(), certs->end());
  }

  EncryptedFiles out;
  std::string pattern = (fs::temp_directory_path() / "sened-encrypt-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return unavailable("cannot make a temporary folder");
  out.dir = pattern;
  for (size_t i = 0; i < plain.size(); ++i) {
    LocalFile f = plain[i];
    f.path = out.dir + "/" + std::to_string(i);
    SENED_RETURN_IF_ERROR(crypto::encrypt_file(plain[i].path, f.path, pems).with_context(f.name));
    auto digest = crypto::sha256_file_hex(f.path);
    if (!digest.ok()) return digest.status();
    std::error_code ec;
    f.sha256 = *digest;
    f.size = fs::file_size(f.path, ec);
    f.encrypted = true;
    if (!f.signature.empty()) {
      f.signature = f.path + ".p7s";
      SENED_RETURN_IF_ERROR(crypto::encrypt_file(plain[i].signature, f.signature, pems)
                                .with_context("signature of " + f.name));
    }
    out.files.push_back(std::move(f));
  }
  return out;
}

json::object send_metadata(const SendFlags& f, const std::vector<LocalFile>& files,
                           const std::string& ref) {
  json::object m;
  m["sender_ref"] = ref;
  m["kind"] = f.kind;
  m["subject"] = f.subject;
  m["urgency"] = f.urgency;
  if (!f.reg_number.empty() || !f.reg_date.empty()) {
    m["registration"] = json::object{{"number", f.reg_number}, {"date", f.reg_date}};
  }
  json::array to, cc, list;
  for (const auto& s : split_list(f.to)) to.emplace_back(s);
  for (const auto& s : split_list(f.cc)) cc.emplace_back(s);
  m["recipients"] = json::object{{"to", to}, {"cc", cc}};
  m["in_reply_to"] = f.in_reply_to.empty() ? json::value(nullptr) : json::value(f.in_reply_to);
  if (!f.due.empty()) m["due_date"] = f.due;
  for (const auto& file : files) {
    json::object entry{{"name", file.name}, {"sha256", file.sha256}, {"size", file.size}};
    if (file.encrypted) entry["encrypted"] = true;
    list.push_back(std::move(entry));
  }
  m["files"] = std::move(list);
  return m;
}

void send(const SendFlags& f) {
  auto files = describe_files(f.files);
  if (!files.ok()) return report(files.status());
  if (Status st = attach_signatures(f.signatures, *files); !st.ok()) return report(st);
  // Derived from the plaintext, so a retry keeps the sender_ref. Ciphertext
  // differs on every run, so the hub answers an encrypted retry with a
  // conflict naming the first document, never with a second one.
  std::string ref = f.ref.empty() ? derived_ref(f, *files) : f.ref;
  auto options = resolve(f.conn);
  if (!options.ok()) return report(options.status());
  std::optional<EncryptedFiles> sealed;
  if (f.encrypt) {
    auto made = encrypt_files(*options, split_list(f.to), split_list(f.cc), *files);
    if (!made.ok()) return report(made.status());
    sealed.emplace(std::move(*made));
    *files = sealed->files;
  }

  std::vector<client::FormPart> parts;
  parts.push_back({"metadata", "", "application/json", std::nullopt,
                   json::serialize(send_metadata(f, *files, ref))});
  for (const auto& file : *files) {
    parts.push_back(
        {"file", file.name, file.encrypted ? crypto::kEncryptedMediaType : "", file.path, ""});
    // A file's signature travels in the part right after it.
    if (!file.signature.empty()) {
      parts.push_back({"signature", file.signature_name,
                       file.encrypted ? crypto::kEncryptedMediaType : "application/pkcs7-signature",
                       file.signature, ""});
    }
  }
  client::HubClient hub(*options);
  if (!f.conn.json) std::cout << "sender_ref: " << ref << "\n";
  auto r = hub.post_multipart("/v1/documents", parts);
  if (!r.ok()) return report(r.status());
  Status st = answer_status(*r);
  if (!st.ok()) return report(st);
  if (f.conn.json) {
    std::cout << r->body;
    return;
  }
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return report(internal_error("the hub's answer is not JSON"));
  if (r->status == 200) std::cout << "already sent with this sender_ref; the first document:\n";
  std::cout << field(v.as_object(), "id") << "\n";
}

void add_send(CLI::App& app) {
  auto* cmd = app.add_subcommand("send", "Send a document (the first FILE is the main document)");
  auto f = std::make_shared<SendFlags>();
  add_connection_flags(*cmd, f->conn);
  cmd->add_option("--to", f->to, "Recipients, comma separated participant ids")->required();
  cmd->add_option("--cc", f->cc, "Copy recipients, comma separated");
  cmd->add_option("--subject", f->subject, "Subject")->required();
  cmd->add_option("--kind", f->kind, "letter, order, request, reply, notice or other")
      ->capture_default_str();
  cmd->add_option("--urgency", f->urgency, "normal, urgent or immediate")->capture_default_str();
  cmd->add_option("--ref", f->ref,
                  "Your idempotency key (sender_ref); without it one is derived from the "
                  "recipients, subject, files and signatures, so a retry never sends twice");
  cmd->add_option("--reg-number", f->reg_number, "Your registration number");
  cmd->add_option("--reg-date", f->reg_date, "Your registration date, YYYY-MM-DD");
  cmd->add_option("--in-reply-to", f->in_reply_to, "Id of the document this answers");
  cmd->add_option("--due", f->due, "Due date, YYYY-MM-DD");
  cmd->add_flag("--encrypt", f->encrypt,
                "Encrypt every file end to end (CMS, AES-256-GCM) to all valid certificates "
                "of every recipient and to your own; the hub stores bytes it cannot read");
  cmd->add_option("FILE", f->files, "Files: main document first, then attachments")->required();
  cmd->add_option("--signature", f->signatures,
                  "Detached CMS signature (DER) of a file, named FILE.p7s after the file it "
                  "signs (a single one otherwise signs the main file); repeatable");
  cmd->callback([f] { send(*f); });
}

// ---- listings ---------------------------------------------------------------

std::string deliveries_line(const json::object& doc) {
  std::string out;
  if (auto* d = doc.if_contains("deliveries"); d && d->is_array()) {
    for (const auto& x : d->as_array()) {
      if (!x.is_object()) continue;
      if (!out.empty()) out += " ";
      out += field(x.as_object(), "recipient") + "=" + field(x.as_object(), "status");
    }
  }
  return out;
}

void print_documents(const json::object& page, bool outgoing) {
  auto* docs = page.if_contains("documents");
  if (!docs || !docs->is_array()) return;
  if (docs->as_array().empty()) std::cout << "(no documents)\n";
  for (const auto& v : docs->as_array()) {
    if (!v.is_object()) continue;
    const auto& d = v.as_object();
    std::cout << field(d, "id") << "\t";
    if (outgoing) {
      std::cout << deliveries_line(d);
    } else {
      std::string status;
      if (auto* del = d.if_contains("delivery"); del && del->is_object()) {
        status = field(del->as_object(), "status");
      }
      std::cout << field(d, "sender") << "\t" << status;
    }
    std::cout << "\t" << field(d, "subject") << "\n";
  }
  std::cout << "cursor: " << field(page, "cursor") << "\n";
}

void add_inbox(CLI::App& app) {
  auto* cmd = app.add_subcommand("inbox", "Documents addressed to you, not yet acknowledged");
  auto conn = std::make_shared<Connection>();
  auto all = std::make_shared<bool>(false);
  auto after = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_flag("--all", *all, "Also those already acknowledged");
  cmd->add_option("--after", *after, "Continue after this cursor");
  cmd->callback([conn, all, after] {
    std::string target = "/v1/inbox?all=" + std::string(*all ? "true" : "false");
    if (!after->empty()) target += "&after=" + *after;
    call(*conn, "GET", target, "", [](const json::object& o) { print_documents(o, false); });
  });
}

void add_outbox(CLI::App& app) {
  auto* cmd = app.add_subcommand("outbox", "Documents you sent, with each recipient's status");
  auto conn = std::make_shared<Connection>();
  auto after = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("--after", *after, "Continue after this cursor");
  cmd->callback([conn, after] {
    std::string target = "/v1/outbox";
    if (!after->empty()) target += "?after=" + *after;
    call(*conn, "GET", target, "", [](const json::object& o) { print_documents(o, true); });
  });
}

void add_participants(CLI::App& app) {
  auto* cmd = app.add_subcommand("participants", "The directory of participants");
  auto conn = std::make_shared<Connection>();
  add_connection_flags(*cmd, *conn);
  cmd->callback([conn] {
    call(*conn, "GET", "/v1/participants", "", [](const json::object& o) {
      if (auto* a = o.if_contains("participants"); a && a->is_array()) {
        for (const auto& p : a->as_array()) {
          if (!p.is_object()) continue;
          const auto& x = p.as_object();
          std::cout << field(x, "id") << "\t" << field(x, "status") << "\t" << field(x, "name_az")
                    << "\t" << field(x, "name_en") << "\n";
        }
      }
    });
  });
}

// ---- fetch --------------------------------------------------------------------

// Claims `name` in the fetch folder for file `i`; a second claim is a conflict.
Status claim_name(std::vector<std::string>& names, const std::string& name, size_t i) {
  if (std::find(names.begin(), names.end(), name) != names.end()) {
    return conflict("file " + std::to_string(i) + ": its signature's name '" + name +
                    "' is used twice");
  }
  names.push_back(name);
  return Status();
}

// Writes file `i`'s detached signature, if it has one, beside it as
// NAME.p7s; returns that path ("" when the file has none). The signature of
// an encrypted file arrives encrypted and is opened with the caller's key
// (gateway/decrypt.h); one that cannot be opened is kept as NAME.p7s.p7m,
// with the reason in `file`, and the empty path is returned.
Result<std::string> fetch_signature(client::HubClient& hub, const client::ClientOptions& me,
                                    const std::string& id, size_t i, json::object& file,
                                    const std::string& path, std::vector<std::string>& names) {
  if (file.if_contains("signature") == nullptr) return std::string();
  std::string sig_path = path + ".p7s";
  SENED_RETURN_IF_ERROR(claim_name(names, fs::path(sig_path).filename().string(), i));
  bool encrypted = gateway::is_encrypted_entry(file);
  std::string received = encrypted ? fs::path(path).parent_path().string() + "/.sened-encrypted-" +
                                         std::to_string(i) + ".p7s"
                                   : sig_path;
  auto d =
      hub.download("/v1/documents/" + id + "/files/" + std::to_string(i) + "/signature", received);
  if (!d.ok()) return d.status();
  SENED_RETURN_IF_ERROR(answer_status(*d));
  if (!encrypted) return sig_path;

  std::error_code ec;
  Status st = gateway::open_received_signature(received, sig_path, me.cert_file, me.key_file, file);
  if (!st.ok()) fs::remove(received, ec);
  SENED_RETURN_IF_ERROR(st.with_context(fs::path(sig_path).filename().string()));
  if (!file.contains("signature_error")) return sig_path;
  Status kept = claim_name(names, fs::path(sig_path).filename().string() + ".p7m", i);
  if (!kept.ok()) fs::remove(received, ec);
  SENED_RETURN_IF_ERROR(kept);
  fs::rename(received, sig_path + ".p7m", ec);
  if (ec) return unavailable("cannot keep " + sig_path + ".p7m: " + ec.message());
  return std::string();
}

// After decrypting, the sender's signature is checked here (the hub could
// not): the outcome goes into the envelope's file entry and the output.
Status check_decrypted_signature(const std::string& path, const std::string& signature,
                                 const crypto::TrustMaterial& trust, json::object& file,
                                 json::object& line, bool quiet) {
  auto check = gateway::verify_decrypted_signature(path, signature, trust, file);
  if (!check.ok()) return check.status();
  line["signature_status"] = file["signature_status"];
  line["signer"] = check->signer;
  if (!quiet) {
    std::cout << "signature " << crypto::to_string(check->status)
              << (check->signer.empty() ? "" : " signer=\"" + check->signer + "\"")
              << (check->detail.empty() ? "" : " (" + check->detail + ")") << "\n";
  }
  return Status();
}

Status fetch(const Connection& conn, const std::string& id, const std::string& out,
             const std::string& trust_file) {
  if (!is_uuid(id)) return invalid_argument("not a document id: " + id);
  auto options = resolve(conn);
  if (!options.ok()) return options.status();
  client::HubClient hub(*options);
  auto r = hub.request("GET", "/v1/documents/" + id);
  if (!r.ok()) return r.status();
  SENED_RETURN_IF_ERROR(answer_status(*r));
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return internal_error("the hub's answer is not JSON");
  auto* files = v.as_object().if_contains("files");
  if (!files || !files->is_array()) return internal_error("the hub's answer has no files");
  bool any_decrypted = false;

  std::error_code fec;
  fs::create_directories(out, fec);
  if (fec) return unavailable("cannot create " + out + ": " + fec.message());
  std::vector<std::string> names;
  json::array fetched;
  for (size_t i = 0; i < files->as_array().size(); ++i) {
    auto& f = files->as_array()[i];
    if (!f.is_object()) return internal_error("malformed file entry");
    std::string name = field(f.as_object(), "name");
    // The name comes from another participant: it must not leave `out`.
    SENED_RETURN_IF_ERROR(validate_file_name(name).with_context("file " + std::to_string(i)));
    if (name == "envelope.json" || std::find(names.begin(), names.end(), name) != names.end()) {
      return conflict("file " + std::to_string(i) + ": name '" + name + "' is used twice");
    }
    names.push_back(name);
    std::string path = out + "/" + name;
    // An encrypted file lands under a hidden name first and is opened with
    // the caller's own key; only the plaintext appears under its name.
    bool encrypted = gateway::is_encrypted_entry(f.as_object());
    std::string received = encrypted ? out + "/.sened-encrypted-" + std::to_string(i) : path;
    auto d = hub.download("/v1/documents/" + id + "/files/" + std::to_string(i), received);
    if (!d.ok()) return d.status();
    SENED_RETURN_IF_ERROR(answer_status(*d));
    auto digest = crypto::sha256_file_hex(received);
    if (!digest.ok()) return digest.status();
    if (*digest != field(f.as_object(), "sha256")) {
      fs::remove(received, fec);
      return internal_error(name + ": SHA-256 of the received bytes does not match");
    }
    json::object line{{"name", name}, {"path", path}, {"sha256", *digest}};
    if (encrypted) {
      Status st = gateway::decrypt_received_file(received, path, options->cert_file,
                                                 options->key_file, f.as_object());
      if (!st.ok()) fs::remove(received, fec);
      SENED_RETURN_IF_ERROR(st.with_context(name));
      line["decrypted"] = true;
      line["plaintext_sha256"] = f.as_object()["plaintext_sha256"];
      any_decrypted = true;
    }
    if (!conn.json) {
      std::cout << "fetched " << name << " sha256=" << *digest;
      if (encrypted) std::cout << " decrypted plaintext_sha256=" << field(line, "plaintext_sha256");
      std::cout << "\n";
    }
    auto signature = fetch_signature(hub, *options, id, i, f.as_object(), path, names);
    if (!signature.ok()) return signature.status();
    if (!signature->empty()) {
      if (!conn.json) {
        std::cout << "fetched " << name << ".p7s (signature"
                  << (f.as_object().contains("signature_decrypted") ? ", decrypted" : "") << ")\n";
      }
      line["signature"] = *signature;
    }
    if (f.as_object().contains("signature_error")) {
      line["signature_status"] = f.as_object()["signature_status"];
      line["signature_error"] = f.as_object()["signature_error"];
      if (!conn.json) {
        std::cout << "signature invalid (" << field(f.as_object(), "signature_error")
                  << "); kept encrypted as " << name << ".p7s.p7m\n";
      }
    }
    if (!signature->empty() && encrypted) {
      auto trust = gateway::recipient_trust(options->ca_file, trust_file);
      if (!trust.ok()) return trust.status();
      SENED_RETURN_IF_ERROR(
          check_decrypted_signature(path, *signature, *trust, f.as_object(), line, conn.json));
    }
    fetched.push_back(std::move(line));
  }
  std::string envelope = out + "/envelope.json";
  // The envelope keeps the hub's words, plus what decrypting found.
  SENED_RETURN_IF_ERROR(
      write_file_atomic(envelope, any_decrypted ? json::serialize(v) + "\n" : r->body));
  if (conn.json) {
    std::cout << json::serialize(json::object{
                     {"document", id}, {"files", std::move(fetched)}, {"envelope", envelope}})
              << "\n";
  } else {
    std::cout << "wrote " << envelope << "\n";
  }
  return Status();
}

void add_fetch(CLI::App& app) {
  auto* cmd = app.add_subcommand("fetch", "Download a document's files and its envelope.json");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id")->required();
  cmd->add_option("--out", *out, "Folder to write into")->required();
  auto trust = std::make_shared<std::string>();
  cmd->add_option("--trust", *trust,
                  "PEM CA certificates and CRLs, besides --ca, that senders' signatures of "
                  "encrypted files are checked against after decrypting");
  cmd->callback([conn, id, out, trust] {
    Status st = fetch(*conn, *id, *out, *trust);
    if (!st.ok()) report(st);
  });
}

// ---- status changes ---------------------------------------------------------

void print_delivery(const json::object& o) {
  std::cout << field(o, "document") << "\t" << field(o, "recipient") << "\t" << field(o, "status")
            << (o.contains("changed") && o.at("changed").is_bool() && !o.at("changed").as_bool()
                    ? "\t(unchanged)"
                    : "")
            << "\n";
}

void add_ack(CLI::App& app) {
  auto* cmd = app.add_subcommand("ack", "Acknowledge receipt (delivered)");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id")->required();
  cmd->callback(
      [conn, id] { call(*conn, "POST", "/v1/documents/" + *id + "/ack", "", print_delivery); });
}

void add_register(CLI::App& app) {
  auto* cmd = app.add_subcommand("register", "Register a received document under your number");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  auto number = std::make_shared<std::string>();
  auto date = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id")->required();
  cmd->add_option("--number", *number, "Your registration number")->required();
  cmd->add_option("--date", *date, "Registration date, YYYY-MM-DD (default today)");
  cmd->callback([conn, id, number, date] {
    json::object body{{"status", "registered"}, {"number", *number}};
    if (!date->empty()) body["date"] = *date;
    call(*conn, "POST", "/v1/documents/" + *id + "/status", json::serialize(body), print_delivery);
  });
}

void add_reject(CLI::App& app) {
  auto* cmd = app.add_subcommand("reject", "Reject a received document, with a reason");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id")->required();
  cmd->add_option("--reason", *reason, "Why")->required();
  cmd->callback([conn, id, reason] {
    json::object body{{"status", "rejected"}, {"reason", *reason}};
    call(*conn, "POST", "/v1/documents/" + *id + "/status", json::serialize(body), print_delivery);
  });
}

void add_assign(CLI::App& app) {
  auto* cmd = app.add_subcommand("assign", "Name the executor of a registered document");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  auto executor = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id")->required();
  cmd->add_option("--executor", *executor, "Who carries it out (a person or unit)")->required();
  cmd->callback([conn, id, executor] {
    json::object body{{"status", "assigned"}, {"executor", *executor}};
    call(*conn, "POST", "/v1/documents/" + *id + "/status", json::serialize(body), print_delivery);
  });
}

void add_execute(CLI::App& app) {
  auto* cmd = app.add_subcommand("execute", "Mark a received document executed");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  auto reply = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id")->required();
  cmd->add_option("--reply", *reply, "The reply document you sent (its in_reply_to is ID)");
  cmd->callback([conn, id, reply] {
    json::object body{{"status", "executed"}};
    if (!reply->empty()) body["reply"] = *reply;
    call(*conn, "POST", "/v1/documents/" + *id + "/status", json::serialize(body), print_delivery);
  });
}

void add_recall(CLI::App& app) {
  auto* cmd = app.add_subcommand("recall", "Withdraw a document you sent, not yet delivered");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  auto recipient = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id")->required();
  cmd->add_option("--recipient", *recipient, "Only this recipient's delivery (default: all)");
  cmd->add_option("--reason", *reason, "Why");
  cmd->callback([conn, id, recipient, reason] {
    json::object body;
    if (!recipient->empty()) body["recipient"] = *recipient;
    if (!reason->empty()) body["reason"] = *reason;
    call(*conn, "POST", "/v1/documents/" + *id + "/recall", json::serialize(body),
         [](const json::object& o) {
           if (auto* a = o.if_contains("deliveries"); a && a->is_array()) {
             for (const auto& x : a->as_array()) {
               if (!x.is_object()) continue;
               std::cout << field(o, "document") << "\t" << field(x.as_object(), "recipient")
                         << "\t" << field(x.as_object(), "status") << "\n";
             }
           }
         });
  });
}

void add_webhook(CLI::App& app) {
  auto* cmd = app.add_subcommand("webhook", "Your webhook: where the hub pushes your events");
  cmd->require_subcommand(1);
  auto conn = std::make_shared<Connection>();
  auto url = std::make_shared<std::string>();
  auto* set =
      cmd->add_subcommand("set", "Register (or replace) the https URL; prints the secret once");
  add_connection_flags(*set, *conn);
  set->add_option("URL", *url, "https://… endpoint that accepts POSTed events")->required();
  set->callback([conn, url] {
    json::object body{{"url", *url}};
    call(*conn, "PUT", "/v1/webhook", json::serialize(body), [](const json::object& o) {
      std::cout << "url: " << field(o, "url") << "\nsecret: " << field(o, "secret")
                << "\n(keep the secret: it is shown only now; each push carries "
                   "Sened-Signature: sha256=HMAC-SHA256(secret, body))\n";
    });
  });
  auto* show = cmd->add_subcommand("show", "The registered webhook and how pushing goes");
  add_connection_flags(*show, *conn);
  show->callback([conn] {
    call(*conn, "GET", "/v1/webhook", "", [](const json::object& o) {
      for (const auto& [k, v] : o) {
        std::cout << std::string(k) << ": " << (v.is_string() ? str(v) : json::serialize(v))
                  << "\n";
      }
    });
  });
  auto* remove = cmd->add_subcommand("delete", "Stop pushing");
  add_connection_flags(*remove, *conn);
  remove->callback([conn] {
    call(*conn, "DELETE", "/v1/webhook", "", [](const json::object&) { std::cout << "deleted\n"; });
  });
}

void add_status(CLI::App& app) {
  auto* cmd = app.add_subcommand("status", "A document and each recipient's status");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id")->required();
  cmd->callback([conn, id] {
    call(*conn, "GET", "/v1/documents/" + *id, "", [](const json::object& d) {
      std::cout << "document " << field(d, "id") << " from " << field(d, "sender") << ": "
                << field(d, "subject") << "\n";
      if (auto* a = d.if_contains("deliveries"); a && a->is_array()) {
        for (const auto& x : a->as_array()) {
          if (!x.is_object()) continue;
          const auto& o = x.as_object();
          std::cout << "  " << field(o, "recipient") << " (" << field(o, "role")
                    << "): " << field(o, "status");
          if (auto* reg = o.if_contains("registration"); reg && reg->is_object()) {
            std::cout << " number " << field(reg->as_object(), "number") << " of "
                      << field(reg->as_object(), "date");
          }
          if (o.contains("reason")) std::cout << " reason: " << field(o, "reason");
          if (o.contains("executor")) std::cout << " executor: " << field(o, "executor");
          if (o.contains("reply")) std::cout << " reply: " << field(o, "reply");
          if (auto* late = o.if_contains("overdue"); late && late->is_bool() && late->as_bool()) {
            std::cout << " OVERDUE";
          }
          std::cout << " at " << field(o, "updated_at") << "\n";
        }
      }
    });
  });
}

void add_history(CLI::App& app) {
  auto* cmd = app.add_subcommand("history", "Every movement of a document, from the journal");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id")->required();
  cmd->callback([conn, id] {
    call(*conn, "GET", "/v1/documents/" + *id + "/history", "", [](const json::object& o) {
      if (auto* a = o.if_contains("history"); a && a->is_array()) {
        for (const auto& x : a->as_array()) {
          if (!x.is_object()) continue;
          const auto& e = x.as_object();
          std::cout << "#" << (e.contains("seq") ? json::serialize(e.at("seq")) : "") << "\t"
                    << field(e, "time") << "\t" << field(e, "kind") << "\tby " << field(e, "actor");
          if (!field(e, "participant").empty()) std::cout << "\tfor " << field(e, "participant");
          std::cout << "\n";
        }
      }
    });
  });
}

}  // namespace

void add_client_commands(CLI::App& app) {
  add_send(app);
  add_inbox(app);
  add_outbox(app);
  add_participants(app);
  add_fetch(app);
  add_ack(app);
  add_register(app);
  add_reject(app);
  add_assign(app);
  add_execute(app);
  add_recall(app);
  add_webhook(app);
  add_status(app);
  add_history(app);
}

}  // namespace sened::cli
