#include "store/postgres/pg_listen.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace sened::pg {
namespace {

// How long the listener waits in silence before it checks that the server is
// still there (a dead peer does not always close the socket).
constexpr std::chrono::milliseconds kPingInterval{10000};
// Reconnect back-off: doubles from the first to the last.
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// Bound on one connection attempt (a connection string may set its own).
constexpr const char* kConnectTimeoutSeconds = "5";

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("listener");
    return l ? l : spdlog::default_logger()->clone("listener");
  }();
  return log;
}

class Listener final : public ChangeWatch {
 public:
  Listener(std::string conninfo, ChangeCallback on_change)
      : conninfo_(std::move(conninfo)), on_change_(std::move(on_change)) {}

  ~Listener() override {
    if (thread_.joinable()) {
      char byte = 1;
      (void)!::write(wake_[1], &byte, 1);
      thread_.join();
    }
    if (conn_ != nullptr) PQfinish(conn_);
    for (int fd : wake_) {
      if (fd >= 0) ::close(fd);
    }
  }

  Status start() {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) return internal_error("cannot make a pipe");
    std::string error = connect();
    if (!error.empty()) return unavailable("cannot listen for changes: " + error);
    logger()->info("listening for changes channel={}", kEventsChannel);
    thread_ = std::thread([this] { run(); });
    return Status();
  }

 private:
  // Opens the connection and LISTENs; returns "" or why it failed.
  std::string connect() {
    const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
    const char* values[] = {kConnectTimeoutSeconds, kListenerApplication, conninfo_.c_str(),
                            nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK && listen()) return "";
    std::string why = conn_ != nullptr ? PQerrorMessage(conn_) : "out of memory";
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    drop();
    return why;
  }

  // Also the liveness check: LISTEN on a channel already listened to changes
  // nothing, and the session's query text stays recognisable.
  bool listen() {
    std::string sql = std::string("LISTEN ") + kEventsChannel;
    PGresult* r = PQexec(conn_, sql.c_str());
    bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
  }

  void drop() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  void run() {
    for (;;) {
      if (!serve()) return;  // stopping
      logger()->warn("change listener lost its connection; reconnecting");
      if (!reconnect()) return;
      // Whatever was committed while nobody listened: every feed reads again.
      on_change_({kEveryone});
    }
  }

  // Waits for notifications until the connection is lost (true) or the
  // listener stops (false).
  bool serve() {
    for (;;) {
      pollfd fds[2] = {{PQsocket(conn_), POLLIN, 0}, {wake_[0], POLLIN, 0}};
      int n = ::poll(fds, 2, static_cast<int>(kPingInterval.count()));
      if (n < 0 && errno == EINTR) continue;
      if (fds[1].revents != 0) return false;
      if (n == 0 && !listen()) break;
      if (n > 0 && PQconsumeInput(conn_) == 0) break;
      deliver();
      if (PQstatus(conn_) != CONNECTION_OK) break;
    }
    drop();
    return true;
  }

  void deliver() {
    while (PGnotify* note = PQnotifies(conn_)) {
      std::string payload = note->extra != nullptr ? note->extra : "";
      bool ours = std::string(note->relname) == kEventsChannel;
      PQfreemem(note);
      if (ours) on_change_(parse_payload(payload));
    }
  }

  // Retries with back-off until connected (true) or stopped (false).
  bool reconnect() {
    auto backoff = kFirstBackoff;
    for (;;) {
      pollfd wake{wake_[0], POLLIN, 0};
      if (::poll(&wake, 1, static_cast<int>(backoff.count())) > 0) return false;
      std::string error = connect();
      if (error.empty()) {
        logger()->info("change listener reconnected channel={}", kEventsChannel);
        return true;
      }
      logger()->warn("change listener cannot reconnect error=\"{}\"", error);
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }

  const std::string conninfo_;
  const ChangeCallback on_change_;
  PGconn* conn_ = nullptr;  // the listener thread's once started
  int wake_[2] = {-1, -1};  // written to stop the thread
  std::thread thread_;
};

}  // namespace

std::string notify_payload(const std::set<std::string>& participants) {
  std::string out;
  for (const auto& p : participants) {
    if (!out.empty()) out += ',';
    out += p;
    if (out.size() > kMaxPayload) return kEveryone;
  }
  return out.empty() ? kEveryone : out;
}

std::vector<std::string> parse_payload(const std::string& payload) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= payload.size()) {
    size_t comma = std::min(payload.find(',', start), payload.size());
    if (comma > start) out.push_back(payload.substr(start, comma - start));
    start = comma + 1;
  }
  if (out.empty() || std::find(out.begin(), out.end(), kEveryone) != out.end()) {
    return {kEveryone};
  }
  return out;
}

Result<std::unique_ptr<ChangeWatch>> watch_changes(const std::string& conninfo,
                                                   ChangeCallback on_change) {
  auto listener = std::make_unique<Listener>(conninfo, std::move(on_change));
  SENED_RETURN_IF_ERROR(listener->start());
  return std::unique_ptr<ChangeWatch>(std::move(listener));
}

}  // namespace sened::pg
