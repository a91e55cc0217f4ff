#include "gateway/uploader.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "crypto/digest.h"

namespace sened::gateway {
namespace {

constexpr const char* kUploadsTarget = "/v1/uploads";
// New uploads one send_resumable() call starts when each in turn disappears
// while being sent; then it reports kUnavailable and the gateway retries later.
constexpr int kNewUploadsPerCall = 2;

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("gateway");
    return l ? l : spdlog::default_logger()->clone("gateway");
  }();
  return log;
}

http::Headers tus_headers() { return {{"Tus-Resumable", "1.0.0"}}; }

// An answer the upload cannot go on with: worth another attempt later, or
// refused for good. 409 is "busy" (a PATCH of a killed gateway that the hub
// has not yet noticed is gone) or "too many open uploads": both pass.
Status refusal(const client::ClientResponse& r, const std::string& what) {
  std::string body = r.body.substr(0, 300);
  std::string message = what + ": hub answered HTTP " + std::to_string(r.status) + " " + body;
  bool later =
      r.status >= 500 || r.status == 403 || r.status == 408 || r.status == 409 || r.status == 429;
  return later ? unavailable(message) : invalid_argument(message);
}

// A decimal Upload-Offset (or Upload-Length) header; nullopt when missing or
// malformed.
std::optional<uint64_t> decimal_header(const client::ClientResponse& r, std::string_view name) {
  auto v = r.header(name);
  if (!v || v->empty() || v->size() > 19) return std::nullopt;
  if (!std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(*v);
}

// The offset the hub holds for `upload`: a value, nullopt when the hub no
// longer has it (404), or UINT64_MAX when a document has used it (410).
constexpr uint64_t kUsed = UINT64_MAX;
Result<std::optional<uint64_t>> hub_offset(client::HubClient& hub, const UploadRecord& upload) {
  auto r =
      hub.request("HEAD", std::string(kUploadsTarget) + "/" + upload.id, "", "", tus_headers());
  if (!r.ok()) return r.status();
  if (r->status == 404) return std::optional<uint64_t>();
  if (r->status == 410) return std::optional<uint64_t>(kUsed);
  if (r->status != 200) return refusal(*r, "upload " + upload.id);
  auto offset = decimal_header(*r, "Upload-Offset");
  auto length = decimal_header(*r, "Upload-Length");
  if (!offset || !length || *offset > *length) {
    return unavailable("upload " + upload.id + ": the hub's HEAD answer has no valid offset");
  }
  // Not the file we recorded: never append our bytes to it.
  if (*length != upload.size) return std::optional<uint64_t>();
  return std::optional<uint64_t>(*offset);
}

// POST /v1/uploads; the id is the last segment of the Location.
Result<std::string> create_upload(client::HubClient& hub, const UploadJob& job, uint64_t size) {
  http::Headers h = tus_headers();
  h.emplace_back("Upload-Length", std::to_string(size));
  h.emplace_back("Upload-Metadata", "filename " + crypto::base64_encode(job.name));
  auto r = hub.request("POST", kUploadsTarget, "", "", h);
  if (!r.ok()) return r.status();
  if (r->status != 201) return refusal(*r, "creating an upload for " + job.name);
  auto location = r->header("Location");
  std::string prefix = std::string(kUploadsTarget) + "/";
  if (!location || location->size() <= prefix.size() ||
      location->find(prefix) == std::string::npos) {
    return unavailable("creating an upload for " + job.name + ": no Location in the answer");
  }
  std::string id = location->substr(location->rfind('/') + 1);
  if (id.empty()) return unavailable("creating an upload: an empty upload id");
  return id;
}

// PATCHes the rest of the file from `offset`, one chunk per request.
// kNotFound when the hub does not have the upload (404): it lives on a hub
// node that went away, and the client moved on to another node.
Status send_rest(client::HubClient& hub, const UploadJob& job, const UploadRecord& upload,
                 uint64_t offset) {
  std::string target = std::string(kUploadsTarget) + "/" + upload.id;
  while (offset < upload.size) {
    if (job.stopping && job.stopping->load()) return unavailable("stopping");
    uint64_t length = std::min(job.chunk_bytes, upload.size - offset);
    http::Headers h = tus_headers();
    h.emplace_back("Content-Type", "application/offset+octet-stream");
    h.emplace_back("Upload-Offset", std::to_string(offset));
    auto r = hub.send_file("PATCH", target, h, job.path, offset, length);
    if (!r.ok()) return r.status();
    if (r->status == 404) return not_found("upload " + upload.id + ": the hub does not have it");
    if (r->status != 204) return refusal(*r, "upload " + upload.id);
    auto next = decimal_header(*r, "Upload-Offset");
    if (!next || *next <= offset || *next > upload.size) {
      return unavailable("upload " + upload.id + ": the hub answered no progress");
    }
    offset = *next;
    logger()->debug("upload progress upload={} offset={} size={}", upload.id, offset, upload.size);
  }
  return Status();
}

// Starts a new upload of the whole file and sends it. Its id is durable
// before the first byte leaves, so a crash from here on resumes it rather
// than starting over. When the upload disappears while it is being sent
// (the hub node that holds it went away and the client moved on to another
// node, where it is unknown), one more new upload is started there.
Result<UploadRecord> send_new(client::HubClient& hub, GatewayDb& db, const UploadJob& job) {
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(job.path, ec);
  if (ec) return internal_error("cannot read spooled file " + job.path + ": " + ec.message());
  auto digest = crypto::sha256_file_hex(job.path);
  if (!digest.ok()) return digest.status();
  Status sent;
  for (int attempt = 0; attempt < kNewUploadsPerCall; ++attempt) {
    auto id = create_upload(hub, job, size);
    if (!id.ok()) return id.status();
    UploadRecord upload{*id, size, *digest};
    SENED_RETURN_IF_ERROR(db.record_upload(job.spool_id, job.name, upload));
    logger()->info("upload started upload={} file={} size={}", upload.id, job.name, size);
    sent = send_rest(hub, job, upload, 0);
    if (sent.ok()) return upload;
    if (sent.code() != Code::kNotFound) return sent;
    logger()->warn("upload lost at the hub while sending, starting again upload={} file={}",
                   upload.id, job.name);
  }
  // Lost again: the next attempt (after the gateway's back-off) starts anew.
  return unavailable(sent.message());
}

}  // namespace

Result<UploadRecord> send_resumable(client::HubClient& hub, GatewayDb& db, const UploadJob& job) {
  auto recorded = db.upload(job.spool_id, job.name);
  if (!recorded.ok()) return recorded.status();

  // Continue the recorded upload where the hub stands.
  if (*recorded) {
    const UploadRecord& upload = **recorded;
    auto offset = hub_offset(hub, upload);
    if (!offset.ok()) return offset.status();
    if (*offset && **offset == kUsed) {
      logger()->info("upload already used upload={} file={}", upload.id, job.name);
      return upload;
    }
    if (*offset) {
      logger()->info("resuming upload upload={} file={} offset={} size={}", upload.id, job.name,
                     **offset, upload.size);
      Status sent = send_rest(hub, job, upload, **offset);
      if (sent.ok()) return upload;
      if (sent.code() != Code::kNotFound) return sent;
    }
    logger()->warn("upload lost at the hub, starting again upload={} file={}", upload.id, job.name);
  }

  return send_new(hub, db, job);
}

}  // namespace sened::gateway
