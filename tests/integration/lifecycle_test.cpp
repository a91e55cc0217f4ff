// The whole delivery lifecycle against the real hub binary: expiry and
// overdue flags with the hub's clock moved forward (SENED_CLOCK_OFFSET, no
// sleeping for days), recall, assignment and execution through the CLI, and
// webhook push to a real HTTPS endpoint that fails before it answers.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/ids.h"
#include "exchange/background.h"
#include "http/server.h"
#include "support/hub_process.h"
#include "support/test_support.h"

namespace sened::testing {
namespace {
namespace json = boost::json;

// Polls `done` for up to 20 s; the hub works in the background.
template <typename F>
bool eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_.set_config("expire_after_hours", "48");
    hub_.set_config("sweep_interval_seconds", "1");
    hub_.start();
  }
  void TearDown() override { ::unsetenv("SENED_CLOCK_OFFSET"); }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_.client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 2, {"--hub", hub_.url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }
  CommandResult run(const std::string& org, std::vector<std::string> args) {
    return run_command(as(org, std::move(args)));
  }
  std::string send(const std::string& subject, std::vector<std::string> extra = {}) {
    std::string file = dir_ / (subject + ".txt");
    write_file(file, "body of " + subject);
    std::vector<std::string> args{"send", "--to", "az.finance", "--subject", subject};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(file);
    auto r = run("az.mddt", args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return last_line(r.out);
  }
  json::object document(const std::string& org, const std::string& id) {
    auto r = run(org, {"status", id, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out).as_object();
  }
  std::string delivery_status(const std::string& id) {
    return std::string(
        document("az.mddt", id).at("deliveries").as_array()[0].at("status").as_string());
  }
  // Restarts the hub on its port with its clock moved, and waits for its
  // first lifecycle sweep to have run.
  void restart_with_clock(const std::string& offset) {
    std::string address = hub_.listen_address();
    hub_.stop(SIGTERM);
    ::setenv("SENED_CLOCK_OFFSET", offset.c_str(), 1);
    hub_.start(address);
    ++starts_;
    ASSERT_TRUE(eventually([&] { return count(hub_.log(), "lifecycle sweep ready") == starts_; }))
        << hub_.log();
  }

  static int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  HubProcess hub_{{"az.mddt", "az.finance"}};
  TempDir dir_;
  int starts_ = 1;
};

TEST_F(LifecycleTest, RecipientOfflineForADayStillGetsItsDocument) {
  std::string id = send("one day");
  restart_with_clock("+1d");
  EXPECT_EQ(delivery_status(id), "queued");
  auto inbox = run("az.finance", {"inbox", "--json"});
  ASSERT_EQ(inbox.exit_code, 0) << inbox.err;
  EXPECT_NE(inbox.out.find(id), std::string::npos);
}

TEST_F(LifecycleTest, DeliveryExpiresOnlyPastTheConfiguredLimit) {
  std::string id = send("three days");
  restart_with_clock("+47h");
  EXPECT_EQ(delivery_status(id), "queued");
  restart_with_clock("+49h");
  EXPECT_EQ(delivery_status(id), "expired");
  // The recipient coming back finds nothing to take, and cannot take it late.
  auto inbox = run("az.finance", {"inbox", "--json"});
  EXPECT_EQ(inbox.out.find(id), std::string::npos);
  auto ack = run("az.finance", {"ack", id});
  EXPECT_NE(ack.exit_code, 0);
  EXPECT_NE(ack.err.find("expired"), std::string::npos) << ack.err;
  auto history = run("az.mddt", {"history", id});
  EXPECT_NE(history.out.find("delivery.expired\tby hub"), std::string::npos) << history.out;
  EXPECT_EQ(hub_.verify_journal().exit_code, 0);
}

TEST_F(LifecycleTest, PassedDueDateFlagsOverdueAndTellsBothSides) {
  std::string due =
      format_rfc3339(std::chrono::system_clock::now() + std::chrono::hours(24)).substr(0, 10);
  std::string id = send("due tomorrow", {"--due", due});
  ASSERT_EQ(run("az.finance", {"register", id, "--number", "07-118/k"}).exit_code, 0);
  restart_with_clock("+2d");
  auto doc = document("az.mddt", id);
  auto d = doc.at("deliveries").as_array()[0].as_object();
  EXPECT_TRUE(d.at("overdue").as_bool());
  EXPECT_EQ(d.at("status").as_string(), "registered");
  for (const char* side : {"az.mddt", "az.finance"}) {
    auto out = run_command(hub_.curl(side, {hub_.url() + "/v1/events?after=0"}));
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_NE(out.out.find("\"type\":\"document.overdue\""), std::string::npos) << side << out.out;
  }
  // Executing it late keeps the flag; the journal verifies.
  ASSERT_EQ(run("az.finance", {"execute", id}).exit_code, 0);
  auto after = document("az.finance", id).at("deliveries").as_array()[0].as_object();
  EXPECT_EQ(after.at("status").as_string(), "executed");
  EXPECT_TRUE(after.at("overdue").as_bool());
  EXPECT_EQ(hub_.verify_journal().exit_code, 0);
}

TEST_F(LifecycleTest, FullTrailThroughTheCliWithAReply) {
  std::string id = send("request");
  ASSERT_EQ(
      run("az.finance", {"register", id, "--number", "55/a", "--date", "2026-12-04"}).exit_code, 0);
  auto assign = run("az.finance", {"assign", id, "--executor", "Məmmədova A."});
  ASSERT_EQ(assign.exit_code, 0) << assign.err;
  std::string file = dir_ / "reply.txt";
  write_file(file, "our answer");
  auto reply = run("az.finance", {"send", "--to", "az.mddt", "--kind", "reply", "--subject",
                                  "answer", "--in-reply-to", id, file});
  ASSERT_EQ(reply.exit_code, 0) << reply.err;
  std::string reply_id = last_line(reply.out);
  auto exec = run("az.finance", {"execute", id, "--reply", reply_id});
  ASSERT_EQ(exec.exit_code, 0) << exec.err;
  auto d = document("az.mddt", id).at("deliveries").as_array()[0].as_object();
  EXPECT_EQ(d.at("status").as_string(), "executed");
  EXPECT_EQ(d.at("executor").as_string(), "Məmmədova A.");
  EXPECT_EQ(d.at("reply").as_string(), reply_id);
  auto history = run("az.mddt", {"history", id});
  for (const char* step : {"document.submitted", "delivery.delivered", "delivery.registered",
                           "delivery.assigned", "delivery.executed"}) {
    EXPECT_NE(history.out.find(step), std::string::npos) << step << "\n" << history.out;
  }
  // Any step after executed is refused with the state, and nothing changes.
  auto late = run("az.finance", {"reject", id, "--reason", "late"});
  EXPECT_NE(late.exit_code, 0);
  EXPECT_NE(late.err.find("executed"), std::string::npos) << late.err;
}

TEST_F(LifecycleTest, RecallWithdrawsAnUndeliveredDocumentOnly) {
  std::string id = send("mistake");
  auto recall = run("az.mddt", {"recall", id, "--reason", "wrong recipient"});
  ASSERT_EQ(recall.exit_code, 0) << recall.err;
  EXPECT_NE(recall.out.find("recalled"), std::string::npos);
  EXPECT_EQ(run("az.finance", {"inbox", "--json"}).out.find(id), std::string::npos);
  std::string kept = send("kept");
  ASSERT_EQ(run("az.finance", {"ack", kept}).exit_code, 0);
  auto refused = run("az.mddt", {"recall", kept});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("delivered"), std::string::npos) << refused.err;
  auto stranger = run("az.finance", {"recall", kept});
  EXPECT_NE(stranger.exit_code, 0);
}

// An HTTPS endpoint that records what the hub pushes; it answers 503 until
// the test opens it, then 200.
class Endpoint : public http::Handler {
 public:
  http::Response handle(const http::Request& r) override {
    std::lock_guard lock(mu_);
    if (!open_) {
      ++refusals_;
      return http::json_response(503, "{}");
    }
    received_.push_back(r);
    return http::json_response(200, "{}");
  }
  std::optional<UploadStart> begin_upload(const http::Request&) override { return std::nullopt; }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
  }
  std::vector<http::Request> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  int refusals() {
    std::lock_guard lock(mu_);
    return refusals_;
  }

 private:
  std::mutex mu_;
  bool open_ = false;
  int refusals_ = 0;
  std::vector<http::Request> received_;
};

TEST_F(LifecycleTest, WebhookPushIsSignedRetriedAndInOrder) {
  // The endpoint uses the hub's own TLS certificate (it chains to the hub's
  // CA, which the hub trusts for webhook endpoints by default).
  Endpoint endpoint;
  http::ServerOptions o;
  o.cert_file = hub_.dir() + "/tls/hub.pem";
  o.key_file = hub_.dir() + "/tls/hub.key";
  o.ca_file = hub_.dir() + "/ca/ca.pem";
  o.network_threads = 1;
  o.blocking_threads = 1;
  http::Server server(o, endpoint);
  ASSERT_TRUE(server.start().ok());
  std::thread serving([&] { server.run(); });
  struct Joiner {
    http::Server& server;
    std::thread& thread;
    ~Joiner() {
      server.stop();
      thread.join();
    }
  } joiner{server, serving};

  std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/hooks/sened";
  auto set_args = as("az.finance", {"set", url, "--json"});
  set_args.insert(set_args.begin() + 1, "webhook");
  auto set = run_command(set_args);
  ASSERT_EQ(set.exit_code, 0) << set.err;
  std::string secret(json::parse(set.out).at("secret").as_string());

  std::string first = send("pushed one");
  std::string second = send("pushed two");
  // While the endpoint refuses, the operator sees the webhook failing.
  auto listed = [&] { return hub_.sened({"admin", "webhooks", "--data", hub_.dir()}).out; };
  // The endpoint stays closed until the operator has seen that, however
  // slowly the listing runs on a loaded machine.
  EXPECT_TRUE(eventually(
      [&] { return listed().find("az.finance\t" + url + "\tfailing") != std::string::npos; }));
  EXPECT_GE(endpoint.refusals(), 1);
  endpoint.open();
  EXPECT_TRUE(eventually([&] { return endpoint.received().size() >= 2; })) << hub_.log();
  auto got = endpoint.received();
  ASSERT_GE(got.size(), 2u);
  std::vector<std::string> documents;
  for (const auto& r : got) {
    EXPECT_EQ(r.header("Sened-Signature").value_or(""),
              exchange::webhook_signature(secret, r.body));
    documents.emplace_back(json::parse(r.body).at("document").as_string());
  }
  EXPECT_EQ(documents[0], first);
  EXPECT_EQ(documents[1], second);
  EXPECT_EQ(got.size(), 2u);  // after the refusals, each event once
  EXPECT_TRUE(eventually([&] { return listed().find("az.finance") == std::string::npos; }));
  EXPECT_NE(hub_.sened({"admin", "webhooks", "--all", "--data", hub_.dir()}).out.find("\tok\t"),
            std::string::npos);
}

}  // namespace
}  // namespace sened::testing
