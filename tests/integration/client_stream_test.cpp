// The client side of real time against the real `sened hub` on loopback:
// HubClient's extra headers, file-range bodies and plain http://, the
// WebSocket EventStream, and `sened watch` run as a user runs it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/hub_client.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {
namespace json = boost::json;
using client::FormPart;
using client::HubClient;

json::object parse(const std::string& body) { return json::parse(body).as_object(); }

std::string metadata(const std::string& ref) {
  return json::serialize(
      json::object{{"sender_ref", ref},
                   {"kind", "letter"},
                   {"subject", "Hesabat tələbi"},
                   {"urgency", "normal"},
                   {"recipients", json::object{{"to", json::array{"az.finance"}}}}});
}

// A multipart body the hub accepts, with boundary kBoundary: one metadata
// part and one file "a.txt" holding `content`.
constexpr std::string_view kBoundary = "Bnd7x";
std::string multipart_letter(const std::string& ref, const std::string& content) {
  std::string b(kBoundary);
  return "--" + b +
         "\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
         "Content-Type: application/json\r\n\r\n" +
         metadata(ref) + "\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
         "Content-Type: text/plain\r\n\r\n" +
         content + "\r\n--" + b + "--\r\n";
}

// A one-connection plain HTTP/1.1 server on 127.0.0.1 that answers 100
// Continue when asked, reads a Content-Length body and answers 200 with the
// body it received. Records the request head.
class EchoServer {
 public:
  EchoServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 1) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve_one(); });
  }
  ~EchoServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Valid once the client has its answer.
  const std::string& head() const { return head_; }

 private:
  void serve_one() {
    int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    std::string data;
    while (data.find("\r\n\r\n") == std::string::npos && receive(fd, data)) {
    }
    size_t end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      head_ = data.substr(0, end + 4);
      std::string body = data.substr(end + 4);
      size_t length = content_length();
      if (head_.find("Expect: 100-continue") != std::string::npos)
        send(fd, "HTTP/1.1 100 Continue\r\n\r\n");
      while (body.size() < length && receive(fd, body)) {
      }
      send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    }
    ::close(fd);
  }

  size_t content_length() const {
    size_t at = head_.find("Content-Length: ");
    return at == std::string::npos ? 0 : std::stoul(head_.substr(at + 16));
  }
  static bool receive(int fd, std::string& into) {
    char chunk[4096];
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    into.append(chunk, static_cast<size_t>(n));
    return true;
  }
  static void send(int fd, const std::string& bytes) {
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }

  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string head_;
};

class HubClientTest : public ::testing::Test {
 protected:
  void SetUp() override { hub_.start(); }

  std::string send_letter(const std::string& ref, const std::string& content) {
    HubClient c(hub_.client("az.mddt"));
    auto r = c.post_multipart(
        "/v1/documents", {FormPart{"metadata", "", "application/json", std::nullopt, metadata(ref)},
                          FormPart{"file", "a.txt", "text/plain", std::nullopt, content}});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 201) << r->body;
    return std::string(parse(r->body).at("id").as_string());
  }

  size_t outbox_size() {
    HubClient c(hub_.client("az.mddt"));
    auto r = c.request("GET", "/v1/outbox");
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return parse(r->body).at("documents").as_array().size();
  }

  HubProcess hub_{{"az.mddt", "az.finance"}};
};

TEST_F(HubClientTest, SendsExtraHeadersWithARequest) {
  std::string id = send_letter("range-1", "0123456789");
  HubClient c(hub_.client("az.finance"));
  auto r = c.request("GET", "/v1/documents/" + id + "/files/0", "", "", {{"Range", "bytes=2-5"}});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 206) << r->body;
  EXPECT_EQ(r->body, "2345");
}

TEST_F(HubClientTest, SendsAByteRangeOfAFileAsTheBody) {
  TempDir tmp;
  std::string body = multipart_letter("range-body-1", "from the middle of a file");
  write_file(tmp / "body", "JUNK-BEFORE" + body + "JUNK-AFTER");
  HubClient c(hub_.client("az.mddt"));
  auto r =
      c.send_file("POST", "/v1/documents",
                  {{"Content-Type", "multipart/form-data; boundary=" + std::string(kBoundary)}},
                  tmp / "body", 11, body.size());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->status, 201) << r->body;
  std::string id(parse(r->body).at("id").as_string());

  HubClient reader(hub_.client("az.finance"));
  auto file = reader.request("GET", "/v1/documents/" + id + "/files/0");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->body, "from the middle of a file");
}

TEST_F(HubClientTest, ReturnsTheHubsRefusalOfAFileBody) {
  TempDir tmp;
  write_file(tmp / "body", "not multipart at all");
  HubClient c(hub_.client("az.mddt"));
  auto r =
      c.send_file("POST", "/v1/documents", {{"Content-Type", "text/plain"}}, tmp / "body", 0, 20);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 415) << r->body;
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(HubClientTest, RefusesAFileRangePastTheEndAndSendsNothing) {
  TempDir tmp;
  std::string body = multipart_letter("range-past-end", "x");
  write_file(tmp / "body", body);
  HubClient c(hub_.client("az.mddt"));
  auto r =
      c.send_file("POST", "/v1/documents",
                  {{"Content-Type", "multipart/form-data; boundary=" + std::string(kBoundary)}},
                  tmp / "body", 1, body.size());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("beyond the end"), std::string::npos) << r.status().message();
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(HubClientTest, RefusesToSendAMissingFile) {
  TempDir tmp;
  HubClient c(hub_.client("az.mddt"));
  auto r = c.send_file("PATCH", "/v1/uploads/x", {}, tmp / "absent", 0, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST_F(HubClientTest, RefusesAHeaderTheClientSetsItself) {
  HubClient c(hub_.client("az.mddt"));
  auto r = c.request("POST", "/v1/documents", "x", "text/plain", {{"content-length", "1"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(outbox_size(), 0u);
}

TEST_F(HubClientTest, RefusesAHeaderValueWithALineBreak) {
  HubClient c(hub_.client("az.mddt"));
  auto r = c.request("GET", "/v1/outbox", "", "", {{"X-Note", "a\r\nX-Injected: 1"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST_F(HubClientTest, RefusesAHeaderNameThatIsNotAToken) {
  HubClient c(hub_.client("az.mddt"));
  auto r = c.request("GET", "/v1/outbox", "", "", {{"Bad Name", "1"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(PlainHttpTest, SendsAFileRangeWithExtraHeadersOverPlainHttp) {
  TempDir tmp;
  write_file(tmp / "upload", "abcdefghij");
  EchoServer server;
  client::ClientOptions options;
  options.url = server.url();
  HubClient c(options);
  auto r = c.send_file("PATCH", "/v1/uploads/u1",
                       {{"Tus-Resumable", "1.0.0"},
                        {"Upload-Offset", "3"},
                        {"Content-Type", "application/offset+octet-stream"}},
                       tmp / "upload", 3, 4);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "defg");
  EXPECT_NE(server.head().find("PATCH /v1/uploads/u1 HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(server.head().find("Tus-Resumable: 1.0.0\r\n"), std::string::npos) << server.head();
  EXPECT_NE(server.head().find("Upload-Offset: 3\r\n"), std::string::npos) << server.head();
  EXPECT_NE(server.head().find("Content-Type: application/offset+octet-stream\r\n"),
            std::string::npos)
      << server.head();
}

TEST(PlainHttpTest, RefusesAUrlWithAnotherScheme) {
  client::ClientOptions options;
  options.url = "ftp://127.0.0.1:21";
  HubClient c(options);
  auto r = c.request("GET", "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

// ---- the event stream and `sened watch` ----

// A bound on how long the hub may take to deliver, not a timing assertion.
constexpr auto kPatience = std::chrono::seconds(30);

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// `sened watch ARGS…` running in the background, its stdout and stderr in
// files of their own. Killed with the test if the test dies.
class WatchProcess {
 public:
  WatchProcess(const HubProcess& hub, const std::string& org, std::vector<std::string> args) {
    std::vector<std::string> argv{sened_binary(), "watch",
                                  "--hub",        hub.url(),
                                  "--cert",       hub.client_dir(org) + "/cert.pem",
                                  "--key",        hub.client_dir(org) + "/key.pem",
                                  "--ca",         hub.client_dir(org) + "/ca.pem"};
    argv.insert(argv.end(), args.begin(), args.end());
    start(argv);
  }
  ~WatchProcess() {
    if (pid_ > 0) stop(SIGKILL);
  }

  // Waits (bounded) until stdout holds at least `n` lines; returns them all.
  std::vector<std::string> wait_for_lines(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + kPatience;
    std::vector<std::string> lines = lines_of(out());
    while (lines.size() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      lines = lines_of(out());
    }
    return lines;
  }

  // Sends `signal`, waits for the exit; returns the exit status (128+signal
  // when killed by it).
  int stop(int signal) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string out() const { return read_file(dir_ / "out"); }
  std::string err() const { return read_file(dir_ / "err"); }

 private:
  void start(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    write_file(dir_ / "out", "");
    write_file(dir_ / "err", "");
    int out = ::open((dir_ / "out").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    int err = ::open((dir_ / "err").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out);
    ::close(err);
    if (pid_ < 0) throw std::runtime_error("cannot start sened watch");
  }

  TempDir dir_;
  pid_t pid_ = -1;
};

class WatchTest : public HubClientTest {
 protected:
  // Sends a letter to az.finance; returns its id.
  std::string send(const std::string& ref) { return send_letter(ref, "letter " + ref); }

  // The events printed as JSON lines.
  static std::vector<json::object> events_of(const std::vector<std::string>& lines) {
    std::vector<json::object> events;
    for (const auto& line : lines) events.push_back(parse(line));
    return events;
  }

  // `sened watch ARGS…` as az.finance, run to its end.
  CommandResult run_watch(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"watch",
                                  "--hub",
                                  hub_.url(),
                                  "--cert",
                                  hub_.client_dir("az.finance") + "/cert.pem",
                                  "--key",
                                  hub_.client_dir("az.finance") + "/key.pem",
                                  "--ca",
                                  hub_.client_dir("az.finance") + "/ca.pem"};
    argv.insert(argv.end(), args.begin(), args.end());
    return hub_.sened(argv);
  }

  // The stream's next message, waiting (bounded) for it; nullopt if none came.
  static std::optional<std::string> read_one(client::EventStream& stream) {
    auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < deadline) {
      auto read = stream.read(200);
      if (!read.ok() || *read) return read.ok() ? *read : std::nullopt;
    }
    return std::nullopt;
  }

  static std::string field(const json::object& event, std::string_view key) {
    const auto* value = event.if_contains(key);
    return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
  }
};

TEST_F(WatchTest, PrintsOneJsonLinePerDocument) {
  WatchProcess watch(hub_, "az.finance", {"--json"});
  std::vector<std::string> ids = {send("json-1"), send("json-2"), send("json-3")};

  auto lines = watch.wait_for_lines(3);
  ASSERT_EQ(lines.size(), 3u) << watch.err();
  auto events = events_of(lines);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(field(events[i], "type"), "document.new") << lines[i];
    EXPECT_EQ(field(events[i], "document"), ids[i]) << lines[i];
    EXPECT_EQ(field(events[i], "sender"), "az.mddt") << lines[i];
  }
  EXPECT_LT(std::stoull(field(events[0], "cursor")), std::stoull(field(events[1], "cursor")));
  EXPECT_LT(std::stoull(field(events[1], "cursor")), std::stoull(field(events[2], "cursor")));
  EXPECT_EQ(watch.stop(SIGINT), 0) << watch.err();
}

TEST_F(WatchTest, PrintsAReadableLinePerEventWithoutJson) {
  WatchProcess watch(hub_, "az.finance", {});
  std::string id = send("readable-1");

  auto lines = watch.wait_for_lines(1);
  ASSERT_EQ(lines.size(), 1u) << watch.err();
  EXPECT_NE(lines[0].find("document.new"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(id), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("az.finance"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].front(), '{') << lines[0];
  EXPECT_EQ(watch.stop(SIGTERM), 0) << watch.err();
}

TEST_F(WatchTest, ReconnectsAfterTheHubIsKilledAndPrintsMissedEventsOnce) {
  WatchProcess watch(hub_, "az.finance", {"--json"});
  std::vector<std::string> ids = {send("kill-1"), send("kill-2")};
  ASSERT_EQ(watch.wait_for_lines(2).size(), 2u) << watch.err();

  std::string address = hub_.listen_address();
  hub_.stop(SIGKILL);
  hub_.start(address);
  ids.push_back(send("kill-3"));
  ids.push_back(send("kill-4"));
  ASSERT_EQ(watch.wait_for_lines(4).size(), 4u) << watch.err();
  // One more after the missed ones: every repeat would have come before it.
  ids.push_back(send("kill-5"));

  auto lines = watch.wait_for_lines(5);
  ASSERT_EQ(lines.size(), 5u) << watch.out() << watch.err();
  std::vector<std::string> printed;
  for (const auto& event : events_of(lines)) printed.push_back(field(event, "document"));
  EXPECT_EQ(printed, ids);
  EXPECT_NE(watch.err().find("reconnecting"), std::string::npos) << watch.err();
  EXPECT_EQ(watch.stop(SIGTERM), 0) << watch.err();
}

TEST_F(WatchTest, StartsAfterTheCursorGiven) {
  std::vector<std::string> ids = {send("after-1"), send("after-2"), send("after-3")};
  std::string second_cursor;
  {
    WatchProcess first(hub_, "az.finance", {"--json"});
    auto lines = first.wait_for_lines(3);
    ASSERT_EQ(lines.size(), 3u) << first.err();
    second_cursor = field(parse(lines[1]), "cursor");
    EXPECT_EQ(first.stop(SIGINT), 0);
  }

  WatchProcess watch(hub_, "az.finance", {"--json", "--after", second_cursor});
  ids.push_back(send("after-4"));
  auto lines = watch.wait_for_lines(2);
  ASSERT_EQ(lines.size(), 2u) << watch.err();
  EXPECT_EQ(field(parse(lines[0]), "document"), ids[2]);
  EXPECT_EQ(field(parse(lines[1]), "document"), ids[3]);
  EXPECT_EQ(watch.stop(SIGINT), 0);
}

TEST_F(WatchTest, AcknowledgesEachPrintedEventWithAck) {
  WatchProcess watch(hub_, "az.finance", {"--json", "--ack"});
  send("ack-1");
  send("ack-2");
  ASSERT_EQ(watch.wait_for_lines(2).size(), 2u) << watch.err();
  EXPECT_EQ(watch.stop(SIGINT), 0);
  std::string third = send("ack-3");

  // A stream without a cursor starts at the acknowledged position. The
  // acknowledgement travels after the print, so poll (bounded) until the
  // first event such a stream gives is the third document's.
  auto deadline = std::chrono::steady_clock::now() + kPatience;
  std::string first;
  while (first != third && std::chrono::steady_clock::now() < deadline) {
    auto stream = client::EventStream::open(hub_.client("az.finance"), "/v1/stream");
    ASSERT_TRUE(stream.ok()) << stream.status().to_string();
    auto message = read_one(**stream);
    ASSERT_TRUE(message) << "no event";
    first = field(parse(*message), "document");
    (*stream)->close();
  }
  EXPECT_EQ(first, third);
}

TEST_F(WatchTest, RefusesACursorThatIsNotDecimal) {
  auto r = run_watch({"--after", "12abc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--after must be a cursor"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(WatchTest, ReportsTheHubsRefusalOfACursorBeyondTheLastEvent) {
  auto r = run_watch({"--after", "999999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("999999"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(WatchTest, HasHelp) {
  auto r = hub_.sened({"watch", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--after"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--ack"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SENED_HUB"), std::string::npos) << r.out;
}

TEST_F(WatchTest, EventStreamHandsOutEventsInOrder) {
  auto stream = client::EventStream::open(hub_.client("az.finance"), "/v1/stream?after=0");
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  std::string first = send("stream-1");
  std::string second = send("stream-2");
  std::optional<std::string> one = read_one(**stream);
  std::optional<std::string> two = read_one(**stream);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(field(parse(*one), "document"), first);
  EXPECT_EQ(field(parse(*two), "document"), second);
  (*stream)->close();
  auto after_close = (*stream)->read(0);
  ASSERT_FALSE(after_close.ok());
  EXPECT_EQ(after_close.status().code(), Code::kUnavailable);
}

TEST_F(WatchTest, EventStreamGivesNothingWhenNothingHappened) {
  auto stream = client::EventStream::open(hub_.client("az.finance"), "/v1/stream");
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  auto read = (*stream)->read(100);
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_FALSE(*read);
}

TEST_F(WatchTest, EventStreamReportsTheHubGoingAway) {
  auto stream = client::EventStream::open(hub_.client("az.finance"), "/v1/stream");
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  hub_.stop(SIGKILL);
  Result<std::optional<std::string>> read = std::optional<std::string>();
  auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (read.ok() && std::chrono::steady_clock::now() < deadline) read = (*stream)->read(200);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::kUnavailable);
}

TEST_F(WatchTest, EventStreamPassesOnTheHubsRefusalOfABadCursor) {
  auto stream = client::EventStream::open(hub_.client("az.finance"), "/v1/stream?after=abc");
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), Code::kInvalidArgument) << stream.status().to_string();
}

TEST_F(WatchTest, EventStreamFailsWithoutAClientCertificate) {
  client::ClientOptions options = hub_.client("az.finance");
  options.cert_file.clear();
  options.key_file.clear();
  auto stream = client::EventStream::open(options, "/v1/stream");
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), Code::kUnavailable);
  EXPECT_NE(stream.status().message().find("certificate"), std::string::npos)
      << stream.status().message();
}

}  // namespace
}  // namespace sened::testing
