// The hub's HTTPS server on Boost.Asio and Beast: one coroutine per
// connection on the network threads, every Handler call on a separate thread
// pool. See server.h for the contract and message.h for what handlers see.
#include "http/server.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto/digest.h"
#include "crypto/trust_store.h"

namespace sened::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using TlsStream = ssl::stream<beast::tcp_stream>;
using PlainStream = beast::tcp_stream;
using SslContextPtr = std::shared_ptr<ssl::context>;
using Parser = bhttp::request_parser<bhttp::buffer_body>;
using RequestHead = bhttp::request<bhttp::buffer_body>;
using PoolStrand = asio::strand<asio::thread_pool::executor_type>;
using Clock = std::chrono::steady_clock;

// Bytes moved per read or write of a body, in both directions, and per file read.
constexpr size_t kChunkSize = 64 * 1024;
// The CA and CRL files are checked for changes at most this often.
constexpr auto kTlsReloadInterval = std::chrono::seconds(1);
// After stop(), requests already running get this long to finish.
constexpr auto kDrainTimeout = std::chrono::seconds(10);
// A closing connection waits this long for the peer's TLS close_notify.
constexpr auto kCloseTimeout = std::chrono::seconds(2);
// After an early answer (a refusal, a limit), the rest of the request is read
// and dropped for at most this long before closing; see Session::drain().
constexpr auto kLingerTimeout = std::chrono::seconds(5);
// Pause after a failed accept (e.g. out of file descriptors) before trying again.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// Events asked of a feed per next() call on a WebSocket stream.
constexpr int kStreamBatch = 100;
// Events asked of a feed per next() call in a long poll; the feed applies the
// client's own `limit` within this.
constexpr int kLongPollBatch = 1000;
// Largest message a client may send on a WebSocket stream (acks are tiny).
// Beyond, Beast closes the stream with code 1009 (message too big).
constexpr size_t kMaxStreamMessage = 64 * 1024;
// Replies to a client's stream messages not yet written. A client that keeps
// sending while it does not read reaches this and is cut off.
constexpr size_t kMaxPendingReplies = 64;
// The interim answer to `Expect: 100-continue`.
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// The "http" logger: the one the program registered, or a copy of the default.
spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> http_logger = [] {
    if (auto existing = spdlog::get("http")) return existing;
    auto created = spdlog::default_logger()->clone("http");
    try {
      spdlog::register_logger(created);
    } catch (const spdlog::spdlog_ex&) {
      return spdlog::get("http");  // registered meanwhile by another thread
    }
    return created;
  }();
  return *http_logger;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// ---- TLS ----

// Trusts every CA and CRL of the trust store (the hub CA and CRL plus the
// trust folder), with its revocation policy, and names those CAs to clients
// so that they pick a fitting certificate.
Status load_client_trust(ssl::context& context, const ServerOptions& options) {
  auto material = crypto::load_trust_files(options.ca_file, options.crl_file, options.trust_dir);
  if (!material.ok()) {
    // A missing file is as bad a TLS file as a damaged one (see start()).
    return invalid_argument("cannot load client trust: " + material.status().message());
  }
  auto store = crypto::make_x509_store(*material);
  if (!store.ok()) return store.status();

  SSL_CTX* native = context.native_handle();
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store->get());
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    X509* ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
    if (ca != nullptr) SSL_CTX_add_client_CA(native, ca);
  }
  // The context takes the store over.
  SSL_CTX_set_cert_store(native, store->release());
  return Status::ok_status();
}

Result<SslContextPtr> make_tls_context(const ServerOptions& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  context->set_options(ssl::context::default_workarounds | ssl::context::single_dh_use);

  ErrorCode ec;
  context->use_certificate_chain_file(options.cert_file, ec);
  if (ec) {
    return invalid_argument("cannot load server certificate " + options.cert_file + ": " +
                            ec.message());
  }
  context->use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec)
    return invalid_argument("cannot load server key " + options.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return invalid_argument("server key " + options.key_file + " does not match the certificate");
  }
  SENED_RETURN_IF_ERROR(load_client_trust(*context, options));

  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  // Without a session id context OpenSSL refuses to resume sessions of verified clients.
  static constexpr unsigned char kSessionContext[] = "sened-hub";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  return context;
}

// The server's TLS context, rebuilt when a file of the trust store changes. A fresh
// context serves new connections only; live ones keep theirs through the
// shared_ptr. Thread-safe.
class TlsContexts {
 public:
  explicit TlsContexts(const ServerOptions& options) : options_(options) {}

  Status load() {
    std::string stamp = read_stamp();
    auto context = make_tls_context(options_);
    if (!context.ok()) return context.status();
    std::lock_guard lock(mutex_);
    context_ = *context;
    stamp_ = stamp;
    last_check_ = std::chrono::steady_clock::now();
    return Status::ok_status();
  }

  // The context for a new connection. Reads file metadata: call it off the network threads.
  SslContextPtr current() {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (now - last_check_ < kTlsReloadInterval) return context_;
    last_check_ = now;
    std::string stamp = read_stamp();
    if (stamp == stamp_) return context_;

    // A failed reload is retried only when the files change again.
    stamp_ = stamp;
    auto fresh = make_tls_context(options_);
    if (!fresh.ok()) {
      logger().warn("tls reload failed, keeping the previous trust error=\"{}\"",
                    fresh.status().message());
      return context_;
    }
    context_ = *fresh;
    logger().info("tls reloaded ca_file={} crl_file={} trust_dir={}", options_.ca_file,
                  options_.crl_file, options_.trust_dir);
    return context_;
  }

 private:
  std::string read_stamp() const {
    return crypto::trust_stamp(options_.ca_file, options_.crl_file, options_.trust_dir);
  }

  const ServerOptions& options_;
  std::mutex mutex_;
  SslContextPtr context_;
  std::string stamp_;
  std::chrono::steady_clock::time_point last_check_;
};

// Lowercase hex SHA-256 of the peer certificate's DER; empty without one.
std::string peer_fingerprint(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  bool ok = X509_digest(cert, EVP_sha256(), digest.data(), &length) == 1;
  X509_free(cert);
  if (!ok) return {};
  return crypto::to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), length));
}

// Why a handshake failed, with the certificate check's verdict when there is one.
std::string handshake_failure(const ErrorCode& ec, SSL* ssl) {
  std::string reason = ec.message();
  long verdict = SSL_get_verify_result(ssl);
  if (verdict != X509_V_OK)
    reason += std::string(" (") + X509_verify_cert_error_string(verdict) + ")";
  return reason;
}

// ---- blocking work ----

// Runs `work` on the blocking pool and resumes the caller on its own executor
// with the result (or with the exception `work` threw).
// The value travels in an optional: co_spawn needs a default-constructible
// type, which Result<T> is not.
template <typename Executor, typename Work>
asio::awaitable<std::invoke_result_t<Work&>> on_executor(Executor executor, Work work) {
  using Value = std::invoke_result_t<Work&>;
  std::optional<Value> value = co_await asio::co_spawn(
      executor,
      [work = std::move(work)]() mutable -> asio::awaitable<std::optional<Value>> {
        co_return work();
      },
      asio::use_awaitable);
  co_return std::move(*value);
}

template <typename Work>
asio::awaitable<std::invoke_result_t<Work&>> on_pool(asio::thread_pool& pool, Work work) {
  co_return co_await on_executor(pool.get_executor(), std::move(work));
}

// Deletes a sink on the blocking pool: a sink's destructor may remove files.
// If the pool is gone before the deletion runs, the queued task's destruction
// still deletes the sink. Without a pool (default) it deletes in place.
class SinkDeleter {
 public:
  SinkDeleter() = default;
  explicit SinkDeleter(asio::thread_pool& pool) : pool_(&pool) {}
  void operator()(UploadSink* sink) const {
    std::unique_ptr<UploadSink> owned(sink);
    if (pool_ == nullptr) return;
    asio::post(*pool_, [owned = std::move(owned)]() mutable { owned.reset(); });
  }

 private:
  asio::thread_pool* pool_ = nullptr;
};
using SinkPtr = std::unique_ptr<UploadSink, SinkDeleter>;

// What begin_upload() decided, with the sink owned for deletion on the pool.
struct UploadDecision {
  bool streamed = false;
  SinkPtr sink;
  std::optional<Response> refusal;
};

Response internal_error_response() { return error_response(internal_error("internal error")); }

void log_handler_failure(const Request& request, std::string_view call, std::string_view what) {
  logger().error("handler failed call={} method={} target={} error=\"{}\"", call, request.method,
                 request.target, what);
}

// The Handler calls below run on the pool and turn a handler's exception into a 500.
Response call_handle(Handler& handler, const Request& request) {
  try {
    return handler.handle(request);
  } catch (const std::exception& e) {
    log_handler_failure(request, "handle", e.what());
  } catch (...) {
    log_handler_failure(request, "handle", "unknown exception");
  }
  return internal_error_response();
}

UploadDecision call_begin_upload(Handler& handler, const Request& head, SinkDeleter deleter) {
  UploadDecision decision;
  decision.sink = SinkPtr(nullptr, deleter);
  try {
    auto start = handler.begin_upload(head);
    if (!start) return decision;
    decision.streamed = true;
    decision.sink.reset(start->sink.release());
    decision.refusal = std::move(start->refusal);
    if (!decision.sink && !decision.refusal) decision.refusal = internal_error_response();
    return decision;
  } catch (const std::exception& e) {
    log_handler_failure(head, "begin_upload", e.what());
  } catch (...) {
    log_handler_failure(head, "begin_upload", "unknown exception");
  }
  decision.streamed = true;
  decision.refusal = internal_error_response();
  return decision;
}

Status call_write(UploadSink& sink, std::string_view chunk, const Request& head) {
  try {
    return sink.write(chunk);
  } catch (const std::exception& e) {
    log_handler_failure(head, "write", e.what());
  } catch (...) {
    log_handler_failure(head, "write", "unknown exception");
  }
  return internal_error("internal error");
}

Response call_finish(UploadSink& sink, const Request& head) {
  try {
    return sink.finish();
  } catch (const std::exception& e) {
    log_handler_failure(head, "finish", e.what());
  } catch (...) {
    log_handler_failure(head, "finish", "unknown exception");
  }
  return internal_error_response();
}

// ---- event feeds ----

std::optional<Handler::FeedStart> call_open_feed(Handler& handler, const Request& head) {
  try {
    auto start = handler.open_feed(head);
    if (start && !start->feed && !start->refusal) start->refusal = internal_error_response();
    return start;
  } catch (const std::exception& e) {
    log_handler_failure(head, "open_feed", e.what());
  } catch (...) {
    log_handler_failure(head, "open_feed", "unknown exception");
  }
  Handler::FeedStart refused;
  refused.refusal = internal_error_response();
  return refused;
}

// One EventFeed and the pool strand that runs every call into it, so that no
// two calls overlap (a WebSocket's reader and writer both call it). Each call
// turns a feed's exception into an error. The feed is destroyed on that
// strand too: after any call still queued there, never during one.
class FeedCalls {
 public:
  using Events = Result<std::vector<std::string>>;

  FeedCalls(asio::thread_pool& pool, std::unique_ptr<EventFeed> feed, const Request& head)
      : strand_(asio::make_strand(pool)), feed_(std::move(feed)), head_(head) {}
  ~FeedCalls() {
    asio::post(strand_, [feed = std::move(feed_)]() mutable { feed.reset(); });
  }
  FeedCalls(const FeedCalls&) = delete;
  FeedCalls& operator=(const FeedCalls&) = delete;

  // Registers the waker, then the first next().
  asio::awaitable<Events> start(std::function<void()> waker, int limit) {
    co_return co_await on_executor(strand_, [&]() -> Events {
      return guarded<Events>("set_waker", [&]() -> Events {
        feed_->set_waker(std::move(waker));
        return feed_->next(limit);
      });
    });
  }

  asio::awaitable<Events> next(int limit) {
    co_return co_await on_executor(strand_, [&] {
      return guarded<Events>("next", [&]() -> Events { return feed_->next(limit); });
    });
  }

  // A failing receive() sends nothing back; the stream goes on.
  asio::awaitable<std::optional<std::string>> receive(const std::string& text) {
    co_return co_await on_executor(strand_, [&]() -> std::optional<std::string> {
      auto reply = guarded<Result<std::optional<std::string>>>(
          "receive", [&]() -> Result<std::optional<std::string>> { return feed_->receive(text); });
      if (!reply.ok()) return std::nullopt;
      return *reply;
    });
  }

  asio::awaitable<Response> respond(std::vector<std::string> events) {
    co_return co_await on_executor(strand_, [&] {
      auto response = guarded<Result<Response>>(
          "respond", [&]() -> Result<Response> { return feed_->respond(std::move(events)); });
      return response.ok() ? *response : internal_error_response();
    });
  }

 private:
  template <typename Value, typename Call>
  Value guarded(std::string_view name, Call call) {
    try {
      return call();
    } catch (const std::exception& e) {
      log_handler_failure(head_, name, e.what());
    } catch (...) {
      log_handler_failure(head_, name, "unknown exception");
    }
    return internal_error("internal error");
  }

  PoolStrand strand_;
  std::unique_ptr<EventFeed> feed_;
  const Request& head_;
};

// Wakes a session that waits for events. The waker handed to the feed holds
// it weakly, so a wake-up after the session has let go of it does nothing.
// All but waker() runs on the session's strand.
class FeedWake : public std::enable_shared_from_this<FeedWake> {
 public:
  explicit FeedWake(asio::any_io_executor executor) : timer_(std::move(executor)) {}

  // Callable from any thread; never blocks.
  std::function<void()> waker() {
    return [weak = weak_from_this()] {
      auto self = weak.lock();
      if (!self) return;
      asio::post(self->timer_.get_executor(), [weak] {
        if (auto target = weak.lock()) target->raise();
      });
    };
  }

  void raise() {
    raised_ = true;
    timer_.cancel();
  }

  // Returns once raised (at once if raised since the last wait) or at `deadline`.
  asio::awaitable<void> wait(Clock::time_point deadline) {
    if (!raised_) {
      timer_.expires_at(deadline);
      co_await timer_.async_wait(kAsTuple);
    }
    raised_ = false;
  }

 private:
  asio::steady_timer timer_;
  bool raised_ = false;
};

// {"error":…} with the fitting code but an HTTP status of its own (426, 501).
Response error_with_status(int http_status, const Status& status) {
  Response response = error_response(status);
  response.status = http_status;
  return response;
}

// 501 for what this server does not implement: a method Beast does not know,
// a transfer coding other than plain chunked. Nullopt when the head is fine.
std::optional<Response> refuse_unsupported(const RequestHead& head) {
  if (head.method() == bhttp::verb::unknown) {
    return error_with_status(501, invalid_argument("method " + std::string(head.method_string()) +
                                                   " is not implemented"));
  }
  auto [first, last] = head.equal_range(bhttp::field::transfer_encoding);
  for (auto field = first; field != last; ++field) {
    std::string_view value = field->value();
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    if (!iequals(value, "chunked")) {
      return error_with_status(501, invalid_argument("transfer coding \"" + std::string(value) +
                                                     "\" is not implemented; use chunked"));
    }
  }
  return std::nullopt;
}

// A file opened for streaming a response body; read on the blocking pool.
class OpenFile {
 public:
  explicit OpenFile(int fd) : fd_(fd) {}
  OpenFile(OpenFile&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OpenFile& operator=(OpenFile&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::optional<OpenFile> open_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  return OpenFile(fd);
}

// Reads up to `size` bytes at `offset`; fewer only at the end of the file, -1 on error.
ssize_t read_at(int fd, char* out, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

Request make_request(const bhttp::request<bhttp::buffer_body>& message, std::string fingerprint,
                     std::string remote) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.peer_fingerprint = std::move(fingerprint);
  request.remote = std::move(remote);
  return request;
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

// Content-Length, Transfer-Encoding and Connection: the server decides those.
bool is_framing_header(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection");
}

// A malformed request, as opposed to a peer that went away or timed out.
bool is_malformed(const ErrorCode& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

class SessionBase;

// What the sessions share with the server. Declaration order is destruction
// order in reverse: the io_context (and with it any session still alive) goes
// first, the pool after it.
struct ServerCore {
  ServerCore(ServerOptions opts, Handler& h)
      : options(std::move(opts)),
        handler(h),
        pool(static_cast<size_t>(std::max(1, options.blocking_threads))),
        ioc(std::max(1, network_thread_count())) {}

  int network_thread_count() const {
    if (options.network_threads > 0) return options.network_threads;
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

  // Forgets a finished session; the last one gone during a stop ends run().
  void session_ended(uint64_t id) {
    std::lock_guard lock(mutex);
    sessions.erase(id);
    if (stopping && sessions.empty()) ioc.stop();
  }

  const ServerOptions options;
  Handler& handler;
  asio::thread_pool pool;
  std::atomic<bool> stopping{false};
  std::mutex mutex;  // guards sessions
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions;
  asio::io_context ioc;
};

// ---- one connection ----

// What the server needs of a session of either kind, to stop it.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual asio::any_io_executor executor() = 0;
  virtual void on_stop() = 0;
};

// One connection over `Stream`: TlsStream (mutual TLS) or PlainStream (plain
// HTTP, ServerOptions::tls_enabled false; no peer fingerprint).
template <typename Stream>
class Session : public SessionBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `tls` is null for a plain session.
  Session(ServerCore& core, uint64_t id, tcp::socket socket, SslContextPtr tls)
      : core_(core),
        id_(id),
        tls_(std::move(tls)),
        stream_(make_stream(std::move(socket), tls_)),
        chunk_(kChunkSize) {
    ErrorCode ec;
    auto peer = lowest().socket().remote_endpoint(ec);
    remote_ = ec ? "unknown" : endpoint_text(peer);
  }

  asio::any_io_executor executor() override { return stream_.get_executor(); }

  // The whole life of the connection; never throws.
  static asio::awaitable<void> run(std::shared_ptr<Session> self) {
    try {
      if (co_await self->handshake()) {
        while (co_await self->serve_request()) {
        }
      }
      co_await self->close();
    } catch (const std::exception& e) {
      logger().debug("connection failed conn={} error=\"{}\"", self->id_, e.what());
    }
  }

  // On stop: a connection waiting for its next request is closed at once;
  // one in the middle of a request finishes it first; a long poll answers at
  // once and a WebSocket stream closes with "going away". Runs on the
  // session's strand.
  void on_stop() override {
    if (idle_) lowest().close();
    if (feed_wake_) feed_wake_->raise();
  }

 private:
  static Stream make_stream(tcp::socket socket, const SslContextPtr& tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  // The TCP layer, below TLS if any.
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  std::chrono::seconds idle_timeout() const {
    return std::chrono::seconds(core_.options.idle_timeout_seconds);
  }

  asio::awaitable<bool> handshake() {
    if constexpr (!kTls) co_return true;
    lowest().expires_after(std::chrono::seconds(core_.options.handshake_timeout_seconds));
    if constexpr (kTls) {
      auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, kAsTuple);
      if (ec) {
        logger().info("tls handshake failed conn={} remote={} reason=\"{}\"", id_, remote_,
                      handshake_failure(ec, stream_.native_handle()));
        co_return false;
      }
      fingerprint_ = peer_fingerprint(stream_.native_handle());
      logger().debug("tls established conn={} remote={} version={} fingerprint={}", id_, remote_,
                     SSL_get_version(stream_.native_handle()), fingerprint_);
    }
    co_return true;
  }

  // Reads one request and answers it. True if the connection stays open for another.
  asio::awaitable<bool> serve_request() {
    Parser parser;
    parser.header_limit(core_.options.header_limit);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // enforced below, per route
    if (!co_await read_head(parser)) co_return false;
    Request request = make_request(parser.get(), fingerprint_, remote_);
    bool keep_alive = parser.get().keep_alive();
    if (auto refusal = refuse_unsupported(parser.get())) {
      co_await send(request, std::move(*refusal), false);
      co_return false;
    }

    if (parser.get().method() == bhttp::verb::get) {
      auto feed =
          co_await on_pool(core_.pool, [&] { return call_open_feed(core_.handler, request); });
      if (feed) co_return co_await serve_feed(parser, request, std::move(*feed), keep_alive);
    }

    UploadDecision decision = co_await on_pool(core_.pool, [&] {
      return call_begin_upload(core_.handler, request, SinkDeleter(core_.pool));
    });
    if (decision.refusal) {
      co_await send(request, std::move(*decision.refusal), false);
      co_return false;
    }
    if (decision.streamed) {
      co_return co_await serve_upload(parser, request, std::move(decision.sink), keep_alive);
    }
    co_return co_await serve_whole(parser, request, keep_alive);
  }

  // Reads a request head. Answers 431 or 400 to a head that is too large or
  // malformed. False when the connection must close.
  asio::awaitable<bool> read_head(Parser& parser) {
    if (core_.stopping) co_return false;
    request_unfinished_ = true;
    idle_ = true;
    lowest().expires_after(idle_timeout());
    auto [ec, bytes] = co_await bhttp::async_read_header(stream_, buffer_, parser, kAsTuple);
    idle_ = false;
    if (!ec) {
      request_unfinished_ = !parser.is_done();
      co_return true;
    }

    Request none;
    if (ec == bhttp::error::header_limit) {
      Response response = error_response(payload_too_large(
          "request head is larger than " + std::to_string(core_.options.header_limit) + " bytes"));
      response.status = 431;
      co_await send(none, response, false);
    } else if (is_malformed(ec)) {
      co_await send(none, error_response(invalid_argument("malformed HTTP request")), false);
    } else {
      logger().debug("connection closed conn={} reason=\"{}\"", id_, ec.message());
    }
    co_return false;
  }

  bool expects_continue(const Parser& parser) const {
    auto expect = parser.get()[bhttp::field::expect];
    return !parser.is_done() && iequals(expect, "100-continue");
  }

  asio::awaitable<bool> send_continue_if_expected(const Parser& parser) {
    if (!expects_continue(parser)) co_return true;
    lowest().expires_after(idle_timeout());
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(kContinue), kAsTuple);
    co_return !ec;
  }

  // Reads the next piece of the body into chunk_; returns its size.
  asio::awaitable<std::pair<ErrorCode, size_t>> read_chunk(Parser& parser) {
    auto& body = parser.get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    lowest().expires_after(idle_timeout());
    auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser, kAsTuple);
    if (ec == bhttp::error::need_buffer) ec = {};
    co_return std::pair{ec, chunk_.size() - body.size};
  }

  // A request whose body the handler takes whole, capped at body_limit.
  asio::awaitable<bool> serve_whole(Parser& parser, Request& request, bool keep_alive) {
    const uint64_t limit = core_.options.body_limit;
    auto too_large = [&] {
      return error_response(
          payload_too_large("request body is larger than " + std::to_string(limit) + " bytes"));
    };
    auto announced = parser.content_length();
    if (announced && *announced > limit) {
      co_await send(request, too_large(), false);
      co_return false;
    }

    if (!co_await send_continue_if_expected(parser)) co_return false;
    while (!parser.is_done()) {
      auto [ec, n] = co_await read_chunk(parser);
      if (ec) {
        logger().debug("request cut conn={} reason=\"{}\"", id_, ec.message());
        co_await refuse_malformed_body(request, ec);
        co_return false;
      }
      if (request.body.size() + n > limit) {
        co_await send(request, too_large(), false);
        co_return false;
      }
      request.body.append(chunk_.data(), n);
    }
    request_unfinished_ = false;

    Response response =
        co_await on_pool(core_.pool, [&] { return call_handle(core_.handler, request); });
    co_return co_await send(request, std::move(response), keep_alive);
  }

  // A request whose body streams into a sink. A body cut short destroys the
  // sink without finish(), which discards the upload.
  asio::awaitable<bool> serve_upload(Parser& parser, const Request& request, SinkPtr sink,
                                     bool keep_alive) {
    if (!co_await send_continue_if_expected(parser)) co_return false;
    while (!parser.is_done()) {
      auto [ec, n] = co_await read_chunk(parser);
      if (ec) {
        logger().info("upload cut conn={} remote={} target={} reason=\"{}\"", id_, remote_,
                      request.target, ec.message());
        co_await refuse_malformed_body(request, ec);
        co_return false;
      }
      if (n == 0) continue;
      std::string_view piece(chunk_.data(), n);
      Status written =
          co_await on_pool(core_.pool, [&] { return call_write(*sink, piece, request); });
      if (!written.ok()) {
        co_await send(request, error_response(written), false);
        co_return false;
      }
    }

    request_unfinished_ = false;
    Response response = co_await on_pool(core_.pool, [&] { return call_finish(*sink, request); });
    sink.reset();
    co_return co_await send(request, std::move(response), keep_alive);
  }

  // Answers 400 to a body that broke the framing (e.g. a bad chunk), while the
  // connection can still carry an answer.
  asio::awaitable<void> refuse_malformed_body(const Request& request, const ErrorCode& ec) {
    if (!is_malformed(ec)) co_return;
    co_await send(request,
                  error_response(invalid_argument("malformed request body: " + ec.message())),
                  false);
  }

  // ---- event feeds ----

  // A GET the handler serves as a feed: a refusal, a long poll or a WebSocket stream.
  asio::awaitable<bool> serve_feed(Parser& parser, const Request& request, Handler::FeedStart start,
                                   bool keep_alive) {
    keep_alive = keep_alive && parser.is_done();
    if (start.refusal) co_return co_await send(request, std::move(*start.refusal), keep_alive);
    FeedCalls calls(core_.pool, std::move(start.feed), request);
    if (!start.websocket) {
      co_return co_await serve_long_poll(calls, request, start.wait_seconds, keep_alive);
    }
    if (!websocket::is_upgrade(parser.get())) {
      Response refusal = error_with_status(
          426, invalid_argument("this route is a WebSocket stream; send an upgrade request"));
      refusal.headers.emplace_back("Upgrade", "websocket");
      co_return co_await send(request, std::move(refusal), keep_alive);
    }
    co_return co_await serve_stream(parser, request, calls);
  }

  // Installs the session's FeedWake for the duration of a feed, so that
  // on_stop() can reach it; stop already begun is noted at once.
  FeedWake& open_wake() {
    feed_wake_ = std::make_shared<FeedWake>(executor());
    if (core_.stopping) feed_wake_->raise();
    return *feed_wake_;
  }

  // next(); while nothing came and time is left, waits for a wake-up (on a
  // timer, holding no pool thread) and asks again; then respond().
  asio::awaitable<bool> serve_long_poll(FeedCalls& calls, const Request& request, int wait_seconds,
                                        bool keep_alive) {
    FeedWake& wake = open_wake();
    const auto deadline = Clock::now() + std::chrono::seconds(std::max(0, wait_seconds));
    auto events = co_await calls.start(wake.waker(), kLongPollBatch);
    while (events.ok() && events->empty() && !core_.stopping && Clock::now() < deadline) {
      co_await wake.wait(deadline);
      events = co_await calls.next(kLongPollBatch);
    }
    feed_wake_.reset();

    // (No co_await inside ?: here: g++ 12 miscompiles that.)
    if (!events.ok()) co_return co_await send(request, error_response(events.status()), keep_alive);
    Response response = co_await calls.respond(std::move(*events));
    co_return co_await send(request, std::move(response), keep_alive);
  }

  // ---- WebSocket streams ----

  using WebSocket = websocket::stream<Stream&>;

  // What the two halves of a stream share, on the session's strand.
  struct StreamState {
    FeedCalls& calls;
    FeedWake& wake;
    std::deque<std::string> replies;  // answers to client messages, to be written
    bool reader_done = false;
    bool clean_close = false;  // the closing handshake completed
  };

  // Upgrades the connection, then writes events as the feed yields them while
  // a second coroutine reads the client's messages. Ends the connection.
  asio::awaitable<bool> serve_stream(Parser& parser, const Request& request, FeedCalls& calls) {
    auto& socket = lowest();
    socket.expires_never();  // the WebSocket's own timeouts take over
    WebSocket ws(stream_);
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.read_message_max(kMaxStreamMessage);
    ws.auto_fragment(false);  // one event, one frame: simpler for clients
    auto [accept_error] = co_await ws.async_accept(parser.get(), kAsTuple);
    if (accept_error) {
      logger().info("stream upgrade failed conn={} reason=\"{}\"", id_, accept_error.message());
      co_return false;
    }
    ws.text(true);
    logger().info("stream opened conn={} remote={} target={}", id_, remote_, request.target);

    StreamState state{calls, open_wake(), {}, false, false};
    asio::co_spawn(executor(), read_messages(ws, state),
                   asio::bind_executor(executor(), [&state](std::exception_ptr) {
                     state.reader_done = true;
                     state.wake.raise();
                   }));
    websocket::close_code code = co_await write_events(ws, state);
    co_await end_stream(ws, state, code);
    feed_wake_.reset();
    if (!state.clean_close) co_await drain_socket();
    socket.close();
    co_return false;
  }

  // The writer: replies first, then events; sleeps when there is nothing.
  // Returns the close code to end the stream with.
  asio::awaitable<websocket::close_code> write_events(WebSocket& ws, StreamState& state) {
    auto events = co_await state.calls.start(state.wake.waker(), kStreamBatch);
    for (;;) {
      if (!events.ok()) {
        logger().warn("stream feed failed conn={} error=\"{}\"", id_, events.status().message());
        co_return websocket::close_code::internal_error;
      }
      for (const auto& event : *events) {
        if (!co_await write_message(ws, event)) co_return websocket::close_code::normal;
      }
      while (!state.replies.empty()) {
        if (!co_await write_message(ws, state.replies.front())) {
          co_return websocket::close_code::normal;
        }
        state.replies.pop_front();
      }
      if (core_.stopping) co_return websocket::close_code::going_away;
      if (state.reader_done) co_return websocket::close_code::normal;
      if (events->empty()) co_await state.wake.wait(Clock::time_point::max());
      events = co_await state.calls.next(kStreamBatch);
    }
  }

  asio::awaitable<bool> write_message(WebSocket& ws, const std::string& text) {
    auto [ec, n] = co_await ws.async_write(asio::buffer(text), kAsTuple);
    if (ec) logger().debug("stream write failed conn={} reason=\"{}\"", id_, ec.message());
    co_return !ec;
  }

  // The reader: hands each text message to the feed and queues its reply.
  asio::awaitable<void> read_messages(WebSocket& ws, StreamState& state) {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buffer, kAsTuple);
      if (ec) {
        logger().debug("stream read ended conn={} reason=\"{}\"", id_, ec.message());
        if (ec == websocket::error::closed) state.clean_close = true;
        co_return;
      }
      std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      std::optional<std::string> reply;
      if (ws.got_text()) {
        reply = co_await state.calls.receive(text);
      } else {
        reply = error_response(invalid_argument("binary messages are not accepted")).body;
      }
      if (!reply) continue;
      if (state.replies.size() >= kMaxPendingReplies) {
        logger().warn("stream cut conn={} reason=\"client sends but does not read\"", id_);
        lowest().close();  // also ends a write stuck on the full socket
        co_return;
      }
      state.replies.push_back(std::move(*reply));
      state.wake.raise();
    }
  }

  // Closes the stream (unless the client did) and waits for the reader, which
  // the close ends. A peer that does not complete the closing handshake
  // (WebSocket, then TLS) within kCloseTimeout is cut off.
  asio::awaitable<void> end_stream(WebSocket& ws, StreamState& state, websocket::close_code code) {
    auto& socket = lowest();
    if (ws.is_open()) {
      asio::steady_timer cutoff(executor(), kCloseTimeout);
      cutoff.async_wait([&socket](ErrorCode ec) {
        if (!ec) socket.close();
      });
      auto [ec] = co_await ws.async_close(code, kAsTuple);
      cutoff.cancel();
      if (ec) socket.close();
      if (!ec) state.clean_close = true;
    } else if (!state.reader_done) {
      socket.close();
    }
    auto deadline = Clock::now() + kCloseTimeout;
    while (!state.reader_done) {
      co_await state.wake.wait(deadline);
      if (!state.reader_done && Clock::now() >= deadline) {
        socket.close();
        deadline = Clock::time_point::max();
      }
    }
    logger().info("stream closed conn={} code={}", id_, static_cast<int>(code));
  }

  // After a stream that ended without a closing handshake (e.g. a message
  // over the limit) the peer may still be sending. As in drain(), read and
  // drop its bytes for a while, here below TLS, so that closing does not
  // reset the connection before the peer has read our close frame.
  asio::awaitable<void> drain_socket() {
    auto& socket = lowest();
    if (!socket.socket().is_open()) co_return;
    ErrorCode ignored;
    socket.socket().shutdown(tcp::socket::shutdown_send, ignored);
    socket.expires_after(kLingerTimeout);
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk_), kAsTuple);
      if (ec) break;
    }
  }

  // ---- answers ----

  asio::awaitable<bool> write_bytes(std::string_view bytes) {
    if (bytes.empty()) co_return true;
    lowest().expires_after(idle_timeout());
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(bytes), kAsTuple);
    if (ec) logger().debug("write failed conn={} reason=\"{}\"", id_, ec.message());
    co_return !ec;
  }

  // Streams a byte range of a file, read piece by piece on the pool.
  asio::awaitable<bool> write_file(const OpenFile& file, const FileSource& source) {
    uint64_t sent = 0;
    while (sent < source.length) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(chunk_.size(), source.length - sent));
      ssize_t got = co_await on_pool(core_.pool, [&] {
        return read_at(file.fd(), chunk_.data(), want, source.offset + sent);
      });
      if (got <= 0) {
        logger().error("file shorter than announced conn={} path={}", id_, *source.path);
        co_return false;
      }
      if (!co_await write_bytes(std::string_view(chunk_.data(), static_cast<size_t>(got)))) {
        co_return false;
      }
      sent += static_cast<uint64_t>(got);
    }
    co_return true;
  }

  // Streams a byte range from a FileSource's reader, piece by piece on the pool.
  asio::awaitable<bool> write_read(const FileSource& source) {
    uint64_t sent = 0;
    while (sent < source.length) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(chunk_.size(), source.length - sent));
      Result<size_t> got = co_await on_pool(
          core_.pool, [&] { return source.reader(source.offset + sent, chunk_.data(), want); });
      if (!got.ok() || *got == 0) {
        logger().error("file source failed conn={} error=\"{}\"", id_,
                       got.ok() ? "shorter than announced" : got.status().message());
        co_return false;
      }
      if (!co_await write_bytes(std::string_view(chunk_.data(), *got))) co_return false;
      sent += *got;
    }
    co_return true;
  }

  // Checks a FileSource before the head goes out, opening its file on the pool.
  asio::awaitable<Status> prepare_source(const FileSource& source, std::optional<OpenFile>& file) {
    if (source.reader) co_return Status::ok_status();
    if (source.bytes) {
      bool fits = source.offset <= source.bytes->size() &&
                  source.length <= source.bytes->size() - source.offset;
      co_return fits ? Status::ok_status() : internal_error("byte range outside the source");
    }
    if (!source.path) co_return internal_error("file source without path or bytes");
    file = co_await on_pool(core_.pool, [&] { return open_file(*source.path); });
    if (!file) co_return internal_error("cannot open " + *source.path);
    co_return Status::ok_status();
  }

  // The status line and headers. Framing headers are the server's to set,
  // except that the answer to HEAD keeps a Content-Length the handler set:
  // it describes the body a GET would get.
  asio::awaitable<bool> write_head(const Response& response, bool keep_alive, bool head_only) {
    bhttp::response<bhttp::empty_body> head;
    head.version(11);
    head.result(static_cast<unsigned>(response.status));
    std::optional<std::string> announced;
    for (const auto& [name, value] : response.headers) {
      if (head_only && iequals(name, "content-length")) announced = value;
      if (is_framing_header(name)) continue;
      head.insert(name, value);
    }
    if (announced) {
      head.set(bhttp::field::content_length, *announced);
    } else {
      head.content_length(response.file ? response.file->length : response.body.size());
    }
    head.keep_alive(keep_alive);
    lowest().expires_after(idle_timeout());
    auto [ec, n] = co_await bhttp::async_write(stream_, head, kAsTuple);
    co_return !ec || ec == bhttp::error::end_of_stream;
  }

  asio::awaitable<bool> write_body(const Response& response, const std::optional<OpenFile>& file) {
    if (!response.file) co_return co_await write_bytes(response.body);
    const FileSource& source = *response.file;
    if (source.bytes) {
      co_return co_await write_bytes(
          std::string_view(*source.bytes).substr(source.offset, source.length));
    }
    if (source.reader) co_return co_await write_read(source);
    co_return co_await write_file(*file, source);
  }

  // Sends a response. True if the connection stays open for another request.
  asio::awaitable<bool> send(const Request& request, Response response, bool keep_alive) {
    std::optional<OpenFile> file;
    if (response.file) {
      Status ready = co_await prepare_source(*response.file, file);
      if (!ready.ok()) {
        logger().error("response source failed conn={} error=\"{}\"", id_, ready.message());
        response = internal_error_response();
      }
    }
    keep_alive = keep_alive && !core_.stopping;
    answered_early_ = request_unfinished_;

    const bool head_only = request.method == "HEAD";
    bool sent = co_await write_head(response, keep_alive, head_only);
    if (sent && !head_only) sent = co_await write_body(response, file);
    logger().info("request conn={} remote={} method={} target={} status={}", id_, remote_,
                  request.method, request.target, response.status);
    co_return sent&& keep_alive;
  }

  // Ends the connection: TLS close_notify with a bounded wait for the peer's
  // (plain: a TCP FIN), then the socket.
  asio::awaitable<void> close() {
    auto& tcp_stream = lowest();
    if (!tcp_stream.socket().is_open()) co_return;
    if (answered_early_) co_await drain();
    if constexpr (kTls) {
      tcp_stream.expires_after(kCloseTimeout);
      co_await stream_.async_shutdown(kAsTuple);
    } else {
      ErrorCode ignored;
      tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    tcp_stream.close();
  }

  // The peer may still be sending the request we answered early. Closing now
  // would leave its bytes unread, our kernel would answer them with a reset,
  // and the peer could lose our answer. So read and drop until the peer closes
  // (it does once it has read the answer) or the linger time is up.
  asio::awaitable<void> drain() {
    lowest().expires_after(kLingerTimeout);
    for (;;) {
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(chunk_), kAsTuple);
      if (ec) break;
    }
  }

  ServerCore& core_;
  const uint64_t id_;
  std::string remote_;
  SslContextPtr tls_;  // outlives stream_, which uses it; null when plain
  Stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<FeedWake> feed_wake_;  // set while a feed waits for events
  std::vector<char> chunk_;
  std::string fingerprint_;
  bool idle_ = true;                 // waiting for a handshake or a request head
  bool request_unfinished_ = false;  // some of the current request is still unread
  bool answered_early_ = false;      // the last answer went out before its request was read
};

}  // namespace

// ---- the server ----

struct Server::Impl {
  Impl(ServerOptions options, Handler& handler)
      : core(std::move(options), handler),
        tls(core.options),
        acceptor(asio::make_strand(core.ioc)),
        drain_timer(acceptor.get_executor()) {}

  ~Impl() {
    // Handler calls still running post their completions to the io_context:
    // let them finish while it still exists.
    core.ioc.stop();
    core.pool.join();
  }

  Status bind() {
    ErrorCode ec;
    auto address = asio::ip::make_address(core.options.address, ec);
    if (ec) return invalid_argument("bad listen address " + core.options.address);
    tcp::endpoint endpoint(address, core.options.port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return unavailable("cannot listen on " + endpoint_text(endpoint) + ": " + ec.message());
    }
    port = acceptor.local_endpoint().port();
    return Status::ok_status();
  }

  asio::awaitable<void> accept_loop() {
    asio::steady_timer pause(acceptor.get_executor());
    while (!core.stopping) {
      auto [ec, socket] = co_await acceptor.async_accept(
          asio::any_io_executor(asio::make_strand(core.ioc)), kAsTuple);
      if (core.stopping || ec == asio::error::operation_aborted) break;
      if (ec) {
        logger().warn("accept failed error=\"{}\"", ec.message());
        pause.expires_after(kAcceptRetryDelay);
        co_await pause.async_wait(kAsTuple);
        continue;
      }
      // Responses go out in several writes (head, then body pieces): without
      // this, Nagle's algorithm and the peer's delayed ACK stall each one.
      ErrorCode nodelay_error;
      socket.set_option(tcp::no_delay(true), nodelay_error);
      if (!core.options.tls_enabled) {
        start_session<PlainStream>(std::move(socket), nullptr);
        continue;
      }
      // Checking the CA and CRL files touches the disk: not on a network thread.
      SslContextPtr context = co_await on_pool(core.pool, [this] { return tls.current(); });
      start_session<TlsStream>(std::move(socket), std::move(context));
    }
  }

  template <typename Stream>
  void start_session(tcp::socket socket, SslContextPtr context) {
    uint64_t id = ++last_session_id;
    auto session =
        std::make_shared<Session<Stream>>(core, id, std::move(socket), std::move(context));
    {
      std::lock_guard lock(core.mutex);
      core.sessions.emplace(id, session);
    }
    auto executor = session->executor();
    asio::co_spawn(executor, Session<Stream>::run(std::move(session)),
                   [this, id](std::exception_ptr) { core.session_ended(id); });
  }

  // Runs on the acceptor's strand.
  void begin_shutdown() {
    if (core.stopping.exchange(true)) return;
    ErrorCode ec;
    acceptor.close(ec);
    if (signals) signals->cancel(ec);

    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard lock(core.mutex);
      if (core.sessions.empty()) {
        logger().info("stopping open_connections=0");
        core.ioc.stop();
        return;
      }
      for (auto& [id, weak] : core.sessions) {
        if (auto session = weak.lock()) live.push_back(std::move(session));
      }
    }
    logger().info("stopping open_connections={}", live.size());
    for (auto& session : live) {
      asio::post(session->executor(), [session] { session->on_stop(); });
    }
    drain_timer.expires_after(kDrainTimeout);
    drain_timer.async_wait([this](ErrorCode wait_error) {
      if (wait_error) return;
      logger().warn("stop: requests still running after the drain timeout, cutting them");
      core.ioc.stop();
    });
  }

  ServerCore core;
  TlsContexts tls;
  tcp::acceptor acceptor;
  asio::steady_timer drain_timer;
  std::optional<asio::signal_set> signals;  // set by start()
  uint64_t last_session_id = 0;             // used by the accept loop only
  uint16_t port = 0;
  bool started = false;
};

Server::Server(ServerOptions options, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() = default;

Status Server::start() {
  if (impl_->core.options.tls_enabled) SENED_RETURN_IF_ERROR(impl_->tls.load());
  SENED_RETURN_IF_ERROR(impl_->bind());
  Impl* impl = impl_.get();
  asio::co_spawn(impl->acceptor.get_executor(), impl->accept_loop(), [](std::exception_ptr e) {
    if (e) logger().error("accept loop ended by an exception");
  });
  // Catch SIGTERM and SIGINT from here on, before anyone can learn the port:
  // a signal that arrives before run() waits in the queue instead of killing
  // the process.
  impl->signals.emplace(impl->core.ioc, SIGINT, SIGTERM);
  impl->signals->async_wait([this](ErrorCode ec, int signal) {
    if (ec) return;
    logger().info("signal received signal={}", signal);
    stop();
  });
  impl->started = true;
  logger().info("listening address={}:{} tls={}", impl->core.options.address, impl->port,
                impl->core.options.tls_enabled);
  return Status::ok_status();
}

uint16_t Server::port() const { return impl_->port; }

void Server::run() {
  if (!impl_->started) {
    logger().error("run() without a successful start()");
    return;
  }
  std::vector<std::thread> threads;
  int count = impl_->core.network_thread_count();
  for (int i = 1; i < count; ++i) threads.emplace_back([this] { impl_->core.ioc.run(); });
  impl_->core.ioc.run();
  for (auto& thread : threads) thread.join();
  logger().info("stopped");
}

void Server::stop() {
  Impl* impl = impl_.get();
  asio::post(impl->acceptor.get_executor(), [impl] { impl->begin_shutdown(); });
}

}  // namespace sened::http
