// The agency gateway (`sened gateway`): hot folders against a real hub.
// Package checks run in-process; exchanges and crashes use the real binary.
#include "gateway/gateway.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "core/process.h"
#include "crypto/digest.h"
#include "gateway/local_api.h"
#include "gateway/package.h"
#include "store/sqlite/sqlite_db.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

// Visible entries of a folder (names not starting with '.').
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n[0] != '.') out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The metadata an EDMS writes as envelope.json.
std::string envelope(const std::vector<std::string>& to, const std::string& subject,
                     const std::vector<std::string>& files, const std::string& ref = "") {
  json::object m{{"kind", "letter"}, {"subject", subject}};
  if (!ref.empty()) m["sender_ref"] = ref;
  json::array t, list;
  for (const auto& r : to) t.emplace_back(r);
  m["recipients"] = json::object{{"to", t}};
  for (const auto& f : files) list.push_back(json::object{{"name", f}});
  m["files"] = list;
  return json::serialize(m);
}

// Drops a package the way an EDMS does: envelope, files, then READY.
void drop_package(const std::string& gw, const std::string& name, const std::string& envelope_text,
                  const std::map<std::string, std::string>& files, bool ready = true) {
  std::string p = gw + "/outbox/" + name;
  fs::create_directories(p + "/files");
  write_file(p + "/envelope.json", envelope_text);
  for (const auto& [n, bytes] : files) write_file(p + "/files/" + n, bytes);
  if (ready) write_file(p + "/READY", "");
}

void drop_letter(const std::string& gw, const std::string& name, const std::string& to,
                 const std::string& subject) {
  drop_package(gw, name, envelope({to}, subject, {"letter.txt"}),
               {{"letter.txt", "text of " + subject}});
}

json::object read_json(const std::string& path) { return json::parse(read_file(path)).as_object(); }

// `sened gateway` as a child process for participant `org` of `hub`.
class GatewayProcess {
 public:
  GatewayProcess(const HubProcess& hub, std::string org) : hub_(hub), org_(std::move(org)) {}
  ~GatewayProcess() {
    if (pid_ > 0) stop(SIGKILL);
  }

  void start() {
    std::string c = hub_.client_dir(org_);
    std::vector<std::string> args{sened_binary(), "gateway", "--dir", dir(), "--hub", hub_.url()};
    args.insert(args.end(),
                {"--cert", c + "/cert.pem", "--key", c + "/key.pem", "--ca", c + "/ca.pem",
                 "--poll-ms", "50", "--event-wait", "2", "--max-backoff-ms", "500"});
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = spawn_tied_to_parent(argv, dir_ / "gateway.log", SIGKILL);
    ASSERT_GT(pid_, 0);
  }

  int stop(int signal) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::vector<std::string> extra_args;  // more flags for `sened gateway`

  std::string dir() const { return dir_ / "gw"; }
  std::string operator/(const std::string& rel) const { return dir() + "/" + rel; }
  std::string log() const { return read_file(dir_ / "gateway.log"); }
  json::object status() const {
    auto r = run_command({sened_binary(), "gateway", "status", "--dir", dir(), "--json"});
    return r.exit_code == 0 ? json::parse(r.out).as_object() : json::object{};
  }
  // Inbox folders written so far, in inbox/ or moved to processed/.
  std::vector<std::string> received() const {
    std::vector<std::string> out;
    for (const auto& n : entries(dir() + "/inbox")) {
      if (n != "processed") out.push_back(n);
    }
    for (const auto& n : entries(dir() + "/inbox/processed")) out.push_back(n);
    return out;
  }

 private:
  const HubProcess& hub_;
  std::string org_;
  TempDir dir_;
  pid_t pid_ = -1;
};

// The hub again on the port it had (a gateway's --hub keeps pointing there),
// on the same data folder. HubProcess itself always takes a fresh port.
class RestartedHub {
 public:
  explicit RestartedHub(const HubProcess& hub) {
    std::string listen = hub.url().substr(std::string("https://").size());
    std::string port_file = hub.dir() + "/restart.addr";
    fs::remove(port_file);
    std::vector<std::string> args{sened_binary(), "hub",  "--data",      hub.dir(),
                                  "--listen",     listen, "--port-file", port_file};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = spawn_tied_to_parent(argv, hub.dir() + "/hub.log", SIGKILL);
    // The old port may linger briefly after the kill; the hub's own start
    // fails then, so start again until it listens.
    bool up = wait_until([&] {
      if (fs::exists(port_file)) return true;
      if (waitpid(pid_, nullptr, WNOHANG) == pid_)
        pid_ = spawn_tied_to_parent(argv, hub.dir() + "/hub.log", SIGKILL);
      return false;
    });
    if (!up) throw std::runtime_error("the hub did not restart: " + hub.log());
  }
  ~RestartedHub() {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_ = -1;
};

// A stand-in for an EDMS's HTTP endpoint on loopback: answers every request
// with 200 and Connection: close, and keeps the bodies it got.
class FakeEdms {
 public:
  FakeEdms() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeEdms() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/edms/incoming"; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{5, 0};  // a stuck client cannot hold the test
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string in = read_request(c);
      const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!::write(c, reply, sizeof reply - 1);
      ::close(c);
      size_t head_end = in.find("\r\n\r\n");
      std::lock_guard lock(mu_);
      if (head_end != std::string::npos) bodies_.push_back(in.substr(head_end + 4));
    }
  }
  static std::string read_request(int c) {
    std::string in;
    char buf[8192];
    for (;;) {
      size_t head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t at = in.find("Content-Length: ");
        if (at == std::string::npos) at = in.find("content-length: ");
        size_t length = at == std::string::npos ? 0 : std::stoul(in.substr(at + 16));
        if (in.size() >= head_end + 4 + length) return in;
      }
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return in;
      in.append(buf, static_cast<size_t>(n));
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

bool hub_has_events(const HubProcess& hub, const std::string& org) {
  client::HubClient c(hub.client(org));
  auto r = c.request("GET", "/v1/events?wait=0");
  return r.ok() && r->status == 200;
}

// Every document `org` sent, from the hub's outbox listing.
std::vector<json::object> hub_outbox(const HubProcess& hub, const std::string& org) {
  client::HubClient c(hub.client(org));
  std::vector<json::object> out;
  std::string after;
  for (;;) {
    auto r = c.request("GET", "/v1/outbox" + (after.empty() ? "" : "?after=" + after));
    if (!r.ok() || r->status != 200) throw std::runtime_error("outbox listing failed");
    json::object page = json::parse(r->body).as_object();
    if (page.at("documents").as_array().empty()) return out;
    for (auto& d : page.at("documents").as_array()) out.push_back(d.as_object());
    after = std::string(page.at("cursor").as_string());
  }
}

// ---------------------------------------------------------------------------
// Packages, checked in-process (no hub needed: nothing bad is ever sent).

class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway::GatewayOptions o;
    o.dir = dir_.path();
    o.hub.url = "https://127.0.0.1:1";  // never contacted by these tests
    auto g = gateway::Gateway::open(o);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    gw_ = std::move(*g);
  }

  // Scans once and returns the reason the package `name` failed with.
  std::string refusal(const std::string& name) {
    Status st = gw_->scan_outbox();
    EXPECT_TRUE(st.ok()) << st.to_string();
    EXPECT_FALSE(fs::exists(dir_ / ("outbox/" + name)));
    std::string note = dir_ / ("failed/" + name + "/error.txt");
    if (!fs::exists(note)) note = dir_ / ("failed/" + name + ".error.txt");
    return fs::exists(note) ? read_file(note) : "(no error.txt)";
  }

  int64_t queued() { return gw_->db().counts()->queued; }

  TempDir dir_;
  std::unique_ptr<gateway::Gateway> gw_;
};

TEST_F(PackageTest, StoresACompletePackageInTheSpool) {
  drop_letter(dir_.path(), "p1", "az.finance", "one");
  ASSERT_TRUE(gw_->scan_outbox().ok());
  EXPECT_EQ(queued(), 1);
  EXPECT_FALSE(fs::exists(dir_ / "outbox/p1"));
  EXPECT_TRUE(entries(dir_ / "failed").empty());
}

TEST_F(PackageTest, WaitsForTheReadyFile) {
  drop_package(dir_.path(), "p1", envelope({"az.finance"}, "s", {"a.txt"}), {{"a.txt", "a"}},
               false);
  ASSERT_TRUE(gw_->scan_outbox().ok());
  EXPECT_EQ(queued(), 0);
  EXPECT_TRUE(fs::exists(dir_ / "outbox/p1/envelope.json"));
}

TEST_F(PackageTest, RefusesAnEnvelopeThatIsNotJson) {
  drop_package(dir_.path(), "bad", "{\"kind\": letter", {{"a.txt", "a"}});
  EXPECT_NE(refusal("bad").find("not JSON"), std::string::npos);
  EXPECT_EQ(queued(), 0);
}

TEST_F(PackageTest, RefusesAnEnvelopeThatIsNotUtf8) {
  drop_package(dir_.path(), "bad", "{\"subject\":\"\xff\xfe\"}", {{"a.txt", "a"}});
  EXPECT_NE(refusal("bad").find("not valid UTF-8"), std::string::npos);
}

TEST_F(PackageTest, RefusesAFileNameWithAParentFolder) {
  drop_package(dir_.path(), "bad", envelope({"az.finance"}, "s", {"../x"}), {{"a.txt", "a"}});
  EXPECT_NE(refusal("bad").find("files[0]"), std::string::npos);
}

TEST_F(PackageTest, RefusesAnAbsoluteFileName) {
  drop_package(dir_.path(), "bad", envelope({"az.finance"}, "s", {"/etc/passwd"}), {});
  EXPECT_NE(refusal("bad").find("files[0]"), std::string::npos);
}

TEST_F(PackageTest, RefusesASymlinkPointingOutside) {
  drop_package(dir_.path(), "bad", envelope({"az.finance"}, "s", {"a.txt"}), {});
  fs::create_symlink("/etc/hostname", dir_ / "outbox/bad/files/a.txt");
  EXPECT_NE(refusal("bad").find("symbolic link"), std::string::npos);
  EXPECT_EQ(queued(), 0);
}

TEST_F(PackageTest, RefusesAPackageFolderThatIsASymlink) {
  fs::create_directories(dir_ / "elsewhere");
  fs::create_directory_symlink(dir_ / "elsewhere", dir_ / "outbox/linked");
  EXPECT_NE(refusal("linked").find("not a package folder"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere/error.txt"));
}

TEST_F(PackageTest, RefusesAMissingFile) {
  drop_package(dir_.path(), "bad", envelope({"az.finance"}, "s", {"a.txt", "b.txt"}),
               {{"a.txt", "a"}});
  EXPECT_NE(refusal("bad").find("b.txt is listed but missing"), std::string::npos);
}

TEST_F(PackageTest, RefusesAnExtraFile) {
  drop_package(dir_.path(), "bad", envelope({"az.finance"}, "s", {"a.txt"}),
               {{"a.txt", "a"}, {"stray.txt", "x"}});
  EXPECT_NE(refusal("bad").find("stray.txt is not listed"), std::string::npos);
}

TEST_F(PackageTest, RefusesMetadataTheHubWouldRefuse) {
  drop_package(dir_.path(), "bad", envelope({"Not An Id"}, "s", {"a.txt"}), {{"a.txt", "a"}});
  EXPECT_NE(refusal("bad").find("recipients.to[0]"), std::string::npos);
}

TEST_F(PackageTest, SendsASignatureBesideItsFile) {
  drop_package(dir_.path(), "p", envelope({"az.finance"}, "s", {"a.pdf"}),
               {{"a.pdf", "%PDF"}, {"a.pdf.p7s", "sig"}});
  ASSERT_TRUE(gw_->scan_outbox().ok());
  EXPECT_EQ(queued(), 1);
}

TEST_F(PackageTest, ABadPackageDoesNotStopTheOthers) {
  drop_letter(dir_.path(), "a-good", "az.finance", "first");
  drop_package(dir_.path(), "b-bad", "not json", {{"a.txt", "a"}});
  drop_letter(dir_.path(), "c-good", "az.finance", "second");
  ASSERT_TRUE(gw_->scan_outbox().ok());
  EXPECT_EQ(queued(), 2);
  EXPECT_EQ(entries(dir_ / "failed"), std::vector<std::string>{"b-bad"});
  EXPECT_TRUE(entries(dir_ / "outbox").empty());
}

TEST_F(PackageTest, DerivesAStableSenderRef) {
  EXPECT_EQ(gateway::derived_sender_ref("2026-0001"), "gw-2026-0001");
  EXPECT_EQ(gateway::derived_sender_ref("Məktub 1"), gateway::derived_sender_ref("Məktub 1"));
  EXPECT_NE(gateway::derived_sender_ref("Məktub 1"), gateway::derived_sender_ref("Məktub 2"));
}

TEST_F(PackageTest, ABadActionFileGoesToFailedWithTheReason) {
  write_file(dir_ / "actions/a1.json", "{\"document\": 1");
  write_file(dir_ / "actions/a2.json",
             "{\"document\":\"0190a1b2-0000-7000-8000-000000000000\",\"action\":\"dance\"}");
  client::HubClient nowhere(client::ClientOptions{"https://127.0.0.1:1", "", "", "", 5});
  ASSERT_TRUE(gw_->run_actions(nowhere).ok());
  EXPECT_NE(read_file(dir_ / "failed/a1.json.error.txt").find("not a JSON object"),
            std::string::npos);
  EXPECT_NE(read_file(dir_ / "failed/a2.json.error.txt").find("unknown action"), std::string::npos);
  EXPECT_TRUE(entries(dir_ / "actions").empty());
}

TEST_F(PackageTest, StatusCommandCountsFailures) {
  drop_package(dir_.path(), "bad", "[]", {});
  ASSERT_TRUE(gw_->scan_outbox().ok());
  auto r = run_command({sened_binary(), "gateway", "status", "--dir", dir_.path(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object o = json::parse(r.out).as_object();
  EXPECT_EQ(o.at("failures").as_int64(), 1);
  EXPECT_EQ(o.at("queued").as_int64(), 0);
  EXPECT_TRUE(o.at("last_contact").is_null());
  auto text = run_command({sened_binary(), "gateway", "status", "--dir", dir_.path()});
  EXPECT_NE(text.out.find("failures: 1"), std::string::npos) << text.out;
}

TEST(GatewayStatusTest, SaysWhenTheFolderHoldsNoGateway) {
  TempDir empty;
  auto r = run_command({sened_binary(), "gateway", "status", "--dir", empty.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
}

// ---------------------------------------------------------------------------
// The local HTTP API, driven in-process through its handler.

class LocalApiTest : public PackageTest {
 protected:
  // PUTs a package as multipart/form-data: the envelope, then the files.
  http::Response put_package(const std::string& name, const std::string& envelope_text,
                             const std::vector<std::pair<std::string, std::string>>& files) {
    std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"envelope\"\r\n\r\n" +
                       envelope_text + "\r\n";
    for (const auto& [n, bytes] : files) {
      body += "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + n +
              "\"\r\n\r\n" + bytes + "\r\n";
    }
    body += "--XyZ--\r\n";
    http::Request head;
    head.method = "PUT";
    head.target = "/v1/outbox/" + name;
    head.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
    auto start = api_.begin_upload(head);
    if (!start) return http::Response{0, {}, "not an upload route", std::nullopt};
    if (start->refusal) return *start->refusal;
    Status st = start->sink->write(body);
    if (!st.ok()) return http::error_response(st);
    return start->sink->finish();
  }

  http::Response call(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    http::Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    return api_.handle(r);
  }

  gateway::LocalApi api_{dir_.path()};
};

TEST_F(LocalApiTest, PutsAPackageIntoTheOutboxComplete) {
  auto r = put_package("p1", envelope({"az.finance"}, "s", {"a.txt"}), {{"a.txt", "A"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_TRUE(fs::exists(dir_ / "outbox/p1/READY"));
  EXPECT_EQ(read_file(dir_ / "outbox/p1/files/a.txt"), "A");
  ASSERT_TRUE(gw_->scan_outbox().ok());
  EXPECT_EQ(queued(), 1);
}

TEST_F(LocalApiTest, RefusesAPackageFileNameThatLeavesTheFolder) {
  auto r = put_package("p1", envelope({"az.finance"}, "s", {"a.txt"}), {{"../a.txt", "A"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(entries(dir_ / "outbox").empty());
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(dir_ / "outbox", ec));
}

TEST_F(LocalApiTest, RefusesAPackageWhoseFilesDoNotMatchItsEnvelope) {
  auto r = put_package("p1", envelope({"az.finance"}, "s", {"a.txt", "b.txt"}), {{"a.txt", "A"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("b.txt is listed but missing"), std::string::npos) << r.body;
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(dir_ / "outbox", ec));
}

TEST_F(LocalApiTest, RefusesAHiddenPackageName) {
  auto r = put_package(".p1", envelope({"az.finance"}, "s", {"a.txt"}), {{"a.txt", "A"}});
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(LocalApiTest, TakesAnActionAsAnActionFile) {
  std::string good = R"({"document":"0190a1b2-0000-7000-8000-000000000000","action":"reject",)"
                     R"("reason":"not ours"})";
  auto r = call("POST", "/v1/actions", good);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(entries(dir_ / "actions").size(), 1u);
  auto bad = call("POST", "/v1/actions", R"({"document":"x","action":"reject"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(entries(dir_ / "actions").size(), 1u);
}

TEST_F(LocalApiTest, ListsTheInboxAndTakesADocumentOut) {
  std::string id = "0190a1b2-0000-7000-8000-000000000001";
  fs::create_directories(dir_ / ("inbox/" + id + "/files"));
  write_file(dir_ / ("inbox/" + id + "/envelope.json"),
             R"({"id":")" + id + R"(","files":[{"index":0,"name":"a.txt"}],"gateway_arrival":1})");
  write_file(dir_ / ("inbox/" + id + "/files/a.txt"), "A");
  auto list = call("GET", "/v1/inbox");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body).at("documents").as_array().size(), 1u);
  auto file = call("GET", "/v1/inbox/" + id + "/files/0");
  ASSERT_EQ(file.status, 200);
  ASSERT_TRUE(file.file.has_value());
  EXPECT_EQ(file.file->length, 1u);
  EXPECT_EQ(call("GET", "/v1/inbox/" + id + "/files/1").status, 404);
  EXPECT_EQ(call("POST", "/v1/inbox/" + id + "/processed").status, 200);
  EXPECT_TRUE(fs::exists(dir_ / ("inbox/processed/" + id)));
  EXPECT_EQ(call("POST", "/v1/inbox/../processed").status, 404);
}

TEST_F(LocalApiTest, AnswersTheStatusReport) {
  auto r = call("GET", "/v1/status");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("queued").as_int64(), 0);
}

// ---------------------------------------------------------------------------
// Exchanges through the real hub and the real `sened gateway`.

TEST(GatewayExchangeTest, SendsAPackageAndFilesTheHubsAnswer) {
  HubProcess hub({"az.mddt"});
  hub.start();
  GatewayProcess a(hub, "az.mddt");
  a.start();
  drop_letter(a.dir(), "2026-0001", "az.finance", "Büdcə sorğusu");
  ASSERT_TRUE(wait_until([&] { return fs::exists(a / "sent/2026-0001/answer.json"); })) << a.log();
  json::object answer = read_json(a / "sent/2026-0001/answer.json");
  EXPECT_EQ(answer.at("subject").as_string(), "Büdcə sorğusu");
  EXPECT_EQ(answer.at("sender_ref").as_string(), "gw-2026-0001");
  EXPECT_EQ(hub_outbox(hub, "az.mddt").size(), 1u);
  EXPECT_TRUE(entries(a / "outbox").empty());
}

TEST(GatewayExchangeTest, APackageTheHubRefusesGoesToFailedWithTheReason) {
  HubProcess hub({"az.mddt"});
  hub.start();
  GatewayProcess a(hub, "az.mddt");
  a.start();
  drop_letter(a.dir(), "p1", "az.nowhere", "to nobody");
  drop_letter(a.dir(), "p2", "az.finance", "to finance");
  ASSERT_TRUE(wait_until([&] { return fs::exists(a / "sent/p2/answer.json"); })) << a.log();
  std::string why = read_file(a / "failed/p1/error.txt");
  EXPECT_NE(why.find("invalid_argument"), std::string::npos) << why;
  EXPECT_EQ(a.status().at("failed").as_int64(), 1);
}

TEST(GatewayExchangeTest, ReceivesADocumentDurablyAndAcknowledgesIt) {
  HubProcess hub({"az.mddt", "az.finance"});
  hub.start();
  GatewayProcess a(hub, "az.mddt"), b(hub, "az.finance");
  a.start();
  b.start();
  drop_package(a.dir(), "p1", envelope({"az.finance"}, "Hesabat", {"Hesabat № 5.pdf", "əlavə.txt"}),
               {{"Hesabat № 5.pdf", "%PDF report"}, {"əlavə.txt", "annex"}});
  ASSERT_TRUE(wait_until([&] { return b.received().size() == 1; })) << b.log();
  std::string id = b.received()[0];
  EXPECT_EQ(read_file(b / ("inbox/" + id + "/files/Hesabat № 5.pdf")), "%PDF report");
  EXPECT_EQ(read_file(b / ("inbox/" + id + "/files/əlavə.txt")), "annex");
  json::object env = read_json(b / ("inbox/" + id + "/envelope.json"));
  EXPECT_EQ(env.at("id").as_string(), id);
  EXPECT_EQ(env.at("gateway_arrival").as_int64(), 1);
  ASSERT_TRUE(wait_until([&] {
    auto docs = hub_outbox(hub, "az.mddt");
    auto& d = docs.at(0).at("deliveries").as_array().at(0).as_object();
    return d.at("status").as_string() == "delivered";
  }));
  // The EDMS takes it; the gateway notices.
  fs::rename(b / ("inbox/" + id), b / ("inbox/processed/" + id));
  ASSERT_TRUE(wait_until([&] { return b.status().at("inbox_not_taken").as_int64() == 0; }));
}

TEST(GatewayExchangeTest, LocalApiServedOnLoopbackSendsAndReports) {
  HubProcess hub({"az.mddt", "az.finance"});
  hub.start();
  GatewayProcess a(hub, "az.mddt"), b(hub, "az.finance");
  std::string port_file = a / "local-api.address";
  a.extra_args = {"--local-api", "127.0.0.1:0", "--local-api-port-file", port_file};
  a.start();
  b.start();
  ASSERT_TRUE(wait_until([&] { return fs::exists(port_file); })) << a.log();
  std::string address = read_file(port_file);
  while (!address.empty() && address.back() == '\n') address.pop_back();
  std::string base = "http://" + address;

  // An EDMS sends through the local API with stock curl, no certificate.
  std::string letter = a / "letter.txt";
  write_file(letter, "text sent over the local API");
  json::object env{{"kind", "letter"},
                   {"subject", "via local API"},
                   {"recipients", json::object{{"to", json::array{"az.finance"}}}},
                   {"files", json::array{json::object{{"name", "letter.txt"}}}}};
  std::string env_file = a / "envelope-part.json";
  write_file(env_file, json::serialize(env));
  auto put = run_command({"curl", "-sS", "-X", "PUT", "-F",
                          "envelope=<" + env_file + ";type=application/json", "-F",
                          "file=@" + letter + ";filename=letter.txt", base + "/v1/outbox/api-1"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_NE(put.out.find("\"package\""), std::string::npos) << put.out;
  ASSERT_TRUE(wait_until([&] { return b.received().size() == 1; })) << a.log() << b.log();

  // A bad request changes nothing and says why.
  auto bad = run_command(
      {"curl", "-sS", "-X", "POST", "--data", "{\"action\":\"fly\"}", base + "/v1/actions"});
  EXPECT_NE(bad.out.find("\"error\""), std::string::npos) << bad.out;

  auto status = run_command({"curl", "-sS", base + "/v1/status"});
  ASSERT_EQ(status.exit_code, 0);
  EXPECT_EQ(json::parse(status.out).at("sent").as_int64(), 1) << status.out;

  // Loopback only: any other address is refused before anything starts.
  TempDir other;
  auto refused =
      run_command({sened_binary(), "gateway", "--dir", other.path(), "--hub", hub.url(), "--cert",
                   "c", "--key", "k", "--ca", "a", "--local-api", "0.0.0.0:0"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("loopback only"), std::string::npos) << refused.err;
}

TEST(GatewayExchangeTest, HandsReceivedDocumentsOverToTheDeliverUrl) {
  HubProcess hub({"az.mddt", "az.finance"});
  hub.start();
  FakeEdms edms;
  GatewayProcess a(hub, "az.mddt"), b(hub, "az.finance");
  b.extra_args = {"--deliver-url", edms.url()};
  a.start();
  b.start();
  drop_letter(a.dir(), "p1", "az.finance", "first");
  drop_letter(a.dir(), "p2", "az.finance", "second");
  ASSERT_TRUE(wait_until([&] { return edms.bodies().size() >= 2; })) << b.log();
  auto bodies = edms.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  json::object first = json::parse(bodies[0]).as_object();
  EXPECT_EQ(first.at("subject").as_string(), "first");
  std::string folder(first.at("folder").as_string());
  EXPECT_TRUE(fs::exists(folder + "/envelope.json")) << folder;
  EXPECT_EQ(json::parse(bodies[1]).at("subject").as_string(), "second");
}

TEST(GatewayCliTest, RefusesADeliverUrlOffLoopback) {
  TempDir dir;
  auto r = run_command({sened_binary(), "gateway", "--dir", dir.path(), "--hub",
                        "https://127.0.0.1:1", "--cert", "c", "--key", "k", "--ca", "a",
                        "--deliver-url", "http://192.0.2.1:80/x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--deliver-url must look like"), std::string::npos) << r.err;
}

TEST(GatewayExchangeTest, RetriesWhileTheHubIsDownWithoutDoubling) {
  HubProcess hub({"az.mddt"});
  hub.start();
  GatewayProcess a(hub, "az.mddt");
  a.start();
  hub.stop(SIGKILL);
  drop_letter(a.dir(), "p1", "az.finance", "while down");
  ASSERT_TRUE(wait_until([&] {
    auto s = a.status();
    return s.contains("last_error") && !s.at("last_error").is_null() &&
           s.at("queued").as_int64() == 1;
  })) << a.log();
  RestartedHub again(hub);
  ASSERT_TRUE(wait_until([&] { return fs::exists(a / "sent/p1/answer.json"); })) << a.log();
  EXPECT_EQ(hub_outbox(hub, "az.mddt").size(), 1u);
}

// Checks that `receiver` holds each of the `n` documents "n=0000".. exactly
// once, arrived in the order they were sent, and that the hub holds no
// second copy of any.
void expect_exactly_once_in_order(const HubProcess& hub, const GatewayProcess& receiver,
                                  const std::string& sender, int n) {
  std::vector<std::string> ids = receiver.received();
  ASSERT_EQ(ids.size(), static_cast<size_t>(n));
  std::map<int64_t, std::string> by_arrival;
  std::set<std::string> subjects;
  for (const auto& id : ids) {
    std::string folder = receiver / ("inbox/" + id);
    if (!fs::exists(folder)) folder = receiver / ("inbox/processed/" + id);
    json::object env = read_json(folder + "/envelope.json");
    EXPECT_TRUE(by_arrival
                    .emplace(env.at("gateway_arrival").as_int64(),
                             std::string(env.at("subject").as_string()))
                    .second);
    subjects.insert(std::string(env.at("subject").as_string()));
  }
  EXPECT_EQ(subjects.size(), static_cast<size_t>(n));
  std::string previous;
  for (const auto& [arrival, subject] : by_arrival) {
    EXPECT_LT(previous, subject) << "arrival " << arrival;
    previous = subject;
  }
  EXPECT_EQ(hub_outbox(hub, sender).size(), static_cast<size_t>(n));
}

std::string numbered(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "n=%04d", i);
  return buf;
}

TEST(GatewayCrashTest, KillingTheHubLosesAndDoublesNothing) {
  constexpr int kDocuments = 500;
  HubProcess hub({"az.mddt", "az.finance"});
  hub.start();
  GatewayProcess a(hub, "az.mddt"), b(hub, "az.finance");
  a.start();
  b.start();
  for (int i = 0; i < kDocuments; ++i) drop_letter(a.dir(), numbered(i), "az.finance", numbered(i));
  ASSERT_TRUE(wait_until([&] { return entries(a / "sent").size() >= 50; })) << a.log();
  hub.stop(SIGKILL);
  RestartedHub again(hub);
  ASSERT_TRUE(wait_until([&] { return b.received().size() >= kDocuments; })) << b.log();
  ASSERT_TRUE(wait_until([&] { return entries(a / "sent").size() == kDocuments; })) << a.log();
  expect_exactly_once_in_order(hub, b, "az.mddt", kDocuments);
  EXPECT_TRUE(entries(a / "failed").empty());
}

TEST(GatewayCrashTest, KillingBothGatewaysMidTransferLosesAndDoublesNothing) {
  constexpr int kDocuments = 200;
  HubProcess hub({"az.mddt", "az.finance"});
  hub.start();
  GatewayProcess a(hub, "az.mddt"), b(hub, "az.finance");
  a.start();
  b.start();
  for (int i = 0; i < kDocuments; ++i) drop_letter(a.dir(), numbered(i), "az.finance", numbered(i));
  ASSERT_TRUE(wait_until([&] { return entries(a / "sent").size() >= 30; })) << a.log();
  a.stop(SIGKILL);
  ASSERT_TRUE(wait_until([&] { return b.received().size() >= 20; })) << b.log();
  b.stop(SIGKILL);
  a.start();
  ASSERT_TRUE(wait_until([&] { return entries(a / "sent").size() >= 120; })) << a.log();
  a.stop(SIGKILL);
  a.start();
  b.start();
  ASSERT_TRUE(wait_until([&] { return b.received().size() >= kDocuments; })) << b.log();
  ASSERT_TRUE(wait_until([&] { return entries(a / "sent").size() == kDocuments; })) << a.log();
  expect_exactly_once_in_order(hub, b, "az.mddt", kDocuments);
  EXPECT_TRUE(entries(a / "failed").empty());
  EXPECT_TRUE(entries(b / "inbox").size() == kDocuments + 1);  // and processed/
}

constexpr uint64_t kMiB = 1024 * 1024;

// The large file of the resumable-upload tests: ~300 MiB in an optimised
// build, 64 MiB in a debug or sanitizer build; SENED_GATEWAY_BIG_MB
// overrides.
uint64_t large_file_size() {
  if (const char* mb = std::getenv("SENED_GATEWAY_BIG_MB")) return std::stoull(mb) * kMiB;
#ifdef NDEBUG
  return 300 * kMiB;
#else
  return 64 * kMiB;
#endif
}

// Writes `size` bytes of a cheap pattern (each MiB block stamped with its
// number, so no two blocks match) to `path`; returns their SHA-256.
std::string write_pattern_file(const std::string& path, uint64_t size) {
  std::ofstream out(path, std::ios::binary);
  crypto::Sha256 hash;
  std::string block(kMiB, '\0');
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>('a' + i % 26);
  for (uint64_t done = 0, n = 0; done < size; ++n) {
    std::string stamp = "block " + std::to_string(n) + "\n";
    block.replace(0, stamp.size(), stamp);
    size_t len = static_cast<size_t>(std::min<uint64_t>(block.size(), size - done));
    out.write(block.data(), static_cast<std::streamsize>(len));
    hash.update(std::string_view(block.data(), len));
    done += len;
  }
  return crypto::to_hex(hash.finish());
}

// Bytes the hub holds in its upload staging folder, over all uploads.
uint64_t hub_upload_bytes(const HubProcess& hub) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(hub.dir() + "/files/.staging/uploads", ec)) {
    if (e.path().extension() == ".data") total += fs::file_size(e.path(), ec);
  }
  return total;
}

// The offsets of every "resuming upload" line in a gateway's log.
std::vector<uint64_t> resumed_offsets(const std::string& log) {
  std::vector<uint64_t> out;
  std::regex line(R"(resuming upload .* offset=(\d+))");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
       ++it) {
    out.push_back(std::stoull((*it)[1].str()));
  }
  return out;
}

bool has_temp_folder(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) return true;
  }
  return false;
}

// Drops a package with a small letter and the large file `big.bin`, written
// in place; returns the large file's SHA-256.
std::string drop_large_package(const GatewayProcess& g, const std::string& name,
                               const std::string& ref, uint64_t size) {
  std::string p = g / ("outbox/" + name);
  fs::create_directories(p + "/files");
  write_file(p + "/envelope.json",
             envelope({"az.finance"}, "Böyük hesabat", {"letter.txt", "big.bin"}, ref));
  write_file(p + "/files/letter.txt", "covering letter");
  std::string digest = write_pattern_file(p + "/files/big.bin", size);
  write_file(p + "/READY", "");
  return digest;
}

TEST(GatewayCrashTest, KillingTheSenderMidUploadResumesFromTheHubsOffset) {
  const uint64_t size = large_file_size();
  HubProcess hub({"az.mddt", "az.finance"});
  hub.start();
  GatewayProcess a(hub, "az.mddt"), b(hub, "az.finance");
  a.start();
  b.start();
  std::string digest = drop_large_package(a, "big", "big-1", size);

  // Kill the sender once the hub holds part of the upload, then restart it.
  ASSERT_TRUE(wait_until([&] { return hub_upload_bytes(hub) > 0; })) << a.log();
  a.stop(SIGKILL);
  ASSERT_LT(hub_upload_bytes(hub), size) << "the upload ended before the kill";
  a.start();
  ASSERT_TRUE(wait_until([&] { return fs::exists(a / "sent/big/answer.json"); })) << a.log();
  std::vector<uint64_t> resumed = resumed_offsets(a.log());
  // The hub may not have noticed the cut connection when the gateway first
  // asks (HEAD then reports what it has recorded so far, possibly 0, and the
  // first PATCH is refused as busy or out of place); the resumption that
  // completes the upload starts past zero.
  ASSERT_FALSE(resumed.empty()) << a.log();
  EXPECT_GT(resumed.back(), 0u) << a.log();
  EXPECT_LT(resumed.back(), size);

  // Kill the receiver too, mid-download if it is caught there.
  ASSERT_TRUE(wait_until([&] { return has_temp_folder(b / "inbox") || !b.received().empty(); }));
  b.stop(SIGKILL);
  b.start();
  ASSERT_TRUE(wait_until([&] { return b.received().size() == 1; })) << b.log();
  std::string id = b.received()[0];
  std::string folder = b / ("inbox/" + id);
  auto got = crypto::sha256_file_hex(folder + "/files/big.bin");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, digest);
  EXPECT_EQ(read_file(folder + "/files/letter.txt"), "covering letter");
  EXPECT_FALSE(has_temp_folder(b / "inbox"));

  auto sent = hub_outbox(hub, "az.mddt");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].at("sender_ref").as_string(), "big-1");
  EXPECT_TRUE(entries(a / "failed").empty());
}

// Files in the hub's upload staging folder with `extension` (".data", ".json").
std::vector<fs::path> hub_upload_files(const HubProcess& hub, const std::string& extension) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(hub.dir() + "/files/.staging/uploads", ec)) {
    if (e.path().extension() == extension) out.push_back(e.path());
  }
  return out;
}

TEST(GatewayCrashTest, StartsANewUploadWhenTheHubLostTheOldOne) {
  const uint64_t size = large_file_size();
  HubProcess hub({"az.mddt", "az.finance"});
  hub.start();
  GatewayProcess a(hub, "az.mddt");
  a.start();
  std::string digest = drop_large_package(a, "big", "big-lost", size);
  ASSERT_TRUE(wait_until([&] { return hub_upload_bytes(hub) > 0; })) << a.log();
  a.stop(SIGKILL);
  ASSERT_LT(hub_upload_bytes(hub), size) << "the upload ended before the kill";

  // The hub loses the upload (as if swept) while the gateway is down.
  hub.stop(SIGKILL);
  for (const auto& f : hub_upload_files(hub, ".data")) fs::remove(f);
  for (const auto& f : hub_upload_files(hub, ".json")) fs::remove(f);
  RestartedHub again(hub);
  a.start();
  ASSERT_TRUE(wait_until([&] { return fs::exists(a / "sent/big/answer.json"); })) << a.log();
  EXPECT_NE(a.log().find("upload lost at the hub, starting again"), std::string::npos) << a.log();
  json::object answer = read_json(a / "sent/big/answer.json");
  EXPECT_EQ(answer.at("files").as_array().at(1).at("sha256").as_string(), digest);
  auto sent = hub_outbox(hub, "az.mddt");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].at("sender_ref").as_string(), "big-lost");
}

TEST(GatewayCrashTest, AnUploadUsedByTheFirstSubmitGetsTheFirstDocumentAgain) {
  HubProcess hub({"az.mddt"});
  hub.start();
  GatewayProcess a(hub, "az.mddt");
  a.extra_args = {"--resumable-above", "1000"};
  a.start();
  std::string bytes(5000, 'b');
  drop_package(a.dir(), "p1", envelope({"az.finance"}, "once", {"big.txt"}, "r-used"),
               {{"big.txt", bytes}});
  ASSERT_TRUE(wait_until([&] { return fs::exists(a / "sent/p1/answer.json"); })) << a.log();
  std::string first(read_json(a / "sent/p1/answer.json").at("id").as_string());
  a.stop(SIGKILL);

  // Put the gateway back to where a crash between the submit and recording
  // its answer leaves it: package queued in the spool, upload recorded.
  auto used = hub_upload_files(hub, ".json");
  ASSERT_EQ(used.size(), 1u);
  std::string upload = used[0].stem().string();
  std::string spool;
  {
    auto opened = sqlite::Database::open(a / ".gateway/gateway.db");
    ASSERT_TRUE(opened.ok());
    std::unique_ptr<sqlite::Database> db = std::move(*opened);
    {
      sqlite::Statement q = db->prepare("SELECT id FROM packages");
      auto row = q.next();
      ASSERT_TRUE(row.ok() && *row);
      spool = q.text(0);
    }
    ASSERT_TRUE(
        db->exec("UPDATE packages SET state = 'queued', filed = 0, document = '', answer = ''")
            .ok());
    ASSERT_TRUE(db->prepare("INSERT INTO uploads(spool_id, file, upload, size, sha256, "
                            "created_at) VALUES (?, 'big.txt', ?, 5000, ?, 'x')")
                    .bind(spool, upload, crypto::sha256_hex(bytes))
                    .run()
                    .ok());
  }
  fs::remove(a / "sent/p1/answer.json");
  fs::rename(a / "sent/p1", a / (".gateway/spool/" + spool));

  a.start();
  ASSERT_TRUE(wait_until([&] { return fs::exists(a / "sent/p1/answer.json"); })) << a.log();
  EXPECT_NE(a.log().find("upload already used"), std::string::npos) << a.log();
  EXPECT_NE(a.log().find("repeat=true"), std::string::npos) << a.log();
  EXPECT_EQ(read_json(a / "sent/p1/answer.json").at("id").as_string(), first);
  EXPECT_EQ(hub_outbox(hub, "az.mddt").size(), 1u);
}

TEST(GatewayExchangeTest, SendsFilesUpToTheThresholdAsParts) {
  HubProcess hub({"az.mddt"});
  hub.start();
  GatewayProcess a(hub, "az.mddt");
  a.extra_args = {"--resumable-above", "1000"};
  a.start();
  drop_package(a.dir(), "p1",
               envelope({"az.finance"}, "mixed", {"small.txt", "big.txt", "end.txt"}),
               {{"small.txt", std::string(1000, 's')},
                {"big.txt", std::string(1001, 'b')},
                {"end.txt", "end"}});
  ASSERT_TRUE(wait_until([&] { return fs::exists(a / "sent/p1/answer.json"); })) << a.log();
  json::object answer = read_json(a / "sent/p1/answer.json");
  const json::array& files = answer.at("files").as_array();
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].at("name").as_string(), "small.txt");
  EXPECT_EQ(files[1].at("name").as_string(), "big.txt");
  EXPECT_EQ(files[1].at("sha256").as_string(), crypto::sha256_hex(std::string(1001, 'b')));
  EXPECT_EQ(files[2].at("name").as_string(), "end.txt");
  std::vector<uint64_t> none;
  EXPECT_EQ(resumed_offsets(a.log()), none);
  EXPECT_NE(a.log().find("upload started"), std::string::npos) << a.log();
  // One upload, for big.txt alone.
  EXPECT_EQ(a.log().find("upload started upload="), a.log().rfind("upload started upload="));
}

TEST(GatewayCliTest, RefusesAResumableThresholdThatIsNotANumber) {
  TempDir dir;
  auto r =
      run_command({sened_binary(), "gateway", "--dir", dir.path(), "--hub", "https://127.0.0.1:1",
                   "--cert", "c", "--key", "k", "--ca", "a", "--resumable-above", "lots"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--resumable-above"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() + "/.gateway"));
}

// Status files that carry `status` for `document`.
bool has_status(const GatewayProcess& g, const std::string& document, const std::string& status) {
  for (const auto& n : entries(g / "status")) {
    if (n.rfind(document + ".", 0) != 0) continue;
    if (n.size() < 5 || n.compare(n.size() - 5, 5, ".json") != 0) continue;
    json::object o = read_json(g / ("status/" + n));
    if (o.contains("status") && o.at("status").as_string() == status) return true;
  }
  return false;
}

TEST(GatewayExchangeTest, TenGatewaysExchangeAndEveryStatusReachesItsSender) {
  const std::vector<std::string> orgs{"az.mddt",      "az.finance", "az.justice", "az.economy",
                                      "az.education", "az.health",  "az.cabinet", "az.cec",
                                      "az.ombudsman", "az.azersu"};
  HubProcess hub(orgs);
  hub.start();
  if (!hub_has_events(hub, orgs[0])) GTEST_SKIP() << "this hub has no event feed yet";
  std::vector<std::unique_ptr<GatewayProcess>> gws;
  for (const auto& org : orgs) {
    gws.push_back(std::make_unique<GatewayProcess>(hub, org));
    gws.back()->start();
  }
  // Each sends one letter to each of the next three.
  for (size_t i = 0; i < orgs.size(); ++i) {
    for (size_t k = 1; k <= 3; ++k) {
      const std::string& to = orgs[(i + k) % orgs.size()];
      drop_letter(gws[i]->dir(), "to-" + to, to, orgs[i] + " to " + to);
    }
  }
  // Each receiving EDMS registers what it got, through an action file.
  for (size_t i = 0; i < orgs.size(); ++i) {
    ASSERT_TRUE(wait_until([&] { return gws[i]->received().size() == 3; })) << gws[i]->log();
    int n = 0;
    for (const auto& id : gws[i]->received()) {
      json::object action{{"document", id},
                          {"action", "register"},
                          {"number", "R-" + std::to_string(++n)},
                          {"date", "2026-12-03"}};
      write_file(*gws[i] / "actions/.tmp", json::serialize(action));
      fs::rename(*gws[i] / "actions/.tmp", *gws[i] / ("actions/reg-" + id + ".json"));
    }
  }
  for (size_t i = 0; i < orgs.size(); ++i) {
    ASSERT_TRUE(wait_until([&] { return entries(*gws[i] / "sent").size() == 3; }));
    for (const auto& name : entries(*gws[i] / "sent")) {
      std::string id(read_json(*gws[i] / ("sent/" + name + "/answer.json")).at("id").as_string());
      EXPECT_TRUE(wait_until([&] { return has_status(*gws[i], id, "registered"); }))
          << orgs[i] << " " << id;
    }
  }
}

}  // namespace
}  // namespace sened::testing
