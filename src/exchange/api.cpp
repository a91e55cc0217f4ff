#include "exchange/api.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>
#include <map>
#include <vector>

#include "core/fd.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/multipart.h"
#include "core/validate.h"
#include "crypto/digest.h"
#include "exchange/bundle.h"
#include "exchange/receipts.h"
#include "exchange/signatures.h"
#include "exchange/uploads.h"

namespace sened::exchange {
namespace json = boost::json;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("exchange");
    return l ? l : spdlog::default_logger()->clone("exchange");
  }();
  return log;
}

http::Response json_ok(int status, const json::value& v) {
  return http::json_response(status, json::serialize(v) + "\n");
}

http::Response bad_request(const std::string& message) {
  return http::error_response(invalid_argument(message));
}

// Long polls wait at most this long; a client wanting more polls again.
constexpr int kMaxPollWaitSeconds = 60;

Result<int> parse_wait(std::string_view text) {
  if (text.empty()) return 0;
  int v = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0 || v > kMaxPollWaitSeconds) {
    return invalid_argument("wait is a number of seconds from 0 to " +
                            std::to_string(kMaxPollWaitSeconds));
  }
  return v;
}

// A webhook endpoint: an absolute https URL with a host and no credentials.
Status check_webhook_url(const std::string& text) {
  auto url = boost::urls::parse_absolute_uri(text);
  if (text.size() > 2000 || !url || url->scheme() != "https" || url->host().empty() ||
      url->has_userinfo() || url->has_fragment()) {
    return invalid_argument(
        "a webhook url is an https:// URL with a host, no user and no fragment");
  }
  return Status();
}

json::object webhook_json(const Webhook& h) {
  return json::object{{"url", h.url},
                      {"created_at", h.created_at},
                      {"cursor", std::to_string(h.cursor)},
                      {"failures", h.failures},
                      {"last_error", h.last_error},
                      {"last_attempt_at", h.last_attempt_at},
                      {"last_success_at", h.last_success_at},
                      {"next_attempt_at", h.next_attempt_at}};
}

std::string random_secret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no entropy: nothing is safe
  return crypto::to_hex(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

// The parsed request target: path segments and query parameters.
struct Target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;

  std::optional<std::string> param(std::string_view key) const {
    for (const auto& [k, v] : query) {
      if (k == key) return v;
    }
    return std::nullopt;
  }
};

Result<Target> parse_target(const std::string& target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return invalid_argument("malformed request target");
  Target t;
  for (auto seg : parsed->segments()) t.segments.emplace_back(seg);
  for (auto param : parsed->params()) t.query.emplace_back(param.key, param.value);
  return t;
}

bool path_is(const Target& t, std::initializer_list<std::string_view> pattern) {
  if (t.segments.size() != pattern.size()) return false;
  size_t i = 0;
  for (std::string_view p : pattern) {
    if (p != "*" && t.segments[i] != p) return false;
    ++i;
  }
  return true;
}

Result<int64_t> parse_cursor(const std::optional<std::string>& cursor) {
  if (!cursor || cursor->empty()) return int64_t{0};
  int64_t v = 0;
  auto [end, ec] = std::from_chars(cursor->data(), cursor->data() + cursor->size(), v);
  if (ec != std::errc() || end != cursor->data() + cursor->size() || v < 0) {
    return invalid_argument("after: not a cursor this hub gave out");
  }
  return v;
}

Result<bool> parse_bool(const std::optional<std::string>& v, std::string_view name) {
  if (!v || v->empty() || *v == "false" || *v == "0") return false;
  if (*v == "true" || *v == "1") return true;
  return invalid_argument(std::string(name) + ": expected true or false");
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool plain =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// RFC 6266: an ASCII fallback name plus the exact UTF-8 name in filename*.
std::string content_disposition(const std::string& name) {
  std::string fallback;
  for (unsigned char c : name) {
    fallback.push_back(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? static_cast<char>(c) : '_');
  }
  return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" + percent_encode(name);
}

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool partial = false;
};

// One "bytes=" range (RFC 9110 14.1.2). Several ranges or other units are
// ignored (the whole file is sent), which the RFC allows; kConflict stands
// for "unsatisfiable" (416).
Result<ByteRange> parse_range(const std::optional<std::string>& header, uint64_t size) {
  ByteRange whole{0, size, false};
  if (!header) return whole;
  std::string_view h = *header;
  if (h.rfind("bytes=", 0) != 0 || h.find(',') != std::string_view::npos) return whole;
  h.remove_prefix(6);
  size_t dash = h.find('-');
  if (dash == std::string_view::npos) return whole;
  auto number = [](std::string_view s, uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  uint64_t first = 0, last = 0;
  std::string_view a = h.substr(0, dash), b = h.substr(dash + 1);
  if (a.empty()) {  // suffix range: the last N bytes
    if (!number(b, last)) return whole;
    if (last == 0) return conflict("range not satisfiable");
    uint64_t n = std::min(last, size);
    return ByteRange{size - n, n, true};
  }
  if (!number(a, first)) return whole;
  if (first >= size) return conflict("range not satisfiable");
  if (b.empty()) return ByteRange{first, size - first, true};
  if (!number(b, last) || last < first) return whole;
  last = std::min(last, size - 1);
  return ByteRange{first, last - first + 1, true};
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A part's Content-Type as stored and served again: "type/subtype" tokens
// (RFC 9110), optionally followed by parameters of printable ASCII; empty
// means application/octet-stream. Anything else is refused, so that what
// the hub echoes in JSON and headers is always clean.
Result<std::string> media_type_of(std::string_view ct) {
  constexpr size_t kMaxMediaType = 255;
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
  if (ct.empty()) return std::string("application/octet-stream");
  if (ct.size() > kMaxMediaType) return invalid_argument("Content-Type is too long");
  size_t end = ct.find(';');
  std::string_view type = ct.substr(0, end);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  size_t slash = type.find('/');
  bool ok = slash != std::string_view::npos && slash > 0 && slash + 1 < type.size();
  for (size_t i = 0; ok && i < type.size(); ++i) ok = i == slash || is_token_char(type[i]);
  for (size_t i = type.size(); ok && i < ct.size(); ++i) ok = ct[i] >= 0x20 && ct[i] < 0x7f;
  if (!ok) return invalid_argument("malformed Content-Type");
  return std::string(ct);
}

// ---------------------------------------------------------------------------
// POST /v1/documents: a streamed multipart upload.

// A file up to this size stays in memory instead of a staging file: creating
// and removing a file per document cost more CPU than the rest of a submit
// (the filesystem's inode allocation). Larger files stream to disk.
constexpr uint64_t kMemoryFileLimit = 64 * 1024;
// At most this many bytes of one upload's files stay in memory; the files
// that arrive after it stream to disk, so memory stays bounded per upload.
constexpr uint64_t kMemoryUploadLimit = 1024 * 1024;

class DocumentUpload : public http::UploadSink {
 public:
  DocumentUpload(Store& store, EventBus& bus, const Limits& limits, Uploads& uploads,
                 const Signatures& signatures, std::string sender, std::string boundary)
      : store_(store),
        bus_(bus),
        limits_(limits),
        uploads_(uploads),
        signatures_(signatures),
        sender_(std::move(sender)),
        parser_(std::move(boundary), callbacks()) {}

  ~DocumentUpload() override {
    close_current();
    for (const auto& f : files_) {
      if (!f.temp_path.empty()) ::unlink(f.temp_path.c_str());
    }
  }

  Status write(std::string_view chunk) override {
    // A chunked body announces no length; count what arrives.
    received_ += chunk.size();
    if (received_ > limits_.max_upload_size) {
      return payload_too_large("upload over " + std::to_string(limits_.max_upload_size) + " bytes");
    }
    return parser_.feed(chunk);
  }

  http::Response finish() override {
    Status st = parser_.finish();
    if (!st.ok()) return http::error_response(st);
    auto doc = build_document();
    if (!doc.ok()) return http::error_response(doc.status());
    // The signature policy refuses a well-formed document (policy_refused,
    // 422); nothing is stored. A repeat of an accepted submit passed it then.
    Status policy = repeat_ ? Status() : signatures_.enforce_policy(doc->meta, doc->files);
    if (!policy.ok()) return http::error_response(policy);
    auto outcome = store_.submit(*doc);
    if (!outcome.ok()) return http::error_response(outcome.status());
    claims_.commit(outcome->document.id);
    // Committed: wake the recipients' streams before answering the sender.
    if (outcome->created) {
      std::vector<std::string> woken = outcome->document.meta.to;
      woken.insert(woken.end(), outcome->document.meta.cc.begin(), outcome->document.meta.cc.end());
      bus_.publish(woken);
    }
    return answer(*outcome);
  }

 private:
  MultipartParser::Callbacks callbacks() {
    return {[this](const PartHeaders& h) { return begin_part(h); },
            [this](std::string_view data) { return part_data(data); },
            [this] { return end_part(); }};
  }

  Status begin_part(const PartHeaders& h) {
    bool follows_file = follows_file_;
    follows_file_ = false;
    if (!seen_metadata_) {
      if (h.name != "metadata") return invalid_argument("the first part must be 'metadata'");
      seen_metadata_ = in_metadata_ = true;
      return Status();
    }
    if (h.name == kSignaturePart) return begin_signature(h, follows_file);
    if (h.name == "metadata") return invalid_argument("more than one 'metadata' part");
    if (h.name != "file") return invalid_argument("unexpected part '" + h.name + "'");
    return begin_file(h);
  }

  // A file's detached signature (docs/signatures.md). A `signature` part
  // whose file name is exactly "<name>.p7s" for a metadata.files entry sent
  // by upload signs that file, wherever it comes after the metadata (the
  // file has no part to follow); any other signs the `file` part right
  // before it.
  Status begin_signature(const PartHeaders& h, bool follows_file) {
    if (auto index = uploaded_file_signed_by(h.filename)) {
      auto [it, fresh] = upload_signatures_.try_emplace(*index);
      if (!fresh) {
        return invalid_argument("a second 'signature' part for files[" + std::to_string(*index) +
                                "] (" + meta_->files[*index].name + ")");
      }
      signature_ = &it->second;
      signature_index_ = *index;
      return Status();
    }
    if (!follows_file || files_.empty() || files_.back().signature) {
      return invalid_argument(
          "a 'signature' part must come right after its 'file' part, or be named NAME.p7s "
          "after a file NAME that metadata.files sends by upload");
    }
    signature_ = &files_.back().signature.emplace();
    signature_index_ = static_cast<size_t>(files_.back().info.index);
    return Status();
  }

  // The index in metadata.files of the file sent by upload that a signature
  // part named `filename` signs, if any.
  std::optional<size_t> uploaded_file_signed_by(const std::optional<std::string>& filename) const {
    if (!filename || !meta_) return std::nullopt;
    for (size_t i = 0; i < meta_->files.size(); ++i) {
      const DeclaredFile& d = meta_->files[i];
      if (d.upload && *filename == d.name + kSignaturePartSuffix) return i;
    }
    return std::nullopt;
  }

  Status begin_file(const PartHeaders& h) {
    if (files_.size() >= limits_.max_files) {
      return payload_too_large("more than " + std::to_string(limits_.max_files) + " files");
    }
    if (!h.filename) return invalid_argument("file part without a file name");
    int index = static_cast<int>(files_.size());
    Status valid = validate_file_name(*h.filename);
    if (!valid.ok()) return valid.with_context("file " + std::to_string(index));
    std::string where = "file " + std::to_string(index);
    SENED_RETURN_IF_ERROR(check_unique_name(*h.filename).with_context(where));
    auto media_type = media_type_of(h.content_type);
    if (!media_type.ok()) return media_type.status().with_context(where);
    StagedFile f;
    f.info.index = index;
    f.info.name = *h.filename;
    f.info.media_type = *media_type;
    f.info.role = index == 0 ? "main" : "attachment";
    f.content.emplace();  // in memory until it grows past kMemoryFileLimit
    files_.push_back(std::move(f));
    hash_ = crypto::Sha256();
    return Status();
  }

  // Two files whose names could land on the same path at the recipient
  // (equal after NFC and ASCII case folding), or a file named like the
  // envelope that `sened fetch` writes beside the files, are refused.
  Status check_unique_name(const std::string& name) {
    std::string key = to_nfc(name);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key == "envelope.json") return invalid_argument("'envelope.json' is a reserved name");
    for (const auto& seen : name_keys_) {
      if (seen == key) return invalid_argument("another file of this document has the same name");
    }
    name_keys_.push_back(std::move(key));
    return Status();
  }

  Status part_data(std::string_view data) {
    if (signature_ != nullptr) {
      if (signature_->size() + data.size() > crypto::kMaxSignatureBytes) {
        return payload_too_large("signature of file " + std::to_string(signature_index_) +
                                 " over " + std::to_string(crypto::kMaxSignatureBytes) + " bytes");
      }
      signature_->append(data);
      return Status();
    }
    if (in_metadata_) {
      if (metadata_.size() + data.size() > limits_.max_metadata_size) {
        return payload_too_large("metadata over " + std::to_string(limits_.max_metadata_size) +
                                 " bytes");
      }
      metadata_.append(data);
      return Status();
    }
    StagedFile& f = files_.back();
    if (f.info.size + data.size() > limits_.max_file_size) {
      return payload_too_large("file " + std::to_string(f.info.index) + " is over the limit of " +
                               std::to_string(limits_.max_file_size) + " bytes");
    }
    f.info.size += data.size();
    hash_.update(data);
    if (f.content && f.content->size() + data.size() <= kMemoryFileLimit &&
        in_memory_ + data.size() <= kMemoryUploadLimit) {
      f.content->append(data);
      in_memory_ += data.size();
      return Status();
    }
    if (f.content) SENED_RETURN_IF_ERROR(spill(f));
    return write_all(data);
  }

  // Moves a file that outgrew memory to a staging file and keeps writing there.
  Status spill(StagedFile& f) {
    f.temp_path = store_.staging_dir() + "/upload-" + new_uuid_v7();
    fd_ = ::open(f.temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      f.temp_path.clear();
      return unavailable("cannot create a staging file");
    }
    SENED_RETURN_IF_ERROR(write_all(*f.content));
    in_memory_ -= f.content->size();
    f.content.reset();
    return Status();
  }

  Status write_all(std::string_view data) {
    if (!sened::write_all(fd_, data)) return unavailable("cannot write a staging file");
    return Status();
  }

  Status end_part() {
    if (signature_ != nullptr) {
      signature_ = nullptr;
      return Status();
    }
    if (in_metadata_) {
      in_metadata_ = false;
      auto meta = parse_metadata(metadata_);
      if (!meta.ok()) return meta.status().with_context("metadata");
      meta_ = std::move(*meta);
      return Status();
    }
    // No fsync here: the store keeps small files inside its own commit and
    // fsyncs a large one before it renames it into place (Store::submit).
    files_.back().info.sha256 = crypto::to_hex(hash_.finish());
    close_current();
    follows_file_ = true;
    return Status();
  }

  void close_current() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  Status check_declared_files(const std::vector<StagedFile>& files) const {
    const auto& declared = meta_->files;
    if (declared.empty()) return Status();
    if (declared.size() != files.size()) {
      return invalid_argument("metadata lists " + std::to_string(declared.size()) +
                              " files but the upload has " + std::to_string(files.size()));
    }
    for (size_t i = 0; i < declared.size(); ++i) {
      const FileInfo& got = files[i].info;
      std::string where = "file " + std::to_string(i) + " (" + got.name + ")";
      if (to_nfc(declared[i].name) != to_nfc(got.name)) {
        return invalid_argument(where + ": name differs from metadata.files[" + std::to_string(i) +
                                "]");
      }
      if (declared[i].sha256 && *declared[i].sha256 != got.sha256) {
        return invalid_argument(where + ": SHA-256 does not match the declared one");
      }
      if (declared[i].size && *declared[i].size != got.size) {
        return invalid_argument(where + ": size does not match the declared one");
      }
    }
    return Status();
  }

  // A reply may only answer a document its sender can see; any other id
  // is refused with the same words as a missing one.
  Status check_in_reply_to() {
    if (!meta_->in_reply_to) return Status();
    const std::string& id = *meta_->in_reply_to;
    Status missing = invalid_argument("in_reply_to: no document " + id);
    auto doc = store_.get_document(id);
    if (!doc.ok()) return doc.status().code() == Code::kNotFound ? missing : doc.status();
    if (doc->sender == sender_) return Status();
    auto deliveries = store_.deliveries(id);
    if (!deliveries.ok()) return deliveries.status();
    for (const auto& d : *deliveries) {
      if (d.recipient == sender_) return Status();
    }
    return missing;
  }

  Result<NewDocument> build_document() {
    if (!meta_) return invalid_argument("no metadata part");
    // Files named by an upload id come from /v1/uploads, the others from parts.
    for (size_t i = 0; i < meta_->files.size(); ++i) {
      if (!meta_->files[i].upload) continue;
      SENED_RETURN_IF_ERROR(
          check_unique_name(meta_->files[i].name).with_context("files[" + std::to_string(i) + "]"));
    }
    auto files = uploads_.assemble(sender_, *meta_, files_, claims_);
    if (!files.ok()) return files.status();
    if (files->empty()) return invalid_argument("a document needs at least one file");
    SENED_RETURN_IF_ERROR(check_declared_files(*files));
    SENED_RETURN_IF_ERROR(check_in_reply_to());
    for (size_t i = 0; i < files->size() && i < meta_->files.size(); ++i) {
      (*files)[i].info.encrypted = meta_->files[i].encrypted;
    }
    // Uploaded files exist only now; their signature parts were held apart.
    // In a repeat the uploads' bytes are gone: the store answers with the
    // first document, whose signatures were checked when it was accepted
    // (signatures are not part of the idempotency digest).
    repeat_ = claims_.repeats_a_used_upload();
    for (auto& [index, der] : upload_signatures_) {
      if (!repeat_) (*files)[index].signature = std::move(der);
    }
    SENED_RETURN_IF_ERROR(signatures_.check(*files));
    NewDocument doc;
    doc.id = new_uuid_v7();
    doc.sender = sender_;
    doc.meta = *meta_;
    doc.files = std::move(*files);
    doc.created_at = now_rfc3339();
    return doc;
  }

  http::Response answer(const SubmitOutcome& outcome) {
    const Document& d = outcome.document;
    if (outcome.created) {
      logger()->info("document accepted document={} sender={} files={} recipients={}", d.id,
                     d.sender, d.files.size(), d.meta.to.size() + d.meta.cc.size());
    }
    auto deliveries = store_.deliveries(d.id);
    if (!deliveries.ok()) return http::error_response(deliveries.status());
    http::Response r = json_ok(outcome.created ? 201 : 200, to_json(d, *deliveries));
    r.headers.emplace_back("Location", "/v1/documents/" + d.id);
    return r;
  }

  Store& store_;
  EventBus& bus_;
  Limits limits_;
  Uploads& uploads_;
  const Signatures& signatures_;
  std::string sender_;
  MultipartParser parser_;
  bool seen_metadata_ = false;
  bool in_metadata_ = false;
  // The signature being received, while in a `signature` part: the
  // signature of files_.back() or an entry of upload_signatures_.
  std::string* signature_ = nullptr;
  size_t signature_index_ = 0;  // the file it signs, for messages
  // Signatures of files sent by upload, by index in metadata.files.
  std::map<size_t, std::string> upload_signatures_;
  bool follows_file_ = false;  // the part just ended was a file
  std::string metadata_;
  std::optional<DocumentMeta> meta_;
  std::vector<StagedFile> files_;
  std::vector<std::string> name_keys_;
  uint64_t received_ = 0;
  uint64_t in_memory_ = 0;  // bytes of files_ held in memory
  int fd_ = -1;
  crypto::Sha256 hash_;
  UploadClaims claims_;  // uploads this submit takes; given back unless committed
  bool repeat_ = false;  // claims_ holds an upload an earlier document used
};

}  // namespace

// ---------------------------------------------------------------------------

Api::Api(Store& store, Limits limits, PublicFiles files)
    : store_(store), limits_(limits), files_(std::move(files)), journal_(store, files_.journal) {
  UploadOptions options;
  options.dir = store_.staging_dir() + "/uploads";
  options.max_length = limits_.max_file_size;
  uploads_ = std::make_unique<Uploads>(std::move(options));
  // Without its folder the hub still runs; /v1/uploads then answers 503.
  Status st = uploads_->open();
  if (!st.ok()) logger()->error("uploads unavailable error=\"{}\"", st.message());
}

Api::~Api() = default;

void Api::set_evidence(Evidence evidence) { evidence_ = std::move(evidence); }

int Api::sweep_uploads() { return uploads_->sweep(); }

std::optional<http::Handler::FeedStart> Api::open_feed(const http::Request& head) {
  auto target = parse_target(head.target);
  if (!target.ok()) return std::nullopt;
  bool stream = path_is(*target, {"v1", "stream"});
  if (!stream && !path_is(*target, {"v1", "events"})) return std::nullopt;

  FeedStart start;
  auto refuse = [&](const Status& st) {
    start.refusal = http::error_response(st);
    return std::optional<FeedStart>(std::move(start));
  };
  auto who = authenticate(head);
  if (!who.ok()) return refuse(who.status());
  auto after_text = target->param("after");
  if (after_text && after_text->empty()) return refuse(invalid_argument("after= needs a cursor"));
  auto after = parse_event_cursor(after_text.value_or(""));
  if (!after.ok()) return refuse(after.status());
  auto last = store_.last_event_cursor();
  if (!last.ok()) return refuse(last.status());
  if (*after && **after > *last) {
    return refuse(invalid_argument("cursor " + std::to_string(**after) +
                                   " is beyond the last event " + std::to_string(*last)));
  }
  int64_t from = 0;
  if (*after) {
    from = **after;
  } else {
    auto position = store_.event_position(*who);
    if (!position.ok()) return refuse(position.status());
    from = *position;
  }
  if (!stream) {
    auto wait = parse_wait(target->param("wait").value_or(""));
    if (!wait.ok()) return refuse(wait.status());
    start.wait_seconds = *wait;
  }
  int limit = 1000;
  if (auto text = target->param("limit")) {
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (ec != std::errc() || end != text->data() + text->size() || limit < 1 || limit > 1000) {
      return refuse(invalid_argument("limit is a number from 1 to 1000"));
    }
  }
  start.websocket = stream;
  start.feed = std::make_unique<ParticipantFeed>(store_, bus_, *who, from, limit);
  return std::optional<FeedStart>(std::move(start));
}

Result<std::string> Api::authenticate(const http::Request& request) {
  if (request.peer_fingerprint.empty()) return permission_denied("no client certificate");
  auto cert = store_.find_certificate_by_fingerprint(request.peer_fingerprint);
  if (!cert.ok()) {
    if (cert.status().code() == Code::kNotFound) {
      return permission_denied("this certificate is not registered to any participant");
    }
    return cert.status();
  }
  if (cert->revoked) return permission_denied("this certificate is revoked");
  auto participant = store_.get_participant(cert->participant);
  if (!participant.ok()) return permission_denied("unknown participant");
  if (participant->status != ParticipantStatus::kActive) {
    return permission_denied("participant " + participant->id + " is " +
                             std::string(to_string(participant->status)));
  }
  return participant->id;
}

std::optional<http::Handler::UploadStart> Api::begin_upload(const http::Request& head) {
  if (head.method == "PATCH" && Uploads::is_upload_target(head.target)) {
    return uploads_->begin_patch(head, authenticate(head));
  }
  auto target = parse_target(head.target);
  if (head.method != "POST" || !target.ok() || !path_is(*target, {"v1", "documents"})) {
    return std::nullopt;
  }
  auto refuse = [](const Status& st) {
    UploadStart refused;
    refused.refusal = http::error_response(st);
    return std::optional<UploadStart>(std::move(refused));
  };
  auto sender = authenticate(head);
  if (!sender.ok()) return refuse(sender.status());
  auto boundary =
      MultipartParser::boundary_from_content_type(head.header("Content-Type").value_or(""));
  if (!boundary.ok()) return refuse(boundary.status());
  if (auto length = head.header("Content-Length")) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), n);
    if (ec == std::errc() && n > limits_.max_upload_size) {
      return refuse(
          payload_too_large("upload over " + std::to_string(limits_.max_upload_size) + " bytes"));
    }
  }
  UploadStart start;
  static const Signatures kNoTrust;
  const Signatures& signatures = evidence_.signatures ? *evidence_.signatures : kNoTrust;
  start.sink = std::make_unique<DocumentUpload>(store_, bus_, limits_, *uploads_, signatures,
                                                *sender, *boundary);
  return std::optional<UploadStart>(std::move(start));
}

namespace {

// Handlers of the authenticated /v1 routes; `who` is the caller.
class Routes {
 public:
  Routes(Store& store, EventBus& bus, const Limits& limits, std::string who,
         Receipts* receipts = nullptr)
      : store_(store), bus_(bus), limits_(limits), who_(std::move(who)), receipts_(receipts) {}

  http::Response inbox(const Target& t) {
    auto after = parse_cursor(t.param("after"));
    if (!after.ok()) return http::error_response(after.status());
    auto all = parse_bool(t.param("all"), "all");
    if (!all.ok()) return http::error_response(all.status());
    auto page = store_.inbox(who_, *after, *all, limits_.page_size);
    if (!page.ok()) return http::error_response(page.status());
    json::array docs;
    for (const auto& item : page->items) {
      json::object o = to_json(item.document);
      o["delivery"] = to_json(item.delivery);
      docs.push_back(std::move(o));
    }
    return json_ok(200, json::object{{"documents", std::move(docs)},
                                     {"cursor", std::to_string(page->next_after)}});
  }

  http::Response outbox(const Target& t) {
    auto after = parse_cursor(t.param("after"));
    if (!after.ok()) return http::error_response(after.status());
    auto page = store_.outbox(who_, *after, limits_.page_size);
    if (!page.ok()) return http::error_response(page.status());
    json::array docs;
    for (const auto& item : page->items) docs.push_back(to_json(item.document, item.deliveries));
    return json_ok(200, json::object{{"documents", std::move(docs)},
                                     {"cursor", std::to_string(page->next_after)}});
  }

  http::Response participants() {
    auto list = store_.list_participants();
    if (!list.ok()) return http::error_response(list.status());
    json::array a;
    for (const auto& p : *list) a.push_back(to_json(p));
    return json_ok(200, json::object{{"participants", std::move(a)}});
  }

  // A participant's certificates that are usable now (not revoked, within
  // their validity), so that a sender can encrypt to every one of them.
  http::Response participant_certificates(const std::string& id) {
    auto participant = store_.get_participant(id);
    if (!participant.ok()) return http::error_response(participant.status());
    auto all = store_.list_certificates();
    if (!all.ok()) return http::error_response(all.status());
    std::string now = now_rfc3339();
    json::array a;
    for (const auto& c : *all) {
      if (c.participant != id || c.revoked || c.not_before > now || c.not_after < now) continue;
      a.push_back(json::object{{"serial", c.serial},
                               {"fingerprint", c.fingerprint},
                               {"not_after", c.not_after},
                               {"pem", c.pem}});
    }
    return json_ok(200, json::object{{"participant", id}, {"certificates", std::move(a)}});
  }

  // The document if the caller sent or received it; else kNotFound.
  Result<std::pair<Document, std::vector<Delivery>>> visible(const std::string& id) {
    auto doc = store_.get_document(id);
    if (!doc.ok() && doc.status().code() == Code::kNotFound) return not_found("no document " + id);
    if (!doc.ok()) return doc.status();
    auto deliveries = store_.deliveries(id);
    if (!deliveries.ok()) return deliveries.status();
    bool party = doc->sender == who_;
    for (const auto& d : *deliveries) party = party || d.recipient == who_;
    if (!party) return not_found("no document " + id);
    return std::make_pair(std::move(*doc), std::move(*deliveries));
  }

  http::Response document(const std::string& id) {
    auto v = visible(id);
    if (!v.ok()) return http::error_response(v.status());
    return json_ok(200, to_json(v->first, v->second));
  }

  http::Response history(const std::string& id) {
    auto v = visible(id);
    if (!v.ok()) return http::error_response(v.status());
    auto entries = store_.history(id);
    if (!entries.ok()) return http::error_response(entries.status());
    json::array a;
    for (const auto& e : *entries) a.push_back(to_json(e));
    return json_ok(200, json::object{{"document", id}, {"history", std::move(a)}});
  }

  http::Response file(const std::string& id, const std::string& index_text,
                      const http::Request& request) {
    auto v = visible(id);
    if (!v.ok()) return http::error_response(v.status());
    if (index_text.size() > 1 && index_text[0] == '0') {
      return http::error_response(not_found("no such file"));
    }
    int index = -1;
    auto [end, ec] =
        std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
    if (ec != std::errc() || end != index_text.data() + index_text.size() || index < 0) {
      return http::error_response(not_found("no such file"));
    }
    auto content = store_.open_file(id, index);
    if (!content.ok()) return http::error_response(content.status());
    return file_response(*content, request.header("Range"));
  }

  http::Response file_response(const FileContent& c, const std::optional<std::string>& range) {
    auto r = parse_range(range, c.info.size);
    if (!r.ok()) {
      http::Response resp =
          http::error_response(Status(Code::kInvalidArgument, "range not satisfiable"));
      resp.status = 416;
      resp.headers.emplace_back("Content-Range", "bytes */" + std::to_string(c.info.size));
      return resp;
    }
    http::Response resp;
    resp.status = r->partial ? 206 : 200;
    resp.headers.emplace_back("Content-Type", c.info.media_type);
    resp.headers.emplace_back("Content-Disposition", content_disposition(c.info.name));
    resp.headers.emplace_back("Accept-Ranges", "bytes");
    auto raw = crypto::from_hex(c.info.sha256).value_or("");
    resp.headers.emplace_back("Repr-Digest", "sha-256=:" + crypto::base64_encode(raw) + ":");
    if (r->partial) {
      resp.headers.emplace_back("Content-Range", "bytes " + std::to_string(r->offset) + "-" +
                                                     std::to_string(r->offset + r->length - 1) +
                                                     "/" + std::to_string(c.info.size));
    }
    http::FileSource src;
    src.path = c.path;
    src.bytes = c.inline_bytes;
    if (c.reader) {
      // The reader lives as long as the response needs it.
      src.reader = [reader = c.reader](uint64_t offset, char* out, size_t size) {
        return reader->read_at(offset, out, size);
      };
    }
    src.offset = r->offset;
    src.length = r->length;
    resp.file = std::move(src);
    return resp;
  }

  // A file's detached signature, as the sender sent it.
  http::Response signature(const std::string& id, const std::string& index_text) {
    auto v = visible(id);
    if (!v.ok()) return http::error_response(v.status());
    auto index = file_index(index_text);
    if (!index) return http::error_response(not_found("no such file"));
    auto der = store_.open_signature(id, *index);
    if (!der.ok()) return http::error_response(der.status());
    http::Response r;
    r.headers.emplace_back("Content-Type", "application/pkcs7-signature");
    r.body = std::move(*der);
    return r;
  }

  // The document's signed receipts so far (docs/receipts.md).
  http::Response receipts(const std::string& id) {
    auto v = visible(id);
    if (!v.ok()) return http::error_response(v.status());
    if (receipts_ == nullptr) return http::error_response(unavailable("receipts are not set up"));
    auto list = receipts_->for_document(v->first);
    if (!list.ok()) return http::error_response(list.status());
    json::array a;
    for (const auto& r : *list) {
      a.push_back(json::object{{"event", r.event},
                               {"participant", r.participant},
                               {"journal_seq", r.journal_seq},
                               {"journal_index", r.journal_seq - 1},
                               {"der", crypto::base64_encode(r.der)}});
    }
    return json_ok(
        200, json::object{
                 {"document", id}, {"receipts", std::move(a)}, {"chain", receipts_->chain_pem()}});
  }

  static std::optional<int> file_index(const std::string& text) {
    if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
    int index = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (ec != std::errc() || end != text.data() + text.size() || index < 0) return std::nullopt;
    return index;
  }

  // Acknowledging is idempotent even after the recipient has registered or
  // rejected the document: a gateway that reconnects may ack late.
  http::Response ack(const std::string& id) {
    DeliveryUpdate u;
    u.status = DeliveryStatus::kDelivered;
    http::Response r = update(id, u);
    if (r.status != 409) return r;
    auto deliveries = store_.deliveries(id);
    if (!deliveries.ok()) return r;
    for (const auto& d : *deliveries) {
      // Recalled and expired deliveries were never delivered: that conflict stands.
      if (d.recipient == who_ && d.status != DeliveryStatus::kQueued &&
          d.status != DeliveryStatus::kRecalled && d.status != DeliveryStatus::kExpired) {
        json::object o = to_json(d);
        o["document"] = id;
        o["changed"] = false;
        return json_ok(200, o);
      }
    }
    return r;
  }

  http::Response status(const std::string& id, const std::string& body) {
    auto u = parse_status_body(body);
    if (!u.ok()) return http::error_response(u.status());
    return update(id, *u);
  }

  // The sender withdraws a document not yet delivered.
  http::Response recall(const std::string& id, const std::string& body) {
    std::string recipient;
    std::string reason;
    if (!body.empty()) {
      boost::system::error_code ec;
      json::value v = json::parse(body, ec);
      if (ec || !v.is_object()) return bad_request("body must be a JSON object or empty");
      for (const auto& [key, value] : v.as_object()) {
        if (!value.is_string() || (key != "recipient" && key != "reason")) {
          return bad_request("recall takes only \"recipient\" and \"reason\" strings");
        }
        (key == "recipient" ? recipient : reason) = std::string(value.as_string());
      }
      if (reason.size() > 2000 || !is_valid_utf8(reason) || has_control_character(reason)) {
        return bad_request("reason: UTF-8, at most 2000 bytes, no control characters");
      }
    }
    auto changes = store_.recall(id, who_, recipient, reason, now_rfc3339());
    if (!changes.ok()) return http::error_response(changes.status());
    json::array deliveries;
    bool changed = false;
    std::vector<std::string> woken{who_};
    for (const auto& c : *changes) {
      deliveries.push_back(to_json(c.delivery));
      changed = changed || c.changed;
      if (c.changed) woken.push_back(c.delivery.recipient);
    }
    if (changed) {
      logger()->info("document recalled document={} sender={}", id, who_);
      bus_.publish(woken);
    }
    return json_ok(
        200, json::object{
                 {"document", id}, {"deliveries", std::move(deliveries)}, {"changed", changed}});
  }

  http::Response ack_events(const std::string& body) {
    auto saved = acknowledge(store_, who_, body);
    if (!saved.ok()) return http::error_response(saved.status());
    return json_ok(200, json::object{{"acknowledged", std::to_string(*saved)}});
  }

  http::Response put_webhook(const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    const json::value* url = (!ec && v.is_object()) ? v.as_object().if_contains("url") : nullptr;
    if (url == nullptr || !url->is_string()) return bad_request("send {\"url\":\"https://…\"}");
    std::string text(url->as_string());
    if (Status st = check_webhook_url(text); !st.ok()) return http::error_response(st);
    Webhook hook;
    hook.participant = who_;
    hook.url = text;
    hook.secret = random_secret();
    hook.created_at = now_rfc3339();
    if (Status st = store_.put_webhook(hook); !st.ok()) return http::error_response(st);
    logger()->info("webhook registered participant={}", who_);
    bus_.publish({who_});
    // The secret is shown this once; the hub keeps it to sign each push.
    return json_ok(200, json::object{{"url", hook.url}, {"secret", hook.secret}});
  }

  http::Response get_webhook() {
    auto hook = store_.get_webhook(who_);
    if (!hook.ok()) return http::error_response(hook.status());
    return json_ok(200, webhook_json(*hook));
  }

  http::Response delete_webhook() {
    if (Status st = store_.delete_webhook(who_); !st.ok()) return http::error_response(st);
    return json_ok(200, json::object{{"deleted", true}});
  }

 private:
  Result<DeliveryUpdate> parse_status_body(const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return invalid_argument("body must be a JSON object");
    const json::object& o = v.as_object();
    auto text = [&](std::string_view key) -> std::optional<std::string> {
      auto it = o.find(key);
      if (it == o.end() || !it->value().is_string()) return std::nullopt;
      return std::string(it->value().as_string());
    };
    DeliveryUpdate u;
    auto status = text("status");
    if (status == "registered") {
      u.status = DeliveryStatus::kRegistered;
      u.reg_number = text("number").value_or("");
      u.reg_date = text("date").value_or(today_utc());
      if (u.reg_number.empty() || u.reg_number.size() > 64 || !is_valid_utf8(u.reg_number) ||
          has_control_character(u.reg_number)) {
        return invalid_argument(
            "registered: 'number' is required: UTF-8, at most 64 bytes, no control characters");
      }
      if (!is_valid_date(u.reg_date)) return invalid_argument("registered: 'date' is not a date");
    } else if (status == "rejected") {
      u.status = DeliveryStatus::kRejected;
      u.reason = text("reason").value_or("");
      if (u.reason.empty() || u.reason.size() > 2000 || !is_valid_utf8(u.reason) ||
          has_control_character(u.reason)) {
        return invalid_argument(
            "rejected: 'reason' is required: UTF-8, at most 2000 bytes, no control characters");
      }
    } else if (status == "delivered") {
      u.status = DeliveryStatus::kDelivered;
    } else if (status == "assigned") {
      u.status = DeliveryStatus::kAssigned;
      u.executor = text("executor").value_or("");
      if (u.executor.empty() || u.executor.size() > 200 || !is_valid_utf8(u.executor) ||
          has_control_character(u.executor)) {
        return invalid_argument(
            "assigned: 'executor' is required: UTF-8, at most 200 bytes, no control characters");
      }
    } else if (status == "executed") {
      u.status = DeliveryStatus::kExecuted;
      if (o.contains("reply")) {
        auto reply = text("reply");
        if (!reply || !is_uuid(*reply))
          return invalid_argument("executed: 'reply' is a document id");
        u.reply = *reply;
        for (char& c : u.reply) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    } else {
      return invalid_argument(
          "status must be delivered, registered, rejected, assigned or executed");
    }
    return u;
  }

  // Whose feeds a change of `id`'s delivery concerns.
  std::vector<std::string> parties(const std::string& id) {
    std::vector<std::string> out{who_};
    auto doc = store_.get_document(id);
    if (doc.ok()) out.push_back(doc->sender);
    return out;
  }

  http::Response update(const std::string& id, DeliveryUpdate u) {
    u.at = now_rfc3339();
    auto change = store_.update_delivery(id, who_, u);
    if (!change.ok()) return http::error_response(change.status());
    if (change->changed) {
      logger()->info("delivery status document={} recipient={} status={}", id, who_,
                     to_string(change->delivery.status));
      bus_.publish(parties(id));
    }
    json::object o = to_json(change->delivery);
    o["document"] = id;
    o["changed"] = change->changed;
    return json_ok(200, o);
  }

  Store& store_;
  EventBus& bus_;
  const Limits& limits_;
  std::string who_;
  Receipts* receipts_;
};

http::Response route_v1(Routes& routes, Target t, const http::Request& request) {
  const std::string& m = request.method;
  // Document ids are lowercase; accept them in any case.
  if (t.segments.size() > 2 && t.segments[1] == "documents" && is_uuid(t.segments[2])) {
    for (char& c : t.segments[2])
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (m == "GET" && path_is(t, {"v1", "inbox"})) return routes.inbox(t);
  if (m == "GET" && path_is(t, {"v1", "outbox"})) return routes.outbox(t);
  if (m == "GET" && path_is(t, {"v1", "participants"})) return routes.participants();
  if (m == "GET" && path_is(t, {"v1", "participants", "*", "certificates"})) {
    return routes.participant_certificates(t.segments[2]);
  }
  if (m == "GET" && path_is(t, {"v1", "documents", "*"})) return routes.document(t.segments[2]);
  if (m == "GET" && path_is(t, {"v1", "documents", "*", "history"})) {
    return routes.history(t.segments[2]);
  }
  if (m == "GET" && path_is(t, {"v1", "documents", "*", "files", "*"})) {
    return routes.file(t.segments[2], t.segments[4], request);
  }
  if (m == "GET" && path_is(t, {"v1", "documents", "*", "files", "*", "signature"})) {
    return routes.signature(t.segments[2], t.segments[4]);
  }
  if (m == "GET" && path_is(t, {"v1", "documents", "*", "receipts"})) {
    return routes.receipts(t.segments[2]);
  }
  if (m == "POST" && path_is(t, {"v1", "documents", "*", "ack"})) return routes.ack(t.segments[2]);
  if (m == "POST" && path_is(t, {"v1", "documents", "*", "status"})) {
    return routes.status(t.segments[2], request.body);
  }
  if (m == "POST" && path_is(t, {"v1", "documents", "*", "recall"})) {
    return routes.recall(t.segments[2], request.body);
  }
  if (m == "POST" && path_is(t, {"v1", "events", "ack"})) return routes.ack_events(request.body);
  if (path_is(t, {"v1", "webhook"})) {
    if (m == "PUT") return routes.put_webhook(request.body);
    if (m == "GET") return routes.get_webhook();
    if (m == "DELETE") return routes.delete_webhook();
  }
  if (path_is(t, {"v1", "documents"})) {
    return http::error_response(invalid_argument("POST a multipart/form-data document here"));
  }
  return http::error_response(not_found("no route " + m + " " + request.target));
}

// A public PEM file, read whole (CRLs and CA certificates are small).
http::Response pem_file(const std::string& path, const char* what) {
  if (path.empty()) return http::error_response(not_found(std::string("no ") + what));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return http::error_response(not_found(std::string("no ") + what));
  std::string bytes;
  char buf[16 * 1024];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<size_t>(n));
  ::close(fd);
  http::Response r;
  r.headers.emplace_back("Content-Type", "application/x-pem-file");
  r.body = std::move(bytes);
  return r;
}

}  // namespace

http::Response Api::handle(const http::Request& request) {
  auto target = parse_target(request.target);
  if (!target.ok()) return http::error_response(target.status());
  if (request.method == "GET" && path_is(*target, {"healthz"})) {
    return json_ok(200, json::object{{"status", "ok"}});
  }
  if (request.method == "GET" && path_is(*target, {"readyz"})) {
    auto probe = store_.journal(0, 1);
    if (!probe.ok()) return http::error_response(unavailable("store not ready"));
    return json_ok(200, json::object{{"status", "ready"}});
  }
  if (request.method == "GET" && path_is(*target, {"ca.pem"})) {
    return pem_file(files_.ca_file, "CA certificate");
  }
  if (request.method == "GET" && path_is(*target, {"crl.pem"})) {
    return pem_file(files_.crl_file, "CRL");
  }
  if (auto log = journal_.handle_log(request)) return *log;
  if (target->segments.empty() || target->segments[0] != "v1") {
    return http::error_response(not_found("no route " + request.target));
  }
  if (Uploads::is_upload_target(request.target)) {
    return uploads_->handle(request, authenticate(request));
  }
  auto who = authenticate(request);
  if (!who.ok()) return http::error_response(who.status());
  if (request.method == "GET" && path_is(*target, {"v1", "documents", "*", "evidence"})) {
    BundleSigner signer{files_.receipt_key_file, files_.receipt_cert_file, files_.ca_file};
    std::string id = target->segments[2];
    for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    BundleSources sources{evidence_.receipts.get(), &journal_};
    return bundle_response(store_, signer, sources, *who, id);
  }
  if (auto journal = journal_.handle_v1(request, *who)) return *journal;
  Routes routes(store_, bus_, limits_, *who, evidence_.receipts.get());
  return route_v1(routes, *target, request);
}

}  // namespace sened::exchange
