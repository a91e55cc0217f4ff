#include "journal/cosignature.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/digest.h"
#include "journal/checkpoint.h"
#include "journal/merkle.h"
#include "support/test_support.h"

namespace sened::journal {
namespace {

using crypto::base64_decode;
using crypto::base64_encode;

// The example checkpoint body and cosignature time of c2sp.org/tlog-cosignature.
constexpr std::string_view kSpecBody =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
constexpr uint64_t kSpecTime = 1679315147;

// RFC 8032 section 7.1, test 1: a fixed Ed25519 key, so that outputs are known.
constexpr std::string_view kRfc8032Seed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfc8032Public =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

std::string pem_from_seed(std::string_view seed) {
  std::string der = *crypto::from_hex("302e020100300506032b657004220420");
  der += seed;
  return "-----BEGIN PRIVATE KEY-----\n" + base64_encode(der) + "\n-----END PRIVATE KEY-----\n";
}

NoteKey fixed_witness() {
  return *load_note_key("witness.example/w1", pem_from_seed(*crypto::from_hex(kRfc8032Seed)));
}

NoteKey verifier_of(const NoteKey& k) { return NoteKey{k.name, "", k.public_key_raw}; }

std::string sample_body(int leaves) {
  CompactTree tree;
  for (int i = 0; i < leaves; ++i) tree.append(leaf_hash("entry " + std::to_string(i)));
  return checkpoint_body({"sened.example/journal", tree.size(), tree.root(), {}});
}

// A log-signed checkpoint note for `body`.
std::string log_note(const std::string& body) {
  static const NoteKey log = *make_note_key("sened.example/journal");
  return *sign_note(body, log);
}

TEST(CosignatureTest, KeyIdHashesNameNewlineTypeFourAndKey) {
  NoteKey w = fixed_witness();
  ASSERT_EQ(crypto::to_hex(w.public_key_raw), kRfc8032Public);
  std::string pre = w.name + "\n" + std::string(1, '\x04') + w.public_key_raw;
  std::string digest = crypto::sha256(pre);
  uint32_t expected = (static_cast<uint32_t>(static_cast<unsigned char>(digest[0])) << 24) |
                      (static_cast<uint32_t>(static_cast<unsigned char>(digest[1])) << 16) |
                      (static_cast<uint32_t>(static_cast<unsigned char>(digest[2])) << 8) |
                      static_cast<uint32_t>(static_cast<unsigned char>(digest[3]));
  EXPECT_EQ(cosignature_key_id(w.name, w.public_key_raw), expected);
  EXPECT_NE(cosignature_key_id(w.name, w.public_key_raw), note_key_id(w.name, w.public_key_raw));
}

TEST(CosignatureTest, SignedMessageIsTheSpecExample) {
  EXPECT_EQ(cosigned_message(kSpecBody, kSpecTime),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
}

TEST(CosignatureTest, LineCarriesKeyIdBigEndianTimeAndDeterministicSignature) {
  NoteKey w = fixed_witness();
  Result<std::string> line = make_cosignature_line(kSpecBody, w, kSpecTime);
  ASSERT_TRUE(line.ok()) << line.status().to_string();
  std::string prefix = "\xE2\x80\x94 witness.example/w1 ";
  ASSERT_TRUE(line->starts_with(prefix));
  ASSERT_TRUE(line->ends_with("\n"));
  std::string blob = *base64_decode(line->substr(prefix.size(), line->size() - prefix.size() - 1));
  ASSERT_EQ(blob.size(), 4u + 8u + 64u);
  uint32_t id = cosignature_key_id(w.name, w.public_key_raw);
  EXPECT_EQ(crypto::to_hex(blob.substr(0, 4)),
            crypto::to_hex(std::string{static_cast<char>(id >> 24), static_cast<char>(id >> 16),
                                       static_cast<char>(id >> 8), static_cast<char>(id)}));
  // 1679315147 = 0x641850CB, as in the spec's example line ("...AAAAABkGFDL...").
  EXPECT_EQ(crypto::to_hex(blob.substr(4, 8)), "00000000641850cb");
  // Ed25519 is deterministic: the same inputs give the same line.
  EXPECT_EQ(*line, *make_cosignature_line(kSpecBody, w, kSpecTime));
}

TEST(CosignatureTest, SignatureVerifiesWithStockOpenssl) {
  testing::TempDir dir;
  NoteKey w = fixed_witness();
  std::string line = *make_cosignature_line(kSpecBody, w, kSpecTime);
  std::string prefix = "\xE2\x80\x94 witness.example/w1 ";
  std::string blob = *base64_decode(line.substr(prefix.size(), line.size() - prefix.size() - 1));
  testing::write_file(dir / "msg", cosigned_message(kSpecBody, kSpecTime));
  testing::write_file(dir / "sig", blob.substr(12));
  testing::write_file(dir / "pub.pem", *public_key_pem(w));
  testing::CommandResult r =
      testing::run_command({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", dir / "pub.pem",
                            "-rawin", "-in", dir / "msg", "-sigfile", dir / "sig"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(CosignatureTest, VerifierKeyRoundTripsWithTypeFour) {
  NoteKey w = fixed_witness();
  std::string vkey = witness_verifier_key_string(w);
  EXPECT_TRUE(vkey.starts_with("witness.example/w1+"));
  std::string data = *base64_decode(vkey.substr(vkey.find('+') + 10));  // after "+<8 hex>+"
  EXPECT_EQ(data[0], '\x04');
  Result<NoteKey> parsed = parse_witness_verifier_key(vkey);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->name, w.name);
  EXPECT_EQ(parsed->public_key_raw, w.public_key_raw);
  EXPECT_TRUE(parsed->private_key_pem.empty());
}

TEST(CosignatureTest, RejectsLogVerifierKeyAsWitnessKey) {
  Result<NoteKey> parsed = parse_witness_verifier_key(verifier_key_string(fixed_witness()));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
}

TEST(CosignatureTest, RejectsWitnessKeyWithWrongIdOrName) {
  std::string vkey = witness_verifier_key_string(fixed_witness());
  std::string other_name = "other.example/w1" + vkey.substr(vkey.find('+'));
  EXPECT_EQ(parse_witness_verifier_key(other_name).status().code(), Code::kInvalidArgument);
  std::string bad_id = vkey;
  bad_id[vkey.find('+') + 1] = bad_id[vkey.find('+') + 1] == '0' ? '1' : '0';
  EXPECT_EQ(parse_witness_verifier_key(bad_id).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(parse_witness_verifier_key("no-plus-at-all").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(parse_witness_verifier_key("").status().code(), Code::kInvalidArgument);
}

TEST(CosignatureTest, VerifiesOwnLineAndReturnsTime) {
  NoteKey w = fixed_witness();
  std::string body = sample_body(5);
  std::string line = *make_cosignature_line(body, w, 1700000000);
  Result<uint64_t> t = verify_cosignature_line(line, body, verifier_of(w));
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(*t, 1700000000u);
}

TEST(CosignatureTest, RefusesLineOverAnotherBody) {
  NoteKey w = fixed_witness();
  std::string line = *make_cosignature_line(sample_body(5), w, 1700000000);
  EXPECT_EQ(verify_cosignature_line(line, sample_body(6), verifier_of(w)).status().code(),
            Code::kPermissionDenied);
}

TEST(CosignatureTest, RefusesLineWithChangedTime) {
  NoteKey w = fixed_witness();
  std::string body = sample_body(5);
  std::string line = *make_cosignature_line(body, w, 1700000000);
  std::string prefix = "\xE2\x80\x94 witness.example/w1 ";
  std::string blob = *base64_decode(line.substr(prefix.size(), line.size() - prefix.size() - 1));
  blob[11] = static_cast<char>(blob[11] ^ 1);
  std::string forged = prefix + base64_encode(blob);
  EXPECT_EQ(verify_cosignature_line(forged, body, verifier_of(w)).status().code(),
            Code::kPermissionDenied);
}

TEST(CosignatureTest, LogSignatureIsNotACosignature) {
  // The same key signing as a log uses type 0x01 in its key id: not this witness's line.
  NoteKey w = fixed_witness();
  std::string body = sample_body(3);
  std::string note = *sign_note(body, w);
  std::string line = note.substr(body.size() + 1);
  EXPECT_EQ(verify_cosignature_line(line, body, verifier_of(w)).status().code(), Code::kNotFound);
}

TEST(CosignatureTest, RefusesMalformedLines) {
  NoteKey w = verifier_of(fixed_witness());
  std::string body = sample_body(2);
  for (std::string bad : {std::string("witness.example/w1 AAAA"), std::string("\xE2\x80\x94 "),
                          std::string("\xE2\x80\x94 witness.example/w1"),
                          std::string("\xE2\x80\x94 witness.example/w1 !!!notbase64"),
                          std::string("\xE2\x80\x94 witness.example/w1 AAAA")}) {
    EXPECT_EQ(verify_cosignature_line(bad, body, w).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(CosignatureTest, CountsDistinctValidWitnessesAndIgnoresUnknownLines) {
  NoteKey w1 = *make_note_key("w1.example/witness");
  NoteKey w2 = *make_note_key("w2.example/witness");
  NoteKey stranger = *make_note_key("stranger.example/witness");
  std::string body = sample_body(7);
  std::string note = *add_signature_lines(
      log_note(body), {*make_cosignature_line(body, w1, 100), *make_cosignature_line(body, w1, 101),
                       *make_cosignature_line(body, stranger, 100)});
  std::vector<NoteKey> known{verifier_of(w1), verifier_of(w2)};
  Result<size_t> n = count_cosignatures(note, known);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, 1u);
  EXPECT_TRUE(check_witness_threshold(note, known, 1).ok());
  Status two = check_witness_threshold(note, known, 2);
  EXPECT_EQ(two.code(), Code::kPermissionDenied);
  EXPECT_NE(two.message().find("1 of 2"), std::string::npos) << two.message();

  note = *add_signature_lines(note, {*make_cosignature_line(body, w2, 100)});
  EXPECT_EQ(*count_cosignatures(note, known), 2u);
}

TEST(CosignatureTest, ForgedLineOfKnownWitnessIsAnError) {
  NoteKey w1 = *make_note_key("w1.example/witness");
  std::string line = *make_cosignature_line(sample_body(7), w1, 100);
  // The line is w1's, but over another tree: pasted onto this checkpoint it must not count.
  std::string note = *add_signature_lines(log_note(sample_body(8)), {line});
  EXPECT_EQ(count_cosignatures(note, {verifier_of(w1)}).status().code(), Code::kPermissionDenied);
}

TEST(CosignatureTest, ThresholdZeroPassesWithoutWitnesses) {
  EXPECT_TRUE(check_witness_threshold(log_note(sample_body(1)), {}, 0).ok());
}

TEST(CosignatureTest, CountRejectsMalformedNotes) {
  for (std::string bad : {std::string(""), std::string("no newline"), std::string("body\n"),
                          std::string("body\n\n"), std::string("body\n\nnot a signature\n")}) {
    EXPECT_EQ(count_cosignatures(bad, {}).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(CosignatureTest, AddingLinesSkipsDuplicatesAndRejectsGarbage) {
  NoteKey w1 = *make_note_key("w1.example/witness");
  std::string body = sample_body(4);
  std::string note = log_note(body);
  std::string line = *make_cosignature_line(body, w1, 5);
  std::string once = *add_signature_lines(note, {line});
  EXPECT_EQ(once, note + line);
  EXPECT_EQ(*add_signature_lines(once, {line}), once);
  EXPECT_EQ(add_signature_lines(note, {"garbage"}).status().code(), Code::kInvalidArgument);
  // The log's own signature still opens after lines are added.
  EXPECT_TRUE(split_note(once).ok());
}

TEST(CosignatureTest, RefusesTimeBeyondSpecLimit) {
  EXPECT_EQ(
      make_cosignature_line(kSpecBody, fixed_witness(), kMaxCosignatureTime + 1).status().code(),
      Code::kInvalidArgument);
}

}  // namespace
}  // namespace sened::journal
