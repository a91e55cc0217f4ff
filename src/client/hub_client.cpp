// HubClient on Boost.Beast. The public calls are synchronous; inside, each one
// runs a coroutine on a private io_context, because only Asio's asynchronous
// operations honour timeouts (beast::tcp_stream's expiry).
#include "client/hub_client.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
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

// Bytes per read or write of a body, and per read of a file being uploaded.
constexpr size_t kChunkSize = 64 * 1024;
// Largest response body kept in memory; a bigger one must go through download().
constexpr uint64_t kMaxBodyInMemory = 64ull * 1024 * 1024;
// Largest response head (status line and headers) accepted.
constexpr uint32_t kMaxResponseHead = 64 * 1024;
// Closing a connection waits this long for the server's TLS close_notify.
constexpr auto kCloseTimeout = std::chrono::seconds(2);
constexpr uint16_t kDefaultPort = 443;
constexpr std::string_view kScheme = "https://";

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// Where the hub is, from "https://host[:port][/]".
struct Endpoint {
  std::string host;  // without brackets
  std::string port;
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
  if (!url.starts_with(kScheme)) return bad("expected https://host[:port]");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return bad("expected https://host[:port]");
  }

  Endpoint endpoint;
  std::string_view port_text;
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    endpoint.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("expected : after ]");
    if (!after.empty()) port_text = after.substr(1);
    if (after.empty()) port_text = "443";
  } else {
    size_t colon = rest.rfind(':');
    endpoint.host = std::string(rest.substr(0, colon));
    port_text = colon == std::string_view::npos ? "443" : rest.substr(colon + 1);
  }
  if (endpoint.host.empty()) return bad("no host");
  if (!is_port(port_text)) return bad("bad port");
  endpoint.port = std::string(port_text);

  ErrorCode ec;
  auto address = asio::ip::make_address(endpoint.host, ec);
  endpoint.is_ip = !ec;
  std::string shown = endpoint.is_ip && address.is_v6() ? "[" + endpoint.host + "]" : endpoint.host;
  endpoint.authority = shown + ":" + endpoint.port;
  return endpoint;
}

// TLS errors say what OpenSSL saw ("tlsv13 alert certificate required",
// "sslv3 alert certificate revoked"), plus the certificate check's verdict.
std::string failure_reason(const ErrorCode& ec, TlsStream& stream) {
  std::string reason = ec.message();
  long verdict = SSL_get_verify_result(stream.native_handle());
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

}  // namespace

struct HubClient::Impl {
  explicit Impl(ClientOptions opts) : options(std::move(opts)) { setup = configure(); }

  ~Impl() {
    if (stream) run(close_connection());
  }

  Status configure() {
    auto parsed = parse_url(options.url);
    if (!parsed.ok()) return parsed.status();
    endpoint = std::move(*parsed);

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

  // Runs a coroutine on the private io_context until it completes.
  template <typename T>
  T run(asio::awaitable<T> task) {
    std::optional<T> value;
    std::exception_ptr failure;
    asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T v) {
      failure = e;
      value = std::move(v);
    });
    ioc.restart();
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*value);
  }

  void run(asio::awaitable<void> task) {
    asio::co_spawn(ioc, std::move(task), [](std::exception_ptr) {});
    ioc.restart();
    ioc.run();
  }

  // ---- connection ----

  asio::awaitable<Status> connect() {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    auto [resolve_error, addresses] =
        co_await resolver.async_resolve(endpoint.host, endpoint.port, kAsTuple);
    if (resolve_error) {
      co_return unavailable("cannot resolve " + endpoint.host + ": " + resolve_error.message());
    }

    auto fresh = std::make_unique<TlsStream>(executor, tls);
    fresh->next_layer().expires_after(timeout());
    auto [connect_error, peer] = co_await fresh->next_layer().async_connect(addresses, kAsTuple);
    if (connect_error) {
      co_return unavailable("cannot connect to " + endpoint.authority + ": " +
                            connect_error.message());
    }

    // Requests go out as a head and then body pieces; Nagle's algorithm
    // would hold each small write back until the hub's delayed ACK.
    ErrorCode nodelay_error;
    fresh->next_layer().socket().set_option(tcp::no_delay(true), nodelay_error);
    name_the_server(*fresh);
    fresh->next_layer().expires_after(timeout());
    auto [handshake_error] = co_await fresh->async_handshake(ssl::stream_base::client, kAsTuple);
    if (handshake_error) {
      co_return unavailable("TLS handshake with " + endpoint.authority +
                            " failed: " + failure_reason(handshake_error, *fresh));
    }
    stream = std::move(fresh);
    buffer.clear();
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

  asio::awaitable<void> close_connection() {
    if (!stream) co_return;
    stream->next_layer().expires_after(kCloseTimeout);
    co_await stream->async_shutdown(kAsTuple);
    stream.reset();
  }

  // A failed exchange: what went wrong, in words the CLI can show.
  Status describe(std::string_view doing, const ErrorCode& ec) {
    if (ec == beast::error::timeout) {
      return unavailable(std::string(doing) + " " + endpoint.authority + " timed out");
    }
    if (is_tls_error(ec)) {
      return unavailable("TLS connection to " + endpoint.authority +
                         " failed: " + failure_reason(ec, *stream));
    }
    return unavailable(std::string(doing) + " " + endpoint.authority + " failed: " + ec.message());
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
                                    std::string content_type, const std::string* out_path) {
    bhttp::request<bhttp::empty_body> head;
    head.version(11);
    head.method_string(method);
    head.target(target);
    if (!body.empty()) head.set(bhttp::field::content_type, content_type);
    if (!body.empty() || method == "POST" || method == "PUT") head.content_length(body.size());
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
    head.set(bhttp::field::expect, "100-continue");
    head.content_length(plan.content_length);
    ErrorCode ec = co_await write_head(head);
    if (ec) co_return co_await answer_after_failed_write(ec);

    // The server answers 100 to go on, or a final status to refuse the body.
    ResponseParser interim;
    ec = co_await read_head(interim);
    if (ec) co_return failed(describe("reading the answer from", ec), interim.got_some());
    if (interim.get().result_int() != 100) {
      Attempt refusal = co_await read_rest(interim, nullptr);
      refusal.reusable = false;  // the server expected a body we never sent
      co_return refusal;
    }

    Status sent = co_await send_parts(plan, ec);
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
        Status streamed = co_await send_file(*planned.part->path, planned.size, ec);
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

  // Streams exactly `size` bytes of a file, as announced in Content-Length.
  asio::awaitable<Status> send_file(const std::string& path, uint64_t size, ErrorCode& ec) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) co_return invalid_argument("cannot read " + path + ": " + std::strerror(errno));
    std::vector<char> chunk(kChunkSize);
    uint64_t sent = 0;
    Status status;
    while (sent < size && !ec) {
      ssize_t n = ::read(fd, chunk.data(), std::min<uint64_t>(chunk.size(), size - sent));
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

  ClientOptions options;
  Status setup;
  Endpoint endpoint;
  asio::io_context ioc;
  ssl::context tls{ssl::context::tls_client};
  std::unique_ptr<TlsStream> stream;  // the kept-alive connection, if any
  beast::flat_buffer buffer;
};

HubClient::HubClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HubClient::~HubClient() = default;

Result<ClientResponse> HubClient::request(const std::string& method, const std::string& target,
                                          const std::string& body,
                                          const std::string& content_type) {
  return impl_->with_connection(
      [&] { return impl_->exchange(method, target, body, content_type, nullptr); });
}

Result<ClientResponse> HubClient::post_multipart(const std::string& target,
                                                 const std::vector<FormPart>& parts) {
  auto plan = plan_multipart(parts);
  if (!plan.ok()) return plan.status();
  return impl_->with_connection([&] { return impl_->exchange_multipart(target, *plan); });
}

Result<ClientResponse> HubClient::download(const std::string& target, const std::string& out_path) {
  return impl_->with_connection(
      [&] { return impl_->exchange("GET", target, std::string_view(), "", &out_path); });
}

}  // namespace sened::client
