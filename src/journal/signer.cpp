#include "journal/signer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/fd.h"
#include "core/ids.h"

namespace sened::journal {

namespace {

Result<std::string> read_key_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return not_found("no log key at " + path);
  std::string bytes;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) return unavailable("cannot read " + path);
  return bytes;
}

// Writes a new private file and fsyncs it and its folder, so that a crash
// never leaves a hub whose checkpoints were signed by a lost key.
Status write_new_key_file(const std::string& path, const std::string& pem) {
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return unavailable("cannot create the folder of " + path + ": " + ec.message());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot create " + path);
  bool ok = write_all(fd, pem) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return unavailable("cannot write " + path);
  std::string folder = p.has_parent_path() ? p.parent_path().string() : ".";
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status();
}

std::shared_ptr<spdlog::logger> logger() {
  auto l = spdlog::get("journal");
  return l ? l : spdlog::default_logger();
}

}  // namespace

Result<NoteKey> load_or_create_log_key(const std::string& path, const std::string& origin) {
  Result<std::string> pem = read_key_file(path);
  if (pem.ok()) {
    Result<NoteKey> key = load_note_key(origin, *pem);
    if (!key.ok()) return key.status().with_context("log key " + path);
    return key;
  }
  if (pem.status().code() != Code::kNotFound) return pem.status();
  Result<NoteKey> key = make_note_key(origin);
  if (!key.ok()) return key.status();
  SENED_RETURN_IF_ERROR(write_new_key_file(path, key->private_key_pem));
  return key;
}

std::string served_note(const StoredCheckpoint& c) {
  std::string out = c.note;
  for (const std::string& line : c.cosignatures) out += line;
  return out;
}

Result<StoredCheckpoint> sign_current(Store& store, const NoteKey& key) {
  Result<uint64_t> size = store.journal_size();
  if (!size.ok()) return size.status();
  Result<std::optional<StoredCheckpoint>> existing = store.checkpoint(*size);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) return std::move(**existing);

  Result<std::string> root = store.tree_root(*size);
  if (!root.ok()) return root.status();
  Result<std::string> note = sign_note(checkpoint_body({key.name, *size, *root, {}}), key);
  if (!note.ok()) return note.status();
  StoredCheckpoint c{*size, *root, *note, {}, "", now_rfc3339()};
  SENED_RETURN_IF_ERROR(store.put_checkpoint(c));
  // Another signer may have stored this size first: serve what is stored.
  Result<std::optional<StoredCheckpoint>> stored = store.checkpoint(*size);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return internal_error("checkpoint vanished after it was stored");
  return std::move(**stored);
}

CheckpointSigner::CheckpointSigner(Store& store, NoteKey key, std::chrono::milliseconds interval,
                                   std::string node)
    : store_(store),
      key_(std::move(key)),
      interval_(interval),
      // Renewed every interval: a few missed passes do not lose it.
      lease_(store, "journal.signer", std::move(node), std::max(interval * 5, kSignerLeaseTtl)) {}

CheckpointSigner::~CheckpointSigner() { stop(); }

Status CheckpointSigner::start() {
  if (!lease_.hold()) {
    thread_ = std::thread([this] { run(); });
    return Status();
  }
  Result<StoredCheckpoint> first = sign_current(store_, key_);
  if (!first.ok()) return first.status();
  logger()->info("checkpoint signed size={}", first->size);
  thread_ = std::thread([this] { run(); });
  return Status();
}

void CheckpointSigner::notify() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void CheckpointSigner::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  // Another node need not wait for the ttl to take over.
  lease_.release();
}

void CheckpointSigner::run() {
  uint64_t signed_size = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, interval_, [this] { return stopping_ || woken_; });
      if (stopping_) return;
      woken_ = false;
    }
    if (!lease_.hold()) continue;  // another node signs
    Result<uint64_t> size = store_.journal_size();
    if (!size.ok() || *size == signed_size) continue;
    Result<StoredCheckpoint> c = sign_current(store_, key_);
    if (!c.ok()) {
      logger()->warn("checkpoint signing failed error=\"{}\"", c.status().message());
      continue;
    }
    signed_size = c->size;
    logger()->debug("checkpoint signed size={}", c->size);
  }
}

}  // namespace sened::journal
