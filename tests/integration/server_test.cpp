// The network layer end to end: the real Server and HubClient over mutual TLS
// on a loopback port chosen by the kernel, with certificates made by the stock
// `openssl` command, and the stock `curl` command as a second, independent client.
#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "client/hub_client.h"
#include "crypto/digest.h"
#include "support/test_support.h"

namespace sened {
namespace {

using client::ClientOptions;
using client::FormPart;
using client::HubClient;
using http::Request;
using http::Response;
using http::ServerOptions;
using http::UploadSink;
using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

// Safety bound for waits on the server's threads; never reached when things work.
constexpr auto kSafetyBound = std::chrono::seconds(60);
constexpr uint64_t kBigUploadSize = 20 * 1024 * 1024;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
bool starts_with(const std::string& text, const std::string& prefix) {
  return text.starts_with(prefix);
}

// ---- test PKI ----

std::string openssl_config(const std::string& dir) {
  return "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
         "[ca_ext]\nbasicConstraints = critical,CA:TRUE\n"
         "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
         "[server_ext]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n"
         "[client_ext]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = clientAuth\n"
         "[ca]\ndefault_ca = test_ca\n"
         "[test_ca]\ndatabase = " +
         dir + "/index.txt\ncrlnumber = " + dir +
         "/crlnumber\n"
         "certificate = " +
         dir + "/ca.pem\nprivate_key = " + dir +
         "/ca.key\n"
         "default_md = sha256\ndefault_crl_days = 30\n";
}

void openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  CommandResult result = run_command(args);
  if (result.exit_code != 0) throw std::runtime_error("openssl " + args[1] + ": " + result.err);
}

// A CA with the hub's certificate; clients alice and bob; carol, revoked from
// the start; mallory, whose certificate comes from a CA the hub does not trust.
// crl.pem revokes carol; crl-bob.pem revokes carol and bob.
class TestPki {
 public:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {
    testing::write_file(path("openssl.cnf"), openssl_config(dir_));
    testing::write_file(path("index.txt"), "");
    testing::write_file(path("crlnumber"), "01\n");
    make_ca("ca", "Sened Test CA");
    make_ca("other-ca", "Untrusted Test CA");
    make_leaf("hub", "ca", "server_ext", "10");
    make_leaf("alice", "ca", "client_ext", "11");
    make_leaf("bob", "ca", "client_ext", "12");
    make_leaf("carol", "ca", "client_ext", "13");
    make_leaf("mallory", "other-ca", "client_ext", "14");
    revoke("carol", "crl.pem");
    revoke("bob", "crl-bob.pem");
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string cert(const std::string& who) const { return path(who + ".pem"); }
  std::string key(const std::string& who) const { return path(who + ".key"); }

 private:
  std::vector<std::string> new_key_args(const std::string& name) const {
    return {"-config", path("openssl.cnf"), "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes",  "-keyout",           key(name)};
  }

  void make_ca(const std::string& name, const std::string& common_name) {
    std::vector<std::string> args = {"req", "-x509", "-extensions",        "ca_ext", "-days",
                                     "30",  "-subj", "/CN=" + common_name, "-out",   cert(name)};
    auto key_args = new_key_args(name);
    args.insert(args.end(), key_args.begin(), key_args.end());
    openssl(args);
  }

  void make_leaf(const std::string& name, const std::string& ca, const std::string& extensions,
                 const std::string& serial) {
    std::vector<std::string> request = {"req",         "-new", "-subj",
                                        "/CN=" + name, "-out", path(name + ".csr")};
    auto key_args = new_key_args(name);
    request.insert(request.end(), key_args.begin(), key_args.end());
    openssl(request);
    openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", cert(ca), "-CAkey", key(ca),
             "-set_serial", serial, "-days", "30", "-extfile", path("openssl.cnf"), "-extensions",
             extensions, "-out", cert(name)});
  }

  // Adds `who` to the revoked set and writes a CRL of the whole set.
  void revoke(const std::string& who, const std::string& crl_name) {
    openssl({"ca", "-config", path("openssl.cnf"), "-revoke", cert(who)});
    openssl({"ca", "-config", path("openssl.cnf"), "-gencrl", "-out", path(crl_name)});
  }

  std::string dir_;
};

// "sha256 Fingerprint=AB:CD:..." from the openssl command, as lowercase hex.
std::string openssl_fingerprint(const std::string& cert) {
  CommandResult result =
      run_command({"openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"});
  std::string text = result.out.substr(result.out.find('=') + 1);
  std::string hex;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return hex;
}

// Bytes that are not all alike, so a misplaced chunk changes the digest.
std::string test_bytes(uint64_t size) {
  std::string bytes(size, '\0');
  uint32_t state = 2463534242u;
  for (auto& byte : bytes) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    byte = static_cast<char>(state);
  }
  return bytes;
}

// ---- the server's log, watched ----

// Keeps the lines of the "http" logger so that a test can wait for an event
// the server only logs (e.g. that it has begun to stop).
class LogCapture : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void clear() {
    std::lock_guard lock(lines_mutex_);
    lines_.clear();
  }
  bool wait_for(const std::string& text) {
    std::unique_lock lock(lines_mutex_);
    return logged_.wait_for(lock, kSafetyBound, [&] {
      return std::any_of(lines_.begin(), lines_.end(),
                         [&](const std::string& line) { return contains(line, text); });
    });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    std::lock_guard lock(lines_mutex_);
    lines_.emplace_back(message.payload.data(), message.payload.size());
    logged_.notify_all();
  }
  void flush_() override {}

 private:
  std::mutex lines_mutex_;
  std::condition_variable logged_;
  std::vector<std::string> lines_;
};

// ---- the test hub's handler ----

struct MultipartFile {
  std::string disposition;  // the part's raw Content-Disposition value
  std::string content;
};

// The first part with a file name in a multipart body (whole, in memory: fine for a test).
std::optional<MultipartFile> first_file_part(const std::string& body, const std::string& type) {
  size_t at = type.find("boundary=");
  if (at == std::string::npos) return std::nullopt;
  std::string delimiter = "--" + type.substr(at + 9);
  size_t start = body.find(delimiter);
  while (start != std::string::npos) {
    size_t head_start = start + delimiter.size() + 2;
    size_t head_end = body.find("\r\n\r\n", head_start);
    if (head_end == std::string::npos) return std::nullopt;
    size_t next = body.find("\r\n" + delimiter, head_end + 4);
    if (next == std::string::npos) return std::nullopt;
    std::string head = body.substr(head_start, head_end - head_start);
    constexpr std::string_view kName = "Content-Disposition: ";
    size_t line = head.find(kName);
    std::string disposition =
        head.substr(line + kName.size(), head.find("\r\n", line) - line - kName.size());
    if (disposition.find("filename=") != std::string::npos) {
      return MultipartFile{disposition, body.substr(head_end + 4, next - head_end - 4)};
    }
    start = next + 2;
  }
  return std::nullopt;
}

class TestHandler;

// A number from the query of `target`, e.g. 3 for ("/stream?after=3", "after"); 0 if absent.
int query_number(const std::string& target, const std::string& name) {
  size_t at = target.find(name + "=");
  if (at == std::string::npos) return 0;
  return std::stoi(target.substr(at + name.size() + 1));
}

// An event feed over the handler's event log (see TestHandler::publish). It
// notes calls that overlap, which the server must never make.
class FakeFeed : public http::EventFeed {
 public:
  FakeFeed(TestHandler& handler, size_t position) : handler_(handler), position_(position) {}
  ~FakeFeed() override;
  void set_waker(std::function<void()> wake) override;
  Result<std::vector<std::string>> next(int limit) override;
  std::optional<std::string> receive(std::string_view text) override;
  Response respond(std::vector<std::string> events) override;

 private:
  // Marks a call running for its scope; counts an overlap with another.
  class CallGuard {
   public:
    CallGuard(FakeFeed& feed);
    ~CallGuard() { feed_.in_call_ = false; }

   private:
    FakeFeed& feed_;
  };

  TestHandler& handler_;
  size_t position_;
  std::atomic<bool> in_call_{false};
};

// Collects an upload; at finish answers the SHA-256 and size of its file part
// and the part's raw Content-Disposition.
class RecordingSink : public UploadSink {
 public:
  RecordingSink(TestHandler& handler, std::string content_type, bool fail_writes)
      : handler_(handler), content_type_(std::move(content_type)), fail_writes_(fail_writes) {}
  ~RecordingSink() override;
  Status write(std::string_view chunk) override {
    if (fail_writes_) return payload_too_large("quota exceeded");
    body_.append(chunk);
    return Status::ok_status();
  }
  Response finish() override;

 private:
  TestHandler& handler_;
  std::string content_type_;
  bool fail_writes_;
  std::string body_;
  bool finished_ = false;
};

// Routes:
//   GET /echo, POST /echo  method, target, peer fingerprint, remote, body size (JSON)
//   POST /upload           streamed into a RecordingSink
//   POST /refuse           refused with 413 before the body
//   GET /file              a byte range of `file_path`
//   GET /boom              the handler throws
//   GET /slow              answers once release_slow() is called
//   POST /upload-fail      a sink whose first write fails with 413
//   PUT/PATCH /upload      streamed like POST; a body that is not multipart is hashed whole
//   HEAD /sized            no body, but Content-Length: 12345
//   GET /stream?after=N    a WebSocket feed of the event log after the first N events
//   GET /events?after=N&wait=S  a long poll of the same
//   GET /stream?refuse     the feed refused with 403
class TestHandler : public http::Handler {
 public:
  Response handle(const Request& request) override {
    if (request.target == "/slow") return slow(request);
    std::string path = request.target.substr(0, request.target.find('?'));
    if (path == "/echo") return echo(request);
    if (request.target == "/file") {
      Response response;
      response.file = http::FileSource{file_path, std::nullopt, file_offset, file_length};
      return response;
    }
    if (request.target == "/boom") throw std::runtime_error("boom");
    if (request.target == "/sized") {
      Response response;
      response.headers.emplace_back("Content-Length", "12345");
      response.headers.emplace_back("X-Sized", "yes");
      return response;
    }
    return http::error_response(not_found("no route " + request.target));
  }

  std::optional<UploadStart> begin_upload(const Request& head) override {
    if (head.target == "/refuse") {
      ++refusals;
      return UploadStart{nullptr, http::error_response(payload_too_large("uploads closed"))};
    }
    if (head.target != "/upload" && head.target != "/upload-fail") return std::nullopt;
    ++sinks_created;
    {
      std::lock_guard lock(mutex_);
      upload_methods_.push_back(head.method);
    }
    auto sink = std::make_unique<RecordingSink>(*this, head.header("Content-Type").value_or(""),
                                                head.target == "/upload-fail");
    return UploadStart{std::move(sink), std::nullopt};
  }

  std::optional<FeedStart> open_feed(const Request& head) override {
    std::string path = head.target.substr(0, head.target.find('?'));
    if (path != "/stream" && path != "/events") return std::nullopt;
    FeedStart start;
    if (contains(head.target, "refuse")) {
      start.refusal = http::error_response(permission_denied("no feed for you"));
      return start;
    }
    start.feed = std::make_unique<FakeFeed>(*this, query_number(head.target, "after"));
    start.websocket = path == "/stream";
    start.wait_seconds = query_number(head.target, "wait");
    return start;
  }

  // Appends an event to the log and wakes every feed.
  void publish(const std::string& event) {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
    for (auto& [feed, wake] : wakers_) wake();
  }

  // ---- what the feeds report ----

  std::vector<std::string> events_after(size_t position, int limit) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (size_t i = position; i < events_.size() && out.size() < static_cast<size_t>(limit); ++i) {
      out.push_back(events_[i]);
    }
    return out;
  }
  void add_waker(const FakeFeed* feed, std::function<void()> wake) {
    std::lock_guard lock(mutex_);
    wakers_.emplace_back(feed, std::move(wake));
  }
  void note_next(bool empty) {
    std::lock_guard lock(mutex_);
    ++next_calls_;
    if (empty) ++empty_nexts_;
    changed_.notify_all();
  }
  void note_received(std::string text) {
    std::lock_guard lock(mutex_);
    received_.push_back(std::move(text));
  }
  void feed_destroyed(const FakeFeed* feed) {
    std::lock_guard lock(mutex_);
    std::erase_if(wakers_, [&](const auto& entry) { return entry.first == feed; });
    ++feeds_destroyed_;
    changed_.notify_all();
  }

  // Waits until next() has found nothing `count` times in all (a feed is then idle).
  bool wait_for_empty_nexts(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kSafetyBound, [&] { return empty_nexts_ >= count; });
  }
  bool wait_for_destroyed_feeds(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kSafetyBound, [&] { return feeds_destroyed_ >= count; });
  }
  int next_calls() {
    std::lock_guard lock(mutex_);
    return next_calls_;
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<std::string> upload_methods() {
    std::lock_guard lock(mutex_);
    return upload_methods_;
  }

  std::atomic<int> overlapping_calls{0};

  void sink_destroyed(bool finished) {
    std::lock_guard lock(mutex_);
    destroyed_.push_back(finished);
    changed_.notify_all();
  }

  // How each sink ended (true: finished), once `count` sinks are gone.
  std::vector<bool> wait_for_destroyed_sinks(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kSafetyBound, [&] { return destroyed_.size() >= count; });
    return destroyed_;
  }

  // Waits until a /slow request is in the handler.
  bool wait_for_slow_request() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kSafetyBound, [&] { return slow_waiting_; });
  }
  void release_slow() {
    std::lock_guard lock(mutex_);
    slow_released_ = true;
    changed_.notify_all();
  }

  std::atomic<int> sinks_created{0};
  std::atomic<int> refusals{0};
  std::string file_path;
  uint64_t file_offset = 0;
  uint64_t file_length = 0;

 private:
  static Response echo(const Request& request) {
    boost::json::object out;
    out["method"] = request.method;
    out["target"] = request.target;
    out["peer_fingerprint"] = request.peer_fingerprint;
    out["remote"] = request.remote;
    out["body_size"] = request.body.size();
    return http::json_response(200, boost::json::serialize(out));
  }

  Response slow(const Request& request) {
    std::unique_lock lock(mutex_);
    slow_waiting_ = true;
    changed_.notify_all();
    changed_.wait_for(lock, kSafetyBound, [&] { return slow_released_; });
    return echo(request);
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<bool> destroyed_;
  std::vector<std::string> events_;
  std::vector<std::pair<const FakeFeed*, std::function<void()>>> wakers_;
  int next_calls_ = 0;
  int empty_nexts_ = 0;
  int feeds_destroyed_ = 0;
  std::vector<std::string> received_;
  std::vector<std::string> upload_methods_;
  bool slow_waiting_ = false;
  bool slow_released_ = false;
};

RecordingSink::~RecordingSink() { handler_.sink_destroyed(finished_); }

FakeFeed::CallGuard::CallGuard(FakeFeed& feed) : feed_(feed) {
  if (feed_.in_call_.exchange(true)) ++feed_.handler_.overlapping_calls;
}

FakeFeed::~FakeFeed() { handler_.feed_destroyed(this); }

void FakeFeed::set_waker(std::function<void()> wake) {
  CallGuard guard(*this);
  handler_.add_waker(this, std::move(wake));
}

Result<std::vector<std::string>> FakeFeed::next(int limit) {
  CallGuard guard(*this);
  auto events = handler_.events_after(position_, limit);
  position_ += events.size();
  handler_.note_next(events.empty());
  return events;
}

std::optional<std::string> FakeFeed::receive(std::string_view text) {
  CallGuard guard(*this);
  handler_.note_received(std::string(text));
  boost::json::object reply;
  reply["received"] = text;
  return boost::json::serialize(reply);
}

Response FakeFeed::respond(std::vector<std::string> events) {
  CallGuard guard(*this);
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) body += (i ? "," : "") + events[i];
  return http::json_response(200, body + "]}");
}

Response RecordingSink::finish() {
  finished_ = true;
  if (!content_type_.starts_with("multipart/")) {
    boost::json::object out;
    out["sha256"] = crypto::sha256_hex(body_);
    out["bytes"] = body_.size();
    return http::json_response(201, boost::json::serialize(out));
  }
  auto part = first_file_part(body_, content_type_);
  if (!part) return http::error_response(invalid_argument("no file part"));
  boost::json::object out;
  out["sha256"] = crypto::sha256_hex(part->content);
  out["bytes"] = part->content.size();
  out["disposition"] = part->disposition;
  return http::json_response(201, boost::json::serialize(out));
}

boost::json::object parse_object(const std::string& text) {
  return boost::json::parse(text).as_object();
}

std::string field(const std::string& json_text, const char* name) {
  return std::string(parse_object(json_text).at(name).as_string());
}

// ---- a hand-made TLS client for what proper clients never do ----

// A blocking TLS connection with a client certificate: sends arbitrary bytes
// and can cut the connection without a TLS goodbye. Reads time out after the
// safety bound.
class RawTlsConnection {
 public:
  RawTlsConnection(uint16_t port, const TestPki& pki, const std::string& who) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, pki.cert("ca").c_str(), nullptr);
    SSL_CTX_use_certificate_file(ctx_, pki.cert(who).c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx_, pki.key(who).c_str(), SSL_FILETYPE_PEM);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval bound{static_cast<time_t>(kSafetyBound.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    connected_ = SSL_connect(ssl_) == 1;
  }
  ~RawTlsConnection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }

  bool connected() const { return connected_; }
  bool send(std::string_view bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }
  // Everything until the server closes (or the safety bound).
  std::string read_all() {
    std::string out;
    char buffer[16384];
    int n;
    while ((n = SSL_read(ssl_, buffer, sizeof buffer)) > 0) out.append(buffer, n);
    return out;
  }
  // Reads until `marker` has arrived.
  std::string read_until(std::string_view marker) {
    std::string out;
    char buffer[4096];
    while (out.find(marker) == std::string::npos) {
      int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n <= 0) break;
      out.append(buffer, n);
    }
    return out;
  }
  // Ends the sending side as a well-behaved client does: TLS close_notify, then TCP FIN.
  void shutdown() {
    SSL_shutdown(ssl_);
    ::shutdown(fd_, SHUT_WR);
  }
  // What arrives next, at most 16 KiB; empty when the connection ended.
  std::string read_some() {
    char buffer[16384];
    int n = SSL_read(ssl_, buffer, sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
  }
  // Closes the TCP connection with no TLS close_notify, as a crashed client would.
  void cut() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
};

// ---- a hand-made WebSocket client ----

// RFC 6455's sample key, whose accept value the RFC gives.
constexpr std::string_view kWebSocketKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kWebSocketAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// A client frame (always masked, as RFC 6455 demands of clients).
std::string client_frame(int opcode, std::string_view payload) {
  std::string frame(1, static_cast<char>(0x80 | opcode));
  size_t size = payload.size();
  if (size < 126) {
    frame += static_cast<char>(0x80 | size);
  } else if (size < 65536) {
    frame += static_cast<char>(0x80 | 126);
    for (int shift : {8, 0}) frame += static_cast<char>((size >> shift) & 0xff);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((size >> shift) & 0xff);
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  frame.append(mask, 4);
  for (size_t i = 0; i < size; ++i) frame += static_cast<char>(payload[i] ^ mask[i % 4]);
  return frame;
}

// A WebSocket over RawTlsConnection: upgrade, masked frames out, frames in.
// Blocking; reads give up after the safety bound.
class RawWebSocket {
 public:
  struct Frame {
    int opcode = 0;
    std::string payload;
  };

  RawWebSocket(uint16_t port, const TestPki& pki, const std::string& who, const std::string& target)
      : connection_(port, pki, who) {
    if (!connection_.connected()) return;
    connection_.send("GET " + target +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: " +
                     std::string(kWebSocketKey) + "\r\n\r\n");
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      std::string more = connection_.read_some();
      if (more.empty()) return;
      buffer_ += more;
    }
    size_t end = buffer_.find("\r\n\r\n") + 4;
    answer_ = buffer_.substr(0, end);
    buffer_.erase(0, end);
    open_ = answer_.starts_with("HTTP/1.1 101");
  }

  bool open() const { return open_; }
  // The server's answer to the upgrade request (status line and headers).
  const std::string& answer() const { return answer_; }
  // The code of the close frame the server sent, or -1 if none came.
  int close_code() const { return close_code_; }

  bool send_text(std::string_view text) { return connection_.send(client_frame(0x1, text)); }
  bool send_binary(std::string_view bytes) { return connection_.send(client_frame(0x2, bytes)); }
  bool send_raw(std::string_view bytes) { return connection_.send(bytes); }
  bool send_close(int code) {
    std::string payload = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    sent_close_ = true;
    return connection_.send(client_frame(0x8, payload));
  }

  // The next frame, or nullopt when the connection ended.
  std::optional<Frame> read_frame() {
    if (!fill(2)) return std::nullopt;
    auto byte = [&](size_t i) { return static_cast<uint8_t>(buffer_[i]); };
    uint64_t length = byte(1) & 0x7f;
    size_t header = 2;
    if (length >= 126) {
      header = length == 126 ? 4 : 10;
      if (!fill(header)) return std::nullopt;
      length = 0;
      for (size_t i = 2; i < header; ++i) length = (length << 8) | byte(i);
    }
    if (!fill(header + length)) return std::nullopt;
    Frame frame{byte(0) & 0x0f, buffer_.substr(header, length)};
    buffer_.erase(0, header + length);
    return frame;
  }

  // The next text message. Answers pings; at a close frame notes its code,
  // answers it unless it answers ours, ends the connection's sending side and
  // returns nullopt, as at the end of the connection.
  std::optional<std::string> read_text() {
    for (;;) {
      auto frame = read_frame();
      if (!frame) return std::nullopt;
      if (frame->opcode == 0x1) return frame->payload;
      if (frame->opcode == 0x9) connection_.send(client_frame(0xA, frame->payload));
      if (frame->opcode == 0x8) {
        if (frame->payload.size() >= 2) {
          close_code_ = (static_cast<uint8_t>(frame->payload[0]) << 8) |
                        static_cast<uint8_t>(frame->payload[1]);
        }
        if (!sent_close_) connection_.send(client_frame(0x8, frame->payload.substr(0, 2)));
        connection_.shutdown();
        return std::nullopt;
      }
    }
  }

 private:
  bool fill(size_t size) {
    while (buffer_.size() < size) {
      std::string more = connection_.read_some();
      if (more.empty()) return false;
      buffer_ += more;
    }
    return true;
  }

  RawTlsConnection connection_;
  std::string buffer_;
  std::string answer_;
  bool open_ = false;
  bool sent_close_ = false;
  int close_code_ = -1;
};

std::string event_text(int n) {
  return "{\"cursor\":\"" + std::to_string(n) + "\",\"type\":\"document.new\"}";
}

// ---- the fixture ----

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A raw client writing to a connection the server has closed gets an
    // error, not a signal that ends the test program.
    std::signal(SIGPIPE, SIG_IGN);
    log_ = std::make_shared<LogCapture>();
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("http", spdlog::sinks_init_list{console, log_});
    spdlog::register_logger(logger);
    // SENED_TEST_DEBUG=1 shows the server's debug lines too.
    if (std::getenv("SENED_TEST_DEBUG")) logger->set_level(spdlog::level::debug);
    pki_dir_ = new TempDir();
    pki_ = new TestPki(pki_dir_->path());
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete pki_dir_;
  }

  void SetUp() override {
    log_->clear();
    std::filesystem::copy_file(pki_->path("crl.pem"), crl_path());
    start_server(default_options());
  }
  void TearDown() override { stop_server(); }

  std::string crl_path() const { return dir_ / "crl.pem"; }

  ServerOptions default_options() const {
    ServerOptions options;
    options.cert_file = pki_->cert("hub");
    options.key_file = pki_->key("hub");
    options.ca_file = pki_->cert("ca");
    options.crl_file = crl_path();
    options.network_threads = 2;
    options.blocking_threads = 2;
    return options;
  }

  void start_server(ServerOptions options) {
    server_ = std::make_unique<http::Server>(std::move(options), handler_);
    Status started = server_->start();
    ASSERT_TRUE(started.ok()) << started.to_string();
    server_thread_ = std::thread([this] { server_->run(); });
  }

  void stop_server() {
    if (!server_) return;
    server_->stop();
    server_thread_.join();
    server_.reset();
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(server_->port()); }

  ClientOptions client_options(const std::string& who) const {
    ClientOptions options;
    options.url = url();
    options.ca_file = pki_->cert("ca");
    if (!who.empty()) {
      options.cert_file = pki_->cert(who);
      options.key_file = pki_->key(who);
    }
    options.timeout_seconds = 30;
    return options;
  }

  // curl as `who` ("" for no client certificate) against the test hub.
  CommandResult curl(const std::string& who, std::vector<std::string> args) const {
    std::vector<std::string> argv = {"curl", "-sS",      "--max-time",
                                     "60",   "--cacert", pki_->cert("ca")};
    if (!who.empty()) {
      argv.insert(argv.end(), {"--cert", pki_->cert(who), "--key", pki_->key(who)});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }

  // Replaces the hub's CRL file in place, with a modification time the server cannot miss.
  void rewrite_crl(const std::string& source) {
    testing::write_file(crl_path(), testing::read_file(source));
    auto later = std::filesystem::file_time_type::clock::now() + std::chrono::seconds(5);
    std::filesystem::last_write_time(crl_path(), later);
  }

  std::string write_big_file(const std::string& name) {
    std::string path = dir_ / name;
    testing::write_file(path, test_bytes(kBigUploadSize));
    return path;
  }

  static inline std::shared_ptr<LogCapture> log_;
  static TempDir* pki_dir_;
  static TestPki* pki_;
  TempDir dir_;
  TestHandler handler_;  // outlives server_
  std::unique_ptr<http::Server> server_;
  std::thread server_thread_;
};

TempDir* ServerTest::pki_dir_ = nullptr;
TestPki* ServerTest::pki_ = nullptr;

// ---- identity and mutual TLS ----

TEST_F(ServerTest, EchoCarriesPeerFingerprintOfClientCertificate) {
  HubClient client(client_options("alice"));
  auto response = client.request("GET", "/echo?x=1");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(field(response->body, "method"), "GET");
  EXPECT_EQ(field(response->body, "target"), "/echo?x=1");
  EXPECT_EQ(field(response->body, "peer_fingerprint"), openssl_fingerprint(pki_->cert("alice")));
  EXPECT_PRED2(starts_with, field(response->body, "remote"), "127.0.0.1:");
}

TEST_F(ServerTest, CurlSeesTheSameFingerprintAsOpenssl) {
  CommandResult result = curl("bob", {url() + "/echo"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(field(result.out, "peer_fingerprint"), openssl_fingerprint(pki_->cert("bob")));
}

TEST_F(ServerTest, CurlWithoutClientCertificateFailsHandshake) {
  CommandResult result = curl("", {url() + "/echo"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.out, "");
}

TEST_F(ServerTest, ClientWithoutCertificateGetsUnavailableSayingCertificateRequired) {
  HubClient client(client_options(""));
  auto response = client.request("GET", "/echo");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_PRED2(contains, response.status().message(), "certificate required");
}

TEST_F(ServerTest, CertificateFromUntrustedCaFailsHandshake) {
  HubClient client(client_options("mallory"));
  auto response = client.request("GET", "/echo");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_PRED2(contains, response.status().message(), "unknown ca");
  EXPECT_NE(curl("mallory", {url() + "/echo"}).exit_code, 0);
}

TEST_F(ServerTest, RevokedCertificateFailsHandshake) {
  HubClient client(client_options("carol"));
  auto response = client.request("GET", "/echo");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_PRED2(contains, response.status().message(), "certificate revoked");
  EXPECT_NE(curl("carol", {url() + "/echo"}).exit_code, 0);
}

TEST_F(ServerTest, CertificateRevokedAfterStartFailsOnceCrlIsRewritten) {
  ASSERT_EQ(curl("bob", {url() + "/echo"}).exit_code, 0);

  rewrite_crl(pki_->path("crl-bob.pem"));
  // The server looks at the CRL file at most once a second: try until it has.
  bool rejected = false;
  for (int i = 0; i < 50 && !rejected; ++i) {
    HubClient bob(client_options("bob"));
    auto response = bob.request("GET", "/echo");
    rejected = !response.ok() &&
               response.status().message().find("certificate revoked") != std::string::npos;
    if (!rejected) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(rejected);
  EXPECT_NE(curl("bob", {url() + "/echo"}).exit_code, 0);
  HubClient alice(client_options("alice"));
  auto still_good = alice.request("GET", "/echo");
  ASSERT_TRUE(still_good.ok()) << still_good.status().to_string();
  EXPECT_EQ(still_good->status, 200);
}

TEST_F(ServerTest, ClientVerifiesServerByDnsName) {
  ClientOptions options = client_options("alice");
  options.url = "https://localhost:" + std::to_string(server_->port()) + "/";
  HubClient client(options);
  auto response = client.request("GET", "/echo");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
}

TEST_F(ServerTest, ClientRejectsServerCertificateFromAnotherCa) {
  ClientOptions options = client_options("alice");
  options.ca_file = pki_->cert("other-ca");
  HubClient client(options);
  auto response = client.request("GET", "/echo");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_PRED2(contains, response.status().message(), "certificate verify failed");
}

// ---- uploads ----

TEST_F(ServerTest, CurlUploadWithExpectContinueArrivesIntact) {
  std::string path = write_big_file("report.bin");
  CommandResult result =
      curl("alice", {"-H", "Expect: 100-continue", "-F", "file=@" + path + ";filename=report.bin",
                     url() + "/upload"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(field(result.out, "sha256"), *crypto::sha256_file_hex(path));
  EXPECT_EQ(parse_object(result.out).at("bytes").to_number<uint64_t>(), kBigUploadSize);
}

TEST_F(ServerTest, MultipartUploadKeepsAzerbaijaniFileNameAndBytes) {
  std::string path = write_big_file("upload.bin");
  HubClient client(client_options("alice"));
  std::vector<FormPart> parts = {
      {"metadata", "", "application/json", std::nullopt, R"({"subject":"test"})"},
      {"file", "Şəhər \"Gəncə\" ərizəsi.pdf", "application/pdf", path, ""},
  };
  auto response = client.post_multipart("/upload", parts);
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  ASSERT_EQ(response->status, 201) << response->body;
  EXPECT_EQ(field(response->body, "sha256"), *crypto::sha256_file_hex(path));
  EXPECT_EQ(
      field(response->body, "disposition"),
      "form-data; name=\"file\"; filename=\"Şəhər \\\"Gəncə\\\" ərizəsi.pdf\"; "
      "filename*=UTF-8''%C5%9E%C9%99h%C9%99r%20%22G%C9%99nc%C9%99%22%20%C9%99riz%C9%99si.pdf");
}

TEST_F(ServerTest, RefusedUploadAnswers413WithoutCreatingSink) {
  std::string path = write_big_file("refused.bin");
  HubClient client(client_options("alice"));
  auto response = client.post_multipart("/refuse", {{"file", "a.bin", "", path, ""}});
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_EQ(handler_.refusals, 1);
  EXPECT_EQ(handler_.sinks_created, 0);
}

TEST_F(ServerTest, CurlRefusedUploadAnswers413) {
  std::string path = write_big_file("refused.bin");
  CommandResult result = curl(
      "alice", {"-o", "/dev/null", "-w", "%{http_code}", "-F", "file=@" + path, url() + "/refuse"});
  EXPECT_EQ(result.out, "413") << result.err;
  EXPECT_EQ(handler_.sinks_created, 0);
}

TEST_F(ServerTest, SinkWriteErrorAnswersItsStatusAndDiscardsUpload) {
  std::string path = dir_ / "four.bin";
  testing::write_file(path, test_bytes(4 * 1024 * 1024));
  HubClient client(client_options("alice"));
  auto response = client.post_multipart("/upload-fail", {{"file", "a.bin", "", path, ""}});
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(parse_object(response->body).at("error").at("message").as_string(), "quota exceeded");
  EXPECT_EQ(handler_.wait_for_destroyed_sinks(1), std::vector<bool>{false});
}

TEST_F(ServerTest, UploadCutHalfwayDestroysSinkWithoutFinish) {
  RawTlsConnection connection(server_->port(), *pki_, "alice");
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(
      "POST /upload HTTP/1.1\r\nHost: hub\r\nContent-Type: multipart/form-data; boundary=b\r\n"
      "Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_PRED2(contains, connection.read_until("\r\n\r\n"), "100 Continue");
  ASSERT_TRUE(connection.send(std::string(300000, 'x')));
  connection.cut();

  std::vector<bool> destroyed = handler_.wait_for_destroyed_sinks(1);
  ASSERT_EQ(destroyed.size(), 1u);
  EXPECT_FALSE(destroyed[0]);
  EXPECT_EQ(handler_.sinks_created, 1);
}

// ---- limits and errors ----

TEST_F(ServerTest, BodyOverLimitOnPlainRouteAnswers413Json) {
  HubClient client(client_options("alice"));
  auto response = client.request("POST", "/echo", std::string(2 * 1024 * 1024, 'a'), "text/plain");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(parse_object(response->body).at("error").at("code").as_string(), "payload_too_large");
}

TEST_F(ServerTest, ChunkedBodyOverLimitAnswers413) {
  std::string path = dir_ / "big.txt";
  testing::write_file(path, std::string(2 * 1024 * 1024, 'a'));
  CommandResult result =
      curl("alice", {"-o", "/dev/null", "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
                     "--data-binary", "@" + path, url() + "/echo"});
  EXPECT_EQ(result.out, "413") << result.err;
}

TEST_F(ServerTest, SmallBodyOnPlainRouteReachesHandlerWhole) {
  HubClient client(client_options("alice"));
  auto response = client.request("POST", "/echo", std::string(1000, 'a'), "text/plain");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(parse_object(response->body).at("body_size").to_number<uint64_t>(), 1000u);
}

TEST_F(ServerTest, RequestHeadOverLimitAnswers431) {
  CommandResult result = curl("alice", {"-o", "/dev/null", "-w", "%{http_code}", "-H",
                                        "X-Padding: " + std::string(20000, 'p'), url() + "/echo"});
  EXPECT_EQ(result.out, "431") << result.err;
}

TEST_F(ServerTest, MalformedRequestAnswers400AndCloses) {
  RawTlsConnection connection(server_->port(), *pki_, "alice");
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send("GET /echo HTTP/1.1\r\nHost hub\r\n\r\n"));
  std::string answer = connection.read_all();
  EXPECT_PRED2(starts_with, answer, "HTTP/1.1 400");
  EXPECT_PRED2(contains, answer, "Connection: close");
  EXPECT_PRED2(contains, answer, "\"invalid_argument\"");
}

TEST_F(ServerTest, HandlerExceptionAnswers500) {
  HubClient client(client_options("alice"));
  auto response = client.request("GET", "/boom");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(parse_object(response->body).at("error").at("code").as_string(), "internal");
}

TEST_F(ServerTest, ClientConnectionCloseIsHonoured) {
  RawTlsConnection connection(server_->port(), *pki_, "alice");
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send("GET /echo HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n"));
  std::string answer = connection.read_all();  // returns only because the server closes
  EXPECT_PRED2(starts_with, answer, "HTTP/1.1 200");
  EXPECT_PRED2(contains, answer, "Connection: close");
}

// ---- connections ----

TEST_F(ServerTest, KeepAliveServesThreeRequestsOnOneConnection) {
  HubClient client(client_options("alice"));
  std::vector<std::string> remotes;
  for (int i = 0; i < 3; ++i) {
    auto response = client.request("GET", "/echo");
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    remotes.push_back(field(response->body, "remote"));
  }
  EXPECT_EQ(remotes[0], remotes[1]);
  EXPECT_EQ(remotes[1], remotes[2]);
}

TEST_F(ServerTest, ClientReconnectsWhenServerClosedIdleConnection) {
  stop_server();
  ServerOptions options = default_options();
  options.idle_timeout_seconds = 1;
  start_server(options);
  HubClient client(client_options("alice"));
  auto first = client.request("GET", "/echo");
  ASSERT_TRUE(first.ok()) << first.status().to_string();

  std::this_thread::sleep_for(std::chrono::seconds(3));  // the server drops the idle connection
  auto second = client.request("GET", "/echo");
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(second->status, 200);
  EXPECT_NE(field(first->body, "remote"), field(second->body, "remote"));
}

TEST_F(ServerTest, StopReturnsWhileClientIsConnectedIdle) {
  HubClient client(client_options("alice"));
  ASSERT_TRUE(client.request("GET", "/echo").ok());

  auto stopped = std::async(std::launch::async, [this] { stop_server(); });
  EXPECT_EQ(stopped.wait_for(kSafetyBound), std::future_status::ready);
}

TEST_F(ServerTest, StopLetsRunningRequestFinishThenCloses) {
  auto answer = std::async(std::launch::async, [this] {
    HubClient client(client_options("alice"));
    return client.request("GET", "/slow");
  });
  ASSERT_TRUE(handler_.wait_for_slow_request());
  auto stopped = std::async(std::launch::async, [this] { stop_server(); });
  ASSERT_TRUE(log_->wait_for("stopping open_connections=1"));
  handler_.release_slow();

  auto response = answer.get();
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_EQ(stopped.wait_for(kSafetyBound), std::future_status::ready);
}

TEST_F(ServerTest, SigtermStopsTheServer) {
  HubClient client(client_options("alice"));
  ASSERT_TRUE(client.request("GET", "/echo").ok());  // run() is serving: its signal_set is set

  ::kill(::getpid(), SIGTERM);
  auto joined = std::async(std::launch::async, [this] { server_thread_.join(); });
  ASSERT_EQ(joined.wait_for(kSafetyBound), std::future_status::ready);
  server_.reset();
  EXPECT_TRUE(log_->wait_for("signal received signal=15"));
}

TEST_F(ServerTest, ConnectionRefusedIsUnavailable) {
  ClientOptions options = client_options("alice");
  stop_server();
  HubClient client(options);
  auto response = client.request("GET", "/echo");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_PRED2(contains, response.status().message(), "refused");
}

TEST_F(ServerTest, PlainHttpClientGetsNoAnswerFromTlsServer) {
  ClientOptions options = client_options("alice");
  options.url = "http://127.0.0.1:" + std::to_string(server_->port());
  HubClient client(options);
  auto response = client.request("GET", "/echo");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
}

TEST_F(ServerTest, StartWithMissingCertificateIsInvalidArgument) {
  ServerOptions options = default_options();
  options.cert_file = dir_ / "missing.pem";
  http::Server server(options, handler_);
  Status started = server.start();
  EXPECT_EQ(started.code(), Code::kInvalidArgument);
  EXPECT_PRED2(contains, started.message(), "missing.pem");
}

TEST_F(ServerTest, StartOnPortInUseIsUnavailable) {
  ServerOptions options = default_options();
  options.port = server_->port();
  http::Server server(options, handler_);
  EXPECT_EQ(server.start().code(), Code::kUnavailable);
}

// ---- downloads ----

TEST_F(ServerTest, DownloadStreamsFileRangeToDisk) {
  std::string source = write_big_file("stored.bin");
  handler_.file_path = source;
  handler_.file_offset = 12345;
  handler_.file_length = 5 * 1024 * 1024 + 7;
  HubClient client(client_options("alice"));
  std::string out = dir_ / "downloaded.bin";

  auto response = client.download("/file", out);
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  std::string expected = testing::read_file(source).substr(12345, 5 * 1024 * 1024 + 7);
  EXPECT_TRUE(testing::read_file(out) == expected);
  EXPECT_FALSE(std::filesystem::exists(out + ".part"));
}

TEST_F(ServerTest, DownloadOfMissingRouteWritesNothing) {
  HubClient client(client_options("alice"));
  std::string out = dir_ / "nothing.bin";
  auto response = client.download("/missing", out);
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 404);
  EXPECT_PRED2(contains, response->body, "not_found");
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out + ".part"));
}

TEST_F(ServerTest, CurlDownloadsFileRange) {
  std::string source = dir_ / "small.txt";
  testing::write_file(source, "0123456789");
  handler_.file_path = source;
  handler_.file_offset = 2;
  handler_.file_length = 5;
  CommandResult result = curl("alice", {url() + "/file"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "23456");
}

// ---- event feeds: WebSocket streams ----

TEST_F(ServerTest, StreamSendsEventsInOrderRightAfterAWake) {
  RawWebSocket stream(server_->port(), *pki_, "alice", "/stream");
  ASSERT_TRUE(stream.open()) << stream.answer();
  EXPECT_PRED2(contains, stream.answer(), "Sec-WebSocket-Accept: " + std::string(kWebSocketAccept));
  ASSERT_TRUE(handler_.wait_for_empty_nexts(1));  // the stream waits for a wake-up

  for (int n = 1; n <= 3; ++n) handler_.publish(event_text(n));
  for (int n = 1; n <= 3; ++n) EXPECT_EQ(stream.read_text(), event_text(n));
  EXPECT_EQ(handler_.overlapping_calls, 0);
}

TEST_F(ServerTest, StreamStartsWithEventsAlreadyWaiting) {
  handler_.publish(event_text(1));
  handler_.publish(event_text(2));
  RawWebSocket stream(server_->port(), *pki_, "alice", "/stream?after=1");
  ASSERT_TRUE(stream.open()) << stream.answer();
  EXPECT_EQ(stream.read_text(), event_text(2));
}

TEST_F(ServerTest, StreamPassesClientMessageToReceiveAndSendsItsReply) {
  RawWebSocket stream(server_->port(), *pki_, "alice", "/stream");
  ASSERT_TRUE(stream.open()) << stream.answer();
  ASSERT_TRUE(stream.send_text(R"({"ack":"42"})"));

  auto reply = stream.read_text();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(field(*reply, "received"), R"({"ack":"42"})");
  EXPECT_EQ(handler_.received(), std::vector<std::string>{R"({"ack":"42"})"});
  EXPECT_EQ(handler_.overlapping_calls, 0);
}

TEST_F(ServerTest, StreamAnswersBinaryMessageWithErrorAndStaysOpen) {
  RawWebSocket stream(server_->port(), *pki_, "alice", "/stream");
  ASSERT_TRUE(stream.open()) << stream.answer();
  ASSERT_TRUE(stream.send_binary("\x01\x02"));
  auto reply = stream.read_text();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(parse_object(*reply).at("error").at("code").as_string(), "invalid_argument");
  EXPECT_TRUE(handler_.received().empty());

  handler_.publish(event_text(1));
  EXPECT_EQ(stream.read_text(), event_text(1));
}

TEST_F(ServerTest, StreamMessageOverLimitClosesWithTooBig) {
  RawWebSocket stream(server_->port(), *pki_, "alice", "/stream");
  ASSERT_TRUE(stream.open()) << stream.answer();
  // Only the frame's head, which announces the size: the server refuses on
  // that alone, and no unread payload can make its closing reset the connection.
  std::string frame = client_frame(0x1, std::string(65 * 1024, 'a'));
  ASSERT_TRUE(stream.send_raw(frame.substr(0, 14)));  // 2 + 8 (length) + 4 (mask)
  EXPECT_EQ(stream.read_text(), std::nullopt);
  EXPECT_EQ(stream.close_code(), 1009);
  EXPECT_TRUE(handler_.received().empty());
  EXPECT_TRUE(handler_.wait_for_destroyed_feeds(1));
}

TEST_F(ServerTest, StreamReconnectWithNewFeedGetsTheRest) {
  for (int n = 1; n <= 2; ++n) handler_.publish(event_text(n));
  {
    RawWebSocket first(server_->port(), *pki_, "alice", "/stream");
    ASSERT_TRUE(first.open()) << first.answer();
    EXPECT_EQ(first.read_text(), event_text(1));
    EXPECT_EQ(first.read_text(), event_text(2));
    ASSERT_TRUE(first.send_close(1000));
    EXPECT_EQ(first.read_text(), std::nullopt);
    EXPECT_EQ(first.close_code(), 1000);
  }
  ASSERT_TRUE(handler_.wait_for_destroyed_feeds(1));
  handler_.publish(event_text(3));

  RawWebSocket second(server_->port(), *pki_, "alice", "/stream?after=2");
  ASSERT_TRUE(second.open()) << second.answer();
  EXPECT_EQ(second.read_text(), event_text(3));
}

TEST_F(ServerTest, StreamRouteWithoutUpgradeAnswers426) {
  HubClient client(client_options("alice"));
  auto response = client.request("GET", "/stream");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 426);
  EXPECT_EQ(response->header("Upgrade"), "websocket");
  EXPECT_EQ(parse_object(response->body).at("error").at("code").as_string(), "invalid_argument");
  EXPECT_TRUE(handler_.wait_for_destroyed_feeds(1));
  EXPECT_EQ(handler_.next_calls(), 0);
}

TEST_F(ServerTest, RefusedFeedAnswersTheRefusal) {
  RawWebSocket stream(server_->port(), *pki_, "alice", "/stream?refuse");
  EXPECT_FALSE(stream.open());
  EXPECT_PRED2(starts_with, stream.answer(), "HTTP/1.1 403");
}

TEST_F(ServerTest, StreamWithUntrustedCertificateFails) {
  RawWebSocket stream(server_->port(), *pki_, "mallory", "/stream");
  EXPECT_FALSE(stream.open());
  EXPECT_EQ(stream.answer(), "");
  EXPECT_EQ(handler_.next_calls(), 0);
}

TEST_F(ServerTest, FiftyIdleStreamsDoNotStarveRequests) {
  std::vector<std::unique_ptr<RawWebSocket>> streams;
  for (int i = 0; i < 50; ++i) {
    streams.push_back(std::make_unique<RawWebSocket>(server_->port(), *pki_, "alice", "/stream"));
    ASSERT_TRUE(streams.back()->open()) << streams.back()->answer();
  }
  ASSERT_TRUE(handler_.wait_for_empty_nexts(50));

  HubClient client(client_options("bob"));
  for (int i = 0; i < 5; ++i) {
    auto response = client.request("GET", "/echo");
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(response->status, 200);
  }
  handler_.publish(event_text(1));
  for (auto& stream : streams) EXPECT_EQ(stream->read_text(), event_text(1));
}

TEST_F(ServerTest, StopClosesStreamsWithGoingAway) {
  RawWebSocket stream(server_->port(), *pki_, "alice", "/stream");
  ASSERT_TRUE(stream.open()) << stream.answer();
  ASSERT_TRUE(handler_.wait_for_empty_nexts(1));

  auto stopped = std::async(std::launch::async, [this] { stop_server(); });
  EXPECT_EQ(stream.read_text(), std::nullopt);
  EXPECT_EQ(stream.close_code(), 1001);
  EXPECT_EQ(stopped.wait_for(kSafetyBound), std::future_status::ready);
  EXPECT_TRUE(handler_.wait_for_destroyed_feeds(1));
}

// ---- event feeds: long polls ----

TEST_F(ServerTest, LongPollReturnsAtOnceWhenEventsWait) {
  handler_.publish(event_text(1));
  handler_.publish(event_text(2));
  HubClient client(client_options("alice"));
  auto response = client.request("GET", "/events?after=0&wait=60");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "{\"events\":[" + event_text(1) + "," + event_text(2) + "]}");
  EXPECT_EQ(handler_.next_calls(), 1);  // it did not wait
}

TEST_F(ServerTest, LongPollWaitsThenReturnsAfterAWake) {
  auto answer = std::async(std::launch::async, [this] {
    HubClient client(client_options("alice"));
    return client.request("GET", "/events?wait=60");
  });
  ASSERT_TRUE(handler_.wait_for_empty_nexts(1));
  handler_.publish(event_text(1));

  auto response = answer.get();
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->body, "{\"events\":[" + event_text(1) + "]}");
  EXPECT_EQ(handler_.overlapping_calls, 0);
}

TEST_F(ServerTest, LongPollReturnsEmptyWhenTheWaitRunsOut) {
  HubClient client(client_options("alice"));
  auto response = client.request("GET", "/events?wait=1");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "{\"events\":[]}");
  EXPECT_GE(handler_.next_calls(), 2);  // asked again after the wait
  EXPECT_TRUE(handler_.wait_for_destroyed_feeds(1));
}

TEST_F(ServerTest, LongPollKeepsTheConnectionAlive) {
  HubClient client(client_options("alice"));
  auto poll = client.request("GET", "/events");
  ASSERT_TRUE(poll.ok()) << poll.status().to_string();
  auto echo = client.request("GET", "/echo");
  ASSERT_TRUE(echo.ok()) << echo.status().to_string();
  EXPECT_EQ(echo->status, 200);
  EXPECT_EQ(poll->header("Connection"), std::nullopt);
}

TEST_F(ServerTest, StopEndsLongPollPromptly) {
  auto answer = std::async(std::launch::async, [this] {
    HubClient client(client_options("alice"));
    return client.request("GET", "/events?wait=60");
  });
  ASSERT_TRUE(handler_.wait_for_empty_nexts(1));
  auto stopped = std::async(std::launch::async, [this] { stop_server(); });

  // Without the stop the poll would still wait for most of a minute; the
  // safety bound below is the same minute, so a poll that ignored the stop fails.
  auto response = answer.get();
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->body, "{\"events\":[]}");
  EXPECT_EQ(response->header("Connection"), "close");
  EXPECT_EQ(stopped.wait_for(kSafetyBound), std::future_status::ready);
}

// ---- methods ----

TEST_F(ServerTest, HeadSendsTheHeadersButNoBody) {
  RawTlsConnection connection(server_->port(), *pki_, "alice");
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send("HEAD /echo HTTP/1.1\r\nHost: hub\r\n\r\n"));
  std::string text = connection.read_until("\r\n\r\n");
  ASSERT_TRUE(connection.send("GET /echo HTTP/1.1\r\nHost: hub\r\n\r\n"));
  text += connection.read_until("\"GET\"");

  std::string head = text.substr(0, text.find("\r\n\r\n") + 4);
  EXPECT_PRED2(starts_with, head, "HTTP/1.1 200");
  EXPECT_PRED2(contains, head, "Content-Type: application/json");
  EXPECT_PRED2(contains, head, "Content-Length: ");
  // Right after the head comes the answer to the GET: no body in between.
  EXPECT_PRED2(starts_with, text.substr(head.size()), "HTTP/1.1 200");
}

TEST_F(ServerTest, HeadKeepsTheContentLengthTheHandlerSet) {
  CommandResult result = curl("alice", {"-I", url() + "/sized"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_PRED2(contains, result.out, "Content-Length: 12345");
  EXPECT_PRED2(contains, result.out, "X-Sized: yes");
}

TEST_F(ServerTest, OptionsAndDeleteReachTheHandler) {
  for (std::string method : {"OPTIONS", "DELETE"}) {
    CommandResult result = curl("alice", {"-X", method, url() + "/echo"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(field(result.out, "method"), method);
  }
}

TEST_F(ServerTest, PatchAndPutStreamIntoASink) {
  std::string path = write_big_file("chunk.bin");
  for (std::string method : {"PATCH", "PUT"}) {
    CommandResult result =
        curl("alice", {"-X", method, "-H", "Content-Type: application/offset+octet-stream",
                       "--data-binary", "@" + path, url() + "/upload"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(field(result.out, "sha256"), *crypto::sha256_file_hex(path));
  }
  EXPECT_EQ(handler_.upload_methods(), (std::vector<std::string>{"PATCH", "PUT"}));
}

TEST_F(ServerTest, UnknownMethodAnswers501) {
  RawTlsConnection connection(server_->port(), *pki_, "alice");
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send("BREW /echo HTTP/1.1\r\nHost: hub\r\n\r\n"));
  std::string answer = connection.read_all();
  EXPECT_PRED2(starts_with, answer, "HTTP/1.1 501");
  EXPECT_PRED2(contains, answer, "method BREW is not implemented");
  EXPECT_PRED2(contains, answer, "Connection: close");
}

TEST_F(ServerTest, GzipTransferEncodingAnswers501) {
  RawTlsConnection connection(server_->port(), *pki_, "alice");
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(
      connection.send("POST /upload HTTP/1.1\r\nHost: hub\r\nContent-Type: text/plain\r\n"
                      "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  std::string answer = connection.read_until("}\n");
  EXPECT_PRED2(starts_with, answer, "HTTP/1.1 501");
  EXPECT_PRED2(contains, answer, "\"invalid_argument\"");
  EXPECT_PRED2(contains, answer, "use chunked");
  EXPECT_EQ(handler_.sinks_created, 0);
}

TEST_F(ServerTest, MalformedChunkMidUploadAnswers400AndDiscardsIt) {
  RawTlsConnection connection(server_->port(), *pki_, "alice");
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(
      "PATCH /upload HTTP/1.1\r\nHost: hub\r\nContent-Type: application/offset+octet-stream\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nbroken\r\n"));
  std::string answer = connection.read_until("}");
  EXPECT_PRED2(starts_with, answer, "HTTP/1.1 400");
  EXPECT_PRED2(contains, answer, "malformed request body");
  EXPECT_EQ(handler_.wait_for_destroyed_sinks(1), std::vector<bool>{false});
}

// ---- plain mode ----

TEST_F(ServerTest, PlainModeServesGetAndPostWithoutCertificates) {
  stop_server();
  ServerOptions options;
  options.tls_enabled = false;  // and no TLS files at all
  options.network_threads = 2;
  options.blocking_threads = 2;
  start_server(options);
  std::string plain_url = "http://127.0.0.1:" + std::to_string(server_->port());

  CommandResult get = run_command({"curl", "-sS", "--max-time", "60", plain_url + "/echo?x=1"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(field(get.out, "method"), "GET");
  EXPECT_EQ(field(get.out, "target"), "/echo?x=1");
  EXPECT_EQ(field(get.out, "peer_fingerprint"), "");

  CommandResult post = run_command(
      {"curl", "-sS", "--max-time", "60", "--data-binary", "hello", plain_url + "/echo"});
  ASSERT_EQ(post.exit_code, 0) << post.err;
  EXPECT_EQ(field(post.out, "method"), "POST");
  EXPECT_EQ(parse_object(post.out).at("body_size").to_number<uint64_t>(), 5u);

  ClientOptions client_plain;
  client_plain.url = plain_url;
  HubClient client(client_plain);
  auto response = client.request("GET", "/echo");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(field(response->body, "peer_fingerprint"), "");
}

TEST_F(ServerTest, PlainModeServesLongPollsAndUploads) {
  stop_server();
  ServerOptions options;
  options.tls_enabled = false;
  options.network_threads = 2;
  options.blocking_threads = 2;
  start_server(options);
  std::string plain_url = "http://127.0.0.1:" + std::to_string(server_->port());
  handler_.publish(event_text(1));

  CommandResult poll =
      run_command({"curl", "-sS", "--max-time", "60", plain_url + "/events?wait=30"});
  ASSERT_EQ(poll.exit_code, 0) << poll.err;
  EXPECT_EQ(poll.out, "{\"events\":[" + event_text(1) + "]}");

  std::string path = write_big_file("plain.bin");
  CommandResult upload = run_command({"curl", "-sS", "--max-time", "60", "-X", "PATCH", "-H",
                                      "Content-Type: application/offset+octet-stream",
                                      "--data-binary", "@" + path, plain_url + "/upload"});
  ASSERT_EQ(upload.exit_code, 0) << upload.err;
  EXPECT_EQ(field(upload.out, "sha256"), *crypto::sha256_file_hex(path));
}

TEST_F(ServerTest, PlainModeRefusesTls) {
  stop_server();
  ServerOptions options;
  options.tls_enabled = false;
  start_server(options);
  EXPECT_NE(curl("alice", {url() + "/echo"}).exit_code, 0);
}

}  // namespace
}  // namespace sened
