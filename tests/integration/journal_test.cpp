// The verifiable journal end to end, with the real hub on loopback: signed
// checkpoints that the stock openssl command verifies, proofs and exports
// that `sened journal verify` checks offline, each kind of tampering named,
// and the log mirrored as C2SP tiles over the plain journal listener.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "client/hub_client.h"
#include "crypto/digest.h"
#include "journal/checkpoint.h"
#include "journal/cosignature.h"
#include "journal/merkle.h"
#include "journal/tiles.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kOrigin = "sened.local/journal";

std::string last_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override { hub_.start(); }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_.client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    size_t at = args[1] == "journal" ? 3 : 2;
    args.insert(args.begin() + static_cast<long>(at),
                {"--hub", hub_.url(), "--ca", d + "/ca.pem", "--cert", d + "/cert.pem", "--key",
                 d + "/key.pem"});
    return args;
  }

  std::string send(const std::string& from, const std::string& to) {
    auto r = run_command(as(from, {"send", "--to", to, "--subject", "Journal test",
                                   source_dir() + "/examples/documents/Order 512-r.pdf"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return last_line(r.out);
  }

  // The latest checkpoint's body as the hub serves it.
  journal::Checkpoint served_checkpoint() {
    client::HubClient c(hub_.client("az.mddt"));
    auto r = c.request("GET", "/v1/journal/checkpoint");
    EXPECT_TRUE(r.ok() && r->status == 200);
    auto body = r->body.substr(0, r->body.find("\n\n") + 1);
    auto parsed = journal::parse_checkpoint_body(body);
    EXPECT_TRUE(parsed.ok()) << r->body;
    return *parsed;
  }

  uint64_t journal_size() { return static_cast<uint64_t>(hub_.journal_entries()); }

  // Polls (bounded) until the served checkpoint covers the whole journal.
  journal::Checkpoint wait_for_checkpoint() {
    uint64_t want = journal_size();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      journal::Checkpoint c = served_checkpoint();
      if (c.size >= want || std::chrono::steady_clock::now() > deadline) return c;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  CommandResult verify(const std::string& export_file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        sened_binary(),           "journal", "verify", "--export", export_file, "--key",
        head_dir_ / "hub-key.pem"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_command(args);
  }

  void write_head() {
    auto r = run_command(as("az.mddt", {"journal", "head", "--out", head_dir_.path()}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // A full export from the data folder, as an auditor makes it.
  json::object full_export() {
    std::string file = work_ / "full.json";
    auto r = hub_.sened({"journal", "export", "--data", hub_.dir(), "--out", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(read_file(file)).as_object();
  }

  // `journal proof ID` as the recipient makes it, saved to a file.
  std::string proof_of(const std::string& id, std::vector<std::string> extra = {}) {
    std::string file = work_ / ("proof-" + std::to_string(++proofs_) + ".json");
    std::vector<std::string> args{"journal", "proof", id, "--out", file};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_command(as("az.finance", args));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return file;
  }

  // A tree head of `size` over another history, signed with the hub's own
  // key, as an operator showing two views (or a forked copy of the data)
  // would sign it. Returns the note's file.
  std::string forge_checkpoint(uint64_t size, const std::string& history) {
    auto key = journal::load_note_key(kOrigin, read_file(hub_.dir() + "/journal/log.key"));
    EXPECT_TRUE(key.ok()) << key.status().message();
    auto note = journal::sign_note(
        journal::checkpoint_body({kOrigin, size, crypto::sha256(history), {}}), *key);
    EXPECT_TRUE(note.ok());
    std::string file = work_ / ("forged-" + std::to_string(size));
    write_file(file, *note);
    return file;
  }

  std::string save(const json::object& o, const std::string& name) {
    write_file(work_ / name, json::serialize(o));
    return work_ / name;
  }

  HubProcess hub_{{"az.mddt", "az.finance", "az.baku-executive"}};
  TempDir head_dir_;
  TempDir work_;
  int proofs_ = 0;
};

TEST_F(JournalTest, HeadFilesVerifyWithTheStockOpensslCommand) {
  send("az.mddt", "az.finance");
  wait_for_checkpoint();
  write_head();
  std::string d = head_dir_.path();
  auto r = run_command({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", d + "/hub-key.pem",
                        "-rawin", "-in", d + "/head.bin", "-sigfile", d + "/head.sig"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Signature Verified Successfully"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(d + "/checkpoint").rfind(read_file(d + "/head.bin") + "\n", 0), 0u);
}

TEST_F(JournalTest, AnAlteredHeadFailsTheOpensslCheck) {
  write_head();
  std::string d = head_dir_.path();
  std::string body = read_file(d + "/head.bin");
  body[body.find('\n') + 1] ^= 1;  // change the size
  write_file(d + "/head.bin", body);
  auto r = run_command({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", d + "/hub-key.pem",
                        "-rawin", "-in", d + "/head.bin", "-sigfile", d + "/head.sig"});
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(JournalTest, ACheckpointCoveringASubmitAppearsWithinABoundedPoll) {
  uint64_t before = served_checkpoint().size;
  send("az.mddt", "az.finance");
  journal::Checkpoint c = wait_for_checkpoint();
  EXPECT_GT(c.size, before);
  EXPECT_EQ(c.size, journal_size());
  EXPECT_EQ(c.origin, kOrigin);
}

TEST_F(JournalTest, ADocumentsProofVerifiesOfflineAgainstAnEarlierHead) {
  write_head();  // a head seen before the document
  std::string id = send("az.mddt", "az.finance");
  ASSERT_EQ(run_command(as("az.finance", {"ack", id})).exit_code, 0);
  wait_for_checkpoint();
  std::string file = proof_of(id, {"--checkpoint", head_dir_ / "checkpoint"});
  json::object proof = json::parse(read_file(file)).as_object();
  ASSERT_EQ(proof.at("entries").as_array().size(), 2u);  // submitted, delivered
  EXPECT_FALSE(proof.at("complete").as_bool());
  ASSERT_EQ(proof.at("consistency_proofs").as_array().size(), 1u);

  auto r = verify(file, {"--checkpoint", head_dir_ / "checkpoint"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("journal ok: 2 entries"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("warning"), std::string::npos) << r.out;
}

TEST_F(JournalTest, AProofWithoutAConsistencyProofLeavesAnEarlierHeadNotVerified) {
  write_head();
  std::string id = send("az.mddt", "az.finance");
  wait_for_checkpoint();
  auto r = verify(proof_of(id), {"--checkpoint", head_dir_ / "checkpoint"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("journal NOT VERIFIED: cannot compare checkpoint of size"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("--checkpoint FILE"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("journal ok"), std::string::npos) << r.out;
}

TEST_F(JournalTest, AProofNamesAForkAtAnOlderSizeSignedWithTheHubsKey) {
  // A copy of the hub's data (same key) that grew apart at size 3 and
  // signed its own head, while the real hub goes on.
  write_head();
  std::string forged = forge_checkpoint(3, "another history");
  std::string id = send("az.mddt", "az.finance");
  wait_for_checkpoint();
  auto r = verify(proof_of(id, {"--checkpoint", forged}), {"--checkpoint", forged});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("journal BROKEN: fork: the hub signed a checkpoint of size 3"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("fork: fork:"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("journal ok"), std::string::npos) << r.out;
}

TEST_F(JournalTest, AProofAgainstACheckpointNewerThanTheHubsIsRefused) {
  std::string id = send("az.mddt", "az.finance");
  std::string forged = forge_checkpoint(1000000, "a future");
  auto p = run_command(as("az.finance", {"journal", "proof", id, "--checkpoint", forged}));
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_NE(p.err.find("conflict"), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("size 1000000"), std::string::npos) << p.err;
}

TEST_F(JournalTest, ADuplicatedEntryInAProofIsNamed) {
  std::string id = send("az.mddt", "az.finance");
  ASSERT_EQ(run_command(as("az.finance", {"ack", id})).exit_code, 0);
  wait_for_checkpoint();
  write_head();
  json::object x = json::parse(read_file(proof_of(id))).as_object();
  json::array& entries = x.at("entries").as_array();
  int64_t seq = entries[1].at("seq").as_int64();
  entries.push_back(entries[1]);
  auto r = verify(save(x, "twice.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("duplicate entry (entry " + std::to_string(seq) + ")"), std::string::npos)
      << r.out;
}

TEST_F(JournalTest, ReorderedEntriesInAProofAreNamed) {
  std::string id = send("az.mddt", "az.finance");
  ASSERT_EQ(run_command(as("az.finance", {"ack", id})).exit_code, 0);
  wait_for_checkpoint();
  write_head();
  json::object x = json::parse(read_file(proof_of(id))).as_object();
  json::array& entries = x.at("entries").as_array();
  std::swap(entries[0], entries[1]);
  auto r = verify(save(x, "swapped.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("reordered entries"), std::string::npos) << r.out;
}

TEST_F(JournalTest, AProofSaysWhatItCannotProve) {
  std::string id = send("az.mddt", "az.finance");
  wait_for_checkpoint();
  write_head();
  auto r = verify(proof_of(id));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("a partial export cannot show that no entry is left out"), std::string::npos)
      << r.out;
}

TEST_F(JournalTest, AnEndlessExportIsRefusedNotRead) {
  write_head();
  auto zero = verify("/dev/zero");
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_NE(zero.err.find("invalid_argument"), std::string::npos) << zero.err;
  EXPECT_NE(zero.err.find("is not JSON"), std::string::npos) << zero.err;

  // A file past the bound (sparse: no disk is spent) is refused by its size.
  std::string huge = work_ / "huge.json";
  write_file(huge, "{");
  fs::resize_file(huge, (uint64_t{1} << 30) + 1);
  auto big = verify(huge);
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(big.err.find("payload_too_large"), std::string::npos) << big.err;
}

TEST_F(JournalTest, HeadPrintsJsonAndWritesTheVerifierKey) {
  auto r = run_command(as("az.mddt", {"journal", "head", "--json", "--out", head_dir_.path()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::object head = json::parse(r.out).as_object();
  EXPECT_EQ(head.at("origin").as_string(), kOrigin);
  std::string vkey(head.at("vkey").as_string());
  EXPECT_EQ(read_file(head_dir_ / "hub-key.vkey"), vkey + "\n");
  EXPECT_TRUE(journal::parse_verifier_key(vkey).ok());

  auto only_json = run_command(as("az.mddt", {"journal", "head", "--json"}));
  EXPECT_EQ(only_json.exit_code, 0) << only_json.err;
  EXPECT_TRUE(json::parse(only_json.out).is_object()) << only_json.out;
  auto neither = run_command(as("az.mddt", {"journal", "head"}));
  EXPECT_EQ(neither.exit_code, 1);
  EXPECT_NE(neither.err.find("--out"), std::string::npos) << neither.err;
}

TEST_F(JournalTest, TheWrittenVerifierKeyChecksAnExport) {
  write_head();
  std::string file = save(full_export(), "full.json");
  auto r = run_command(
      {sened_binary(), "journal", "verify", "--export", file, "--key", head_dir_ / "hub-key.vkey"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(JournalTest, ACertificateGivenAsTheKeyIsNamedWithWhatIsExpected) {
  write_head();
  std::string file = save(full_export(), "full.json");
  auto r = run_command({sened_binary(), "journal", "verify", "--export", file, "--key",
                        hub_.client_dir("az.mddt") + "/cert.pem"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("a PEM CERTIFICATE was given"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hub-key.vkey"), std::string::npos) << r.err;
}

TEST_F(JournalTest, AProofOfSomeoneElsesDocumentIsNotFound) {
  std::string id = send("az.mddt", "az.finance");
  auto r = run_command(as("az.baku-executive", {"journal", "proof", id}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
}

TEST_F(JournalTest, AParticipantsExportHoldsOnlyItsDocumentsAndVerifies) {
  std::string mine = send("az.mddt", "az.finance");
  send("az.finance", "az.baku-executive");
  wait_for_checkpoint();
  write_head();
  std::string file = work_ / "export.json";
  auto e = run_command(as("az.mddt", {"journal", "export", "--out", file}));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  json::object x = json::parse(read_file(file)).as_object();
  ASSERT_EQ(x.at("entries").as_array().size(), 1u);
  EXPECT_EQ(x.at("entries").as_array()[0].at("document").as_string(), mine);
  auto r = verify(file);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(JournalTest, AFullExportVerifiesAndRecomputesTheRoot) {
  send("az.mddt", "az.finance");
  write_head();
  auto r = verify(save(full_export(), "full.json"), {"--checkpoint", head_dir_ / "checkpoint"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("(complete)"), std::string::npos) << r.out;
}

TEST_F(JournalTest, ATamperedEntryIsNamed) {
  send("az.mddt", "az.finance");
  write_head();
  json::object x = full_export();
  json::object& entry = x.at("entries").as_array()[4].as_object();
  entry["actor"] = "az.someone-else";
  auto r = verify(save(x, "tampered.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("tampered entry (entry 5)"), std::string::npos) << r.out;
}

TEST_F(JournalTest, ATamperedSaltIsCaughtByTheRoot) {
  write_head();
  json::object x = full_export();
  json::object& entry = x.at("entries").as_array()[2].as_object();
  entry["salt"] = std::string(64, '0');
  auto r = verify(save(x, "salt.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("root mismatch"), std::string::npos) << r.out;
}

TEST_F(JournalTest, ADroppedEntryIsNamed) {
  write_head();
  json::object x = full_export();
  json::array& entries = x.at("entries").as_array();
  entries.erase(entries.begin() + 6);
  auto r = verify(save(x, "dropped.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("missing entry (entry 7)"), std::string::npos) << r.out;
}

TEST_F(JournalTest, ReorderedEntriesAreNamed) {
  write_head();
  json::object x = full_export();
  json::array& entries = x.at("entries").as_array();
  std::swap(entries[2], entries[3]);
  auto r = verify(save(x, "reordered.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("reordered entries"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("entries 4 and 3"), std::string::npos) << r.out;
}

TEST_F(JournalTest, AForkedCheckpointIsNamed) {
  write_head();
  // A second tree head for an earlier size with another root, signed with
  // the hub's own key, as an operator showing two views would.
  auto key = journal::load_note_key(kOrigin, read_file(hub_.dir() + "/journal/log.key"));
  ASSERT_TRUE(key.ok()) << key.status().message();
  auto forged = journal::sign_note(
      journal::checkpoint_body({kOrigin, 3, crypto::sha256("another history"), {}}), *key);
  ASSERT_TRUE(forged.ok());
  write_file(work_ / "forged", *forged);
  auto r = verify(save(full_export(), "full.json"), {"--checkpoint", work_ / "forged"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("fork: the hub signed a checkpoint of size 3"), std::string::npos) << r.out;
}

TEST_F(JournalTest, ACheckpointSignedByAnotherKeyIsRefused) {
  write_head();
  auto other = journal::make_note_key(kOrigin);
  ASSERT_TRUE(other.ok());
  json::object x = full_export();
  auto body = std::string(x.at("checkpoint").as_string());
  body = body.substr(0, body.find("\n\n") + 1);
  x["checkpoint"] = *journal::sign_note(body, *other);
  auto r = verify(save(x, "other-key.json"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("bad signature"), std::string::npos) << r.out;
}

TEST_F(JournalTest, AWitnessThresholdIsRequiredWhenAsked) {
  write_head();
  auto witness = journal::make_note_key("witness.example/w1");
  ASSERT_TRUE(witness.ok());
  std::string vkey = journal::witness_verifier_key_string(*witness);
  json::object x = full_export();
  std::string bare = save(x, "bare.json");
  auto without = verify(bare, {"--witness", vkey, "--threshold", "1"});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.out.find("witness threshold"), std::string::npos) << without.out;

  std::string note(x.at("checkpoint").as_string());
  std::string body = note.substr(0, note.find("\n\n") + 1);
  auto line = journal::make_cosignature_line(body, *witness, 1764892800);
  ASSERT_TRUE(line.ok());
  x["checkpoint"] = note + *line;
  auto with = verify(save(x, "cosigned.json"), {"--witness", vkey, "--threshold", "1"});
  EXPECT_EQ(with.exit_code, 0) << with.out << with.err;

  auto too_many = verify(bare, {"--witness", vkey, "--threshold", "2"});
  EXPECT_EQ(too_many.exit_code, 1);
  EXPECT_NE(too_many.err.find("invalid_argument"), std::string::npos) << too_many.err;
}

TEST_F(JournalTest, ProofRoutesRefuseBadParameters) {
  client::HubClient c(hub_.client("az.mddt"));
  auto missing = c.request("GET", "/v1/journal/proof/inclusion?index=0");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 400);
  auto beyond = c.request("GET", "/v1/journal/proof/consistency?from=1&to=999999");
  ASSERT_TRUE(beyond.ok());
  EXPECT_EQ(beyond->status, 400);
  auto good = c.request("GET", "/v1/journal/proof/consistency?from=1&to=5");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->status, 200) << good->body;
}

class JournalTilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_.start("127.0.0.1:0", {"--journal-listen", "127.0.0.1:0", "--journal-port-file",
                               hub_.dir() + "/journal.addr"});
    std::string addr = read_file(hub_.dir() + "/journal.addr");
    base_ = "http://" + addr.substr(0, addr.size() - 1) + "/journal/";
  }
  CommandResult curl(const std::string& path, const std::string& out) {
    return run_command({"curl", "-sS", "--fail", "--max-time", "30", "-o", out, base_ + path});
  }

  HubProcess hub_{{"az.mddt"}};
  std::string base_;
  TempDir work_;
};

TEST_F(JournalTilesTest, TilesFetchedWithCurlRebuildTheCheckpointRoot) {
  ASSERT_EQ(curl("checkpoint", work_ / "checkpoint").exit_code, 0);
  std::string note = read_file(work_ / "checkpoint");
  auto c = journal::parse_checkpoint_body(note.substr(0, note.find("\n\n") + 1));
  ASSERT_TRUE(c.ok()) << note;
  ASSERT_GT(c->size, 0u);
  ASSERT_LT(c->size, journal::kTileWidth);  // one partial tile holds it all

  std::string path = journal::tile_path({false, 0, 0, c->size});
  ASSERT_EQ(curl(path, work_ / "tile").exit_code, 0) << path;
  std::string tile = read_file(work_ / "tile");
  ASSERT_EQ(tile.size(), c->size * 32);
  std::vector<std::string> leaves;
  for (uint64_t i = 0; i < c->size; ++i) leaves.push_back(tile.substr(i * 32, 32));
  EXPECT_EQ(journal::root_from_leaves(leaves), c->root);

  // The entry bundle holds the leaf data behind those leaf hashes.
  ASSERT_EQ(curl(journal::tile_path({true, 0, 0, c->size}), work_ / "bundle").exit_code, 0);
  std::string bundle = read_file(work_ / "bundle");
  ASSERT_EQ(bundle.size(), c->size * 34);
  for (uint64_t i = 0; i < c->size; ++i) {
    ASSERT_EQ(bundle.substr(i * 34, 2), std::string("\x00\x20", 2));
    EXPECT_EQ(journal::leaf_hash(bundle.substr(i * 34 + 2, 32)), leaves[i]);
  }
}

TEST_F(JournalTilesTest, TheListenerServesNothingButTheLog) {
  EXPECT_NE(curl("tile/0/000", work_ / "full").exit_code, 0);          // not full yet
  EXPECT_NE(curl("tile/0/x000/000.p/1", work_ / "bad").exit_code, 0);  // not canonical
  auto other = run_command({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            base_.substr(0, base_.size() - 9) + "/v1/inbox"});
  EXPECT_EQ(other.out, "404");
  auto post = run_command(
      {"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base_ + "checkpoint"});
  EXPECT_EQ(post.out, "405");
}

TEST(JournalTileNamesTest, IndexesAreWrittenInXPrefixedGroups) {
  EXPECT_EQ(journal::encode_tile_index(1234067), "x001/x234/067");
  EXPECT_EQ(journal::encode_tile_index(5), "005");
  EXPECT_EQ(journal::tile_path({true, 0, 1000, 7}), "tile/entries/x001/000.p/7");
  auto t = journal::parse_tile_path({"2", "x001", "x234", "067.p", "9"});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->level, 2);
  EXPECT_EQ(t->index, 1234067u);
  EXPECT_EQ(t->width, 9u);
  EXPECT_FALSE(journal::parse_tile_path({"0", "67"}).has_value());
  EXPECT_FALSE(journal::parse_tile_path({"0", "000.p", "256"}).has_value());
  EXPECT_FALSE(journal::parse_tile_path({"64", "000"}).has_value());
}

}  // namespace
}  // namespace sened::testing
