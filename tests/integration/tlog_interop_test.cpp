// The journal checked by an implementation that shares no code with the hub:
// tests/interop/tlogcheck, a Go program built on golang.org/x/mod/sumdb/note
// and .../tlog, reads a real hub's C2SP checkpoint and tiles over the plain
// journal listener and its proofs over the API. The log holds more than 256
// entries, so full and partial tiles at two levels are read. Then a mirror
// that changes one resource on the way shows that each change is named.
//
// Skipped when CMake found no Go toolchain or no x/mod sources (Debian:
// golang-go, golang-golang-x-mod-dev; scripts/install-deps.sh).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "client/hub_client.h"
#include "http/server.h"
#include "journal/signer.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {

namespace json = boost::json;

// How many documents to send: with the participants' entries the tree passes
// one full level-0 tile.
constexpr int kDocuments = 300;

// Changes one byte of `bytes`, `offset` bytes before its end.
std::function<void(std::string&)> flip_byte(size_t offset) {
  return [offset](std::string& bytes) { bytes.at(bytes.size() - 1 - offset) ^= 0x01; };
}

// A plain-HTTP mirror on 127.0.0.1 of the hub's journal listener that passes
// every answer on unchanged except the one for `path`, which `tamper`
// changes on the way.
class TamperingMirror : public http::Handler {
 public:
  TamperingMirror(std::string upstream, std::string path, std::function<void(std::string&)> tamper)
      : upstream_(std::move(upstream)), path_(std::move(path)), tamper_(std::move(tamper)) {
    http::ServerOptions o;
    o.tls_enabled = false;
    o.network_threads = 1;
    o.blocking_threads = 1;
    server_ = std::make_unique<http::Server>(o, *this);
    Status st = server_->start();
    if (!st.ok()) throw std::runtime_error("mirror: " + st.to_string());
    thread_ = std::thread([this] { server_->run(); });
  }
  ~TamperingMirror() override {
    server_->stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  int tampered() const { return tampered_.load(); }

  http::Response handle(const http::Request& request) override {
    client::HubClient upstream({upstream_, "", "", "", 30});
    auto r = upstream.request("GET", request.target);
    http::Response out;
    if (!r.ok()) {
      out.status = 502;
      return out;
    }
    out.status = r->status;
    out.body = r->body;
    if (auto type = r->header("Content-Type")) out.headers.emplace_back("Content-Type", *type);
    if (request.target == path_ && out.status == 200) {
      tamper_(out.body);
      ++tampered_;
    }
    return out;
  }
  std::optional<UploadStart> begin_upload(const http::Request&) override { return std::nullopt; }

 private:
  std::string upstream_;
  std::string path_;
  std::function<void(std::string&)> tamper_;
  std::atomic<int> tampered_{0};
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

class TlogInteropTest : public ::testing::Test {
 protected:
  // One hub and one journal for every test: sending the documents is the
  // slow part.
  static void SetUpTestSuite() {
    if (std::string(SENED_TLOGCHECK).empty()) return;
    hub_ = new HubProcess({"az.mddt"});
    hub_->start("127.0.0.1:0", {"--journal-listen", "127.0.0.1:0", "--journal-port-file",
                                hub_->dir() + "/journal.addr"});
    std::string addr = read_file(hub_->dir() + "/journal.addr");
    log_url_ = new std::string("http://" + addr.substr(0, addr.find('\n')));
    send_documents();
    size_ = wait_for_checkpoint(static_cast<uint64_t>(hub_->journal_entries()));
  }
  static void TearDownTestSuite() {
    delete hub_;
    delete log_url_;
    hub_ = nullptr;
    log_url_ = nullptr;
  }
  void SetUp() override {
    if (std::string(SENED_TLOGCHECK).empty()) {
      GTEST_SKIP() << "the Go journal checker was not built: CMake found no `go` or no "
                      "golang.org/x/mod sources (install golang-go and "
                      "golang-golang-x-mod-dev, see scripts/install-deps.sh)";
    }
    ASSERT_GT(size_, 256u) << "the journal should pass one full tile";
  }

  static void send_documents() {
    client::HubClient c(hub_->client("az.mddt"));
    for (int i = 0; i < kDocuments; ++i) {
      json::object m{{"sender_ref", "interop-" + std::to_string(i)},
                     {"kind", "letter"},
                     {"subject", "Jurnalın yoxlanışı"},
                     {"urgency", "normal"},
                     {"recipients", json::object{{"to", json::array{"az.finance"}}}}};
      auto r = c.post_multipart(
          "/v1/documents",
          {{"metadata", "", "application/json", std::nullopt, json::serialize(m)},
           {"file", "letter.pdf", "application/pdf", std::nullopt, "%PDF " + std::to_string(i)}});
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      ASSERT_EQ(r->status, 201) << r->body;
    }
  }

  // Polls (bounded) until the served checkpoint covers `want` entries;
  // returns its size.
  static uint64_t wait_for_checkpoint(uint64_t want) {
    client::HubClient c(hub_->client("az.mddt"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto r = c.request("GET", "/v1/journal/checkpoint");
      uint64_t size = 0;
      if (r.ok() && r->status == 200) {
        size_t line = r->body.find('\n');
        size = std::stoull(r->body.substr(line + 1, r->body.find('\n', line + 1) - line - 1));
      }
      if (size >= want || std::chrono::steady_clock::now() > deadline) return size;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // The log's verifier key as GET /v1/journal/key serves it.
  std::string hub_vkey() {
    client::HubClient c(hub_->client("az.mddt"));
    auto r = c.request("GET", "/v1/journal/key");
    EXPECT_TRUE(r.ok() && r->status == 200);
    return std::string(json::parse(r->body).at("vkey").as_string());
  }

  // Runs the Go checker on the log at `log_url` with `extra` arguments.
  CommandResult check(const std::string& log_url, const std::string& vkey,
                      std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{SENED_TLOGCHECK, "-url", log_url, "-vkey", vkey};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv);
  }

  std::vector<std::string> api_args() {
    std::string d = hub_->client_dir("az.mddt");
    return {"-api", hub_->url(),    "-cert", d + "/cert.pem",
            "-key", d + "/key.pem", "-ca",   d + "/ca.pem"};
  }

  static HubProcess* hub_;
  static std::string* log_url_;
  static uint64_t size_;
};

HubProcess* TlogInteropTest::hub_ = nullptr;
std::string* TlogInteropTest::log_url_ = nullptr;
uint64_t TlogInteropTest::size_ = 0;

TEST_F(TlogInteropTest, GoCheckerAcceptsCheckpointTilesBundlesAndProofs) {
  // An entry in the partial level-0 tile, and one in the full tile.
  for (uint64_t index : {size_ - 3, uint64_t{7}}) {
    std::vector<std::string> extra = api_args();
    extra.insert(extra.end(), {"-index", std::to_string(index), "-from", "100"});
    CommandResult r = check(*log_url_, hub_vkey(), extra);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    for (const char* line :
         {"ok checkpoint signature: signed by sened.local/journal+",
          "ok checkpoint body: ", "ok tree hash: ", "ok tile authentication: ",
          "ok entry bundles: ", "ok inclusion proof: ", "ok consistency proof: "}) {
      EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
    }
    EXPECT_NE(r.out.find("entry " + std::to_string(index) + " in size " + std::to_string(size_)),
              std::string::npos)
        << r.out;
  }
}

TEST_F(TlogInteropTest, GoCheckerRefusesACheckpointUnderAnotherKeyOfTheSameName) {
  TempDir dir;
  auto other = journal::load_or_create_log_key(dir / "other.key", "sened.local/journal");
  ASSERT_TRUE(other.ok()) << other.status().to_string();
  std::string vkey = journal::verifier_key_string(*other);
  ASSERT_NE(vkey, hub_vkey());

  CommandResult r = check(*log_url_, vkey);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL checkpoint signature: note has no verifiable signatures"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("ok tree hash"), std::string::npos) << r.out;
}

TEST_F(TlogInteropTest, GoCheckerRefusesAMalformedVerifierKey) {
  CommandResult r = check(*log_url_, "sened.local/journal+00000000+AAAA");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL checkpoint signature: bad verifier key"), std::string::npos) << r.out;
}

TEST_F(TlogInteropTest, GoCheckerNamesACheckpointWhoseRootWasChanged) {
  // Another root of the right length: the third line's first base64 digit.
  TamperingMirror mirror(*log_url_, "/journal/checkpoint", [](std::string& note) {
    size_t root = note.find('\n', note.find('\n') + 1) + 1;
    note.at(root) = note.at(root) == 'A' ? 'B' : 'A';
  });
  CommandResult r = check(mirror.url(), hub_vkey());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL checkpoint signature: invalid signature for key sened.local/journal+"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(mirror.tampered(), 1);
}

TEST_F(TlogInteropTest, GoCheckerNamesAChangedLevelOneTile) {
  // The root of the first 256 leaves is read from the level-1 tile.
  TamperingMirror mirror(*log_url_, "/journal/tile/1/000.p/1", flip_byte(0));
  CommandResult r = check(mirror.url(), hub_vkey());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("ok checkpoint body: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FAIL tree hash: tiles give root "), std::string::npos) << r.out;
  EXPECT_EQ(mirror.tampered(), 1);
}

TEST_F(TlogInteropTest, GoCheckerNamesAChangedFullLevelZeroTile) {
  // The root does not read the full level-0 tile (the level-1 hash stands for
  // it), and tlog.TileHashReader lets it pass (see tlogcheck's leafHashes);
  // the tree rebuilt from the level-0 tiles does not.
  TamperingMirror mirror(*log_url_, "/journal/tile/0/000", flip_byte(100));
  CommandResult r = check(mirror.url(), hub_vkey());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("ok tree hash: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FAIL tile authentication: the level-0 tiles give root "), std::string::npos)
      << r.out;
  EXPECT_EQ(mirror.tampered(), 1);
}

TEST_F(TlogInteropTest, GoCheckerNamesAChangedEntryBundle) {
  std::string path = "/journal/tile/entries/001.p/" + std::to_string(size_ - 256);
  TamperingMirror mirror(*log_url_, path, flip_byte(5));
  CommandResult r = check(mirror.url(), hub_vkey());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("ok tile authentication: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FAIL entry bundles: tile/entries/001.p/" + std::to_string(size_ - 256) +
                       ": leaf " + std::to_string(size_ - 1) + " does not hash"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(mirror.tampered(), 1);
}

TEST_F(TlogInteropTest, GoCheckerRefusesAnEntryIndexBeyondTheTree) {
  std::vector<std::string> extra = api_args();
  extra.insert(extra.end(), {"-index", std::to_string(size_)});
  CommandResult r = check(*log_url_, hub_vkey(), extra);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL inclusion proof: entry index " + std::to_string(size_) +
                       " is not in the tree"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace sened::testing
