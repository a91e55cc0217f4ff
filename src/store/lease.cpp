#include "store/lease.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "crypto/digest.h"

namespace sened {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("lease");
    return l ? l : spdlog::default_logger()->clone("lease");
  }();
  return log;
}

}  // namespace

LeaseHolder::LeaseHolder(Store& store, std::string name, std::string holder,
                         std::chrono::milliseconds ttl)
    : store_(store), name_(std::move(name)), holder_(std::move(holder)), ttl_(ttl) {}

bool LeaseHolder::hold() {
  // Renewed less than a third of the ttl ago: at least two thirds are left
  // (measured from before that call, so the database's expiry is later).
  auto started = std::chrono::steady_clock::now();
  if (held_ && started - renewed_at_ < ttl_ / 3) return true;
  Result<bool> got = store_.acquire_lease(name_, holder_, ttl_);
  if (got.ok() && *got) renewed_at_ = started;
  bool now = got.ok() && *got;
  if (!got.ok()) {
    logger()->warn("lease check failed lease={} node={} error=\"{}\"", name_, holder_,
                   got.status().message());
  }
  if (now && !held_) {
    logger()->info("lease taken lease={} node={} ttl_ms={}", name_, holder_, ttl_.count());
    quiet_ = false;
  } else if (!now && held_) {
    logger()->warn("lease lost lease={} node={}", name_, holder_);
  } else if (!now && got.ok() && !quiet_) {
    logger()->info("lease held by another node lease={} node={}", name_, holder_);
    quiet_ = true;
  }
  held_ = now;
  return held_;
}

void LeaseHolder::release() {
  if (!held_) return;
  held_ = false;
  Status st = store_.release_lease(name_, holder_);
  if (!st.ok()) {
    logger()->warn("lease release failed lease={} node={} error=\"{}\"", name_, holder_,
                   st.message());
  }
}

std::string new_node_id() {
  unsigned char bytes[6];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no randomness: nothing is safe
  return "node-" + crypto::to_hex(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

}  // namespace sened
