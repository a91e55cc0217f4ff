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
    return http::error_response(not_found("no route " + request.target));
  }

  std::optional<UploadStart> begin_upload(const Request& head) override {
    if (head.target == "/refuse") {
      ++refusals;
      return UploadStart{nullptr, http::error_response(payload_too_large("uploads closed"))};
    }
    if (head.target != "/upload" && head.target != "/upload-fail") return std::nullopt;
    ++sinks_created;
    auto sink = std::make_unique<RecordingSink>(*this, head.header("Content-Type").value_or(""),
                                                head.target == "/upload-fail");
    return UploadStart{std::move(sink), std::nullopt};
  }

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
  bool slow_waiting_ = false;
  bool slow_released_ = false;
};

RecordingSink::~RecordingSink() { handler_.sink_destroyed(finished_); }

Response RecordingSink::finish() {
  finished_ = true;
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

// ---- the fixture ----

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    log_ = std::make_shared<LogCapture>();
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("http", spdlog::sinks_init_list{console, log_});
    spdlog::register_logger(logger);
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

TEST_F(ServerTest, ClientRejectsNonHttpsUrl) {
  ClientOptions options = client_options("alice");
  options.url = "http://127.0.0.1:" + std::to_string(server_->port());
  HubClient client(options);
  auto response = client.request("GET", "/echo");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kInvalidArgument);
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

}  // namespace
}  // namespace sened
