// The journal's evidence end to end: the real `sened hub`, a real `sened
// witness`, a local RFC 3161 TSA (`openssl ts -reply` on loopback) and a real
// `sened gateway`, with real TLS and real SQLite. A TSA or a witness that is
// away must not stop documents, the operator must see it, and the evidence
// must be completed when it returns; a forked log must be refused by the
// witness, warned by the gateway and named by `sened journal verify`.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "client/hub_client.h"
#include "gateway/journal_watch.h"
#include "journal/checkpoint.h"
#include "journal/cosignature.h"
#include "support/hub_process.h"
#include "support/service_process.h"
#include "support/test_support.h"
#include "support/tsa_responder.h"
#include "support/witness_service.h"

namespace sened::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kOrigin = "sened.local/journal";
constexpr const char* kSender = "az.mddt";
constexpr const char* kRecipient = "az.finance";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// `sened ARGS…` as participant `org` of `hub` (connection flags after the
// first `words` arguments, which name the subcommand).
CommandResult as(const HubProcess& hub, const std::string& org, std::vector<std::string> args,
                 size_t words = 1) {
  std::string d = hub.client_dir(org);
  args.insert(args.begin() + static_cast<long>(words),
              {"--hub", hub.url(), "--ca", d + "/ca.pem", "--cert", d + "/cert.pem", "--key",
               d + "/key.pem"});
  return hub.sened(args);
}

// Sends a document from kSender to kRecipient; the CLI must succeed. Its id.
std::string send(const HubProcess& hub, const std::string& subject) {
  CommandResult r = as(hub, kSender,
                       {"send", "--to", kRecipient, "--subject", subject,
                        source_dir() + "/examples/documents/Order 512-r.pdf"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.substr(out.rfind('\n') + 1);
}

// The recipient acknowledges; `sened status` must then say delivered.
void deliver(const HubProcess& hub, const std::string& id) {
  CommandResult ack = as(hub, kRecipient, {"ack", id});
  EXPECT_EQ(ack.exit_code, 0) << ack.out << ack.err;
  CommandResult status = as(hub, kSender, {"status", id});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(contains(status.out, kRecipient + std::string(" (to): delivered"))) << status.out;
}

// The checkpoint note the hub serves at `target` (over its mTLS API).
std::string served(const HubProcess& hub, const std::string& target = "/v1/journal/checkpoint") {
  client::HubClient c(hub.client(kSender));
  auto r = c.request("GET", target);
  if (!r.ok() || r->status != 200) return "";
  return r->body;
}

uint64_t size_of(const std::string& note) {
  auto c = journal::parse_checkpoint_body(note.substr(0, note.find("\n\n") + 1));
  return c.ok() ? c->size : 0;
}

bool cosigned_by(const std::string& note, const WitnessService& witness) {
  return journal::check_witness_threshold(note, {witness.key()}, 1).ok();
}

// The hub's log verifier key, from its data folder (made by `admin init`).
std::string log_vkey(const HubProcess& hub) {
  auto key = journal::load_note_key(kOrigin, read_file(hub.dir() + "/journal/log.key"));
  if (!key.ok()) throw std::runtime_error(key.status().to_string());
  return journal::verifier_key_string(*key);
}

// Adds a [[journal.witness]] table to the hub's sened.toml (before start()).
void configure_witness(const HubProcess& hub, const WitnessService& witness) {
  std::string path = hub.dir() + "/sened.toml";
  std::string text = read_file(path);
  size_t at = text.find("\n[timestamp]\n");
  if (at == std::string::npos) throw std::runtime_error("sened.toml has no [timestamp]");
  text.insert(at + 1, "[[journal.witness]]\nvkey = \"" + witness.vkey() + "\"\nurl = \"" +
                          witness.url() + "\"\n\n");
  write_file(path, text);
}

// `sened journal evidence --data DIR --json`: the operator's view.
struct Evidence {
  int exit_code = -1;
  json::object status;
  bool healthy() const { return status.at("healthy").as_bool(); }
  const json::object& tsa() const { return status.at("tsa").as_object(); }
  const json::object& witness() const {
    return status.at("witnesses").as_array().at(0).as_object();
  }
};

Evidence evidence(const HubProcess& hub) {
  CommandResult r = hub.sened({"journal", "evidence", "--data", hub.dir(), "--json"});
  Evidence e;
  e.exit_code = r.exit_code;
  boost::system::error_code ec;
  json::value v = json::parse(r.out, ec);
  if (!ec && v.is_object()) e.status = v.as_object();
  return e;
}

bool has_status(const Evidence& e) { return e.status.contains("healthy"); }

class EvidenceEndToEndTest : public ::testing::Test {
 protected:
  HubProcess hub_{{kSender, kRecipient}};
  TempDir work_;
};

TEST_F(EvidenceEndToEndTest, TsaDownThenUpTimeStampsTheLatestCheckpointWhileDocumentsFlow) {
  TsaAuthority authority;
  TsaResponder tsa(authority);
  tsa.start();  // only to learn a free port: nothing listens there from now on
  std::string url = tsa.url();
  tsa.stop();
  hub_.set_config("tsa_url", "\"" + url + "\"");
  hub_.set_config("tsa_ca", "\"" + authority.ca_file() + "\"");
  hub_.start();

  // Documents are accepted and delivered while the TSA is away.
  deliver(hub_, send(hub_, "While the TSA is away"));
  ASSERT_TRUE(wait_until([&] { return contains(hub_.log(), "time stamp failed"); })) << hub_.log();
  EXPECT_TRUE(contains(hub_.log(), "documents are still accepted")) << hub_.log();
  ASSERT_TRUE(wait_until([&] {
    Evidence e = evidence(hub_);
    return has_status(e) && !e.healthy();
  }));
  Evidence down = evidence(hub_);
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_TRUE(down.tsa().at("configured").as_bool());
  EXPECT_FALSE(down.tsa().at("ok").as_bool());
  EXPECT_GE(down.tsa().at("failures").to_number<int>(), 1);
  EXPECT_FALSE(down.tsa().at("last_error").as_string().empty());
  EXPECT_EQ(down.tsa().at("timestamped_size").to_number<uint64_t>(), 0u);
  CommandResult text = hub_.sened({"journal", "evidence", "--data", hub_.dir()});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_TRUE(contains(text.out, "tsa FAILING")) << text.out;
  deliver(hub_, send(hub_, "Still away"));
  uint64_t entries = static_cast<uint64_t>(hub_.journal_entries());

  // Back on the same port: the latest checkpoint gets its time stamp.
  tsa.start();
  ASSERT_EQ(tsa.url(), url);
  ASSERT_TRUE(wait_until([&] {
    Evidence e = evidence(hub_);
    return has_status(e) && e.healthy() &&
           e.tsa().at("timestamped_size").to_number<uint64_t>() >= entries;
  })) << hub_.log();
  EXPECT_EQ(evidence(hub_).exit_code, 0);
  EXPECT_TRUE(contains(hub_.log(), "TSA back")) << hub_.log();
  EXPECT_GE(tsa.answered(), 1);

  // The token checks with stock openssl against the note the hub serves.
  std::string out = work_ / "stamp";
  CommandResult saved = hub_.sened({"journal", "evidence", "--data", hub_.dir(), "--out", out});
  ASSERT_EQ(saved.exit_code, 0) << saved.out << saved.err;
  CommandResult verified =
      run_command({"openssl", "ts", "-verify", "-data", out + "/timestamped-note", "-in",
                   out + "/timestamp.tsr", "-token_in", "-CAfile", authority.ca_file()});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_TRUE(contains(verified.out, "Verification: OK")) << verified.out;
  std::string note = read_file(out + "/timestamped-note");
  EXPECT_GE(size_of(note), entries);
  EXPECT_EQ(served(hub_), note);  // no witnesses: the served note is the stamped one

  // The same token does not vouch for another note.
  std::string other = note;
  other[other.find('\n') + 1] ^= 1;
  write_file(out + "/other-note", other);
  CommandResult wrong =
      run_command({"openssl", "ts", "-verify", "-data", out + "/other-note", "-in",
                   out + "/timestamp.tsr", "-token_in", "-CAfile", authority.ca_file()});
  EXPECT_NE(wrong.exit_code, 0) << wrong.out;
}

TEST_F(EvidenceEndToEndTest, WitnessDownThenUpCosignsTheServedCheckpoint) {
  WitnessService witness(kOrigin, log_vkey(hub_));
  witness.start();  // only to learn a free port: it stays down from now on
  witness.stop();
  configure_witness(hub_, witness);
  std::string log_addr_file = hub_.dir() + "/journal.addr";
  hub_.start("127.0.0.1:0",
             {"--journal-listen", "127.0.0.1:0", "--journal-port-file", log_addr_file});

  deliver(hub_, send(hub_, "While the witness is away"));
  ASSERT_TRUE(wait_until([&] { return contains(hub_.log(), "witness unreachable"); }))
      << hub_.log();
  EXPECT_TRUE(contains(hub_.log(), "documents are still accepted")) << hub_.log();
  ASSERT_TRUE(wait_until([&] {
    Evidence e = evidence(hub_);
    return has_status(e) && !e.healthy();
  }));
  Evidence down = evidence(hub_);
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_EQ(std::string(down.witness().at("name").as_string()), "witness.test/w1");
  EXPECT_FALSE(down.witness().at("ok").as_bool());
  EXPECT_GE(down.witness().at("failures").to_number<int>(), 1);
  EXPECT_FALSE(down.witness().at("last_error").as_string().empty());
  EXPECT_EQ(down.witness().at("cosigned_size").to_number<uint64_t>(), 0u);
  EXPECT_FALSE(down.tsa().at("configured").as_bool());
  EXPECT_FALSE(cosigned_by(served(hub_), witness));
  deliver(hub_, send(hub_, "Still away"));
  uint64_t entries = static_cast<uint64_t>(hub_.journal_entries());

  // The witness starts: the latest checkpoint is served with its cosignature.
  witness.start();
  ASSERT_TRUE(wait_until([&] {
    std::string note = served(hub_);
    return size_of(note) >= entries && cosigned_by(note, witness);
  })) << hub_.log();
  std::string note = served(hub_);
  std::string log_address = read_file(log_addr_file);
  log_address.pop_back();
  CommandResult tiles =
      run_command({"curl", "-sS", "--fail", "http://" + log_address + "/journal/checkpoint"});
  ASSERT_EQ(tiles.exit_code, 0) << tiles.err;
  EXPECT_EQ(tiles.out, note);
  EXPECT_TRUE(cosigned_by(tiles.out, witness));
  ASSERT_TRUE(wait_until([&] { return evidence(hub_).exit_code == 0; }));
  Evidence up = evidence(hub_);
  EXPECT_TRUE(up.healthy());
  EXPECT_TRUE(up.witness().at("ok").as_bool());
  EXPECT_EQ(up.witness().at("cosigned_size").to_number<uint64_t>(), size_of(note));
  EXPECT_TRUE(contains(hub_.log(), "witness back")) << hub_.log();

  // A participant's export verifies offline with the witness required.
  std::string head = work_ / "head";
  ASSERT_EQ(as(hub_, kSender, {"journal", "head", "--out", head}, 2).exit_code, 0);
  std::string exported = work_ / "export.json";
  CommandResult ex = as(hub_, kSender, {"journal", "export", "--out", exported}, 2);
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  CommandResult ok =
      hub_.sened({"journal", "verify", "--export", exported, "--key", head + "/hub-key.pem",
                  "--witness", witness.vkey(), "--threshold", "1"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_TRUE(contains(ok.out, "journal ok")) << ok.out;

  // A witness that did not cosign does not count.
  WitnessService stranger(kOrigin, log_vkey(hub_), "witness.test/stranger");
  CommandResult short_of =
      hub_.sened({"journal", "verify", "--export", exported, "--key", head + "/hub-key.pem",
                  "--witness", stranger.vkey(), "--threshold", "1"});
  EXPECT_EQ(short_of.exit_code, 1) << short_of.out << short_of.err;
  EXPECT_TRUE(contains(short_of.out, "witness threshold")) << short_of.out;
}

TEST_F(EvidenceEndToEndTest, JournalEvidenceRefusesMissingOrMalformedStatusClearly) {
  // Before the hub ever ran: nothing to show, and it says why.
  CommandResult missing = hub_.sened({"journal", "evidence", "--data", hub_.dir()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "not_found")) << missing.err;
  EXPECT_TRUE(contains(missing.err, "the hub writes it when it starts")) << missing.err;

  // A hub without witnesses or TSA is healthy and has no time stamp to save.
  hub_.start();
  ASSERT_TRUE(wait_until([&] { return has_status(evidence(hub_)); }));
  CommandResult none = hub_.sened({"journal", "evidence", "--data", hub_.dir()});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(contains(none.out, "no witness and no TSA configured")) << none.out;
  std::string out = work_ / "stamp";
  CommandResult no_stamp = hub_.sened({"journal", "evidence", "--data", hub_.dir(), "--out", out});
  EXPECT_EQ(no_stamp.exit_code, 1);
  EXPECT_TRUE(contains(no_stamp.err, "no checkpoint carries a time stamp yet")) << no_stamp.err;
  EXPECT_FALSE(fs::exists(out + "/timestamp.tsr"));
  ASSERT_EQ(hub_.stop(SIGTERM), 0);

  // A file that is not the hub's status is refused, not half printed.
  for (const char* text : {"{\"witnesses\":[]}\n", "{\"healthy\":true}\n", "not json",
                           "{\"healthy\":true,\"latest_size\":1,\"witnesses\":[{}],\"tsa\":{}}"}) {
    write_file(hub_.dir() + "/status/evidence.json", text);
    CommandResult malformed = hub_.sened({"journal", "evidence", "--data", hub_.dir()});
    EXPECT_EQ(malformed.exit_code, 1) << text;
    EXPECT_TRUE(contains(malformed.err, "invalid_argument")) << malformed.err;
    EXPECT_TRUE(contains(malformed.err, "is not an evidence status")) << malformed.err;
    EXPECT_TRUE(malformed.out.empty()) << malformed.out;
  }
  // An endless file is refused by its size, not read to the end.
  fs::remove(hub_.dir() + "/status/evidence.json");
  fs::create_symlink("/dev/zero", hub_.dir() + "/status/evidence.json");
  CommandResult endless = hub_.sened({"journal", "evidence", "--data", hub_.dir()});
  EXPECT_EQ(endless.exit_code, 1);
  EXPECT_TRUE(contains(endless.err, "is larger than")) << endless.err;
}

// `sened gateway` for kRecipient, on its folder `dir`, pointed at `hub`,
// requiring the witness. Started through its local API's port file.
void start_gateway(ServiceProcess& gateway, const std::string& dir, const HubProcess& hub,
                   const WitnessService& witness) {
  std::string c = hub.client_dir(kRecipient);
  gateway.start({"gateway",
                 "--dir",
                 dir,
                 "--hub",
                 hub.url(),
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
                 "500",
                 "--witness",
                 witness.vkey(),
                 "--witness-threshold",
                 "1",
                 "--journal-check-seconds",
                 "1",
                 "--local-api",
                 "127.0.0.1:0"},
                dir + ".addr", dir + ".log", "--local-api-port-file");
}

// The size of the last good checkpoint the gateway's watch saved (0: none).
uint64_t gateway_seen_size(const std::string& dir) {
  std::string path = dir + "/" + gateway::kJournalWatchFile;
  if (!fs::exists(path)) return 0;
  return json::parse(read_file(path)).as_object().at("size").to_number<uint64_t>();
}

// Makes `to` (a hub that has not started) a copy of `from`'s stopped data
// folder: the same store, CA, certificates and log key, so the same log.
void copy_data_folder(const HubProcess& from, const HubProcess& to) {
  for (const auto& e : fs::directory_iterator(to.dir())) fs::remove_all(e.path());
  fs::copy(from.dir(), to.dir(), fs::copy_options::recursive);
  fs::remove(to.dir() + "/hub.log");
  fs::remove(to.dir() + "/hub.addr");
}

TEST_F(EvidenceEndToEndTest, AForkedLogIsRefusedByTheWitnessWarnedByTheGatewayAndNamedByVerify) {
  // Hub A's history up to the fork, then a copy of its folder for hub B.
  hub_.start();
  send(hub_, "Before the fork");
  ASSERT_TRUE(wait_until(
      [&] { return size_of(served(hub_)) == static_cast<uint64_t>(hub_.journal_entries()); }));
  uint64_t fork_size = size_of(served(hub_));
  ASSERT_EQ(hub_.stop(SIGTERM), 0);
  HubProcess forked(std::vector<std::string>{});
  copy_data_folder(hub_, forked);
  ASSERT_EQ(log_vkey(forked), log_vkey(hub_));
  WitnessService witness(kOrigin, log_vkey(hub_));
  witness.start();
  configure_witness(hub_, witness);
  configure_witness(forked, witness);

  // A goes on alone first: the witness cosigns its checkpoints.
  hub_.start();
  send(hub_, "Only on A");
  uint64_t a_entries = static_cast<uint64_t>(hub_.journal_entries());
  ASSERT_TRUE(wait_until([&] {
    std::string note = served(hub_);
    return size_of(note) >= a_entries && cosigned_by(note, witness);
  })) << hub_.log();

  // A gateway sees A's cosigned checkpoint and takes A's documents.
  TempDir gateway_home;
  std::string gw = gateway_home / "gw";
  ServiceProcess gateway;
  start_gateway(gateway, gw, hub_, witness);
  ASSERT_TRUE(wait_until([&] { return gateway_seen_size(gw) >= a_entries; })) << gateway.log();
  ASSERT_EQ(gateway.stop(SIGTERM), 0);
  uint64_t seen = gateway_seen_size(gw);
  std::string a_head = work_ / "a-head";
  ASSERT_EQ(as(hub_, kSender, {"journal", "head", "--out", a_head}, 2).exit_code, 0);
  uint64_t a_size = size_of(read_file(a_head + "/checkpoint"));
  EXPECT_FALSE(fs::exists(gw + "/" + gateway::kJournalWarningFile));

  // B, the same log, writes another history, longer than anything A showed.
  forked.start();
  std::string last;
  for (int i = 0; i < 6; ++i) last = send(forked, "Only on B " + std::to_string(i));
  uint64_t b_entries = static_cast<uint64_t>(forked.journal_entries());
  ASSERT_GT(b_entries, std::max(seen, a_size)) << "seen " << seen << ", A's head " << a_size;
  ASSERT_TRUE(wait_until([&] { return size_of(served(forked)) >= b_entries; }));

  // The witness refuses B and keeps B's checkpoint as evidence.
  ASSERT_TRUE(wait_until([&] { return !witness.refused_notes().empty(); })) << witness.log();
  // The refused checkpoint is B's: signed by the log's key, past the fork.
  std::string refused = witness.refused_notes().front();
  auto log_key = journal::parse_verifier_key(log_vkey(hub_));
  ASSERT_TRUE(log_key.ok());
  EXPECT_TRUE(journal::open_note(refused, {*log_key}).ok()) << refused;
  EXPECT_GT(size_of(refused), fork_size) << refused;
  EXPECT_TRUE(std::regex_search(witness.logs().out, std::regex(" refused=[1-9]")))
      << witness.logs().out;
  EXPECT_FALSE(cosigned_by(served(forked), witness));
  // B's operator sees the refusal (the witness answered 422: not consistent).
  ASSERT_TRUE(wait_until([&] {
    Evidence b = evidence(forked);
    return has_status(b) && contains(b.witness().at("last_error").as_string().c_str(), "422");
  })) << json::serialize(evidence(forked).status);
  Evidence b = evidence(forked);
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_FALSE(b.witness().at("ok").as_bool());
  EXPECT_TRUE(contains(forked.log(), "witness refused checkpoint")) << forked.log();

  // A still gets cosigned after B's attempts.
  send(hub_, "A goes on");
  uint64_t a_more = static_cast<uint64_t>(hub_.journal_entries());
  ASSERT_TRUE(wait_until([&] {
    std::string note = served(hub_);
    return size_of(note) >= a_more && cosigned_by(note, witness);
  })) << hub_.log();

  // The gateway, now pointed at B, warns of the fork and still takes documents.
  start_gateway(gateway, gw, forked, witness);
  std::string warning_file = gw + "/" + gateway::kJournalWarningFile;
  ASSERT_TRUE(wait_until([&] { return fs::exists(warning_file); })) << gateway.log();
  json::object warning = json::parse(read_file(warning_file)).as_object();
  EXPECT_EQ(std::string(warning.at("kind").as_string()), "inconsistent")
      << json::serialize(warning);
  EXPECT_TRUE(contains(warning.at("message").as_string().c_str(), "not consistent"))
      << json::serialize(warning);
  EXPECT_TRUE(contains(warning.at("message").as_string().c_str(), "forked"))
      << json::serialize(warning);
  EXPECT_EQ(warning.at("last_good_size").to_number<uint64_t>(), seen);
  ASSERT_TRUE(wait_until([&] { return fs::exists(gw + "/inbox/" + last); })) << gateway.log();
  EXPECT_TRUE(contains(gateway.log(), "journal warning kind=inconsistent")) << gateway.log();
  EXPECT_EQ(gateway.stop(SIGTERM), 0);

  // An auditor with A's checkpoint and B's: the fork is named.
  std::string b_head = work_ / "b-head";
  ASSERT_EQ(as(forked, kSender, {"journal", "head", "--out", b_head}, 2).exit_code, 0);
  ASSERT_EQ(forked.stop(SIGTERM), 0);
  std::string b_export = work_ / "b-export.json";
  CommandResult ex = forked.sened({"journal", "export", "--data", forked.dir(), "--out", b_export});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  CommandResult verdict = forked.sened(
      {"journal", "verify", "--export", b_export, "--key", a_head + "/hub-key.pem", "--checkpoint",
       a_head + "/checkpoint", "--checkpoint", b_head + "/checkpoint"});
  EXPECT_EQ(verdict.exit_code, 1) << verdict.out << verdict.err;
  EXPECT_TRUE(contains(verdict.out, "journal BROKEN: fork")) << verdict.out;
  EXPECT_TRUE(
      contains(verdict.out, "fork: the hub signed a checkpoint of size " + std::to_string(a_size)))
      << verdict.out;
  // B's own checkpoint alone is no fork of B's export.
  CommandResult alone =
      forked.sened({"journal", "verify", "--export", b_export, "--key", a_head + "/hub-key.pem",
                    "--checkpoint", b_head + "/checkpoint"});
  EXPECT_EQ(alone.exit_code, 0) << alone.out << alone.err;
}

}  // namespace
}  // namespace sened::testing
