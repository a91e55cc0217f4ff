#include "exchange/uploads.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include "core/ids.h"
#include "crypto/digest.h"

namespace sened::exchange {
namespace json = boost::json;
namespace fs = std::filesystem;

// One upload. Fields are guarded by Uploads::mu_, except that the holder of
// `busy` (one PATCH sink or one submit) may use `hasher` and write the files
// without it.
struct UploadEntry {
  std::string id;
  std::string owner;
  uint64_t length = 0;
  uint64_t offset = 0;   // durable: fsynced and recorded in the sidecar
  std::string metadata;  // Upload-Metadata as the client sent it
  std::string media_type = "application/octet-stream";
  int64_t created_ms = 0;
  int64_t touched_ms = 0;  // last creation, PATCH or use
  std::string sha256;      // once the upload is finished and hashed
  std::string sender_ref;  // set while a submit takes it, and once used
  std::string document;    // the document that used it ("" if not known)
  bool consumed = false;
  // Memory only.
  bool busy = false;
  std::unique_ptr<crypto::Sha256> hasher;  // digest of bytes [0, hashed)
  uint64_t hashed = 0;
};

namespace {

constexpr int kSidecarVersion = 1;

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("uploads");
    return l ? l : spdlog::default_logger()->clone("uploads");
  }();
  return log;
}

std::string errno_text() { return std::strerror(errno); }

http::Response tus(http::Response r) {
  r.headers.emplace_back("Tus-Resumable", kTusVersion);
  return r;
}

http::Response tus_error(const Status& st, int status_override = 0) {
  http::Response r = http::error_response(st);
  if (status_override != 0) r.status = status_override;
  return tus(std::move(r));
}

http::Response no_content() {
  http::Response r;
  r.status = 204;
  return tus(std::move(r));
}

// An HTTP date (RFC 9110 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// A non-negative decimal integer, digits only, that fits in 64 bits.
std::optional<uint64_t> parse_length(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// "type/subtype" made of tokens (RFC 9110 8.3.1), without parameters.
bool is_plain_media_type(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size() || s.size() > 255) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != slash && !is_token_char(s[i])) return false;
  }
  return true;
}

// Checks Upload-Metadata (tus 1.0.0, creation): comma-separated pairs of a
// key (printable ASCII, no space or comma, unique) and an optional base64
// value. Returns the media type named by "filetype", if any.
Result<std::optional<std::string>> check_metadata(std::string_view header) {
  if (header.size() > kMaxUploadMetadataBytes) {
    return invalid_argument("Upload-Metadata is longer than " +
                            std::to_string(kMaxUploadMetadataBytes) + " bytes");
  }
  std::set<std::string, std::less<>> keys;
  std::optional<std::string> media_type;
  while (true) {
    size_t comma = header.find(',');
    std::string_view pair = trim(header.substr(0, comma));
    size_t space = pair.find(' ');
    std::string_view key = pair.substr(0, space);
    std::string_view value = space == std::string_view::npos ? "" : trim(pair.substr(space + 1));
    if (key.empty()) return invalid_argument("Upload-Metadata: empty key");
    for (char c : key) {
      if (c <= 0x20 || c >= 0x7f) return invalid_argument("Upload-Metadata: malformed key");
    }
    if (!keys.emplace(key).second) {
      return invalid_argument("Upload-Metadata: key '" + std::string(key) + "' repeated");
    }
    auto decoded = crypto::base64_decode(value);
    if (!decoded) {
      return invalid_argument("Upload-Metadata: the value of '" + std::string(key) +
                              "' is not base64");
    }
    if (key == "filetype") {
      if (!is_plain_media_type(*decoded)) {
        return invalid_argument("Upload-Metadata: filetype is not a media type");
      }
      media_type = *decoded;
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return media_type;
}

// Refuses a request that does not speak tus 1.0.0 (412, with Tus-Version,
// and nothing done).
std::optional<http::Response> check_version(const http::Request& request) {
  auto version = request.header("Tus-Resumable");
  if (version && trim(*version) == kTusVersion) return std::nullopt;
  http::Response r = tus_error(
      invalid_argument(version ? "Tus-Resumable " + *version + " is not supported; use 1.0.0"
                               : "Tus-Resumable: 1.0.0 is required"),
      412);
  r.headers.emplace_back("Tus-Version", kTusVersion);
  return r;
}

// The upload id of a /v1/uploads/ID target, "" for /v1/uploads itself, or
// nullopt for anything else.
std::optional<std::string> upload_id_of(std::string_view target) {
  target = target.substr(0, target.find('?'));
  constexpr std::string_view kRoot = "/v1/uploads";
  if (target.substr(0, kRoot.size()) != kRoot) return std::nullopt;
  target.remove_prefix(kRoot.size());
  if (target.empty() || target == "/") return std::string();
  if (target.front() != '/') return std::nullopt;
  target.remove_prefix(1);
  if (!target.empty() && target.back() == '/') target.remove_suffix(1);
  std::string id(target);
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return id;
}

Status write_all_at(int fd, std::string_view data, uint64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unavailable("cannot write an upload: " + errno_text());
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status();
}

Status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return unavailable("cannot open " + dir + ": " + errno_text());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return unavailable("cannot fsync " + dir + ": " + errno_text());
  return Status();
}

std::string sidecar_text(const UploadEntry& e, uint64_t offset) {
  json::object o{{"version", kSidecarVersion}, {"id", e.id},
                 {"owner", e.owner},           {"length", e.length},
                 {"offset", offset},           {"metadata", e.metadata},
                 {"media_type", e.media_type}, {"created_ms", e.created_ms},
                 {"touched_ms", e.touched_ms}, {"sha256", e.sha256},
                 {"sender_ref", e.sender_ref}, {"document", e.document},
                 {"consumed", e.consumed}};
  return json::serialize(o) + "\n";
}

Result<std::unique_ptr<UploadEntry>> parse_sidecar(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return internal_error("sidecar is not a JSON object");
  const json::object& o = v.as_object();
  auto e = std::make_unique<UploadEntry>();
  try {
    if (json::value_to<int>(o.at("version")) != kSidecarVersion) {
      return internal_error("unknown sidecar version");
    }
    e->id = json::value_to<std::string>(o.at("id"));
    e->owner = json::value_to<std::string>(o.at("owner"));
    e->length = json::value_to<uint64_t>(o.at("length"));
    e->offset = json::value_to<uint64_t>(o.at("offset"));
    e->metadata = json::value_to<std::string>(o.at("metadata"));
    e->media_type = json::value_to<std::string>(o.at("media_type"));
    e->created_ms = json::value_to<int64_t>(o.at("created_ms"));
    e->touched_ms = json::value_to<int64_t>(o.at("touched_ms"));
    e->sha256 = json::value_to<std::string>(o.at("sha256"));
    e->sender_ref = json::value_to<std::string>(o.at("sender_ref"));
    e->document = json::value_to<std::string>(o.at("document"));
    e->consumed = json::value_to<bool>(o.at("consumed"));
  } catch (const std::exception& ex) {
    return internal_error(std::string("malformed sidecar: ") + ex.what());
  }
  if (e->offset > e->length) return internal_error("sidecar offset beyond its length");
  return e;
}

}  // namespace

// ---------------------------------------------------------------------------
// PATCH: the body streams into the data file at the upload's offset.

class PatchSink : public http::UploadSink {
 public:
  PatchSink(Uploads& uploads, std::shared_ptr<UploadEntry> entry, int fd)
      : uploads_(uploads), e_(std::move(entry)), fd_(fd) {
    durable_ = pos_ = e_->offset;
    // A running digest continues only if it covers exactly the bytes held.
    if (pos_ == 0) {
      e_->hasher = std::make_unique<crypto::Sha256>();
      e_->hashed = 0;
    } else if (!e_->hasher || e_->hashed != pos_) {
      e_->hasher.reset();
    }
  }

  // A cut request keeps what arrived: fsync it and record the offset.
  ~PatchSink() override {
    Status st = checkpoint();
    if (!st.ok())
      logger()->warn("upload checkpoint failed upload={} error=\"{}\"", e_->id, st.message());
    ::close(fd_);
    std::lock_guard lock(uploads_.mu_);
    e_->busy = false;
  }

  Status write(std::string_view chunk) override {
    if (!failed_.ok()) return failed_;
    uint64_t room = e_->length - pos_;
    bool too_long = chunk.size() > room;
    // Store as much as fits; what goes beyond Upload-Length is refused.
    if (too_long) chunk = chunk.substr(0, static_cast<size_t>(room));
    Status st = write_at_pos(chunk);
    if (st.ok() && pos_ - durable_ >= uploads_.options_.checkpoint_bytes) st = checkpoint();
    if (st.ok() && too_long) {
      st = invalid_argument("the body goes beyond Upload-Length " + std::to_string(e_->length));
    }
    if (!st.ok()) failed_ = st;
    return st;
  }

  http::Response finish() override {
    if (!failed_.ok()) return tus_error(failed_);
    Status st = checkpoint();
    if (!st.ok()) return tus_error(st);
    http::Response r = no_content();
    r.headers.emplace_back("Upload-Offset", std::to_string(pos_));
    r.headers.emplace_back("Upload-Expires",
                           http_date(e_->touched_ms + uploads_.options_.expiry_ms));
    return r;
  }

 private:
  Status write_at_pos(std::string_view chunk) {
    if (chunk.empty()) return Status();
    SENED_RETURN_IF_ERROR(write_all_at(fd_, chunk, pos_));
    pos_ += chunk.size();
    if (e_->hasher) {
      e_->hasher->update(chunk);
      e_->hashed = pos_;
    }
    return Status();
  }

  // Makes the bytes up to pos_ durable and records the new offset: data
  // first, then the sidecar, so the recorded offset never runs ahead of the
  // bytes on disk.
  Status checkpoint() {
    if (pos_ == durable_) return Status();
    if (::fdatasync(fd_) != 0) {
      Status st = unavailable("cannot fsync an upload: " + errno_text());
      pos_ = durable_;
      e_->hasher.reset();
      return st;
    }
    std::string text;
    {
      std::lock_guard lock(uploads_.mu_);
      e_->touched_ms = uploads_.now();
      if (pos_ == e_->length && e_->hasher && e_->hashed == pos_) {
        e_->sha256 = crypto::to_hex(e_->hasher->finish());
        e_->hasher.reset();
      }
      text = sidecar_text(*e_, pos_);
    }
    SENED_RETURN_IF_ERROR(uploads_.save(e_->id, text));
    std::lock_guard lock(uploads_.mu_);
    e_->offset = durable_ = pos_;
    return Status();
  }

  Uploads& uploads_;
  std::shared_ptr<UploadEntry> e_;
  int fd_;
  uint64_t pos_ = 0;      // where the next byte goes
  uint64_t durable_ = 0;  // offset recorded in the sidecar
  Status failed_;
};

// ---------------------------------------------------------------------------

UploadClaims::~UploadClaims() {
  for (auto& e : entries_) uploads_->release(*e, false, "");
}

void UploadClaims::commit(const std::string& document_id) {
  for (auto& e : entries_) uploads_->release(*e, true, document_id);
  entries_.clear();
}

bool UploadClaims::repeats_a_used_upload() const {
  if (uploads_ == nullptr) return false;
  std::lock_guard lock(uploads_->mu_);
  return std::any_of(entries_.begin(), entries_.end(), [](const auto& e) { return e->consumed; });
}

Uploads::Uploads(UploadOptions options) : options_(std::move(options)) {}

Uploads::~Uploads() = default;

int64_t Uploads::now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Uploads::data_path(const std::string& id) const {
  return options_.dir + "/" + id + ".data";
}

std::string Uploads::sidecar_path(const std::string& id) const {
  return options_.dir + "/" + id + ".json";
}

bool Uploads::is_upload_target(std::string_view target) { return upload_id_of(target).has_value(); }

Status Uploads::save(const std::string& id, const std::string& text) {
  std::string path = sidecar_path(id);
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return unavailable("cannot write " + temp + ": " + errno_text());
  Status st = write_all_at(fd, text, 0);
  if (st.ok() && ::fsync(fd) != 0) st = unavailable("cannot fsync " + temp + ": " + errno_text());
  ::close(fd);
  if (st.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    st = unavailable("cannot rename " + temp + ": " + errno_text());
  }
  if (!st.ok()) {
    ::unlink(temp.c_str());
    return st;
  }
  // The new name survives a crash only once the folder is fsynced.
  return sync_dir(options_.dir);
}

void Uploads::remove_files(const std::string& id) {
  ::unlink(data_path(id).c_str());
  ::unlink(sidecar_path(id).c_str());
}

// ---------------------------------------------------------------------------
// Start-up.

Status Uploads::ensure_dir() {
  std::error_code ec;
  bool made = fs::create_directories(options_.dir, ec);
  if (ec) return unavailable("cannot create " + options_.dir + ": " + ec.message());
  // The new folder survives a crash only once its parent is fsynced.
  if (made) SENED_RETURN_IF_ERROR(sync_dir(fs::path(options_.dir).parent_path().string()));
  return Status();
}

Status Uploads::open() {
  std::error_code ec;
  if (!fs::exists(options_.dir, ec)) {
    opened_ = Status();  // the folder comes with the first upload
    return Status();
  }
  std::vector<std::string> ids;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp")) {
      fs::remove(entry.path(), ec);  // a sidecar write the hub did not finish
    } else if (name.ends_with(".json")) {
      ids.push_back(name.substr(0, name.size() - 5));
    }
  }
  if (ec) return unavailable("cannot list " + options_.dir + ": " + ec.message());
  for (const auto& id : ids) {
    Status st = load_one(id);
    if (!st.ok()) logger()->error("upload not loaded upload={} error=\"{}\"", id, st.message());
  }
  // Data files without a sidecar: creations that never answered.
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".data") && !entries_.contains(name.substr(0, name.size() - 5))) {
      fs::remove(entry.path(), ec);
    }
  }
  opened_ = Status();
  int swept = sweep();
  logger()->info("uploads open count={} swept={}", entries_.size(), swept);
  return Status();
}

Status Uploads::load_one(const std::string& id) {
  auto text = [&]() -> Result<std::string> {
    int fd = ::open(sidecar_path(id).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return unavailable("cannot read the sidecar: " + errno_text());
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return out;
  }();
  if (!text.ok()) return text.status();
  auto e = parse_sidecar(*text);
  if (!e.ok()) return e.status();
  if ((*e)->id != id) return internal_error("sidecar names another upload");

  struct stat st;
  bool have_data = ::stat(data_path(id).c_str(), &st) == 0;
  if (!(*e)->consumed && !have_data) {
    // A submit took the bytes but the hub stopped before recording it: the
    // upload is used. Without a submit under way, it is simply lost.
    if ((*e)->sender_ref.empty() || (*e)->sha256.empty()) {
      remove_files(id);
      return internal_error("data file missing; upload dropped");
    }
    (*e)->consumed = true;
    SENED_RETURN_IF_ERROR(save(id, sidecar_text(**e, (*e)->offset)));
  } else if (!(*e)->consumed) {
    // Bytes past the recorded offset were never acknowledged durable.
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > (*e)->offset && ::truncate(data_path(id).c_str(), (*e)->offset) != 0) {
      return unavailable("cannot truncate the data file: " + errno_text());
    }
    if (size < (*e)->offset) {
      (*e)->offset = size;
      (*e)->sha256.clear();
    }
    (*e)->sender_ref.clear();  // a submit that did not finish
  }
  entries_[id] = std::move(*e);
  return Status();
}

int Uploads::sweep() {
  int64_t t = now();
  int removed = 0;
  std::lock_guard lock(mu_);
  last_sweep_ms_ = t;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const UploadEntry& e = *it->second;
    int64_t keep = e.consumed ? options_.consumed_retention_ms : options_.expiry_ms;
    if (e.busy || e.touched_ms + keep > t) {
      ++it;
      continue;
    }
    logger()->info("upload expired upload={} participant={} offset={} length={} used={}", e.id,
                   e.owner, e.offset, e.length, e.consumed);
    remove_files(e.id);
    it = entries_.erase(it);
    ++removed;
  }
  return removed;
}

void Uploads::maybe_sweep() {
  {
    std::lock_guard lock(mu_);
    if (now() - last_sweep_ms_ < options_.sweep_interval_ms) return;
  }
  sweep();
}

std::shared_ptr<UploadEntry> Uploads::find(const std::string& id, const std::string& who) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->owner != who) return nullptr;
  return it->second;
}

// ---------------------------------------------------------------------------
// Requests.

http::Response Uploads::handle(const http::Request& request, const Result<std::string>& who) {
  auto id = upload_id_of(request.target);
  if (!id) return tus_error(not_found("no route " + request.target));
  const std::string& m = request.method;
  if (m == "OPTIONS") return options();
  if (auto refusal = check_version(request)) return *refusal;
  if (!opened_.ok()) return tus_error(opened_);
  if (!who.ok()) return tus_error(who.status());
  maybe_sweep();
  if (id->empty() && m == "POST") return create(request, *who);
  if (!id->empty() && m == "HEAD") return head(*id, *who);
  if (!id->empty() && m == "DELETE") return remove(*id, *who);
  if (!id->empty() && m == "PATCH") {
    // A server that read the body whole: feed it to the same sink.
    http::Handler::UploadStart start = begin_patch(request, who);
    if (start.refusal) return std::move(*start.refusal);
    Status st = start.sink->write(request.body);
    return st.ok() ? start.sink->finish() : tus_error(st);
  }
  http::Response r = tus_error(invalid_argument("method " + m + " is not allowed here"), 405);
  r.headers.emplace_back("Allow", id->empty() ? "OPTIONS, POST" : "OPTIONS, HEAD, PATCH, DELETE");
  return r;
}

http::Response Uploads::options() const {
  http::Response r = no_content();
  r.headers.emplace_back("Tus-Version", kTusVersion);
  r.headers.emplace_back("Tus-Extension", "creation,termination,expiration");
  r.headers.emplace_back("Tus-Max-Size", std::to_string(options_.max_length));
  return r;
}

http::Response Uploads::create(const http::Request& request, const std::string& who) {
  if (request.header("Upload-Defer-Length")) {
    return tus_error(invalid_argument("Upload-Defer-Length is not supported: send Upload-Length"));
  }
  auto length_text = request.header("Upload-Length");
  if (!length_text) return tus_error(invalid_argument("Upload-Length is required"));
  auto length = parse_length(trim(*length_text));
  if (!length) return tus_error(invalid_argument("Upload-Length is not a non-negative integer"));
  if (*length > options_.max_length) {
    return tus_error(payload_too_large("Upload-Length is over the limit of " +
                                       std::to_string(options_.max_length) + " bytes"));
  }
  auto metadata = request.header("Upload-Metadata").value_or("");
  std::optional<std::string> media_type;
  if (!trim(metadata).empty()) {
    auto checked = check_metadata(metadata);
    if (!checked.ok()) return tus_error(checked.status());
    media_type = std::move(*checked);
  }
  if (!request.body.empty()) {
    return tus_error(invalid_argument("send the bytes with PATCH (no creation-with-upload)"));
  }

  auto e = std::make_shared<UploadEntry>();
  e->id = new_uuid_v7();
  e->owner = who;
  e->length = *length;
  e->metadata = std::string(trim(metadata));
  if (media_type) e->media_type = *media_type;
  e->created_ms = e->touched_ms = now();
  if (e->length == 0) e->sha256 = crypto::sha256_hex("");
  {
    std::lock_guard lock(mu_);
    int open = 0;
    for (const auto& [id, other] : entries_) open += other->owner == who && !other->consumed;
    if (open >= options_.max_open_per_participant) {
      return tus_error(conflict(who + " already holds " + std::to_string(open) +
                                " uploads that no document has used; submit or delete some"));
    }
    // Reserved while its files are written; nobody else knows the id yet.
    e->busy = true;
    entries_[e->id] = e;
  }

  // The data file first: a sidecar never points at a file that is missing.
  Status st = ensure_dir();
  int fd = -1;
  if (st.ok()) fd = ::open(data_path(e->id).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (st.ok() && fd < 0) st = unavailable("cannot create an upload: " + errno_text());
  if (fd >= 0) ::close(fd);
  if (st.ok()) st = save(e->id, sidecar_text(*e, 0));
  std::lock_guard lock(mu_);
  e->busy = false;
  if (!st.ok()) {
    remove_files(e->id);
    entries_.erase(e->id);
    return tus_error(st);
  }
  logger()->info("upload created upload={} participant={} length={}", e->id, who, e->length);
  http::Response r = tus(http::Response{});
  r.status = 201;
  r.headers.emplace_back("Location", "/v1/uploads/" + e->id);
  r.headers.emplace_back("Upload-Offset", "0");
  r.headers.emplace_back("Upload-Expires", http_date(e->touched_ms + options_.expiry_ms));
  return r;
}

http::Response Uploads::head(const std::string& id, const std::string& who) {
  auto e = find(id, who);
  if (!e) return tus_error(not_found("no upload " + id));
  std::lock_guard lock(mu_);
  if (e->consumed) {
    return tus_error(not_found("upload " + id + " was used by a document"), 410);
  }
  http::Response r = tus(http::Response{});
  r.status = 200;
  r.headers.emplace_back("Upload-Offset", std::to_string(e->offset));
  r.headers.emplace_back("Upload-Length", std::to_string(e->length));
  if (!e->metadata.empty()) r.headers.emplace_back("Upload-Metadata", e->metadata);
  r.headers.emplace_back("Upload-Expires", http_date(e->touched_ms + options_.expiry_ms));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http::Response Uploads::remove(const std::string& id, const std::string& who) {
  auto e = find(id, who);
  if (!e) return tus_error(not_found("no upload " + id));
  std::lock_guard lock(mu_);
  if (e->consumed) {
    return tus_error(not_found("upload " + id + " was used by a document"), 410);
  }
  if (e->busy) return tus_error(conflict("upload " + id + " is busy with another request"));
  remove_files(id);
  entries_.erase(id);
  logger()->info("upload deleted upload={} participant={}", id, who);
  return no_content();
}

http::Handler::UploadStart Uploads::begin_patch(const http::Request& head,
                                                const Result<std::string>& who) {
  http::Handler::UploadStart start;
  auto refuse = [&](http::Response r) {
    start.refusal = std::move(r);
    return std::move(start);
  };
  auto id = upload_id_of(head.target);
  if (!id || id->empty()) {
    return refuse(tus_error(invalid_argument("PATCH an upload: /v1/uploads/ID"), 405));
  }
  if (auto refusal = check_version(head)) return refuse(std::move(*refusal));
  if (!opened_.ok()) return refuse(tus_error(opened_));
  if (!who.ok()) return refuse(tus_error(who.status()));
  auto e = find(*id, *who);
  if (!e) return refuse(tus_error(not_found("no upload " + *id)));
  std::string type(trim(head.header("Content-Type").value_or("")));
  if (type != kTusPatchMediaType) {
    return refuse(tus_error(
        unsupported_media_type("a PATCH body must be " + std::string(kTusPatchMediaType))));
  }
  auto offset = parse_length(trim(head.header("Upload-Offset").value_or("")));
  if (!offset) return refuse(tus_error(invalid_argument("Upload-Offset is required")));
  std::optional<uint64_t> announced;
  if (auto cl = head.header("Content-Length")) announced = parse_length(trim(*cl));

  std::lock_guard lock(mu_);
  if (e->consumed) {
    return refuse(tus_error(not_found("upload " + *id + " was used by a document"), 410));
  }
  if (e->busy)
    return refuse(tus_error(conflict("upload " + *id + " is busy with another request")));
  if (*offset != e->offset) {
    return refuse(tus_error(conflict("Upload-Offset " + std::to_string(*offset) +
                                     " is not the upload's offset " + std::to_string(e->offset))));
  }
  if (announced && *announced > e->length - e->offset) {
    return refuse(tus_error(
        invalid_argument("the body goes beyond Upload-Length " + std::to_string(e->length) + ": " +
                         std::to_string(e->length - e->offset) + " bytes remain")));
  }
  int fd = ::open(data_path(*id).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return refuse(tus_error(unavailable("cannot open the upload: " + errno_text())));
  e->busy = true;
  start.sink = std::make_unique<PatchSink>(*this, e, fd);
  return start;
}

// ---------------------------------------------------------------------------
// Submit.

Result<std::vector<StagedFile>> Uploads::assemble(const std::string& sender,
                                                  const DocumentMeta& meta,
                                                  std::vector<StagedFile> parts,
                                                  UploadClaims& claims) {
  size_t want_parts = 0;
  for (const auto& d : meta.files) want_parts += d.upload ? 0 : 1;
  if (want_parts == meta.files.size()) return parts;  // no uploads named
  if (parts.size() != want_parts) {
    return invalid_argument("metadata lists " + std::to_string(want_parts) +
                            " files without an upload but the body has " +
                            std::to_string(parts.size()) + " file parts");
  }
  if (!opened_.ok()) return opened_;
  claims.uploads_ = this;
  std::vector<StagedFile> files;
  size_t next_part = 0;
  for (size_t i = 0; i < meta.files.size(); ++i) {
    const DeclaredFile& d = meta.files[i];
    StagedFile f;
    if (d.upload) {
      auto taken = take(sender, meta, d, claims);
      if (!taken.ok())
        return taken.status().with_context("files[" + std::to_string(i) + "].upload");
      f = std::move(*taken);
      f.info.name = d.name;
    } else {
      f = std::move(parts[next_part++]);
    }
    f.info.index = static_cast<int>(i);
    f.info.role = i == 0 ? "main" : "attachment";
    files.push_back(std::move(f));
  }
  return files;
}

Result<StagedFile> Uploads::take(const std::string& sender, const DocumentMeta& meta,
                                 const DeclaredFile& declared, UploadClaims& claims) {
  const std::string& id = *declared.upload;
  auto e = find(id, sender);
  if (!e) return invalid_argument("no upload " + id);
  StagedFile f;
  f.temp_path = data_path(id);
  {
    std::lock_guard lock(mu_);
    if (e->consumed && e->sender_ref != meta.sender_ref) {
      return conflict("upload " + id + " was already used by document " +
                      (e->document.empty() ? "(unknown)" : e->document));
    }
    if (!e->consumed) {
      if (e->busy) return conflict("upload " + id + " is busy with another request");
      if (e->offset < e->length) {
        return invalid_argument("upload " + id + " is not finished: " + std::to_string(e->offset) +
                                " of " + std::to_string(e->length) + " bytes");
      }
      e->busy = true;
    }
    claims.entries_.push_back(e);
  }
  if (!e->consumed) {
    // Hashing a large file takes a while: it runs outside the lock, the
    // upload being marked busy.
    SENED_RETURN_IF_ERROR(prepare_digest(*e));
    // Recorded before the store may move the bytes, so that after a crash
    // an upload whose bytes are gone is known to be used by this sender_ref.
    std::string text;
    {
      std::lock_guard lock(mu_);
      e->sender_ref = meta.sender_ref;
      text = sidecar_text(*e, e->offset);
    }
    SENED_RETURN_IF_ERROR(save(id, text));
  }
  f.info.size = e->length;
  f.info.sha256 = e->sha256;
  f.info.media_type = e->media_type;
  return f;
}

// Computes the digest (unless the PATCH did) and checks the size.
Status Uploads::prepare_digest(UploadEntry& e) {
  struct stat st;
  if (::stat(data_path(e.id).c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != e.length) {
    return internal_error("upload " + e.id + " does not hold its " + std::to_string(e.length) +
                          " bytes");
  }
  if (e.sha256.empty()) {
    auto digest = crypto::sha256_file_hex(data_path(e.id));
    if (!digest.ok()) return digest.status();
    std::lock_guard lock(mu_);
    e.sha256 = *digest;
  }
  return Status();
}

void Uploads::release(UploadEntry& e, bool used, const std::string& document_id) {
  std::string text;
  {
    std::lock_guard lock(mu_);
    if (!entries_.contains(e.id)) return;  // swept meanwhile: leave no record behind
    if (e.consumed) {
      // A repeated submit: remember the document if a crash hid it.
      if (!used || !e.document.empty()) return;
      e.document = document_id;
    } else if (used) {
      e.consumed = true;
      e.document = document_id;
      e.touched_ms = now();
      e.busy = false;
      ::unlink(data_path(e.id).c_str());  // only if the store left it
      logger()->info("upload used upload={} document={}", e.id, document_id);
    } else {
      e.busy = false;
      e.sender_ref.clear();
      struct stat st;
      if (::stat(data_path(e.id).c_str(), &st) != 0) {
        // The store moved the bytes and then failed: nothing is left.
        logger()->error("upload lost its bytes in a failed submit upload={}", e.id);
        remove_files(e.id);
        entries_.erase(e.id);
        return;
      }
      return;
    }
    text = sidecar_text(e, e.offset);
  }
  Status st = save(e.id, text);
  if (!st.ok())
    logger()->error("upload record not saved upload={} error=\"{}\"", e.id, st.message());
}

}  // namespace sened::exchange
