// Clients that fail over between hub nodes: the node list (--hub A,B), the
// failover rules of HubClient and EventStream against loopback servers that
// refuse, drop or answer 503, the CLI and the gateway against a real hub
// behind a dead node, and, with a PostgreSQL test server, two real hub nodes
// on one database with one of them killed while documents flow.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "client/hub_client.h"
#include "core/process.h"
#include "gateway/gateway.h"
#include "gateway/gateway_db.h"
#include "gateway/uploader.h"
#include "support/hub_process.h"
#include "support/pg_test_support.h"
#include "support/service_process.h"

namespace sened::testing {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using client::ClientOptions;
using client::EventStream;
using client::HubClient;
using client::parse_node_list;
using Clock = std::chrono::steady_clock;

// How long a test waits for something that should happen; a bound, not a
// timing assertion.
constexpr auto kPatience = std::chrono::seconds(120);

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Polls `done` until it holds or kPatience passes.
bool eventually(const std::function<bool()>& done) {
  auto deadline = Clock::now() + kPatience;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// A loopback port where nothing listens: the socket is bound (so no one else
// takes the port) but not listening, so every connection is refused.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) std::abort();
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~ClosedPort() { ::close(fd_); }
  std::string url(const std::string& scheme = "https") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// What a ScriptedServer answers to one request; status 0 drops the
// connection instead.
struct Reply {
  int status = 0;
  std::string headers;  // extra header lines, each ending in CRLF
  std::string body;
};

// A loopback HTTP/1.1 server that hands each request (method and target)
// to `script` and sends its reply, one request per connection. It reads
// each request whole (after a 100 Continue when asked) and keeps the bodies.
class ScriptedServer {
 public:
  using Script = std::function<Reply(const std::string& method, const std::string& target)>;

  explicit ScriptedServer(Script script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) std::abort();
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stopping_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string url(const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_);
  }
  int connections() const { return connections_; }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }
  // "METHOD TARGET" of each request read, in order.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stopping_) {
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, 50) <= 0) continue;
      int peer = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (peer < 0) continue;
      ++connections_;
      answer(peer);
      ::close(peer);
    }
  }

  // Reads until the head is complete (`head`) or `size_wanted` bytes are in;
  // false when the peer goes away or stays silent for long.
  static bool read_until(int peer, std::string& data, size_t size_wanted, bool head) {
    char chunk[16384];
    while (head ? data.find("\r\n\r\n") == std::string::npos : data.size() < size_wanted) {
      pollfd readable{peer, POLLIN, 0};
      if (::poll(&readable, 1, 10000) <= 0) return false;
      ssize_t n = ::read(peer, chunk, sizeof chunk);
      if (n <= 0) return false;
      data.append(chunk, static_cast<size_t>(n));
    }
    return true;
  }

  static std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  static void write_all(int peer, const std::string& text) {
    size_t sent = 0;
    while (sent < text.size()) {
      ssize_t n = ::send(peer, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  void answer(int peer) {
    std::string data;
    if (!read_until(peer, data, 0, true)) return;
    size_t head_end = data.find("\r\n\r\n") + 4;
    std::string head = lower(data.substr(0, head_end));
    std::string method = data.substr(0, data.find(' '));
    std::string target =
        data.substr(method.size() + 1, data.find(' ', method.size() + 1) - method.size() - 1);
    Reply reply = script_(method, target);
    if (reply.status == 0) return;
    size_t at = head.find("\r\ncontent-length:");
    size_t length = at == std::string::npos ? 0 : std::stoull(head.substr(at + 17));
    if (length > 0 && contains(head, "expect: 100-continue")) {
      write_all(peer, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    if (!read_until(peer, data, head_end + length, false)) return;
    {
      std::lock_guard lock(mutex_);
      bodies_.push_back(data.substr(head_end, length));
      requests_.push_back(method + " " + target);
    }
    write_all(peer, "HTTP/1.1 " + std::to_string(reply.status) + " Scripted\r\n" + reply.headers +
                        "Content-Length: " + std::to_string(reply.body.size()) +
                        "\r\nConnection: close\r\n\r\n" + reply.body);
  }

  Script script_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<std::string> requests_;
};

// A ScriptedServer that answers every request with `status` and a JSON
// error body, or, with status 0, drops every connection it accepts.
class FixedAnswerServer : public ScriptedServer {
 public:
  explicit FixedAnswerServer(int status)
      : ScriptedServer([status](const std::string&, const std::string&) {
          return Reply{status, "Content-Type: application/json\r\n",
                       R"({"error":{"code":"unavailable","message":"answer )" +
                           std::to_string(status) + R"("}})"};
        }) {}
};

ClientOptions plain_client(const std::string& list) {
  ClientOptions o;
  o.url = list;
  o.timeout_seconds = 10;
  return o;
}

// ---- the node list --------------------------------------------------------

TEST(NodeListTest, SplitsTheListAndTrimsEachItem) {
  auto urls = parse_node_list(" https://a.example:8443 ,https://b.example\t, http://127.0.0.1:9/");
  ASSERT_TRUE(urls.ok()) << urls.status().to_string();
  EXPECT_EQ(*urls, (std::vector<std::string>{"https://a.example:8443", "https://b.example",
                                             "http://127.0.0.1:9/"}));
}

TEST(NodeListTest, RefusesAnEmptyList) {
  for (const char* list : {"", "   "}) {
    auto urls = parse_node_list(list);
    EXPECT_EQ(urls.status().code(), Code::kInvalidArgument) << list;
    EXPECT_TRUE(contains(urls.status().message(), "empty")) << urls.status().message();
  }
}

TEST(NodeListTest, RefusesAnEmptyItemNamingIt) {
  struct Case {
    const char* list;
    const char* item;
  };
  for (auto [list, item] :
       {Case{",", "item 1 is empty"}, Case{"https://a,,https://b", "item 2 is empty"},
        Case{"https://a, ", "item 2 is empty"}}) {
    auto urls = parse_node_list(list);
    EXPECT_EQ(urls.status().code(), Code::kInvalidArgument) << list;
    EXPECT_TRUE(contains(urls.status().message(), item)) << urls.status().message();
  }
}

TEST(NodeListTest, RefusesAnItemThatIsNotAHubUrlNamingIt) {
  auto urls = parse_node_list("https://a,ftp://x");
  EXPECT_EQ(urls.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(contains(urls.status().message(), "item 2")) << urls.status().message();
  EXPECT_TRUE(contains(urls.status().message(), "ftp://x")) << urls.status().message();
  for (const char* bad :
       {"https://a,https://", "https://a,https://b:0", "https://a,b:443",
        "https://a,https://user@b", "https://a,https://user:pw@b:443", "https://a,https://b:1:2",
        "https://a,https://b c", "https://a,https://b\tc", "https://a,https://[b]:443",
        "https://a,https://::1:443", "https://a,https://b%2e:443", "https://a,https://b:443?x=1"}) {
    auto urls = parse_node_list(bad);
    EXPECT_EQ(urls.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_TRUE(contains(urls.status().message(), "item 2")) << urls.status().message();
  }
  EXPECT_TRUE(contains(parse_node_list("https://a,https://u@b").status().message(),
                       "user names do not go in a hub URL"));
  EXPECT_TRUE(parse_node_list("https://a,https://[::1]:8443,https://sened-2.gov.az").ok());
}

TEST(NodeListTest, RefusesANodeListedTwice) {
  for (const char* list :
       {"https://a,https://a", "https://a:443,https://A/", "https://[::1]:8443,https://[::1]:8443",
        "https://a:01,https://a:1", "https://a:00443,https://a"}) {
    auto urls = parse_node_list(list);
    EXPECT_EQ(urls.status().code(), Code::kInvalidArgument) << list;
    EXPECT_TRUE(contains(urls.status().message(), "same node as item 1"))
        << urls.status().message();
  }
  // Another port or another scheme is another node.
  EXPECT_TRUE(parse_node_list("https://a:8443,https://a:8444").ok());
  EXPECT_TRUE(parse_node_list("http://a,https://a").ok());
}

TEST(NodeListTest, ASingleBadUrlKeepsThePlainUrlError) {
  auto urls = parse_node_list("ftp://x");
  EXPECT_EQ(urls.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(urls.status().message().starts_with("bad hub URL \"ftp://x\""))
      << urls.status().message();
}

// ---- failover rules, against loopback servers -------------------------------

TEST(FailoverClientTest, MovesOnWhenANodeRefusesTheConnection) {
  ClosedPort dead;
  FixedAnswerServer alive(204);
  HubClient hub(plain_client(dead.url("http") + "," + alive.url()));
  auto r = hub.request("GET", "/healthz");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(alive.connections(), 1);
}

TEST(FailoverClientTest, MovesOnWhenANodeAnswers503) {
  FixedAnswerServer busy(503);
  FixedAnswerServer alive(204);
  HubClient hub(plain_client(busy.url() + "," + alive.url()));
  auto r = hub.request("POST", "/v1/documents/x/ack", "{}");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(busy.bodies(), std::vector<std::string>{"{}"});
  EXPECT_EQ(alive.bodies(), std::vector<std::string>{"{}"});
}

TEST(FailoverClientTest, AnyOtherHttpAnswerIsReturnedWithoutTryingTheNextNode) {
  for (int status : {500, 404, 409}) {
    FixedAnswerServer failing(status);
    FixedAnswerServer alive(204);
    HubClient hub(plain_client(failing.url() + "," + alive.url()));
    auto r = hub.request("GET", "/v1/inbox");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(alive.connections(), 0) << status;
  }
}

TEST(FailoverClientTest, ASingleNodeAnswering503IsReturnedAsItIs) {
  FixedAnswerServer busy(503);
  HubClient hub(plain_client(busy.url()));
  auto r = hub.request("GET", "/v1/inbox");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 503);
}

TEST(FailoverClientTest, GivesUpWithOneErrorNamingEveryNode) {
  ClosedPort first;
  ClosedPort second;
  FixedAnswerServer busy(503);
  std::string list = first.url("http") + "," + busy.url() + "," + second.url("http");
  HubClient hub(plain_client(list));
  auto r = hub.request("GET", "/v1/inbox");
  ASSERT_EQ(r.status().code(), Code::kUnavailable);
  const std::string& message = r.status().message();
  EXPECT_TRUE(contains(message, "no hub node answered (3 tried)")) << message;
  EXPECT_TRUE(contains(message, first.url("http") + ": cannot connect")) << message;
  EXPECT_TRUE(contains(message, busy.url() + ": answered HTTP 503")) << message;
  EXPECT_TRUE(contains(message, second.url("http") + ": cannot connect")) << message;
}

TEST(FailoverClientTest, StartsAtTheNodeThatLastAnswered) {
  FixedAnswerServer dropping(0);
  FixedAnswerServer alive(204);
  std::string list = dropping.url() + "," + alive.url();
  HubClient first(plain_client(list));
  ASSERT_TRUE(first.request("GET", "/healthz").ok());
  EXPECT_EQ(dropping.connections(), 1);

  // Later calls, and a new client of the same list, go to the node that answered.
  ASSERT_TRUE(first.request("GET", "/healthz").ok());
  HubClient second(plain_client(list));
  auto r = second.request("GET", "/healthz");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(dropping.connections(), 1);
  EXPECT_EQ(alive.connections(), 3);
}

TEST(FailoverClientTest, AStreamedBodyGoesWholeToTheNextNode) {
  TempDir dir;
  std::string file(300 * 1024, 'x');
  for (size_t i = 0; i < file.size(); i += 997) file[i] = static_cast<char>('a' + i % 26);
  write_file(dir / "big.bin", file);
  FixedAnswerServer dropping(0);
  FixedAnswerServer alive(201);
  HubClient hub(plain_client(dropping.url() + "," + alive.url()));

  auto r = hub.post_multipart("/v1/documents", {{"metadata", "", "application/json", std::nullopt,
                                                 R"({"sender_ref":"r1"})"},
                                                {"file", "big.bin", "", dir / "big.bin", ""}});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 201);
  ASSERT_EQ(alive.bodies().size(), 1u);
  EXPECT_TRUE(contains(alive.bodies()[0], R"({"sender_ref":"r1"})"));
  EXPECT_TRUE(contains(alive.bodies()[0], file));

  // A file range (a tus PATCH) too, from its first byte.
  auto patched = hub.send_file("PATCH", "/v1/uploads/u", {{"Tus-Resumable", "1.0.0"}},
                               dir / "big.bin", 1000, 5000);
  ASSERT_TRUE(patched.ok()) << patched.status().to_string();
  ASSERT_EQ(alive.bodies().size(), 2u);
  EXPECT_EQ(alive.bodies()[1], file.substr(1000, 5000));
}

TEST(FailoverClientTest, ABadListSendsNothing) {
  FixedAnswerServer alive(204);
  for (const std::string& list : {alive.url() + ",," + alive.url(), alive.url() + ",ftp://x",
                                  alive.url() + "," + alive.url() + "/", std::string(",")}) {
    HubClient hub(plain_client(list));
    auto r = hub.request("POST", "/v1/documents/x/ack", "{}");
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << list;
    auto stream = EventStream::open(plain_client(list), "/v1/stream");
    EXPECT_EQ(stream.status().code(), Code::kInvalidArgument) << list;
  }
  EXPECT_EQ(alive.connections(), 0);
}

TEST(FailoverClientTest, AnEventStreamGivesUpNamingEveryNode) {
  ClosedPort first;
  FixedAnswerServer busy(503);
  auto stream = EventStream::open(plain_client(first.url("http") + "," + busy.url()), "/v1/stream");
  ASSERT_EQ(stream.status().code(), Code::kUnavailable);
  EXPECT_TRUE(contains(stream.status().message(), first.url("http") + ": "))
      << stream.status().message();
  EXPECT_TRUE(contains(stream.status().message(), busy.url() + ": ")) << stream.status().message();
}

// ---- the gateway's resumable uploads after a failover ----------------------

// After a failover the new node answers the PATCH of an upload made on the
// old node with 404: the uploader starts a new upload there at once.
TEST(FailoverUploadTest, APatchAnswered404StartsANewUploadOnTheNode) {
  TempDir dir;
  std::string file(5000, 'u');
  write_file(dir / "big.bin", file);
  int created = 0;
  ScriptedServer node([&created](const std::string& method, const std::string& target) {
    const std::string tus = "Tus-Resumable: 1.0.0\r\n";
    if (method == "POST" && target == "/v1/uploads") {
      ++created;
      return Reply{201, tus + "Location: /v1/uploads/u" + std::to_string(created) + "\r\n", ""};
    }
    // The first upload is gone (its node died); the second one is here.
    if (method == "PATCH" && target == "/v1/uploads/u2") {
      return Reply{204, tus + "Upload-Offset: 5000\r\n", ""};
    }
    return Reply{404, "", ""};
  });
  auto db = gateway::GatewayDb::open(dir / "gateway.db");
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  HubClient hub(plain_client(node.url()));

  gateway::UploadJob job{"spool-1", "big.bin", dir / "big.bin", 1 << 20, nullptr};
  auto upload = gateway::send_resumable(hub, **db, job);
  ASSERT_TRUE(upload.ok()) << upload.status().to_string();
  EXPECT_EQ(upload->id, "u2");
  EXPECT_EQ(upload->size, file.size());
  auto recorded = (*db)->upload("spool-1", "big.bin");
  ASSERT_TRUE(recorded.ok() && *recorded);
  EXPECT_EQ((*recorded)->id, "u2");
  EXPECT_EQ(node.requests(),
            (std::vector<std::string>{"POST /v1/uploads", "PATCH /v1/uploads/u1",
                                      "POST /v1/uploads", "PATCH /v1/uploads/u2"}));
  EXPECT_EQ(node.bodies().back(), file);
}

// An upload recorded before a restart, unknown to the node now answering,
// is started again there from the first byte.
TEST(FailoverUploadTest, ARecordedUploadUnknownToTheNodeIsStartedAgain) {
  TempDir dir;
  std::string file(3000, 'r');
  write_file(dir / "big.bin", file);
  ScriptedServer node([](const std::string& method, const std::string& target) {
    const std::string tus = "Tus-Resumable: 1.0.0\r\n";
    if (method == "POST") return Reply{201, tus + "Location: /v1/uploads/fresh\r\n", ""};
    if (method == "PATCH" && target == "/v1/uploads/fresh") {
      return Reply{204, tus + "Upload-Offset: 3000\r\n", ""};
    }
    return Reply{404, "", ""};
  });
  auto db = gateway::GatewayDb::open(dir / "gateway.db");
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  ASSERT_TRUE((*db)->record_upload("spool-2", "big.bin", {"old", file.size(), "x"}).ok());
  HubClient hub(plain_client(node.url()));

  gateway::UploadJob job{"spool-2", "big.bin", dir / "big.bin", 1 << 20, nullptr};
  auto upload = gateway::send_resumable(hub, **db, job);
  ASSERT_TRUE(upload.ok()) << upload.status().to_string();
  EXPECT_EQ(upload->id, "fresh");
  EXPECT_EQ(node.requests(), (std::vector<std::string>{"HEAD /v1/uploads/old", "POST /v1/uploads",
                                                       "PATCH /v1/uploads/fresh"}));
  EXPECT_EQ(node.bodies().back(), file);
}

// ---- a real hub behind a dead node -----------------------------------------

const std::string kLetter = "Məktub № 14-3-2051 (inteqrasiya).pdf";

std::string example(const std::string& name) {
  return source_dir() + "/examples/documents/" + name;
}

std::string last_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

// `sened ARGS` as `org` of `hub`, with `list` as --hub (none when empty).
std::vector<std::string> as(const HubProcess& hub, const std::string& org, const std::string& list,
                            std::vector<std::string> args) {
  std::string d = hub.client_dir(org);
  std::vector<std::string> argv{sened_binary(), args.front()};
  if (!list.empty()) argv.insert(argv.end(), {"--hub", list});
  argv.insert(argv.end(),
              {"--ca", d + "/ca.pem", "--cert", d + "/cert.pem", "--key", d + "/key.pem"});
  argv.insert(argv.end(), args.begin() + 1, args.end());
  return argv;
}

// The ids of the documents in `org`'s inbox (all of them, acknowledged too).
std::vector<std::string> inbox_ids(const HubProcess& hub, const std::string& org,
                                   const std::string& list) {
  auto r = run_command(as(hub, org, list, {"inbox", "--all", "--json"}));
  if (r.exit_code != 0) return {"inbox failed: " + r.err};
  std::vector<std::string> ids;
  json::value page = json::parse(r.out);
  for (const auto& d : page.as_object().at("documents").as_array()) {
    ids.emplace_back(d.as_object().at("id").as_string());
  }
  return ids;
}

class FailoverHubTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    hub_ = new HubProcess({"az.mddt", "az.finance"});
    hub_->start();
  }
  static void TearDownTestSuite() {
    delete hub_;
    hub_ = nullptr;
  }

  static HubProcess* hub_;
  ClosedPort dead_;
};
HubProcess* FailoverHubTest::hub_ = nullptr;

TEST_F(FailoverHubTest, SendIsDeliveredThroughTheNextNodeWhenTheFirstDoesNotAnswer) {
  std::string list = dead_.url() + "," + hub_->url();
  std::vector<std::string> send = {"send",      "--to",           "az.finance",
                                   "--subject", "Növbəti qovşaq", example(kLetter)};
  auto sent = run_command(as(*hub_, "az.mddt", list, send));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id = last_line(sent.out);

  // The same command again, the live node first now: the first document.
  auto again = run_command(as(*hub_, "az.mddt", hub_->url() + "," + dead_.url(), send));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(last_line(again.out), id);
  auto ids = inbox_ids(*hub_, "az.finance", list);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 1);
}

TEST_F(FailoverHubTest, BadHubListsFailClearlyAndSendNothing) {
  auto before = inbox_ids(*hub_, "az.finance", hub_->url());
  struct Case {
    std::string list;
    std::string says;
  };
  const std::string url = hub_->url();
  for (const auto& [list, says] :
       {Case{",", "item 1 is empty"}, Case{url + ",," + url, "item 2 is empty"},
        Case{"ftp://x", "bad hub URL \"ftp://x\""}, Case{url + ",ftp://x", "item 2"},
        Case{url + "," + url, "same node as item 1"}, Case{url + ",", "item 2 is empty"}}) {
    auto r = run_command(as(*hub_, "az.mddt", list,
                            {"send", "--to", "az.finance", "--subject", "Yox", example(kLetter)}));
    EXPECT_EQ(r.exit_code, 1) << list;
    EXPECT_TRUE(contains(r.err, "error: invalid_argument: ")) << r.err;
    EXPECT_TRUE(contains(r.err, says)) << list << ": " << r.err;
  }
  // An empty --hub falls back to the environment: a bad SENED_HUB fails the same way.
  setenv("SENED_HUB", (url + ", ,").c_str(), 1);
  auto r = run_command(as(*hub_, "az.mddt", "",
                          {"send", "--to", "az.finance", "--subject", "Yox", example(kLetter)}));
  unsetenv("SENED_HUB");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "item 2 is empty")) << r.err;
  EXPECT_EQ(inbox_ids(*hub_, "az.finance", hub_->url()), before);
}

TEST_F(FailoverHubTest, AllNodesDownGivesOneErrorNamingEachNode) {
  ClosedPort other;
  auto r = run_command(as(*hub_, "az.finance", dead_.url() + "," + other.url(), {"inbox"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error: unavailable: no hub node answered (2 tried)")) << r.err;
  EXPECT_TRUE(contains(r.err, dead_.url() + ": cannot connect")) << r.err;
  EXPECT_TRUE(contains(r.err, other.url() + ": cannot connect")) << r.err;
}

// A single node whose answer is a 503 without Sened's error body (a proxy's
// page): the CLI still says "unavailable", not "internal".
TEST_F(FailoverHubTest, ASingleNodeAnswering503WithoutAnErrorBodyIsUnavailable) {
  ScriptedServer proxy([](const std::string&, const std::string&) {
    return Reply{503, "Content-Type: text/html\r\n", "<html>Service Unavailable</html>"};
  });
  auto r = run_command(as(*hub_, "az.finance", proxy.url(), {"inbox"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error: unavailable: hub answered HTTP 503")) << r.err;
}

TEST_F(FailoverHubTest, AProfileMayListTheNodesAsAnArray) {
  TempDir home;
  std::string d = hub_->client_dir("az.finance");
  write_file(home / "profile.toml", "hub = [\"" + dead_.url() + "\", \"" + hub_->url() +
                                        "\"]\ncert = \"" + d + "/cert.pem\"\nkey = \"" + d +
                                        "/key.pem\"\nca = \"" + d + "/ca.pem\"\n");
  setenv("SENED_PROFILE", (home / "profile.toml").c_str(), 1);
  auto listed = run_command({sened_binary(), "inbox"});
  write_file(home / "profile.toml", "hub = [\"" + hub_->url() + "\", \"\"]\n");
  auto refused = run_command({sened_binary(), "inbox"});
  unsetenv("SENED_PROFILE");
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(contains(listed.out, "cursor:")) << listed.out;
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, "item 2 is empty")) << refused.err;
}

TEST_F(FailoverHubTest, AnEventStreamOpensOnTheNextNode) {
  ClientOptions o = hub_->client("az.finance");
  o.url = dead_.url() + "," + hub_->url();
  auto stream = EventStream::open(o, "/v1/stream");
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  (*stream)->close();
}

TEST_F(FailoverHubTest, AGatewayRefusesABadHubListBeforeMakingItsFolder) {
  TempDir root;
  std::string d = hub_->client_dir("az.mddt");
  auto r = run_command({sened_binary(), "gateway", "--dir", root / "gw", "--hub",
                        hub_->url() + ",," + dead_.url(), "--cert", d + "/cert.pem", "--key",
                        d + "/key.pem", "--ca", d + "/ca.pem"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error: invalid_argument: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "item 2 is empty")) << r.err;
  EXPECT_FALSE(fs::exists(root / "gw"));

  gateway::GatewayOptions options;
  options.dir = root / "library";
  options.hub = hub_->client("az.mddt");
  options.hub.url = "ftp://x," + hub_->url();
  auto opened = gateway::Gateway::open(options);
  EXPECT_EQ(opened.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(root / "library"));
}

// ---- two real hub nodes on one PostgreSQL database ---------------------------

// A second `sened hub` on the first node's data folder (and so its
// database, through SENED_STORE): another node of the same hub.
class ExtraNode {
 public:
  ExtraNode(const HubProcess& first, const std::string& name) {
    std::string address =
        process_.start({"hub", "--data", first.dir(), "--listen", "127.0.0.1:0"},
                       first.dir() + "/" + name + ".addr", first.dir() + "/" + name + ".log");
    url_ = "https://" + address;
  }
  const std::string& url() const { return url_; }
  int kill() { return process_.stop(SIGKILL); }
  std::string log() const { return process_.log(); }

 private:
  ServiceProcess process_;
  std::string url_;
};

class FailoverClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (pg_test_url().empty()) GTEST_SKIP() << kNoPgServer;
    schema_ = std::make_unique<PgSchema>();
    // Inherited by every `sened` the fixture runs, both nodes included.
    setenv("SENED_STORE", schema_->url().c_str(), 1);
    a_ = std::make_unique<HubProcess>(std::vector<std::string>{"az.mddt", "az.finance"});
    a_->start();
    b_ = std::make_unique<ExtraNode>(*a_, "node-b");
    list_ = a_->url() + "," + b_->url();
  }

  void TearDown() override {
    b_.reset();
    a_.reset();
    unsetenv("SENED_STORE");
    schema_.reset();
  }

  std::string sql(const std::string& query) { return pg_sql(query, schema_->name()); }
  int documents() { return std::stoi(sql("SELECT count(*) FROM documents")); }

  std::unique_ptr<PgSchema> schema_;
  std::unique_ptr<HubProcess> a_;
  std::unique_ptr<ExtraNode> b_;
  std::string list_;
};

TEST_F(FailoverClusterTest, SendGoesToTheOtherNodeWhenTheFirstIsKilled) {
  ASSERT_EQ(a_->stop(SIGKILL), 128 + SIGKILL);
  auto sent = run_command(as(*a_, "az.mddt", list_,
                             {"send", "--to", "az.finance", "--subject", "B", example(kLetter)}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err << b_->log();
  std::string id = last_line(sent.out);
  EXPECT_EQ(inbox_ids(*a_, "az.finance", list_), std::vector<std::string>{id});
  EXPECT_EQ(documents(), 1);
}

TEST_F(FailoverClusterTest, EverySendOfABatchArrivesOnceWhenANodeIsKilledMidway) {
  constexpr int kSends = 12;
  std::vector<CommandResult> results(kSends);
  std::thread batch([&] {
    for (int i = 0; i < kSends; ++i) {
      results[i] = run_command(as(*a_, "az.mddt", list_,
                                  {"send", "--to", "az.finance", "--subject",
                                   "Paket " + std::to_string(i), example(kLetter)}));
    }
  });
  // Kill the node the batch is using while the batch runs.
  bool some_sent = eventually([&] { return documents() >= 3; });
  a_->stop(SIGKILL);
  batch.join();
  ASSERT_TRUE(some_sent);

  std::set<std::string> reported;
  for (int i = 0; i < kSends; ++i) {
    ASSERT_EQ(results[i].exit_code, 0) << i << ": " << results[i].err;
    reported.insert(last_line(results[i].out));
  }
  EXPECT_EQ(reported.size(), static_cast<size_t>(kSends));
  auto ids = inbox_ids(*a_, "az.finance", list_);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), reported);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kSends));
  EXPECT_EQ(documents(), kSends);
  EXPECT_EQ(sql("SELECT count(DISTINCT subject) FROM documents"), std::to_string(kSends));
}

// The JSON lines `sened watch --json` printed to `log` (its stderr lines,
// spdlog's, start otherwise), as the document ids they name.
std::vector<std::string> watched_documents(const std::string& log) {
  std::vector<std::string> ids;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("{")) continue;
    json::object event = json::parse(line).as_object();
    if (event.at("type").as_string() == "document.new") {
      ids.emplace_back(event.at("document").as_string());
    }
  }
  return ids;
}

TEST_F(FailoverClusterTest, WatchGoesOnFromTheOtherNodeAfterAKill) {
  TempDir out;
  std::vector<std::string> args = as(*a_, "az.finance", list_, {"watch", "--json"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t watch = spawn_tied_to_parent(argv, out / "watch.log", SIGKILL);
  ASSERT_GT(watch, 0);
  auto send = [&](const std::string& subject) {
    auto r =
        run_command(as(*a_, "az.mddt", list_,
                       {"send", "--to", "az.finance", "--subject", subject, example(kLetter)}));
    return r.exit_code == 0 ? last_line(r.out) : "send failed: " + r.err;
  };

  std::string first = send("Əvvəl");
  bool seen_first =
      eventually([&] { return !watched_documents(read_file(out / "watch.log")).empty(); });
  a_->stop(SIGKILL);
  std::string second = send("Sonra");
  bool seen_second =
      eventually([&] { return watched_documents(read_file(out / "watch.log")).size() >= 2; });
  ::kill(watch, SIGTERM);
  int status = 0;
  waitpid(watch, &status, 0);

  std::string log = read_file(out / "watch.log");
  EXPECT_TRUE(seen_first && seen_second) << log;
  EXPECT_EQ(watched_documents(log), (std::vector<std::string>{first, second})) << log;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
}

// `sened gateway` for `org`, connected to the nodes in `list`.
class GatewayRun {
 public:
  GatewayRun(const HubProcess& hub, const std::string& org, const std::string& list) {
    std::string c = hub.client_dir(org);
    std::vector<std::string> args{sened_binary(),
                                  "gateway",
                                  "--dir",
                                  dir(),
                                  "--hub",
                                  list,
                                  "--cert",
                                  c + "/cert.pem",
                                  "--key",
                                  c + "/key.pem",
                                  "--ca",
                                  c + "/ca.pem",
                                  "--poll-ms",
                                  "50",
                                  "--event-wait",
                                  "2",
                                  "--max-backoff-ms",
                                  "300"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = spawn_tied_to_parent(argv, root_ / "gateway.log", SIGKILL);
  }
  ~GatewayRun() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  std::string dir() const { return root_ / "gw"; }
  std::string log() const { return read_file(root_ / "gateway.log"); }

  void drop_letter(const std::string& name, const std::string& subject) const {
    std::string p = dir() + "/outbox/" + name;
    fs::create_directories(p + "/files");
    json::object m{{"kind", "letter"},
                   {"subject", subject},
                   {"recipients", json::object{{"to", json::array{"az.finance"}}}},
                   {"files", json::array{json::object{{"name", "letter.txt"}}}}};
    write_file(p + "/envelope.json", json::serialize(m));
    write_file(p + "/files/letter.txt", "text of " + subject);
    write_file(p + "/READY", "");
  }

  // Documents written to inbox/ (or moved on to processed/).
  std::set<std::string> received() const {
    std::set<std::string> out;
    for (const char* sub : {"/inbox", "/inbox/processed"}) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir() + sub, ec)) {
        std::string n = e.path().filename().string();
        if (e.is_directory() && n != "processed" && !n.starts_with(".")) out.insert(n);
      }
    }
    return out;
  }

  int sent_count() const {
    std::error_code ec;
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir() + "/sent", ec)) n += e.is_directory();
    return n;
  }

 private:
  TempDir root_;
  pid_t pid_ = -1;
};

TEST_F(FailoverClusterTest, GatewaysDeliverEveryPackageOnceWhenANodeDiesMidStream) {
  constexpr int kFirst = 6;
  constexpr int kAll = 12;
  GatewayRun sender(*a_, "az.mddt", list_);
  GatewayRun receiver(*a_, "az.finance", list_);
  ASSERT_TRUE(sender.started() && receiver.started());
  for (int i = 0; i < kFirst; ++i) {
    sender.drop_letter("p" + std::to_string(i), "Gateway " + std::to_string(i));
  }
  bool some_sent = eventually([&] { return documents() >= 2; });
  ASSERT_EQ(a_->stop(SIGKILL), 128 + SIGKILL);
  ASSERT_TRUE(some_sent);
  for (int i = kFirst; i < kAll; ++i) {
    sender.drop_letter("p" + std::to_string(i), "Gateway " + std::to_string(i));
  }

  bool all_sent = eventually([&] { return sender.sent_count() == kAll; });
  EXPECT_TRUE(all_sent) << sender.log();
  bool all_received = eventually([&] { return receiver.received().size() == kAll; });
  EXPECT_TRUE(all_received) << receiver.log();
  EXPECT_EQ(documents(), kAll);
  EXPECT_EQ(sql("SELECT count(DISTINCT sender_ref) FROM documents"), std::to_string(kAll));
  EXPECT_EQ(sql("SELECT count(DISTINCT subject) FROM documents"), std::to_string(kAll));
  EXPECT_EQ(receiver.received().size(), static_cast<size_t>(kAll));
  EXPECT_TRUE(fs::is_empty(sender.dir() + "/failed")) << sender.log();
}

}  // namespace
}  // namespace sened::testing
