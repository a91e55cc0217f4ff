// Resumable uploads at /v1/uploads: the tus 1.0.0 core protocol with the
// creation, termination and expiration extensions (docs/uploads.md).
//
// A participant creates an upload of a known length (POST), sends its bytes
// in one or more PATCH requests, each starting at the offset the hub holds,
// asks for that offset after an interruption (HEAD), and finally names the
// finished upload in a document's metadata ("files":[{"name":…,"upload":ID}])
// instead of sending the bytes as a multipart part.
//
// On disk, in the folder given (the store's staging folder + "/uploads", so
// that the store can rename a finished upload into its content folder): for
// each upload ID.data, the bytes, and ID.json, a small sidecar with the owner,
// the length and the durable offset. The sidecar is replaced atomically
// (temp file, fsync, rename, folder fsync), and only after the data file was
// fsynced up to the offset it records; on start-up each data file is cut back
// to its recorded offset. So the offset the hub reports is always one it
// holds durably: a cut connection or a crash of the hub loses at most the
// bytes since the last checkpoint, never the upload.
//
// Uploads belong to the participant that created them; to anyone else they
// do not exist (404). Unfinished and unused uploads expire some time after
// their last activity; an upload used by a document is remembered (without
// its bytes) so that a repeated submit with the same sender_ref still answers
// with the first document.
//
// Thread-safe: every public method may be called from several threads at
// once. At most one PATCH (or submit) works on an upload at a time; another
// gets 409. Methods block on disk: call them from the blocking executor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/domain.h"
#include "core/status.h"
#include "http/message.h"
#include "store/store.h"

namespace sened::exchange {

// The protocol version spoken, sent in Tus-Resumable and Tus-Version.
inline constexpr const char* kTusVersion = "1.0.0";
// Content-Type of a PATCH body.
inline constexpr const char* kTusPatchMediaType = "application/offset+octet-stream";
// Longest Upload-Metadata header accepted.
inline constexpr size_t kMaxUploadMetadataBytes = 4096;

struct UploadOptions {
  // Folder of the data files and sidecars; created with the first upload.
  std::string dir;
  // Largest Upload-Length (Tus-Max-Size); the hub passes limits.max_file_size.
  uint64_t max_length = 2ull * 1024 * 1024 * 1024;
  // Most uploads a participant may hold that no document has used yet.
  int max_open_per_participant = 20;
  // An upload no document has used is removed this long after its last
  // creation or PATCH.
  int64_t expiry_ms = 24ll * 3600 * 1000;
  // The record of an upload used by a document is kept this long after use.
  int64_t consumed_retention_ms = 30ll * 24 * 3600 * 1000;
  // A PATCH fsyncs its bytes and records the new offset at least every so
  // many bytes, so a crash mid-request keeps most of what arrived.
  uint64_t checkpoint_bytes = 8 * 1024 * 1024;
  // Expired uploads are swept at open() and then at most this often, by the
  // next request that comes along.
  int64_t sweep_interval_ms = 3600 * 1000;
  // Milliseconds since the Unix epoch; tests move it. Empty: system clock.
  std::function<int64_t()> now_ms;
};

struct UploadEntry;  // one upload's state, private to uploads.cpp
class Uploads;

// The uploads that one submit takes (see Uploads::assemble). Destroying it
// without commit() gives them back untouched, so a refused submit can be
// retried with the same uploads. Not thread-safe; lives with one submit.
class UploadClaims {
 public:
  UploadClaims() = default;
  ~UploadClaims();
  UploadClaims(const UploadClaims&) = delete;
  UploadClaims& operator=(const UploadClaims&) = delete;

  // The store committed document `document_id` (or answered with the first
  // document for a repeated sender_ref): the uploads are used up. Their data
  // files, if the store left any, are deleted; their records are kept.
  void commit(const std::string& document_id);
  bool empty() const { return entries_.empty(); }
  // True when an upload taken was used up by an earlier document with the
  // same sender_ref: the submit repeats that one (a retry after a lost
  // answer), the upload's bytes are gone, and the store will answer with the
  // earlier document (or refuse other content with kConflict).
  bool repeats_a_used_upload() const;

 private:
  friend class Uploads;
  Uploads* uploads_ = nullptr;
  std::vector<std::shared_ptr<UploadEntry>> entries_;
};

class Uploads {
 public:
  explicit Uploads(UploadOptions options);
  ~Uploads();
  Uploads(const Uploads&) = delete;
  Uploads& operator=(const Uploads&) = delete;

  // Loads every sidecar in the folder (made by the first creation), cuts each data file back to its
  // recorded offset, removes leftovers of interrupted writes and sweeps
  // expired uploads. Until it succeeds every request is answered 503.
  Status open();

  // True for a target whose path is /v1/uploads or below it.
  static bool is_upload_target(std::string_view target);

  // OPTIONS, POST, HEAD and DELETE (and a PATCH whose body was read whole).
  // `who` is the authenticated caller or the reason there is none (OPTIONS
  // needs none). Every answer carries Tus-Resumable.
  http::Response handle(const http::Request& request, const Result<std::string>& who);

  // A PATCH: checks the head and returns a sink that writes the body at the
  // upload's offset, or a refusal (412 protocol version, 404 unknown upload,
  // 415 Content-Type, 400 bad or too long, 409 offset mismatch or busy).
  // Bytes that arrive before the connection is cut are kept: destroying the
  // sink without finish() fsyncs them and records the offset.
  http::Handler::UploadStart begin_patch(const http::Request& head, const Result<std::string>& who);

  // The files of a submit by `sender` in the declared order: each entry of
  // meta.files that names an upload takes that upload (finished, owned by
  // the sender, not busy), the others take `parts` (the multipart files) in
  // order, so `parts` must hold exactly one file per entry without an upload.
  // Each file gets its declared name, its index and role (the first is
  // main); an upload's SHA-256 is computed (or reused) here. An upload that
  // an earlier document with the same sender_ref used yields its recorded
  // size and digest, so the store can answer with that document.
  // kInvalidArgument names the entry at fault (unknown or unfinished upload,
  // wrong number of parts); kConflict for an upload another document used
  // or one busy with a PATCH. The uploads taken are held by `claims`.
  Result<std::vector<StagedFile>> assemble(const std::string& sender, const DocumentMeta& meta,
                                           std::vector<StagedFile> parts, UploadClaims& claims);

  // Removes expired uploads and old records; returns how many went.
  int sweep();

 private:
  friend class UploadClaims;
  friend class PatchSink;

  int64_t now() const;
  std::string data_path(const std::string& id) const;
  std::string sidecar_path(const std::string& id) const;
  // Writes the sidecar of `e` atomically; the caller owns `e` (busy or
  // under mu_).
  Status save(const std::string& id, const std::string& sidecar_text);
  void remove_files(const std::string& id);
  Status ensure_dir();
  void maybe_sweep();
  std::shared_ptr<UploadEntry> find(const std::string& id, const std::string& who);
  Status load_one(const std::string& id);

  http::Response options() const;
  http::Response create(const http::Request& request, const std::string& who);
  http::Response head(const std::string& id, const std::string& who);
  http::Response remove(const std::string& id, const std::string& who);
  Result<StagedFile> take(const std::string& sender, const DocumentMeta& meta,
                          const DeclaredFile& declared, UploadClaims& claims);
  void release(UploadEntry& e, bool used, const std::string& document_id);
  Status prepare_digest(UploadEntry& e);

  UploadOptions options_;
  Status opened_ = unavailable("uploads are not open");
  std::mutex mu_;  // guards entries_, last_sweep_ms_ and each entry's fields
  std::map<std::string, std::shared_ptr<UploadEntry>> entries_;
  int64_t last_sweep_ms_ = 0;
};

}  // namespace sened::exchange
