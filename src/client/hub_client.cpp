// HubClient on Boost.Beast. The public calls are synchronous; inside, each one
// runs a coroutine on a private io_context, because only Asio's asynchronous
// operations honour timeouts (beast::tcp_stream's expiry).
#include "client/hub_client.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "crypto/digest.h"

namespace sened::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using TlsStream = ssl::stream<beast::tcp_stream>;
using ResponseParser = bhttp::response_parser<bhttp::buffer_body>;
namespace websocket = boost::beast::websocket;

// Bytes per read or write of a body, and per read of a file being uploaded.
constexpr size_t kChunkSize = 64 * 1024;
// Largest response body kept in memory; a bigger one must go through download().
constexpr uint64_t kMaxBodyInMemory = 64ull * 1024 * 1024;
// Largest response head (status line and headers) accepted.
constexpr uint32_t kMaxResponseHead = 64 * 1024;
// Closing a connection waits this long for the server's TLS close_notify
// (or, for an event stream, its WebSocket close frame).
constexpr auto kCloseTimeout = std::chrono::seconds(2);
// Largest WebSocket message (one event) accepted from the hub.
constexpr size_t kMaxEventMessage = 1024 * 1024;
// An event stream silent for half this long is pinged; silent for all of it
// (no pong either), it counts as lost.
constexpr auto kStreamIdleTimeout = std::chrono::seconds(30);
constexpr std::string_view kSecureScheme = "https://";
// Plain TCP, for loopback services such as a test's webhook receiver.
constexpr std::string_view kPlainScheme = "http://";

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// Where the hub is, from "https://host[:port][/]" or "http://host[:port][/]".
struct Endpoint {
  std::string host;  // without brackets
  std::string port;
  bool secure = true;  // TLS (https://)
  bool is_ip = false;
  std::string authority;  // for the Host header and messages: "host:port"
};

bool is_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value >= 1 && value <= 65535;
}

Result<Endpoint> parse_url(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return invalid_argument("bad hub URL \"" + std::string(url) + "\": " + std::string(why));
  };
  constexpr std::string_view kShape = "expected https://host[:port] or http://host[:port]";
  Endpoint endpoint;
  std::string_view rest;
  if (url.starts_with(kSecureScheme)) {
    rest = url.substr(kSecureScheme.size());
  } else if (url.starts_with(kPlainScheme)) {
    rest = url.substr(kPlainScheme.size());
    endpoint.secure = false;
  } else {
    return bad(kShape);
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return bad(kShape);

  const std::string_view default_port = endpoint.secure ? "443" : "80";
  std::string_view port_text;
  const bool bracketed = rest.front() == '[';
  if (bracketed) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    endpoint.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("expected : after ]");
    port_text = after.empty() ? default_port : after.substr(1);
  } else {
    size_t colon = rest.rfind(':');
    endpoint.host = std::string(rest.substr(0, colon));
    port_text = colon == std::string_view::npos ? default_port : rest.substr(colon + 1);
  }
  if (endpoint.host.empty()) return bad("no host");
  if (!is_port(port_text)) return bad("bad port");
  // One spelling per port, so that :0443 and :443 are one node.
  endpoint.port = std::to_string(std::stoul(std::string(port_text)));

  ErrorCode ec;
  auto address = asio::ip::make_address(endpoint.host, ec);
  endpoint.is_ip = !ec;
  if (bracketed && !(endpoint.is_ip && address.is_v6())) {
    return bad("only an IPv6 address goes in [ ]");
  }
  // A DNS name or an IPv4 address: user@, a second colon, blanks and the
  // like are not a host (an IPv6 address goes in brackets).
  if (!endpoint.is_ip) {
    for (char c : endpoint.host) {
      bool name_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '-' || c == '_';
      if (!name_char) {
        return bad(c == '@'   ? "user names do not go in a hub URL"
                   : c == ':' ? "an IPv6 address goes in [ ], a port after the last :"
                              : "the host may hold only letters, digits, '.', '-' and '_'");
      }
    }
  } else if (!bracketed && address.is_v6()) {
    return bad("an IPv6 address goes in [ ]");
  }
  std::string shown = endpoint.is_ip && address.is_v6() ? "[" + endpoint.host + "]" : endpoint.host;
  endpoint.authority = shown + ":" + endpoint.port;
  return endpoint;
}

// ---- node lists and failover ----

// An answer by which a node says it cannot serve now: the next node is tried.
constexpr int kNodeUnavailableStatus = 503;
// How much of a refusing node's answer goes into the failover error.
constexpr size_t kMaxRefusalShown = 200;

// A node as compared for duplicates and remembered: scheme, host, port.
std::string node_key(const Endpoint& endpoint) {
  std::string host = endpoint.host;
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::string(endpoint.secure ? kSecureScheme : kPlainScheme) + host + ":" + endpoint.port;
}

std::string_view trimmed(std::string_view text) {
  constexpr std::string_view kBlank = " \t\r\n";
  size_t first = text.find_first_not_of(kBlank);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlank) - first + 1);
}

// The remembered-node key of a parsed list: its nodes in order.
std::string node_list_key(const std::vector<std::string>& urls) {
  std::string key;
  for (const auto& url : urls) {
    auto endpoint = parse_url(url);
    key += (key.empty() ? "" : ",") + (endpoint.ok() ? node_key(*endpoint) : url);
  }
  return key;
}

// For each node list, the index of the node that last answered, shared by
// every client of this process (the CLI makes several clients in one run,
// the gateway one per thread).
size_t remembered_node(const std::string& list_key, const size_t* answered = nullptr) {
  static std::mutex mutex;
  static std::map<std::string, size_t> last_answered;
  std::lock_guard lock(mutex);
  if (answered != nullptr) last_answered[list_key] = *answered;
  auto found = last_answered.find(list_key);
  return found == last_answered.end() ? 0 : found->second;
}

// One pass over the nodes of a list, from the one that last answered: which
// node to try next, and why each tried one failed.
class FailoverRound {
 public:
  FailoverRound(std::string list_key, size_t count)
      : list_key_(std::move(list_key)), count_(count), start_(remembered_node(list_key_) % count) {}

  // The next node to try; nullopt once every node was tried.
  std::optional<size_t> next() {
    if (tried_ == count_) return std::nullopt;
    return (start_ + tried_++) % count_;
  }

  void answered(size_t index) { remembered_node(list_key_, &index); }

  // Logged as a warning: an operator wants to know that a node is down.
  void failed(const std::string& url, const Status& why) {
    spdlog::warn("hub node passed over node={} error=\"{}\"", url, why.message());
    reasons_ += (reasons_.empty() ? "" : "; ") + url + ": " + why.message();
  }

  Status give_up() const {
    return unavailable("no hub node answered (" + std::to_string(count_) + " tried): " + reasons_);
  }

 private:
  std::string list_key_;
  size_t count_;
  size_t start_;
  size_t tried_ = 0;
  std::string reasons_;
};

// The options of one node of `urls`. The shorter connect timeout is for
// moving on quickly: a single node keeps the whole timeout to connect.
ClientOptions node_options(const ClientOptions& options, const std::vector<std::string>& urls,
                           const std::string& url) {
  ClientOptions one = options;
  one.url = url;
  if (urls.size() == 1) one.connect_timeout_seconds = one.timeout_seconds;
  return one;
}

// Why a node that answered 503 was passed over.
Status node_refusal(const ClientResponse& answer) {
  std::string body = answer.body.substr(0, kMaxRefusalShown);
  std::replace_if(
      body.begin(), body.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return unavailable("answered HTTP " + std::to_string(answer.status) +
                     (body.empty() ? "" : " " + body));
}

// One connection: TLS for https:// URLs, plain TCP for http:// ones. Beast's
// HTTP and WebSocket code see one AsyncStream either way. The TCP layer
// (next_layer()) carries the timeouts.
class ClientStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  // `tls` null: plain TCP. Otherwise it must outlive the stream.
  ClientStream(const executor_type& executor, ssl::context* tls) {
    if (tls != nullptr) {
      tls_.emplace(executor, *tls);
    } else {
      plain_.emplace(executor);
    }
  }

  executor_type get_executor() { return next_layer().get_executor(); }
  beast::tcp_stream& next_layer() { return tls_ ? tls_->next_layer() : *plain_; }
  TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(ErrorCode, std::size_t)>(
        [this](auto handler, const Buffers& pieces) {
          if (tls_) {
            tls_->async_read_some(pieces, std::move(handler));
          } else {
            plain_->async_read_some(pieces, std::move(handler));
          }
        },
        token, buffers);
  }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(ErrorCode, std::size_t)>(
        [this](auto handler, const Buffers& pieces) {
          if (tls_) {
            tls_->async_write_some(pieces, std::move(handler));
          } else {
            plain_->async_write_some(pieces, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  std::optional<TlsStream> tls_;
  std::optional<beast::tcp_stream> plain_;
};

// How a WebSocket over a ClientStream ends: TLS close_notify first when
// there is TLS, then the TCP close (found by Beast through ADL).
template <typename Handler>
void async_teardown(beast::role_type role, ClientStream& stream, Handler&& handler) {
  if (TlsStream* tls = stream.tls()) {
    beast::async_teardown(role, *tls, std::forward<Handler>(handler));
  } else {
    beast::async_teardown(role, stream.next_layer(), std::forward<Handler>(handler));
  }
}

// TLS errors say what OpenSSL saw ("tlsv13 alert certificate required",
// "sslv3 alert certificate revoked"), plus the certificate check's verdict.
std::string failure_reason(const ErrorCode& ec, ClientStream& stream) {
  std::string reason = ec.message();
  if (stream.tls() == nullptr) return reason;
  long verdict = SSL_get_verify_result(stream.tls()->native_handle());
  if (verdict != X509_V_OK) {
    reason += std::string(" (") + X509_verify_cert_error_string(verdict) + ")";
  }
  return reason;
}

bool is_tls_error(const ErrorCode& ec) {
  return ec.category() == asio::error::get_ssl_category() ||
         ec == asio::ssl::error::stream_truncated;
}

// ---- multipart/form-data ----

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

std::string quoted_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// RFC 5987 ext-value: attr-chars stay, every other byte is %XX.
std::string rfc5987(std::string_view text) {
  static constexpr std::string_view kAttrPunctuation = "!#$&+-.^_`|~";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "UTF-8''";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    bool plain = std::isalnum(byte) != 0 && byte < 0x80;
    if (plain || kAttrPunctuation.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

std::string random_boundary() {
  std::array<unsigned char, 16> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) std::abort();
  return "sened-" +
         crypto::to_hex(std::string_view(reinterpret_cast<char*>(random.data()), random.size()));
}

// One part as it goes on the wire: its head, then its content from disk or memory.
struct PlannedPart {
  std::string head;
  const FormPart* part = nullptr;
  uint64_t size = 0;
};

struct MultipartPlan {
  std::string boundary;
  std::vector<PlannedPart> parts;
  std::string trailer;
  uint64_t content_length = 0;
};

Result<PlannedPart> plan_part(const FormPart& part, const std::string& boundary) {
  if (has_line_break(part.name) || has_line_break(part.filename) ||
      has_line_break(part.content_type)) {
    return invalid_argument("form part \"" + part.name + "\" has a line break in its head");
  }
  PlannedPart planned;
  planned.part = &part;
  planned.size = part.data.size();
  if (part.path) {
    std::error_code ec;
    planned.size = std::filesystem::file_size(*part.path, ec);
    if (ec) return invalid_argument("cannot read " + *part.path + ": " + ec.message());
  }
  planned.head =
      "--" + boundary + "\r\nContent-Disposition: form-data; name=" + quoted_string(part.name);
  if (!part.filename.empty()) {
    planned.head +=
        "; filename=" + quoted_string(part.filename) + "; filename*=" + rfc5987(part.filename);
  }
  planned.head += "\r\n";
  if (!part.content_type.empty()) planned.head += "Content-Type: " + part.content_type + "\r\n";
  planned.head += "\r\n";
  return planned;
}

Result<MultipartPlan> plan_multipart(const std::vector<FormPart>& parts) {
  MultipartPlan plan;
  plan.boundary = random_boundary();
  for (const auto& part : parts) {
    auto planned = plan_part(part, plan.boundary);
    if (!planned.ok()) return planned.status();
    plan.content_length += planned->head.size() + planned->size + 2;  // 2: CRLF after content
    plan.parts.push_back(std::move(*planned));
  }
  plan.trailer = "--" + plan.boundary + "--\r\n";
  plan.content_length += plan.trailer.size();
  return plan;
}

// ---- response bodies ----

// Receives a response body piece by piece.
using BodyWriter = std::function<Status(std::string_view)>;

BodyWriter memory_writer(std::string& out) {
  return [&out](std::string_view piece) {
    if (out.size() + piece.size() > kMaxBodyInMemory) {
      return unavailable("response too large, use download");
    }
    out.append(piece);
    return Status::ok_status();
  };
}

// A download being written to "<path>.part"; renamed to <path> by commit().
// Destroyed uncommitted, it removes the partial file.
class PartFile {
 public:
  static Result<std::unique_ptr<PartFile>> create(const std::string& path) {
    std::string temp = path + ".part";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return invalid_argument("cannot create " + temp + ": " + std::strerror(errno));
    return std::unique_ptr<PartFile>(new PartFile(path, std::move(temp), fd));
  }
  ~PartFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
  }

  Status append(std::string_view piece) {
    while (!piece.empty()) {
      ssize_t n = ::write(fd_, piece.data(), piece.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return unavailable("cannot write " + temp_ + ": " + std::strerror(errno));
      piece.remove_prefix(static_cast<size_t>(n));
    }
    return Status::ok_status();
  }

  // fsync before the rename, or a crash could leave a complete-looking empty file.
  Status commit() {
    if (::fsync(fd_) != 0) return unavailable("cannot sync " + temp_ + ": " + std::strerror(errno));
    ::close(std::exchange(fd_, -1));
    if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
      return unavailable("cannot rename " + temp_ + ": " + std::strerror(errno));
    }
    committed_ = true;
    sync_folder();
    return Status::ok_status();
  }

 private:
  PartFile(std::string path, std::string temp, int fd)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}

  // Makes the rename itself durable.
  void sync_folder() const {
    std::string folder = std::filesystem::path(path_).parent_path().string();
    int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return;
    ::fsync(dir);
    ::close(dir);
  }

  std::string path_;
  std::string temp_;
  int fd_;
  bool committed_ = false;
};

// The outcome of one request on one connection.
struct Attempt {
  Status error;  // ok: `response` holds the answer
  ClientResponse response;
  bool answer_started = false;  // some of the answer arrived: never send the request again
  bool reusable = false;        // the connection may carry another request
};

Attempt failed(Status error, bool answer_started) {
  Attempt attempt;
  attempt.error = std::move(error);
  attempt.answer_started = answer_started;
  return attempt;
}

http::Headers headers_of(const bhttp::response<bhttp::buffer_body>& message) {
  http::Headers headers;
  for (const auto& field : message) {
    headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return headers;
}

// ---- request heads ----

// Fields the client writes itself; a caller's extra headers may not set them.
constexpr std::array<std::string_view, 6> kManagedFields = {
    "host", "content-length", "transfer-encoding", "connection", "expect", "upgrade"};

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_token(std::string_view name) {
  static constexpr std::string_view kPunctuation = "!#$%&'*+-.^_`|~";
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte < 0x80 && std::isalnum(byte) != 0) ||
           kPunctuation.find(c) != std::string_view::npos;
  });
}

Status check_headers(const http::Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (!is_token(name)) return invalid_argument("bad header name \"" + name + "\"");
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return invalid_argument("header " + name + " has a line break or NUL in its value");
    }
    for (std::string_view managed : kManagedFields) {
      if (same_name(name, managed)) {
        return invalid_argument("header " + name + " is set by the client itself");
      }
    }
  }
  return Status::ok_status();
}

// Adds checked extra headers; a Content-Type among them replaces the default.
void add_headers(bhttp::request<bhttp::empty_body>& head, const http::Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (same_name(name, "content-type")) {
      head.set(bhttp::field::content_type, value);
    } else {
      head.insert(name, value);
    }
  }
}

// A byte range of a file on disk, to be sent as a request body.
struct FileRange {
  std::string path;
  uint64_t offset = 0;
  uint64_t length = 0;
};

Result<FileRange> plan_file_range(const std::string& path, uint64_t offset, uint64_t length) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return invalid_argument("cannot read " + path + ": not a regular file");
  }
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return invalid_argument("cannot read " + path + ": " + ec.message());
  if (offset > size || length > size - offset) {
    return invalid_argument("bytes " + std::to_string(offset) + "+" + std::to_string(length) +
                            " are beyond the end of " + path + " (" + std::to_string(size) +
                            " bytes)");
  }
  return FileRange{path, offset, length};
}

// What every connection to the hub shares: the parsed URL, the TLS context
// holding the participant's certificate, a private io_context, and the way
// to connect. HubClient and EventStream each own one.
struct Link {
  explicit Link(ClientOptions opts) : options(std::move(opts)) { setup = configure(); }

  Status configure() {
    auto parsed = parse_url(options.url);
    if (!parsed.ok()) return parsed.status();
    endpoint = std::move(*parsed);
    if (!endpoint.secure) return Status::ok_status();

    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    tls.set_verify_mode(ssl::verify_peer);
    ErrorCode ec;
    if (options.ca_file.empty()) {
      tls.set_default_verify_paths(ec);
    } else {
      tls.load_verify_file(options.ca_file, ec);
    }
    if (ec) return invalid_argument("cannot load CA " + options.ca_file + ": " + ec.message());
    if (options.cert_file.empty()) return Status::ok_status();
    tls.use_certificate_chain_file(options.cert_file, ec);
    if (ec) {
      return invalid_argument("cannot load certificate " + options.cert_file + ": " + ec.message());
    }
    std::string key = options.key_file.empty() ? options.cert_file : options.key_file;
    tls.use_private_key_file(key, ssl::context::pem, ec);
    if (ec) return invalid_argument("cannot load key " + key + ": " + ec.message());
    return Status::ok_status();
  }

  std::chrono::seconds timeout() const { return std::chrono::seconds(options.timeout_seconds); }
  std::chrono::seconds connect_timeout() const {
    return std::chrono::seconds(std::min(options.timeout_seconds, options.connect_timeout_seconds));
  }

  // The TLS context for a new stream, or null for plain TCP.
  ssl::context* tls_for_stream() { return endpoint.secure ? &tls : nullptr; }

  // Runs a coroutine on the private io_context until it completes. Other
  // work on the context (an EventStream's reader) runs meanwhile.
  template <typename T>
  T run(asio::awaitable<T> task) {
    std::optional<T> value;
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T v) {
      failure = e;
      value = std::move(v);
      done = true;
    });
    run_until(done);
    if (failure) std::rethrow_exception(failure);
    return std::move(*value);
  }

  void run(asio::awaitable<void> task) {
    bool done = false;
    asio::co_spawn(ioc, std::move(task), [&done](std::exception_ptr) { done = true; });
    run_until(done);
  }

  void run_until(const bool& done) {
    ioc.restart();
    while (!done && ioc.run_one() > 0) {
    }
  }

  // ---- connection ----

  // Connects `fresh` (made with tls_for_stream()) to the hub: TCP, then the
  // TLS handshake for https. Leaves the TCP layer's expiry at timeout().
  asio::awaitable<Status> connect(ClientStream& fresh) {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    auto [resolve_error, addresses] =
        co_await resolver.async_resolve(endpoint.host, endpoint.port, kAsTuple);
    if (resolve_error) {
      co_return unavailable("cannot resolve " + endpoint.host + ": " + resolve_error.message());
    }

    fresh.next_layer().expires_after(connect_timeout());
    auto [connect_error, peer] = co_await fresh.next_layer().async_connect(addresses, kAsTuple);
    if (connect_error == beast::error::timeout) {
      co_return unavailable("connecting to " + endpoint.authority + " timed out");
    }
    if (connect_error) {
      co_return unavailable("cannot connect to " + endpoint.authority + ": " +
                            connect_error.message());
    }

    // Requests go out as a head and then body pieces; Nagle's algorithm
    // would hold each small write back until the hub's delayed ACK.
    ErrorCode nodelay_error;
    fresh.next_layer().socket().set_option(tcp::no_delay(true), nodelay_error);
    TlsStream* secure = fresh.tls();
    if (secure == nullptr) co_return Status::ok_status();
    name_the_server(*secure);
    fresh.next_layer().expires_after(connect_timeout());
    auto [handshake_error] = co_await secure->async_handshake(ssl::stream_base::client, kAsTuple);
    if (handshake_error) {
      co_return unavailable("TLS handshake with " + endpoint.authority +
                            " failed: " + failure_reason(handshake_error, fresh));
    }
    co_return Status::ok_status();
  }

  // The server's certificate must name the host we asked for (IP or DNS name).
  void name_the_server(TlsStream& fresh) {
    SSL* native = fresh.native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    if (endpoint.is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, endpoint.host.c_str());
      return;
    }
    X509_VERIFY_PARAM_set1_host(param, endpoint.host.c_str(), 0);
    SSL_set_tlsext_host_name(native, endpoint.host.c_str());
  }

  // A failed exchange on `stream`: what went wrong, in words the CLI can show.
  Status describe(std::string_view doing, const ErrorCode& ec, ClientStream& stream) const {
    if (ec == beast::error::timeout) {
      return unavailable(std::string(doing) + " " + endpoint.authority + " timed out");
    }
    if (is_tls_error(ec)) {
      return unavailable("TLS connection to " + endpoint.authority +
                         " failed: " + failure_reason(ec, stream));
    }
    return unavailable(std::string(doing) + " " + endpoint.authority + " failed: " + ec.message());
  }

  ClientOptions options;
  Status setup;
  Endpoint endpoint;
  asio::io_context ioc;
  ssl::context tls{ssl::context::tls_client};
};

}  // namespace

namespace {

// The client of one hub node: its Link and the kept-alive connection to it.
struct NodeClient : Link {
  using Link::Link;

  ~NodeClient() {
    if (stream) run(close_connection());
  }

  asio::awaitable<Status> connect() {
    auto executor = co_await asio::this_coro::executor;
    auto fresh = std::make_unique<ClientStream>(executor, tls_for_stream());
    Status connected = co_await Link::connect(*fresh);
    if (!connected.ok()) co_return connected;
    stream = std::move(fresh);
    buffer.clear();
    co_return Status::ok_status();
  }

  // Ends the kept-alive connection: TLS close_notify, or a TCP shutdown.
  asio::awaitable<void> close_connection() {
    if (!stream) co_return;
    if (TlsStream* secure = stream->tls()) {
      stream->next_layer().expires_after(kCloseTimeout);
      co_await secure->async_shutdown(kAsTuple);
    } else {
      ErrorCode ignored;
      stream->next_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    stream.reset();
  }

  Status describe(std::string_view doing, const ErrorCode& ec) {
    return Link::describe(doing, ec, *stream);
  }

  // ---- one exchange ----

  asio::awaitable<ErrorCode> write_bytes(std::string_view bytes) {
    stream->next_layer().expires_after(timeout());
    auto [ec, n] = co_await asio::async_write(*stream, asio::buffer(bytes), kAsTuple);
    co_return ec;
  }

  asio::awaitable<ErrorCode> write_head(bhttp::request<bhttp::empty_body>& head) {
    head.set(bhttp::field::host, endpoint.authority);
    head.set(bhttp::field::user_agent, "sened-client/" SENED_VERSION);
    stream->next_layer().expires_after(timeout());
    auto [ec, n] = co_await bhttp::async_write(*stream, head, kAsTuple);
    co_return ec;
  }

  asio::awaitable<ErrorCode> read_head(ResponseParser& parser) {
    parser.header_limit(kMaxResponseHead);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // callers cap it
    stream->next_layer().expires_after(timeout());
    auto [ec, n] = co_await bhttp::async_read_header(*stream, buffer, parser, kAsTuple);
    co_return ec;
  }

  // Reads the body after the head, handing each piece to `writer`.
  asio::awaitable<Status> read_body(ResponseParser& parser, const BodyWriter& writer) {
    std::vector<char> chunk(kChunkSize);
    while (!parser.is_done()) {
      auto& body = parser.get().body();
      body.data = chunk.data();
      body.size = chunk.size();
      stream->next_layer().expires_after(timeout());
      auto [ec, n] = co_await bhttp::async_read(*stream, buffer, parser, kAsTuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return describe("reading the answer from", ec);
      Status written = writer(std::string_view(chunk.data(), chunk.size() - body.size));
      if (!written.ok()) co_return written;
    }
    co_return Status::ok_status();
  }

  // Reads a whole final answer (skipping interim 1xx ones). With `out_path`, a
  // 200 body goes to that file instead of memory.
  asio::awaitable<Attempt> read_answer(bool head_request, const std::string* out_path) {
    for (;;) {
      ResponseParser parser;
      if (head_request) parser.skip(true);
      ErrorCode ec = co_await read_head(parser);
      if (ec) co_return failed(describe("reading the answer from", ec), parser.got_some());
      if (parser.get().result_int() / 100 == 1) continue;
      co_return co_await read_rest(parser, out_path);
    }
  }

  asio::awaitable<Attempt> read_rest(ResponseParser& parser, const std::string* out_path) {
    Attempt attempt;
    attempt.answer_started = true;
    attempt.response.status = static_cast<int>(parser.get().result_int());
    attempt.response.headers = headers_of(parser.get());

    std::unique_ptr<PartFile> file;
    BodyWriter writer = memory_writer(attempt.response.body);
    if (out_path != nullptr && attempt.response.status == 200) {
      auto created = PartFile::create(*out_path);
      if (!created.ok()) co_return failed(created.status(), true);
      file = std::move(*created);
      writer = [&file](std::string_view piece) { return file->append(piece); };
    }
    attempt.error = co_await read_body(parser, writer);
    if (attempt.error.ok() && file) attempt.error = file->commit();
    attempt.reusable = attempt.error.ok() && parser.get().keep_alive();
    co_return attempt;
  }

  // Parameters are values or views of the caller's arguments: the coroutine
  // outlives the full expression that created it.
  asio::awaitable<Attempt> exchange(std::string method, std::string target, std::string_view body,
                                    std::string content_type, const http::Headers* extra,
                                    const std::string* out_path) {
    bhttp::request<bhttp::empty_body> head;
    head.version(11);
    head.method_string(method);
    head.target(target);
    if (!body.empty()) head.set(bhttp::field::content_type, content_type);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      head.content_length(body.size());
    }
    if (extra != nullptr) add_headers(head, *extra);
    ErrorCode ec = co_await write_head(head);
    if (!ec && !body.empty()) ec = co_await write_bytes(body);
    if (ec) co_return co_await answer_after_failed_write(ec);
    co_return co_await read_answer(method == "HEAD", out_path);
  }

  // A write failed; the server may already have answered (a refusal, or the
  // TLS alert that rejects our certificate): read that rather than lose it.
  asio::awaitable<Attempt> answer_after_failed_write(const ErrorCode& write_error) {
    ResponseParser parser;
    ErrorCode ec = co_await read_head(parser);
    if (!ec) co_return co_await read_rest(parser, nullptr);
    if (is_tls_error(ec) && ec != ssl::error::stream_truncated) {
      co_return failed(describe("reading the answer from", ec), parser.got_some());
    }
    co_return failed(describe("sending the request to", write_error), parser.got_some());
  }

  asio::awaitable<Attempt> exchange_multipart(const std::string& target,
                                              const MultipartPlan& plan) {
    bhttp::request<bhttp::empty_body> head;
    head.version(11);
    head.method(bhttp::verb::post);
    head.target(target);
    head.set(bhttp::field::content_type, "multipart/form-data; boundary=" + plan.boundary);
    head.content_length(plan.content_length);
    co_return co_await exchange_streamed(
        head, [this, &plan](ErrorCode& ec) { return send_parts(plan, ec); });
  }

  // Streams a byte range of a file as the whole body.
  asio::awaitable<Attempt> exchange_file(std::string method, std::string target,
                                         const http::Headers& headers, const FileRange& range) {
    bhttp::request<bhttp::empty_body> head;
    head.version(11);
    head.method_string(method);
    head.target(target);
    head.content_length(range.length);
    add_headers(head, headers);
    if (range.length == 0) {
      ErrorCode ec = co_await write_head(head);
      if (ec) co_return co_await answer_after_failed_write(ec);
      co_return co_await read_answer(method == "HEAD", nullptr);
    }
    co_return co_await exchange_streamed(head, [this, &range](ErrorCode& ec) {
      return send_file(range.path, range.offset, range.length, ec);
    });
  }

  // Sends `head` with Expect: 100-continue, then the body from `send_body`
  // once the server says go on; a final status instead refuses the body.
  template <typename SendBody>
  asio::awaitable<Attempt> exchange_streamed(bhttp::request<bhttp::empty_body>& head,
                                             SendBody send_body) {
    head.set(bhttp::field::expect, "100-continue");
    ErrorCode ec = co_await write_head(head);
    if (ec) co_return co_await answer_after_failed_write(ec);

    ResponseParser interim;
    ec = co_await read_head(interim);
    if (ec) co_return failed(describe("reading the answer from", ec), interim.got_some());
    if (interim.get().result_int() != 100) {
      Attempt refusal = co_await read_rest(interim, nullptr);
      refusal.reusable = false;  // the server expected a body we never sent
      co_return refusal;
    }

    Status sent = co_await send_body(ec);
    if (!sent.ok()) co_return failed(sent, true);
    if (ec) {
      Attempt late = co_await answer_after_failed_write(ec);
      late.answer_started = true;
      co_return late;
    }
    co_return co_await read_answer(false, nullptr);
  }

  // Writes every part; a local problem (a file gone) is a Status, a network one goes to `ec`.
  asio::awaitable<Status> send_parts(const MultipartPlan& plan, ErrorCode& ec) {
    for (const auto& planned : plan.parts) {
      ec = co_await write_bytes(planned.head);
      if (ec) co_return Status::ok_status();
      if (planned.part->path) {
        Status streamed = co_await send_file(*planned.part->path, 0, planned.size, ec);
        if (!streamed.ok() || ec) co_return streamed;
      } else {
        ec = co_await write_bytes(planned.part->data);
      }
      if (!ec) ec = co_await write_bytes("\r\n");
      if (ec) co_return Status::ok_status();
    }
    ec = co_await write_bytes(plan.trailer);
    co_return Status::ok_status();
  }

  // Streams exactly `size` bytes of a file from `offset`, as announced in
  // Content-Length, through one chunk-sized buffer.
  asio::awaitable<Status> send_file(const std::string& path, uint64_t offset, uint64_t size,
                                    ErrorCode& ec) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) co_return invalid_argument("cannot read " + path + ": " + std::strerror(errno));
    std::vector<char> chunk(kChunkSize);
    uint64_t sent = 0;
    Status status;
    while (sent < size && !ec) {
      ssize_t n = ::pread(fd, chunk.data(), std::min<uint64_t>(chunk.size(), size - sent),
                          static_cast<off_t>(offset + sent));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        status = invalid_argument("file " + path + " changed while it was being sent");
        break;
      }
      ec = co_await write_bytes(std::string_view(chunk.data(), static_cast<size_t>(n)));
      sent += static_cast<uint64_t>(n);
    }
    ::close(fd);
    co_return status;
  }

  // Sends with the kept-alive connection if there is one. When a reused
  // connection fails before any answer (the server closed it while idle),
  // connects again and retries once.
  template <typename MakeExchange>
  Result<ClientResponse> with_connection(MakeExchange make_exchange) {
    if (!setup.ok()) return setup;
    try {
      for (int attempt_number = 0;; ++attempt_number) {
        bool reused = stream != nullptr;
        if (!reused) {
          Status connected = run(connect());
          if (!connected.ok()) return connected;
        }
        Attempt attempt = run(make_exchange());
        if (!attempt.reusable) drop_connection(attempt.error.ok());
        if (attempt.error.ok()) return std::move(attempt.response);
        if (!reused || attempt.answer_started || attempt_number > 0) return attempt.error;
      }
    } catch (const std::exception& e) {
      stream.reset();
      return internal_error(std::string("client failure: ") + e.what());
    }
  }

  // Closes the connection; politely (TLS close_notify) if it is still healthy.
  void drop_connection(bool healthy) {
    if (healthy && stream) run(close_connection());
    stream.reset();
  }

  std::unique_ptr<ClientStream> stream;  // the kept-alive connection, if any
  beast::flat_buffer buffer;
};

}  // namespace

// The nodes of options.url, each with its own NodeClient, and the failover
// between them (see the header).
struct HubClient::Impl {
  explicit Impl(ClientOptions options) {
    auto urls = parse_node_list(options.url);
    if (!urls.ok()) {
      setup = urls.status();
      return;
    }
    list_key = node_list_key(*urls);
    for (const auto& url : *urls) {
      nodes.push_back(std::make_unique<NodeClient>(node_options(options, *urls, url)));
    }
    // Every node shares the certificate files: the first one's verdict on
    // them is everyone's.
    setup = nodes.front()->setup;
  }

  // Runs `call` on the node that last answered and on the others in list
  // order after it, until one answers (see the header for what counts).
  template <typename Call>
  Result<ClientResponse> across_nodes(Call call) {
    if (!setup.ok()) return setup;
    if (nodes.size() == 1) return call(*nodes.front());
    FailoverRound round(list_key, nodes.size());
    while (auto index = round.next()) {
      NodeClient& node = *nodes[*index];
      Result<ClientResponse> answer = call(node);
      if (answer.ok() && answer->status != kNodeUnavailableStatus) {
        round.answered(*index);
        return answer;
      }
      if (!answer.ok() && answer.status().code() != Code::kUnavailable) return answer;
      round.failed(node.options.url, answer.ok() ? node_refusal(*answer) : answer.status());
    }
    return round.give_up();
  }

  Status setup;
  std::string list_key;
  std::vector<std::unique_ptr<NodeClient>> nodes;
};

Result<std::vector<std::string>> parse_node_list(std::string_view list) {
  const std::string shown(list);
  if (trimmed(list).empty()) return invalid_argument("no hub URL given (the hub list is empty)");
  std::vector<std::string> urls;
  std::map<std::string, size_t> seen;  // node key -> item number
  // A single URL keeps the plain URL error.
  const bool single = list.find(',') == std::string_view::npos;
  size_t number = 0;
  for (size_t begin = 0; begin <= list.size(); ++number) {
    size_t comma = std::min(list.find(',', begin), list.size());
    std::string item(trimmed(list.substr(begin, comma - begin)));
    begin = comma + 1;
    std::string which = "hub list \"" + shown + "\": item " + std::to_string(number + 1);
    if (item.empty()) return invalid_argument(which + " is empty");
    auto endpoint = parse_url(item);
    if (!endpoint.ok() && single) return endpoint.status();
    if (!endpoint.ok()) return invalid_argument(which + ": " + endpoint.status().message());
    auto [earlier, fresh] = seen.emplace(node_key(*endpoint), number + 1);
    if (!fresh) {
      return invalid_argument(which + " (\"" + item + "\") names the same node as item " +
                              std::to_string(earlier->second));
    }
    urls.push_back(std::move(item));
  }
  return urls;
}

HubClient::HubClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HubClient::~HubClient() = default;

Result<ClientResponse> HubClient::request(const std::string& method, const std::string& target,
                                          const std::string& body,
                                          const std::string& content_type) {
  return impl_->across_nodes([&](NodeClient& node) {
    return node.with_connection(
        [&] { return node.exchange(method, target, body, content_type, nullptr, nullptr); });
  });
}

Result<ClientResponse> HubClient::request(const std::string& method, const std::string& target,
                                          const std::string& body, const std::string& content_type,
                                          const http::Headers& extra_headers) {
  Status checked = check_headers(extra_headers);
  if (!checked.ok()) return checked;
  return impl_->across_nodes([&](NodeClient& node) {
    return node.with_connection(
        [&] { return node.exchange(method, target, body, content_type, &extra_headers, nullptr); });
  });
}

Result<ClientResponse> HubClient::send_file(const std::string& method, const std::string& target,
                                            const http::Headers& headers, const std::string& path,
                                            uint64_t offset, uint64_t length) {
  Status checked = check_headers(headers);
  if (!checked.ok()) return checked;
  auto range = plan_file_range(path, offset, length);
  if (!range.ok()) return range.status();
  return impl_->across_nodes([&](NodeClient& node) {
    return node.with_connection(
        [&] { return node.exchange_file(method, target, headers, *range); });
  });
}

Result<ClientResponse> HubClient::post_multipart(const std::string& target,
                                                 const std::vector<FormPart>& parts) {
  auto plan = plan_multipart(parts);
  if (!plan.ok()) return plan.status();
  return impl_->across_nodes([&](NodeClient& node) {
    return node.with_connection([&] { return node.exchange_multipart(target, *plan); });
  });
}

Result<ClientResponse> HubClient::download(const std::string& target, const std::string& out_path) {
  return impl_->across_nodes([&](NodeClient& node) {
    return node.with_connection(
        [&] { return node.exchange("GET", target, std::string_view(), "", nullptr, &out_path); });
  });
}

}  // namespace sened::client

namespace sened::client {
namespace {

using WebSocket = websocket::stream<ClientStream>;

// The error the hub gave instead of upgrading: its {"error":{…}} body, else
// the HTTP status in words.
Status refusal_of(const websocket::response_type& answer) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(answer.body(), ec);
  const boost::json::value* reported = nullptr;
  if (!ec && v.is_object()) reported = v.as_object().if_contains("error");
  const boost::json::object* error = reported != nullptr ? reported->if_object() : nullptr;
  if (error != nullptr) {
    auto text = [&](std::string_view key) {
      const auto* field = error->if_contains(key);
      return field != nullptr && field->is_string() ? std::string(field->as_string())
                                                    : std::string();
    };
    for (Code c : {Code::kInvalidArgument, Code::kPermissionDenied, Code::kNotFound,
                   Code::kConflict, Code::kPayloadTooLarge, Code::kUnsupportedMediaType,
                   Code::kUnavailable, Code::kInternal}) {
      if (code_name(c) == text("code")) return Status(c, text("message"));
    }
  }
  int status = answer.result_int();
  std::string message = "the hub refused the event stream with HTTP " + std::to_string(status);
  return status >= 500 ? unavailable(message) : invalid_argument(message);
}

}  // namespace

struct EventStream::Impl : Link {
  using Link::Link;

  ~Impl() { drop(); }

  asio::awaitable<Status> open(std::string target) {
    auto executor = co_await asio::this_coro::executor;
    ws = std::make_unique<WebSocket>(executor, tls_for_stream());
    Status connected = co_await Link::connect(ws->next_layer());
    if (!connected.ok()) co_return connected;

    ws->read_message_max(kMaxEventMessage);
    ws->set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(bhttp::field::user_agent, "sened-client/" SENED_VERSION);
    }));
    tcp_layer().expires_after(timeout());
    websocket::response_type answer;
    auto [ec] = co_await ws->async_handshake(answer, endpoint.authority, target, kAsTuple);
    if (ec == websocket::error::upgrade_declined) co_return refusal_of(answer);
    if (ec) co_return describe("opening the event stream at", ec, ws->next_layer());

    // From here the WebSocket keeps time itself: the TCP layer's expiry
    // would cut a healthy stream that is merely quiet.
    tcp_layer().expires_never();
    websocket::stream_base::timeout limits{};
    limits.handshake_timeout = kCloseTimeout;  // also bounds the closing handshake
    limits.idle_timeout = kStreamIdleTimeout;
    limits.keep_alive_pings = true;
    ws->set_option(limits);
    co_return Status::ok_status();
  }

  beast::tcp_stream& tcp_layer() { return ws->next_layer().next_layer(); }

  // Reads messages into `inbox` until the connection ends. Runs whenever the
  // owner runs the io_context (in read(), send(), close()).
  asio::awaitable<void> read_loop() {
    beast::flat_buffer message;
    for (;;) {
      auto [ec, n] = co_await ws->async_read(message, kAsTuple);
      if (ec) {
        if (!ended) ended = end_reason(ec);
        break;
      }
      inbox.push_back(beast::buffers_to_string(message.data()));
      message.consume(message.size());
    }
    reader_done = true;
  }

  Status end_reason(const ErrorCode& ec) {
    if (ec == websocket::error::closed) {
      std::string why(ws->reason().reason.c_str());
      return unavailable("the hub closed the event stream" + (why.empty() ? "" : ": " + why));
    }
    return describe("reading events from", ec, ws->next_layer());
  }

  Result<std::optional<std::string>> read(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    ioc.restart();
    ioc.poll();
    while (inbox.empty() && !reader_done && ioc.run_one_until(deadline) > 0) {
    }
    if (!inbox.empty()) {
      std::string text = std::move(inbox.front());
      inbox.pop_front();
      return std::optional<std::string>(std::move(text));
    }
    if (ended) return *ended;
    return std::optional<std::string>();
  }

  asio::awaitable<Status> write_text(std::string text) {
    ws->text(true);
    auto [ec, n] = co_await ws->async_write(asio::buffer(text), kAsTuple);
    if (ec) co_return describe("sending to", ec, ws->next_layer());
    co_return Status::ok_status();
  }

  Status send(const std::string& text) {
    if (ended) return *ended;
    return run(write_text(text));
  }

  asio::awaitable<void> close_politely() {
    co_await ws->async_close(websocket::close_code::normal, kAsTuple);
  }

  void close() {
    if (!ws) return;
    if (!ended) {
      ended = unavailable("the event stream is closed");
      // Beast bounds the closing handshake with handshake_timeout; the
      // read loop ends when the hub's close frame arrives.
      run(close_politely());
    }
    drop();
  }

  // Closes the socket (any pending operation ends with an error) and lets
  // the read loop finish, so that nothing on the io_context refers to `ws`.
  void drop() {
    if (!ws) return;
    if (!ended) ended = unavailable("the event stream is closed");
    ErrorCode ignored;
    tcp_layer().socket().close(ignored);
    ioc.restart();
    while (!reader_done && ioc.run_one_for(kCloseTimeout) > 0) {
    }
    ws.reset();
  }

  std::unique_ptr<WebSocket> ws;
  std::deque<std::string> inbox;
  std::optional<Status> ended;  // why the connection ended, once it has
  bool reader_done = true;      // no read loop is running
};

EventStream::EventStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStream::~EventStream() = default;

Result<std::unique_ptr<EventStream>> EventStream::open(const ClientOptions& options,
                                                       const std::string& target) {
  auto urls = parse_node_list(options.url);
  if (!urls.ok()) return urls.status();
  auto open_node = [&target](ClientOptions one) -> Result<std::unique_ptr<EventStream>> {
    auto impl = std::make_unique<Impl>(std::move(one));
    if (!impl->setup.ok()) return impl->setup;
    try {
      Status opened = impl->run(impl->open(target));
      if (!opened.ok()) return opened;
      impl->reader_done = false;
      asio::co_spawn(impl->ioc, impl->read_loop(), asio::detached);
    } catch (const std::exception& e) {
      return internal_error(std::string("client failure: ") + e.what());
    }
    return std::unique_ptr<EventStream>(new EventStream(std::move(impl)));
  };
  if (urls->size() == 1) return open_node(node_options(options, *urls, urls->front()));

  FailoverRound round(node_list_key(*urls), urls->size());
  while (auto index = round.next()) {
    ClientOptions one = node_options(options, *urls, (*urls)[*index]);
    auto stream = open_node(one);
    if (stream.ok()) {
      round.answered(*index);
      return stream;
    }
    if (stream.status().code() != Code::kUnavailable) return stream.status();
    round.failed(one.url, stream.status());
  }
  return round.give_up();
}

Result<std::optional<std::string>> EventStream::read(int timeout_ms) {
  return impl_->read(timeout_ms);
}

Status EventStream::send(const std::string& text) { return impl_->send(text); }

void EventStream::close() { impl_->close(); }

}  // namespace sened::client
