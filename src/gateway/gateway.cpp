#include "gateway/gateway.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/ids.h"
#include "core/validate.h"
#include "crypto/digest.h"
#include "exchange/signatures.h"
#include "gateway/action.h"
#include "gateway/credentials.h"
#include "gateway/decrypt.h"
#include "gateway/durable.h"
#include "gateway/layout.h"
#include "gateway/package.h"
#include "gateway/uploader.h"

namespace sened::gateway {
namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// Events asked for in one long poll.
constexpr int kEventBatch = 100;
// Largest action file read; real ones are a few hundred bytes.
constexpr size_t kMaxActionBytes = 64 * 1024;
// last_contact is written at most this often (it costs a commit).
constexpr auto kContactWriteInterval = std::chrono::seconds(1);

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("gateway");
    return l ? l : spdlog::default_logger()->clone("gateway");
  }();
  return log;
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool is_real_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_real_file(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool exists_no_follow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Names in a folder, sorted, without hidden ones ('.' first: temporary).
std::vector<std::string> visible_names(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (!n.empty() && n[0] != '.') out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Decimal cursors compare by length, then by digits.
bool cursor_after(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() > b.size();
  return a > b;
}

// The hub's error message from its JSON answer, or the HTTP status.
std::string hub_error(const client::ClientResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (const auto* e = v.as_object().if_contains("error"); e && e->is_object()) {
      return "hub answered " + std::to_string(r.status) + " " + str(e->as_object(), "code") + ": " +
             str(e->as_object(), "message");
    }
  }
  return "hub answered HTTP " + std::to_string(r.status);
}

// Answers worth retrying: the hub is busy or broken for now, or the agency's
// certificate is not (yet) accepted, which an operator can fix.
bool worth_retrying(int status) {
  return status >= 500 || status == 403 || status == 408 || status == 429;
}

}  // namespace

struct Gateway::Impl {
  explicit Impl(GatewayOptions o) : options(std::move(o)) {}

  std::string path(const char* rel) const { return options.dir + "/" + rel; }

  // Sleeps up to `ms`, less if stop() is called.
  void pause(int ms) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping.load(); });
  }

  // Splits --deliver-url into the server and the path; only plain http on
  // loopback, since it is the EDMS on the same machine.
  Status setup_hand_over() {
    const std::string& url = options.deliver_url;
    if (url.empty()) return Status();
    const std::string scheme = "http://127.0.0.1:";
    size_t slash = url.find('/', scheme.size());
    if (url.rfind(scheme, 0) != 0 || slash == std::string::npos || slash == scheme.size()) {
      return invalid_argument("--deliver-url must look like http://127.0.0.1:PORT/path");
    }
    client::ClientOptions o;
    o.url = url.substr(0, slash);
    o.timeout_seconds = 30;
    edms = std::make_unique<client::HubClient>(o);
    deliver_path = url.substr(slash);
    return Status();
  }

  int next_backoff(int& current) {
    current = current == 0 ? options.poll_ms : std::min(current * 2, options.max_backoff_ms);
    return current;
  }

  GatewayOptions options;
  // The EDMS's hand-over endpoint, split from options.deliver_url.
  std::unique_ptr<client::HubClient> edms;
  std::string deliver_path;
  int hand_over_backoff_ms = 0;
  Clock::time_point hand_over_not_before{};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;
  // The sender waits until this time after a failed attempt.
  Clock::time_point send_not_before{};
  int send_backoff_ms = 0;
  // Packages whose uploads were started again after the hub refused them
  // in a submit; a second refusal fails the package.
  std::unordered_set<std::string> uploads_restarted;
  Clock::time_point last_contact_write{};
  std::unique_ptr<JournalWatch> journal_watch;
};

Gateway::Gateway(GatewayOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Gateway::~Gateway() = default;

// ---------------------------------------------------------------------------
// Opening and recovery.

namespace {

Status make_layout(const std::string& dir) {
  for (const char* sub : {kOutboxDir, kSentDir, kFailedDir, kInboxDir, kProcessedDir, kStatusDir,
                          kActionsDir, kStateDir, kSpoolDir, kTrashDir}) {
    SENED_RETURN_IF_ERROR(make_dirs(dir + "/" + sub));
  }
  return Status();
}

// A crash may leave temporary inbox folders, spool copies that no row names
// (the crash came before the row) and trash; none of them is needed.
Status clear_leftovers(const std::string& dir, GatewayDb& db) {
  std::error_code ec;
  // Temporary inbox folders, and outbox packages the local API was writing.
  for (const char* sub : {kInboxDir, kOutboxDir}) {
    for (const auto& e : fs::directory_iterator(dir + "/" + sub, ec)) {
      if (e.path().filename().string().rfind(kTempPrefix, 0) == 0) fs::remove_all(e.path(), ec);
    }
  }
  auto known = db.spool_ids();
  if (!known.ok()) return known.status();
  for (const auto& e : fs::directory_iterator(dir + "/" + kSpoolDir, ec)) {
    std::string n = e.path().filename().string();
    if (std::find(known->begin(), known->end(), n) == known->end()) {
      fs::remove_all(e.path(), ec);
    }
  }
  for (const auto& e : fs::directory_iterator(dir + "/" + kTrashDir, ec)) {
    fs::remove_all(e.path(), ec);
  }
  return Status();
}

// Moves finished spool copies to sent/ or failed/. The database says which
// are finished; the move is repeated after a crash until the row says filed.
Status file_finished(const std::string& dir, GatewayDb& db) {
  auto list = db.unfiled();
  if (!list.ok()) return list.status();
  for (const auto& p : *list) {
    std::string spool = dir + "/" + kSpoolDir + "/" + p.id;
    if (is_real_dir(spool)) {
      bool sent = p.state == "sent";
      std::string note = sent ? p.answer : p.error + "\n";
      SENED_RETURN_IF_ERROR(write_durably(spool + "/" + (sent ? kAnswerFile : kErrorFile), note));
      std::string target = free_name(dir + "/" + (sent ? kSentDir : kFailedDir) + "/" + p.name);
      SENED_RETURN_IF_ERROR(rename_durably(spool, target));
    }
    SENED_RETURN_IF_ERROR(db.mark_filed(p.id));
  }
  return Status();
}

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::open(GatewayOptions options) {
  if (options.dir.empty()) return invalid_argument("no gateway folder given");
  if (options.poll_ms <= 0) return invalid_argument("the poll interval must be positive");
  // A bad node list would fail every request: refuse it before any folder exists.
  if (auto nodes = client::parse_node_list(options.hub.url); !nodes.ok()) return nodes.status();
  if (!options.trust_file.empty()) {
    auto trust = recipient_trust(options.hub.ca_file, options.trust_file);
    if (!trust.ok()) return trust.status().with_context("--trust");
  }
  std::unique_ptr<Gateway> g(new Gateway(std::move(options)));
  const std::string& dir = g->impl_->options.dir;
  // Only reads: bad journal options leave no folder behind.
  auto watch = JournalWatch::open(dir, g->impl_->options.journal);
  if (!watch.ok()) return watch.status();
  g->impl_->journal_watch = std::move(*watch);
  SENED_RETURN_IF_ERROR(make_layout(dir));
  SENED_RETURN_IF_ERROR(g->impl_->setup_hand_over());
  auto db = GatewayDb::open(dir + "/" + kDatabaseFile);
  if (!db.ok()) return db.status();
  g->db_ = std::move(*db);
  SENED_RETURN_IF_ERROR(clear_leftovers(dir, *g->db_));
  SENED_RETURN_IF_ERROR(file_finished(dir, *g->db_));
  return g;
}

// ---------------------------------------------------------------------------
// Outbox: spooling.

namespace {

// Moves a refused package (or whatever else was dropped) to failed/ with the
// reason: error.txt inside a real folder, else "<name>.error.txt" beside it,
// so that nothing is ever written through a link.
Status fail_entry(const std::string& dir, const std::string& name, const std::string& source,
                  const std::string& reason, GatewayDb& db) {
  logger()->warn("package refused package={} reason={}", name, reason);
  std::string target = free_name(dir + "/" + kFailedDir + "/" + name);
  bool folder = is_real_dir(source);
  SENED_RETURN_IF_ERROR(rename_durably(source, target));
  std::string note = folder ? target + "/" + kErrorFile : target + ".error.txt";
  SENED_RETURN_IF_ERROR(write_durably(note, reason + "\n"));
  return db.add_failure("package " + name, reason);
}

// Copies a checked package into spool/<id>/ (written under a temporary name,
// synced, renamed), so the gateway owns a copy before it forgets the
// EDMS's folder.
Status copy_to_spool(const std::string& dir, const std::string& folder, const Package& p,
                     const std::string& id) {
  std::string tmp = dir + "/" + kSpoolDir + "/" + kTempPrefix + id;
  std::error_code ec;
  fs::create_directories(tmp + "/" + kFilesDir, ec);
  if (ec) return unavailable("cannot create " + tmp + ": " + ec.message());
  SENED_RETURN_IF_ERROR(write_durably(tmp + "/" + kEnvelopeFile, p.metadata_json));
  for (const auto& name : p.files) {
    std::string rel = std::string(kFilesDir) + "/" + name;
    SENED_RETURN_IF_ERROR(copy_file_synced(folder + "/" + rel, tmp + "/" + rel));
  }
  SENED_RETURN_IF_ERROR(sync_path(tmp + "/" + kFilesDir));
  SENED_RETURN_IF_ERROR(sync_path(tmp));
  return rename_durably(tmp, dir + "/" + kSpoolDir + "/" + id);
}

}  // namespace

Status Gateway::scan_outbox() {
  const std::string& dir = impl_->options.dir;
  std::string outbox = dir + "/" + kOutboxDir;
  for (const auto& name : visible_names(outbox)) {
    std::string folder = outbox + "/" + name;
    if (!is_real_dir(folder)) {
      SENED_RETURN_IF_ERROR(fail_entry(dir, name, folder, "not a package folder", *db_));
      continue;
    }
    if (!is_real_file(folder + "/" + kReadyFile)) continue;  // still being written

    // A crash between recording and removing leaves the folder: finish.
    auto earlier = db_->unpicked(name);
    if (!earlier.ok()) return earlier.status();
    if (*earlier) {
      SENED_RETURN_IF_ERROR(discard(folder, dir + "/" + kTrashDir));
      SENED_RETURN_IF_ERROR(db_->mark_picked(**earlier));
      continue;
    }
    auto package = read_package(folder);
    if (!package.ok()) {
      SENED_RETURN_IF_ERROR(fail_entry(dir, name, folder, package.status().message(), *db_));
      continue;
    }
    std::string id = new_uuid_v7();
    SENED_RETURN_IF_ERROR(copy_to_spool(dir, folder, *package, id));
    SENED_RETURN_IF_ERROR(db_->add_package(id, name, package->sender_ref));
    SENED_RETURN_IF_ERROR(discard(folder, dir + "/" + kTrashDir));
    SENED_RETURN_IF_ERROR(db_->mark_picked(id));
    logger()->info("package stored package={} sender_ref={} spool={}", name, package->sender_ref,
                   id);
  }
  return Status();
}

// ---------------------------------------------------------------------------
// Outbox: sending.

namespace {

Result<json::object> read_envelope(const std::string& spool) {
  std::ifstream in(spool + "/" + kEnvelopeFile, std::ios::binary);
  if (!in) return internal_error("spool copy without an envelope: " + spool);
  std::ostringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  const json::value* files = !ec && v.is_object() ? v.as_object().if_contains("files") : nullptr;
  if (files == nullptr || !files->is_array()) {
    return internal_error("spool copy with a broken envelope: " + spool);
  }
  return std::move(v.as_object());
}

}  // namespace

Result<std::vector<client::FormPart>> Gateway::submit_parts(client::HubClient& hub,
                                                            const SpooledPackage& p) {
  std::string spool = impl_->options.dir + "/" + kSpoolDir + "/" + p.id;
  auto envelope = read_envelope(spool);
  if (!envelope.ok()) return envelope.status();
  std::vector<client::FormPart> parts(1);
  std::vector<client::FormPart> upload_signatures;

  // Large files travel ahead as resumable uploads that the metadata names;
  // the others follow as parts, in the envelope's order.
  for (auto& f : envelope->at("files").as_array()) {
    if (!f.is_object()) return internal_error("spool copy with a broken envelope: " + spool);
    std::string name = str(f.as_object(), "name");
    std::string path = spool + "/" + kFilesDir + "/" + name;
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) return internal_error("spooled file missing: " + path);
    // A signature (NAME.p7s beside NAME in the package) is named NAME.p7s in
    // the request too: the hub pairs it by that name with a file sent by
    // upload, and with the part before it otherwise.
    std::optional<client::FormPart> signature;
    if (fs::exists(path + kSignatureSuffix, ec)) {
      signature = client::FormPart{exchange::kSignaturePart, name + exchange::kSignaturePartSuffix,
                                   "application/pkcs7-signature", path + kSignatureSuffix, ""};
    }
    if (size <= impl_->options.resumable_above) {
      parts.push_back({"file", name, "", path, ""});
      if (signature) parts.push_back(std::move(*signature));
      continue;
    }
    UploadJob job{p.id, name, path, impl_->options.upload_chunk_bytes, &impl_->stopping};
    auto upload = send_resumable(hub, *db_, job);
    if (!upload.ok()) return upload.status();
    json::object& entry = f.as_object();
    entry["upload"] = upload->id;
    entry["sha256"] = upload->sha256;
    entry["size"] = upload->size;
    if (signature) upload_signatures.push_back(std::move(*signature));
  }
  parts[0] = {"metadata", "", "application/json", std::nullopt, json::serialize(*envelope)};
  // Signatures of uploaded files right after the metadata, where no file
  // part precedes them.
  parts.insert(parts.begin() + 1, upload_signatures.begin(), upload_signatures.end());
  return parts;
}

Status Gateway::retry_later(const SpooledPackage& p, const std::string& error) {
  // Later packages wait too: the hub must see them in the EDMS's order.
  SENED_RETURN_IF_ERROR(db_->record_attempt(p.id, error));
  SENED_RETURN_IF_ERROR(db_->set_setting("last_error", now_rfc3339() + " " + error));
  int wait = impl_->next_backoff(impl_->send_backoff_ms);
  impl_->send_not_before = Clock::now() + std::chrono::milliseconds(wait);
  logger()->warn("send failed package={} retry_in_ms={} error={}", p.name, wait, error);
  return unavailable(error);
}

Status Gateway::fail_package(const SpooledPackage& p, const std::string& error) {
  SENED_RETURN_IF_ERROR(db_->finish(p.id, "failed", "", "", error));
  SENED_RETURN_IF_ERROR(db_->forget_uploads(p.id));
  SENED_RETURN_IF_ERROR(db_->add_failure("package " + p.name, error));
  logger()->warn("package refused package={} error={}", p.name, error);
  return file_finished(impl_->options.dir, *db_);
}

Status Gateway::send_ready(client::HubClient& hub) {
  while (!impl_->stopping) {
    if (Clock::now() < impl_->send_not_before) return unavailable("waiting to retry");
    auto next = db_->next_queued();
    if (!next.ok()) return next.status();
    if (!*next) return Status();
    const SpooledPackage& p = **next;
    auto parts = submit_parts(hub, p);
    if (!parts.ok() && parts.status().code() == Code::kUnavailable) {
      if (impl_->stopping) return parts.status();
      return retry_later(p, parts.status().message());
    }
    if (!parts.ok()) {
      SENED_RETURN_IF_ERROR(fail_package(p, parts.status().message()));
      continue;
    }

    // The same sender_ref on every attempt: a retry after a crash between
    // this request and the row below gets the first document (200).
    auto r = hub.post_multipart("/v1/documents", *parts);
    std::string error = !r.ok() ? r.status().message() : hub_error(*r);
    if (r.ok()) note_contact();
    if (!r.ok() || worth_retrying(r->status)) return retry_later(p, error);
    impl_->send_backoff_ms = 0;
    if (r->status != 200 && r->status != 201) {
      // An upload the hub refuses to take (say it swept a finished one
      // before the submit) is sent once more as a new upload.
      bool named_upload = error.find("upload") != std::string::npos;
      if (named_upload && impl_->uploads_restarted.insert(p.id).second) {
        SENED_RETURN_IF_ERROR(db_->forget_uploads(p.id));
        return retry_later(p, error);
      }
      SENED_RETURN_IF_ERROR(fail_package(p, error));
      continue;
    }
    boost::system::error_code ec;
    json::value v = json::parse(r->body, ec);
    std::string doc = !ec && v.is_object() ? str(v.as_object(), "id") : "";
    SENED_RETURN_IF_ERROR(db_->finish(p.id, "sent", doc, r->body, ""));
    SENED_RETURN_IF_ERROR(db_->forget_uploads(p.id));
    logger()->info("package sent package={} document={} repeat={}", p.name, doc, r->status == 200);
    SENED_RETURN_IF_ERROR(file_finished(impl_->options.dir, *db_));
  }
  return Status();
}

// ---------------------------------------------------------------------------
// Inbox: the hub's events.

namespace {

Result<json::object> json_answer(const Result<client::ClientResponse>& r, const char* what) {
  if (!r.ok()) return r.status();
  if (r->status != 200) return unavailable(std::string(what) + ": " + hub_error(*r));
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return unavailable(std::string(what) + ": the answer is not JSON");
  return std::move(v.as_object());
}

// Decrypts a downloaded encrypted file into `path`. A file that cannot be
// opened (not encrypted to this gateway's certificate, or damaged) is kept
// encrypted as NAME.p7m with the reason in its envelope entry: retrying
// would fail the same way, and the EDMS must see the document anyway.
Status open_encrypted(const std::string& cipher, const std::string& path,
                      const client::ClientOptions& me, json::object& file) {
  Status st = decrypt_received_file(cipher, path, me.cert_file, me.key_file, file);
  if (st.ok() || st.code() == Code::kUnavailable) return st;
  logger()->warn("encrypted file not opened file={} error={}", str(file, "name"), st.to_string());
  file["decrypt_error"] = st.to_string();
  return rename_durably(cipher, path + ".p7m");
}

// Opens the encrypted signature of an encrypted file into `sig_path`. One
// that cannot be opened is kept encrypted as NAME.p7s.p7m, recorded invalid
// with the reason, as a file that cannot be opened is kept as NAME.p7m.
Status open_encrypted_signature(const std::string& received, const std::string& sig_path,
                                const client::ClientOptions& me, json::object& file) {
  SENED_RETURN_IF_ERROR(
      open_received_signature(received, sig_path, me.cert_file, me.key_file, file));
  if (!file.contains("signature_error")) return Status();
  logger()->warn("signature not opened file={} error={}", str(file, "name"),
                 str(file, "signature_error"));
  return rename_durably(received, sig_path + ".p7m");
}

// Checks the sender's signature of a decrypted file (the hub could not).
Status check_signature(const std::string& path, const std::string& sig_path,
                       const GatewayOptions& options, json::object& file) {
  auto trust = recipient_trust(options.hub.ca_file, options.trust_file);
  if (!trust.ok()) return unavailable("trust material: " + trust.status().message());
  auto check = verify_decrypted_signature(path, sig_path, *trust, file);
  if (!check.ok()) return check.status();
  logger()->info("signature checked after decrypting file={} status={} signer=\"{}\"",
                 str(file, "name"), crypto::to_string(check->status), check->signer);
  return Status();
}

// Writes the document's folder under a temporary name and renames it into
// place. Every file, the folder and the inbox are synced before the rename
// counts, so an acknowledged document is never lost to a crash.
Status write_inbox_folder(client::HubClient& hub, const GatewayOptions& options,
                          const std::string& inbox, const std::string& id, json::object doc,
                          const std::string& cursor) {
  const client::ClientOptions& me = options.hub;
  std::string tmp = inbox + "/" + kTempPrefix + id;
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp + "/" + kFilesDir, ec);
  if (ec) return unavailable("cannot create " + tmp + ": " + ec.message());
  json::value* files = doc.if_contains("files");
  if (files == nullptr || !files->is_array()) return unavailable("document without files");
  for (auto& f : files->as_array()) {
    if (!f.is_object()) return unavailable("malformed file entry");
    // The hub checks names too; a gateway still never writes outside its
    // folder on the word of the network.
    std::string name = str(f.as_object(), "name");
    Status valid = validate_file_name(name);
    if (!valid.ok()) return unavailable("the hub sent a bad file name: " + valid.message());
    const json::value* index = f.as_object().if_contains("index");
    if (index == nullptr || !index->is_int64()) return unavailable("file without an index");
    std::string target = "/v1/documents/" + id + "/files/" + std::to_string(index->as_int64());
    bool encrypted = is_encrypted_entry(f.as_object());
    std::string path = tmp + "/" + kFilesDir + "/" + name;
    std::string cipher = tmp + "/encrypted-" + std::to_string(index->as_int64());
    auto r = hub.download(target, encrypted ? cipher : path);
    if (!r.ok()) return r.status();
    if (r->status != 200) return unavailable("file " + name + ": " + hub_error(*r));
    if (encrypted) {
      SENED_RETURN_IF_ERROR(open_encrypted(cipher, path, me, f.as_object()));
    }
    // A file's detached signature lands beside it as NAME.p7s.
    if (f.as_object().if_contains("signature") == nullptr) continue;
    std::string sig_path = tmp + "/" + kFilesDir + "/" + name + ".p7s";
    std::string received = encrypted ? cipher + ".p7s" : sig_path;
    auto sig = hub.download(target + "/signature", received);
    if (!sig.ok()) return sig.status();
    if (sig->status != 200) return unavailable("signature of " + name + ": " + hub_error(*sig));
    if (encrypted) {
      SENED_RETURN_IF_ERROR(open_encrypted_signature(received, sig_path, me, f.as_object()));
    }
    if (encrypted && !f.as_object().contains("decrypt_error") &&
        !f.as_object().contains("signature_error")) {
      SENED_RETURN_IF_ERROR(check_signature(path, sig_path, options, f.as_object()));
    }
  }
  doc[kEventCursorField] = cursor;
  SENED_RETURN_IF_ERROR(write_durably(tmp + "/" + kEnvelopeFile, json::serialize(doc) + "\n"));
  SENED_RETURN_IF_ERROR(sync_path(tmp + "/" + kFilesDir));
  SENED_RETURN_IF_ERROR(sync_path(tmp));
  return rename_durably(tmp, inbox + "/" + id);
}

}  // namespace

Status Gateway::receive_document(client::HubClient& hub, const std::string& id,
                                 const std::string& cursor) {
  const std::string& dir = impl_->options.dir;
  auto state = db_->received_state(id);
  if (!state.ok()) return state.status();
  std::string inbox = dir + "/" + kInboxDir;
  bool on_disk =
      exists_no_follow(inbox + "/" + id) || exists_no_follow(dir + "/" + kProcessedDir + "/" + id);
  if (!*state && !on_disk) {
    auto doc = json_answer(hub.request("GET", "/v1/documents/" + id), "document");
    if (!doc.ok()) return doc.status();
    auto arrival = db_->next_arrival();
    if (!arrival.ok()) return arrival.status();
    (*doc)[kArrivalField] = *arrival;
    SENED_RETURN_IF_ERROR(
        write_inbox_folder(hub, impl_->options, inbox, id, std::move(*doc), cursor));
    logger()->info("document received document={} cursor={}", id, cursor);
    impl_->journal_watch->document_received();
  }
  // The row comes after the folder is durable: a crash in between finds the
  // folder (in inbox/ or processed/) and only records it.
  if (!*state) SENED_RETURN_IF_ERROR(db_->set_received(id, cursor, "written"));
  if (*state == "acked" || *state == "taken") return Status();
  auto ack = hub.request("POST", "/v1/documents/" + id + "/ack", "{}");
  if (!ack.ok()) return ack.status();
  // 409: the delivery moved on without us (recalled or expired); the folder
  // stays, and the status files tell the EDMS what happened.
  if (ack->status == 409) {
    logger()->warn("acknowledgement refused document={} error={}", id, hub_error(*ack));
  } else if (ack->status != 200) {
    return unavailable("ack: " + hub_error(*ack));
  }
  return db_->set_received(id, cursor, "acked");
}

Status Gateway::write_status_file(const json::object& event, const std::string& cursor) {
  std::string id = str(event, "document");
  if (!is_uuid(id)) return unavailable("event " + cursor + " names no document");
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto seq = db_->status_sequence(cursor, id);
  if (!seq.ok()) return seq.status();
  std::string path =
      impl_->options.dir + "/" + kStatusDir + "/" + id + "." + std::to_string(*seq) + ".json";
  return write_durably(path, json::serialize(event) + "\n");
}

Status Gateway::handle_event(client::HubClient& hub, const json::object& event,
                             const std::string& cursor) {
  std::string type = str(event, "type");
  if (type == "document.new") {
    std::string id = str(event, "document");
    if (!is_uuid(id)) return unavailable("event " + cursor + " names no document");
    for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return receive_document(hub, id, cursor);
  }
  if (type == "document.status" || type == "document.overdue") {
    return write_status_file(event, cursor);
  }
  logger()->debug("event skipped cursor={} type={}", cursor, type);
  return Status();
}

Status Gateway::poll_events(client::HubClient& hub) {
  auto saved = db_->setting("event_cursor");
  if (!saved.ok()) return saved.status();
  std::string cursor = saved->value_or("");
  std::string target = "/v1/events?wait=" + std::to_string(impl_->options.event_wait_seconds) +
                       "&limit=" + std::to_string(kEventBatch);
  if (!cursor.empty()) target += "&after=" + cursor;
  auto r = hub.request("GET", target);
  if (r.ok()) note_contact();
  // A hub without the event feed: fall back to its inbox listing.
  if (r.ok() && r->status == 404) return poll_inbox(hub);
  auto page = json_answer(r, "events");
  if (!page.ok()) return page.status();
  const json::value* events = page->if_contains("events");
  if (events == nullptr || !events->is_array()) return unavailable("events: no event list");

  std::string last = cursor;
  for (const auto& e : events->as_array()) {
    if (!e.is_object()) return unavailable("events: an event is not an object");
    std::string c = str(e.as_object(), "cursor");
    if (c.empty() ||
        !std::all_of(c.begin(), c.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return unavailable("events: an event without a cursor");
    }
    if (!last.empty() && !cursor_after(c, last)) continue;  // a repeat
    SENED_RETURN_IF_ERROR(handle_event(hub, e.as_object(), c));
    // Only now is the event's effect durable; a crash before this line
    // replays it, and handle_event() is idempotent.
    SENED_RETURN_IF_ERROR(db_->set_setting("event_cursor", c));
    last = c;
  }
  if (last.empty() || last == cursor) return Status();
  json::object body{{"ack", last}};
  auto ack = hub.request("POST", "/v1/events/ack", json::serialize(body));
  if (!ack.ok()) return ack.status();
  if (ack->status != 200) return unavailable("events ack: " + hub_error(*ack));
  return Status();
}

Status Gateway::poll_inbox(client::HubClient& hub) {
  auto page = json_answer(hub.request("GET", "/v1/inbox"), "inbox");
  if (!page.ok()) return page.status();
  const json::value* docs = page->if_contains("documents");
  if (docs == nullptr || !docs->is_array()) return unavailable("inbox: no document list");
  for (const auto& d : docs->as_array()) {
    std::string id = d.is_object() ? str(d.as_object(), "id") : "";
    if (!is_uuid(id)) return unavailable("inbox: a document without an id");
    SENED_RETURN_IF_ERROR(receive_document(hub, id, ""));
  }
  if (docs->as_array().empty()) impl_->pause(impl_->options.poll_ms);
  return Status();
}

Status Gateway::hand_over() {
  if (!impl_->edms || Clock::now() < impl_->hand_over_not_before) return Status();
  auto list = db_->not_handed_over();
  if (!list.ok()) return list.status();
  const std::string& dir = impl_->options.dir;
  for (const auto& id : *list) {
    std::string folder = dir + "/" + kInboxDir + "/" + id;
    if (!is_real_dir(folder)) folder = dir + "/" + kProcessedDir + "/" + id;
    std::ifstream in(folder + "/" + kEnvelopeFile, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    boost::system::error_code ec;
    json::value env = json::parse(ss.str(), ec);
    if (ec || !env.is_object()) return internal_error("unreadable envelope in " + folder);
    env.as_object()["folder"] = fs::absolute(folder).string();
    auto r = impl_->edms->request("POST", impl_->deliver_path, json::serialize(env));
    if (!r.ok() || r->status < 200 || r->status >= 300) {
      std::string why =
          r.ok() ? "EDMS answered HTTP " + std::to_string(r->status) : r.status().message();
      int wait = impl_->next_backoff(impl_->hand_over_backoff_ms);
      impl_->hand_over_not_before = Clock::now() + std::chrono::milliseconds(wait);
      return unavailable("hand-over of " + id + ": " + why);
    }
    impl_->hand_over_backoff_ms = 0;
    SENED_RETURN_IF_ERROR(db_->mark_handed_over(id));
  }
  return Status();
}

Status Gateway::note_processed() {
  auto list = db_->received_in_state("acked");
  if (!list.ok()) return list.status();
  std::string processed = impl_->options.dir + "/" + kProcessedDir + "/";
  for (const auto& id : *list) {
    if (exists_no_follow(processed + id)) {
      SENED_RETURN_IF_ERROR(db_->set_received(id, "", "taken"));
    }
  }
  return Status();
}

// ---------------------------------------------------------------------------
// Actions: status changes the EDMS asks for by dropping a file.

namespace {

Result<std::string> read_small_file(const std::string& path, size_t limit) {
  if (!is_real_file(path)) return invalid_argument("not a regular file");
  std::error_code ec;
  if (fs::file_size(path, ec) > limit) {
    return invalid_argument("over " + std::to_string(limit) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Status Gateway::fail_action(const std::string& name, const std::string& reason) {
  const std::string& dir = impl_->options.dir;
  logger()->warn("action refused file={} reason={}", name, reason);
  std::string target = free_name(dir + "/" + kFailedDir + "/" + name);
  SENED_RETURN_IF_ERROR(rename_durably(dir + "/" + kActionsDir + "/" + name, target));
  SENED_RETURN_IF_ERROR(write_durably(target + ".error.txt", reason + "\n"));
  return db_->add_failure("action " + name, reason);
}

Status Gateway::run_action(client::HubClient& hub, const std::string& name) {
  const std::string& dir = impl_->options.dir;
  std::string path = dir + "/" + kActionsDir + "/" + name;
  auto text = read_small_file(path, kMaxActionBytes);
  if (!text.ok()) return fail_action(name, text.status().message());
  auto call = parse_action(*text);
  if (!call.ok()) return fail_action(name, call.status().message());

  auto r = hub.request("POST", call->target, call->body);
  if (!r.ok()) return r.status();  // the file stays; tried again later
  note_contact();
  if (worth_retrying(r->status)) return unavailable(hub_error(*r));
  if (r->status != 200) return fail_action(name, hub_error(*r));

  // The answer lands in status/ like every status change; a retry after a
  // crash writes the same file again (same key: file name and content).
  boost::system::error_code ec;
  json::value answer = json::parse(r->body, ec);
  json::object result{{"type", "action.result"},
                      {"action_file", name},
                      {"document", call->document},
                      {"answer", ec ? json::value(nullptr) : answer}};
  std::string key = "action:" + crypto::sha256_hex(name + "\n" + *text);
  SENED_RETURN_IF_ERROR(write_status_file(result, key));
  std::error_code rm;
  fs::remove(path, rm);
  return sync_path(dir + "/" + kActionsDir);
}

Status Gateway::run_actions(client::HubClient& hub) {
  std::string actions = impl_->options.dir + "/" + kActionsDir;
  for (const auto& name : visible_names(actions)) {
    if (name.size() < 5 || name.substr(name.size() - 5) != ".json") continue;
    SENED_RETURN_IF_ERROR(run_action(hub, name));
  }
  return Status();
}

// ---------------------------------------------------------------------------
// Running.

void Gateway::note_contact() {
  std::lock_guard lock(impl_->mu);
  auto now = Clock::now();
  if (now - impl_->last_contact_write < kContactWriteInterval) return;
  impl_->last_contact_write = now;
  Status st = db_->set_setting("last_contact", now_rfc3339());
  if (!st.ok()) logger()->warn("cannot record the last contact: {}", st.message());
}

void Gateway::note_error(const Status& st, const char* where) {
  logger()->warn("{} failed: {}", where, st.message());
  Status saved = db_->set_setting("last_error", now_rfc3339() + " " + where + ": " + st.message());
  if (!saved.ok()) logger()->error("cannot record an error: {}", saved.message());
}

void Gateway::folders_loop() {
  ReloadingHubClient hubs(impl_->options.hub);
  while (!impl_->stopping) {
    client::HubClient& hub = hubs.current();
    if (Status st = scan_outbox(); !st.ok()) note_error(st, "outbox");
    if (Status st = note_processed(); !st.ok()) note_error(st, "inbox");
    if (Status st = hand_over(); !st.ok()) note_error(st, "hand-over");
    if (Status st = run_actions(hub); !st.ok()) note_error(st, "actions");
    impl_->journal_watch->tick([&hub](const std::string& target) -> Result<HubAnswer> {
      auto r = hub.request("GET", target);
      if (!r.ok()) return r.status();
      return HubAnswer{r->status, std::move(r->body)};
    });
    Status sent = send_ready(hub);
    // "waiting to retry" is the back-off itself, already recorded.
    if (!sent.ok() && sent.message() != "waiting to retry")
      logger()->debug("send: {}", sent.message());
    impl_->pause(impl_->options.poll_ms);
  }
}

void Gateway::events_loop() {
  ReloadingHubClient hubs(impl_->options.hub);
  int backoff = 0;
  while (!impl_->stopping) {
    Status st = poll_events(hubs.current());
    if (st.ok()) {
      backoff = 0;
      continue;
    }
    note_error(st, "events");
    impl_->pause(impl_->next_backoff(backoff));
  }
}

void Gateway::run() {
  logger()->info("gateway started dir={} hub={}", impl_->options.dir, impl_->options.hub.url);
  std::thread events([this] { events_loop(); });
  folders_loop();
  events.join();
  logger()->info("gateway stopped");
}

void Gateway::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
}

// ---------------------------------------------------------------------------
// Status report.

Result<std::string> status_report_json(const std::string& dir) {
  if (!is_real_file(dir + "/" + kDatabaseFile)) {
    return not_found("no gateway in " + dir + " (no " + kDatabaseFile + ")");
  }
  auto db = GatewayDb::open(dir + "/" + kDatabaseFile);
  if (!db.ok()) return db.status();
  auto counts = (*db)->counts();
  if (!counts.ok()) return counts.status();
  auto failures = (*db)->recent_failures(10);
  if (!failures.ok()) return failures.status();
  json::object o;
  // Packages the EDMS dropped that the gateway has not yet taken in.
  int64_t waiting = 0;
  for (const auto& name : visible_names(dir + "/" + kOutboxDir)) {
    if (is_real_dir(dir + "/" + kOutboxDir + "/" + name)) ++waiting;
  }
  o["outbox_waiting"] = waiting;
  o["queued"] = counts->queued;
  o["sent"] = counts->sent;
  o["failed"] = counts->failed;
  o["received"] = counts->received;
  o["inbox_not_taken"] = counts->not_taken;
  o["actions_waiting"] = static_cast<int64_t>(visible_names(dir + "/" + kActionsDir).size());
  o["status_files"] = counts->status_files;
  o["failures"] = counts->failures;
  for (const char* key : {"last_contact", "last_error", "event_cursor"}) {
    auto v = (*db)->setting(key);
    if (!v.ok()) return v.status();
    o[key] = *v ? json::value(**v) : json::value(nullptr);
  }
  json::array recent;
  for (const auto& f : *failures) {
    recent.push_back(json::object{{"at", f.at}, {"what", f.what}, {"reason", f.reason}});
  }
  o["recent_failures"] = std::move(recent);
  return json::serialize(o);
}

}  // namespace sened::gateway
