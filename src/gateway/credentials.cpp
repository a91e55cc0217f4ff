#include "gateway/credentials.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "crypto/trust_store.h"

namespace sened::gateway {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("gateway");
    return l ? l : spdlog::default_logger()->clone("gateway");
  }();
  return log;
}

std::string stamp_of(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string key_path(const client::ClientOptions& o) {
  return o.key_file.empty() ? o.cert_file : o.key_file;
}

}  // namespace

ReloadingHubClient::ReloadingHubClient(client::ClientOptions options)
    : options_(std::move(options)),
      stamp_(stamp_of(options_.cert_file) + "|" + stamp_of(key_path(options_))),
      client_(std::make_unique<client::HubClient>(options_)) {}

ReloadingHubClient::~ReloadingHubClient() = default;

client::HubClient& ReloadingHubClient::current() {
  if (options_.cert_file.empty()) return *client_;
  std::string stamp = stamp_of(options_.cert_file) + "|" + stamp_of(key_path(options_));
  if (stamp == stamp_) return *client_;
  stamp_ = stamp;

  Status usable =
      crypto::check_key_matches_cert(read_all(options_.cert_file), read_all(key_path(options_)));
  if (!usable.ok()) {
    logger()->warn(
        "gateway certificate files changed but are not usable yet, keeping the previous "
        "ones cert={} error=\"{}\"",
        options_.cert_file, usable.message());
    return *client_;
  }
  client_ = std::make_unique<client::HubClient>(options_);
  logger()->info("gateway certificate reloaded cert={}", options_.cert_file);
  return *client_;
}

}  // namespace sened::gateway
