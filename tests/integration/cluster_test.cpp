// Several real `sened hub` processes on one PostgreSQL database and one
// shared data folder (docs/cluster.md): a document submitted on one node
// reaches a WebSocket held by another (LISTEN/NOTIFY, also after the
// listener's connection is cut), and three nodes take submits from several
// senders while the node holding the signer lease and a recipient's stream
// is killed with SIGKILL. Skips without a PostgreSQL test server.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "client/hub_client.h"
#include "core/process.h"
#include "journal/checkpoint.h"
#include "store/postgres/postgres_store.h"
#include "support/hub_process.h"
#include "support/pg_test_support.h"

namespace sened::testing {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using client::ClientOptions;
using client::EventStream;
using client::FormPart;
using client::HubClient;
using Clock = std::chrono::steady_clock;

// Bounds on waits for other processes; never asserted as durations.
constexpr auto kStartBound = 60s;
constexpr auto kDeliveryBound = 10s;
constexpr auto kRunBound = 180s;

const std::vector<std::string> kSenders{"az.mddt", "az.finance", "az.justice"};
const std::string kStreamed = "az.health";    // holds a WebSocket
const std::string kPolling = "az.education";  // polls its inbox and acks

// One `sened hub` process of the cluster, on the shared data folder.
class Node {
 public:
  Node(std::string dir, int index) : dir_(std::move(dir)), index_(index) {}
  ~Node() { kill(); }

  void start() {
    std::string port_file = dir_ + "/node" + std::to_string(index_) + ".addr";
    fs::remove(port_file);
    std::vector<std::string> args{sened_binary(), "hub",         "--data",      dir_,
                                  "--listen",     "127.0.0.1:0", "--port-file", port_file};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = spawn_tied_to_parent(argv, log_path(), SIGKILL);
    if (pid_ <= 0) throw std::runtime_error("cannot start node " + std::to_string(index_));
    for (auto deadline = Clock::now() + kStartBound; Clock::now() < deadline;) {
      if (fs::exists(port_file)) {
        std::string text = read_file(port_file);
        if (!text.empty() && text.back() == '\n') {
          url_ = "https://" + text.substr(0, text.size() - 1);
          return;
        }
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("node exited at start: " + log());
      }
      std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error("node did not start: " + log());
  }

  // SIGKILL: no shutdown, no lease given back, connections cut mid-request.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // The node id the hub logged at start ("hub node id=…").
  std::string node_id() const {
    std::string text = log();
    size_t at = text.find("hub node id=");
    if (at == std::string::npos) return "";
    at += 12;
    return text.substr(at, text.find_first_of("\r\n ", at) - at);
  }

  const std::string& url() const { return url_; }
  std::string log() const { return fs::exists(log_path()) ? read_file(log_path()) : ""; }

 private:
  std::string log_path() const { return dir_ + "/node" + std::to_string(index_) + ".log"; }

  std::string dir_;
  int index_;
  pid_t pid_ = -1;
  std::string url_;
};

std::string metadata(const std::string& ref) {
  return json::serialize(
      json::object{{"sender_ref", ref},
                   {"kind", "letter"},
                   {"subject", "Klaster sınağı " + ref},
                   {"urgency", "normal"},
                   {"recipients", json::object{{"to", json::array{json::value(kStreamed)}},
                                               {"cc", json::array{json::value(kPolling)}}}}});
}

std::vector<FormPart> letter(const std::string& ref) {
  return {FormPart{"metadata", "", "application/json", std::nullopt, metadata(ref)},
          FormPart{"file", "məktub.txt", "text/plain", std::nullopt, "Mətn " + ref}};
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (pg_test_url().empty()) GTEST_SKIP() << kNoPgServer;
    schema_ = std::make_unique<PgSchema>();
    // Inherited by every `sened` started from here: all nodes share the store.
    setenv("SENED_STORE", schema_->url().c_str(), 1);
    std::vector<std::string> orgs = kSenders;
    orgs.push_back(kStreamed);
    orgs.push_back(kPolling);
    data_ = std::make_unique<HubProcess>(orgs);
  }

  void TearDown() override {
    nodes_.clear();
    data_.reset();
    unsetenv("SENED_STORE");
    schema_.reset();
  }

  void start_nodes(int count) {
    for (int i = 0; i < count; ++i) {
      nodes_.push_back(std::make_unique<Node>(data_->dir(), i));
      nodes_.back()->start();
    }
  }

  ClientOptions client(const std::string& org, const Node& node) const {
    ClientOptions o = data_->client(org);
    o.url = node.url();
    o.timeout_seconds = 30;
    return o;
  }

  // Submits on `node`; the document's id, or "" when the node did not answer.
  std::string submit(const std::string& org, const Node& node, const std::string& ref) {
    HubClient c(client(org, node));
    auto r = c.post_multipart("/v1/documents", letter(ref));
    if (!r.ok()) return "";
    EXPECT_TRUE(r->status == 201 || r->status == 200) << r->status << " " << r->body;
    return std::string(json::parse(r->body).at("id").as_string());
  }

  std::string sql(const std::string& text) { return pg_sql(text, schema_->name()); }

  std::unique_ptr<PgSchema> schema_;
  std::unique_ptr<HubProcess> data_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

// Reads a stream until a document.new event for `id` arrives (true) or the
// bound passes or the stream ends (false).
bool stream_receives(EventStream& stream, const std::string& id) {
  for (auto deadline = Clock::now() + kDeliveryBound; Clock::now() < deadline;) {
    auto message = stream.read(200);
    if (!message.ok()) return false;
    if (!*message) continue;
    json::object e = json::parse(**message).as_object();
    if (e.at("type").as_string() == "document.new" && e.at("document").as_string() == id) {
      return true;
    }
  }
  return false;
}

TEST_F(ClusterTest, ADocumentSubmittedOnOneNodeReachesAStreamHeldByAnother) {
  start_nodes(2);
  auto stream = EventStream::open(client(kStreamed, *nodes_[1]), "/v1/stream?after=0");
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  std::string id = submit("az.mddt", *nodes_[0], "realtime-1");
  ASSERT_FALSE(id.empty()) << nodes_[0]->log();
  EXPECT_TRUE(stream_receives(**stream, id)) << nodes_[1]->log();
}

TEST_F(ClusterTest, AStreamStillGetsDocumentsAfterTheListenersConnectionIsCut) {
  start_nodes(2);
  auto stream = EventStream::open(client(kStreamed, *nodes_[1]), "/v1/stream?after=0");
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  // Both nodes' listeners (their sessions carry the schema's application
  // name and last ran LISTEN); the pools' connections are left alone.
  std::string cut = pg_sql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
      schema_->name() + "' AND query LIKE 'LISTEN%'");
  ASSERT_EQ(cut, "2");
  std::string id = submit("az.mddt", *nodes_[0], "after-cut-1");
  ASSERT_FALSE(id.empty()) << nodes_[0]->log();
  EXPECT_TRUE(stream_receives(**stream, id)) << nodes_[1]->log();
  // The listener came back: a later document arrives too.
  std::string second = submit("az.mddt", *nodes_[0], "after-cut-2");
  ASSERT_FALSE(second.empty());
  EXPECT_TRUE(stream_receives(**stream, second)) << nodes_[1]->log();
  EXPECT_NE(nodes_[1]->log().find("change listener reconnected"), std::string::npos);
}

// --- three nodes, one killed ------------------------------------------------------

constexpr int kDocsPerSender = 40;

// What the run saw, shared by its threads.
struct RunLog {
  std::mutex mu;
  std::map<std::string, std::string> acknowledged;  // sender_ref -> document id
  std::map<std::string, int> streamed;              // document id -> document.new events seen
  std::map<std::string, int> acked;                 // document id -> acks by the polling recipient
  std::vector<std::string> problems;
  std::atomic<int> acknowledged_count{0};
  std::atomic<int> stream_reconnects{0};
  std::atomic<int> resends{0};  // submits sent again to another node
  std::atomic<bool> stop{false};

  void problem(std::string p) {
    std::lock_guard lock(mu);
    problems.push_back(std::move(p));
  }
};

class ThreeNodeClusterTest : public ClusterTest {
 protected:
  // The node whose id holds lease `name` (-1 when none does yet).
  int holder_of(const std::string& name) {
    std::string holder = sql("SELECT holder FROM leases WHERE name = '" + name + "'");
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!holder.empty() && nodes_[i]->node_id() == holder) return static_cast<int>(i);
    }
    return -1;
  }

  bool alive(int i) const { return i != killed_; }

  // Each document with its own sender_ref; a node that does not answer gets
  // the SAME request sent to the next node until one answers 201 or 200.
  void send_all(int s) {
    const std::string& org = kSenders[s];
    for (int i = 0; i < kDocsPerSender; ++i) {
      std::string ref = org + "-" + std::to_string(i);
      int node = (s + i) % 3;
      std::string id;
      for (int attempt = 0; attempt < 30 && id.empty(); ++attempt, node = (node + 1) % 3) {
        HubClient c(client(org, *nodes_[node]));
        auto r = c.post_multipart("/v1/documents", letter(ref));
        if (!r.ok()) {  // cut off: the same request to another node
          ++run_.resends;
          continue;
        }
        if (r->status != 201 && r->status != 200) {
          run_.problem(ref + ": HTTP " + std::to_string(r->status) + " " + r->body);
          return;
        }
        id = std::string(json::parse(r->body).at("id").as_string());
      }
      if (id.empty()) {
        run_.problem(ref + ": no node answered");
        return;
      }
      std::lock_guard lock(run_.mu);
      run_.acknowledged[ref] = id;
      ++run_.acknowledged_count;
    }
  }

  // The streamed recipient: a WebSocket on `first`; when it breaks, the
  // stream is opened again on the next node from the last cursor seen.
  void stream_all(int first) {
    std::string cursor = "0";
    int node = first;
    std::unique_ptr<EventStream> stream;
    while (!run_.stop) {
      if (!stream) {
        auto opened =
            EventStream::open(client(kStreamed, *nodes_[node]), "/v1/stream?after=" + cursor);
        if (!opened.ok()) {
          node = (node + 1) % 3;
          std::this_thread::sleep_for(50ms);  // back-off between reconnects, not a sync
          continue;
        }
        stream = std::move(*opened);
      }
      auto message = stream->read(200);
      if (!message.ok()) {
        stream.reset();
        ++run_.stream_reconnects;
        node = (node + 1) % 3;
        continue;
      }
      if (!*message) continue;
      json::object e = json::parse(**message).as_object();
      cursor = std::string(e.at("cursor").as_string());
      if (e.at("type").as_string() != "document.new") continue;
      std::lock_guard lock(run_.mu);
      ++run_.streamed[std::string(e.at("document").as_string())];
    }
  }

  // The polling recipient: reads its queued inbox and acknowledges each
  // document; moves to the next node when one does not answer.
  // An ack whose answer was lost is sent again (acks are idempotent): the
  // document has left the queued inbox either way.
  void poll_all(int first) {
    int node = first;
    std::vector<std::string> unanswered;
    while (!run_.stop) {
      HubClient c(client(kPolling, *nodes_[node]));
      auto r = c.request("GET", "/v1/inbox?after=0");
      if (!r.ok() || r->status != 200) {
        node = (node + 1) % 3;
        continue;
      }
      std::vector<std::string> todo;
      todo.swap(unanswered);
      json::value page = json::parse(r->body);
      for (const auto& d : page.at("documents").as_array()) {
        todo.emplace_back(d.at("id").as_string());
      }
      for (const auto& id : todo) {
        auto ack = c.request("POST", "/v1/documents/" + id + "/ack", "{}");
        if (!ack.ok()) {
          unanswered.push_back(id);
          continue;
        }
        if (ack->status != 200) {
          run_.problem("ack " + id + ": HTTP " + std::to_string(ack->status) + " " + ack->body);
          continue;
        }
        std::lock_guard lock(run_.mu);
        run_.acked[id] = 1;
      }
      if (todo.empty()) std::this_thread::sleep_for(100ms);  // polling interval, not a sync
    }
  }

  // Every document in `org`'s whole inbox (all=true), with how often it is listed.
  std::map<std::string, int> whole_inbox(const std::string& org, const Node& node) {
    std::map<std::string, int> out;
    HubClient c(client(org, node));
    std::string after = "0";
    for (;;) {
      auto r = c.request("GET", "/v1/inbox?all=true&after=" + after);
      EXPECT_TRUE(r.ok() && r->status == 200);
      if (!r.ok() || r->status != 200) return out;
      json::object page = json::parse(r->body).as_object();
      if (page.at("documents").as_array().empty()) return out;
      for (const auto& d : page.at("documents").as_array()) {
        ++out[std::string(d.at("id").as_string())];
      }
      after = std::string(page.at("cursor").as_string());
    }
  }

  // Waits until `done` holds, or the bound passes.
  template <typename F>
  bool eventually(F done, std::chrono::seconds bound = std::chrono::seconds(60)) {
    for (auto deadline = Clock::now() + bound; Clock::now() < deadline;) {
      if (done()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return done();
  }

  RunLog run_;
  int killed_ = -1;
};

TEST_F(ThreeNodeClusterTest, EveryAcknowledgedDocumentIsDeliveredOnceWhenANodeIsKilled) {
  start_nodes(3);
  // The victim: the node that signs checkpoints, and where the streamed
  // recipient holds its WebSocket.
  int victim = -1;
  ASSERT_TRUE(eventually([&] { return (victim = holder_of("journal.signer")) >= 0; }));
  int survivor = (victim + 1) % 3;

  std::vector<std::thread> threads;
  threads.emplace_back([&] { stream_all(victim); });
  threads.emplace_back([&] { poll_all(survivor); });
  std::vector<std::thread> senders;
  for (int s = 0; s < static_cast<int>(kSenders.size()); ++s) {
    senders.emplace_back([this, s] { send_all(s); });
  }
  const int total = kDocsPerSender * static_cast<int>(kSenders.size());
  EXPECT_TRUE(eventually([&] { return run_.acknowledged_count >= total / 3; }, kRunBound));
  nodes_[victim]->kill();
  killed_ = victim;
  for (auto& t : senders) t.join();

  // Wait (bounded) for both recipients to have everything, then stop them.
  auto complete = [&] {
    std::lock_guard lock(run_.mu);
    return run_.streamed.size() >= run_.acknowledged.size() &&
           run_.acked.size() >= run_.acknowledged.size();
  };
  EXPECT_TRUE(eventually(complete, kRunBound));
  run_.stop = true;
  for (auto& t : threads) t.join();

  RecordProperty("resends", run_.resends.load());
  RecordProperty("stream_reconnects", run_.stream_reconnects.load());
  ASSERT_TRUE(run_.problems.empty()) << run_.problems.front();
  ASSERT_EQ(static_cast<int>(run_.acknowledged.size()), total);
  EXPECT_GE(run_.stream_reconnects.load(), 1);
  std::set<std::string> ids;
  for (const auto& [ref, id] : run_.acknowledged) ids.insert(id);
  EXPECT_EQ(static_cast<int>(ids.size()), total) << "two sender_refs share a document";

  // No second document for one sender_ref, nothing stored that was not acknowledged.
  EXPECT_EQ(sql("SELECT count(*) FROM documents"), std::to_string(total));
  EXPECT_EQ(sql("SELECT count(DISTINCT (sender, sender_ref)) FROM documents"),
            std::to_string(total));

  // Each recipient got each acknowledged document exactly once.
  for (const auto& id : ids) {
    EXPECT_EQ(run_.streamed[id], 1) << "streamed " << id;
    EXPECT_EQ(run_.acked[id], 1) << "acked " << id;
  }
  EXPECT_EQ(run_.streamed.size(), ids.size());
  EXPECT_EQ(run_.acked.size(), ids.size());
  for (const auto& org : {kStreamed, kPolling}) {
    auto inbox = whole_inbox(org, *nodes_[survivor]);
    EXPECT_EQ(inbox.size(), ids.size()) << org;
    for (const auto& [id, count] : inbox) {
      EXPECT_TRUE(ids.count(id)) << org << " has " << id;
      EXPECT_EQ(count, 1) << org << " lists " << id;
    }
  }
  EXPECT_EQ(sql("SELECT count(*) FROM deliveries WHERE recipient = '" + kPolling +
                "' AND status = 'delivered'"),
            std::to_string(total));

  // One gap-free journal: seqs 1..N, and it verifies.
  EXPECT_EQ(sql("SELECT min(seq) = 1 AND max(seq) = count(*) FROM journal"), "t");
  auto verified = data_->verify_journal();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  // A survivor took the signer lease over and signs the whole journal now.
  std::string size = sql("SELECT count(*) FROM journal");
  EXPECT_TRUE(eventually([&] { return sql("SELECT max(size) FROM checkpoints") == size; }))
      << nodes_[survivor]->log();
  int signer = holder_of("journal.signer");
  EXPECT_TRUE(signer >= 0 && signer != victim) << "signer lease holder " << signer;

  // Every stored checkpoint, whichever node signed it, verifies against the
  // log key and names the tree root the store computes for its size.
  auto key_answer =
      HubClient(client(kPolling, *nodes_[survivor])).request("GET", "/v1/journal/key");
  ASSERT_TRUE(key_answer.ok() && key_answer->status == 200);
  auto key = journal::parse_verifier_key(
      std::string(json::parse(key_answer->body).at("vkey").as_string()));
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  auto store = open_postgres_store(PostgresOptions{schema_->url(), data_->dir() + "/files"});
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  std::string sizes = sql("SELECT string_agg(size::text, ',' ORDER BY size) FROM checkpoints");
  int checked = 0;
  for (size_t at = 0; at < sizes.size();) {
    size_t comma = std::min(sizes.find(',', at), sizes.size());
    uint64_t n = std::stoull(sizes.substr(at, comma - at));
    at = comma + 1;
    auto c = (*store)->checkpoint(n);
    ASSERT_TRUE(c.ok() && c->has_value());
    auto opened = journal::open_note((*c)->note, {*key});
    ASSERT_TRUE(opened.ok()) << "checkpoint " << n << ": " << opened.status().to_string();
    auto body = journal::parse_checkpoint_body(opened->body);
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(body->size, n);
    EXPECT_EQ(body->root, *(*store)->tree_root(n)) << "checkpoint " << n;
    ++checked;
  }
  EXPECT_GE(checked, 1);
}

}  // namespace
}  // namespace sened::testing
