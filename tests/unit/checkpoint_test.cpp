#include "journal/checkpoint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/digest.h"
#include "journal/merkle.h"
#include "support/test_support.h"

namespace sened::journal {
namespace {

using crypto::base64_decode;
using crypto::base64_encode;

// The example key and note of Go's golang.org/x/mod/sumdb/note, the reference
// implementation of signed notes.
constexpr std::string_view kPeterVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kPeterSeedBase64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kEnochVkey =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kPeterLine =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view kEnochLine =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// The example body of c2sp.org/tlog-checkpoint.
constexpr std::string_view kSpecBody =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

std::string go_note() { return std::string(kGoText) + "\n" + std::string(kPeterLine); }

// A PKCS#8 PEM for a raw Ed25519 seed: the fixed DER prefix of RFC 8410, then the seed.
std::string ed25519_pem_from_seed(std::string_view seed) {
  std::string der = *crypto::from_hex("302e020100300506032b657004220420");
  der += seed;
  return "-----BEGIN PRIVATE KEY-----\n" + base64_encode(der) + "\n-----END PRIVATE KEY-----\n";
}

NoteKey peter_signer() {
  std::string seed = base64_decode(kPeterSeedBase64)->substr(1);  // after the type byte
  return *load_note_key("PeterNeumann", ed25519_pem_from_seed(seed));
}

Checkpoint sample_checkpoint() {
  CompactTree tree;
  for (int i = 0; i < 5; ++i) tree.append(leaf_hash("entry " + std::to_string(i)));
  return Checkpoint{"sened.example/journal", tree.size(), tree.root(), {}};
}

// Flips one bit of the signature bytes and re-encodes, so the line stays well formed.
std::string flip_signature_bit(const std::string& note) {
  size_t dash = note.rfind(kSignatureLineStart);
  size_t space = note.find(' ', dash + kSignatureLineStart.size());
  std::string b64 = note.substr(space + 1, note.size() - space - 2);
  std::string blob = *base64_decode(b64);
  blob[10] ^= 0x01;
  return note.substr(0, space + 1) + base64_encode(blob) + "\n";
}

Code parse_code(std::string_view body) { return parse_checkpoint_body(body).status().code(); }

// ---- Checkpoint bodies ----

TEST(CheckpointTest, BodyHasTheSpecLayout) {
  Checkpoint c{"example.com/log", 3, std::string(32, '\0'), {"ext one", "ext two"}};
  EXPECT_EQ(checkpoint_body(c),
            "example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\next two\n");
}

TEST(CheckpointTest, BodyRoundTripsWithAndWithoutExtensions) {
  Checkpoint c = sample_checkpoint();
  for (auto extensions : {std::vector<std::string>{}, std::vector<std::string>{"a", "b c"}}) {
    c.extensions = extensions;
    Result<Checkpoint> back = parse_checkpoint_body(checkpoint_body(c));
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->origin, c.origin);
    EXPECT_EQ(back->size, c.size);
    EXPECT_EQ(back->root, c.root);
    EXPECT_EQ(back->extensions, c.extensions);
  }
}

TEST(CheckpointTest, ParsesTheSpecExampleBody) {
  Result<Checkpoint> c = parse_checkpoint_body(kSpecBody);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(c->size, 20852163u);
  EXPECT_EQ(base64_encode(c->root), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(c->extensions.empty());
  EXPECT_EQ(checkpoint_body(*c), kSpecBody);
}

TEST(CheckpointTest, AcceptsSizeZeroAndTheLargestSize) {
  std::string root = "\n" + base64_encode(empty_root()) + "\n";
  EXPECT_EQ(parse_checkpoint_body("o\n0" + root)->size, 0u);
  EXPECT_EQ(parse_checkpoint_body("o\n18446744073709551615" + root)->size, UINT64_MAX);
}

TEST(CheckpointTest, RejectsBodyWithoutFinalNewline) {
  std::string body(kSpecBody);
  body.pop_back();
  EXPECT_EQ(parse_code(body), Code::kInvalidArgument);
  EXPECT_EQ(parse_code(""), Code::kInvalidArgument);
}

TEST(CheckpointTest, RejectsSizeThatIsNotPlainDecimal) {
  std::string root = "\n" + base64_encode(empty_root()) + "\n";
  for (std::string size :
       {"", "+5", "-1", "0x10", "1 0", " 1", "1.0", "١", "18446744073709551616"}) {
    EXPECT_EQ(parse_code("o\n" + size + root), Code::kInvalidArgument) << "size '" << size << "'";
  }
}

TEST(CheckpointTest, RejectsSizeWithLeadingZero) {
  std::string root = "\n" + base64_encode(empty_root()) + "\n";
  EXPECT_EQ(parse_code("o\n01" + root), Code::kInvalidArgument);
  EXPECT_EQ(parse_code("o\n00" + root), Code::kInvalidArgument);
}

TEST(CheckpointTest, RejectsRootThatIsNotCanonicalBase64) {
  EXPECT_EQ(parse_code("o\n1\nnot base64!\n"), Code::kInvalidArgument);
  // The same 32 bytes with stray bits in the last character.
  EXPECT_EQ(parse_code("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n"),
            Code::kInvalidArgument);
  // Unpadded.
  EXPECT_EQ(parse_code("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n"),
            Code::kInvalidArgument);
}

TEST(CheckpointTest, RejectsRootThatIsNot32Bytes) {
  EXPECT_EQ(parse_code("o\n1\n" + base64_encode(std::string(31, 'x')) + "\n"),
            Code::kInvalidArgument);
  EXPECT_EQ(parse_code("o\n1\n" + base64_encode(std::string(33, 'x')) + "\n"),
            Code::kInvalidArgument);
  EXPECT_EQ(parse_code("o\n1\n\n"), Code::kInvalidArgument);
}

TEST(CheckpointTest, RejectsEmptyOrigin) {
  EXPECT_EQ(parse_code("\n1\n" + base64_encode(empty_root()) + "\n"), Code::kInvalidArgument);
}

TEST(CheckpointTest, RejectsMissingLinesEmptyExtensionsAndControlCharacters) {
  std::string good = "o\n1\n" + base64_encode(empty_root()) + "\n";
  EXPECT_EQ(parse_code("o\n1\n"), Code::kInvalidArgument);
  EXPECT_EQ(parse_code(good + "\n"), Code::kInvalidArgument);
  EXPECT_EQ(parse_code(good + "ext\n\n"), Code::kInvalidArgument);
  EXPECT_EQ(parse_code("o\r\n1\n" + base64_encode(empty_root()) + "\n"), Code::kInvalidArgument);
  EXPECT_EQ(parse_code("o\xff\n1\n" + base64_encode(empty_root()) + "\n"), Code::kInvalidArgument);
}

TEST(CheckpointTest, RejectsInvalidUtf8) {
  std::string rest = "\n1\n" + base64_encode(empty_root()) + "\n";
  for (std::string origin :
       {"a\xC0\xAF", "a\xED\xA0\x80", "a\xE2\x80", "a\x80", "a\xF4\x90\x80\x80"}) {
    EXPECT_EQ(parse_code(origin + rest), Code::kInvalidArgument);
  }
  EXPECT_TRUE(
      parse_checkpoint_body("\xD0\xB6\xD1\x83\xD1\x80\xD0\xBD\xD0\xB0\xD0\xBB" + rest).ok());
}

// ---- Keys ----

TEST(CheckpointTest, KeyIdFollowsTheSpecRule) {
  Result<NoteKey> peter = parse_verifier_key(kPeterVkey);
  ASSERT_TRUE(peter.ok()) << peter.status().to_string();
  EXPECT_EQ(peter->name, "PeterNeumann");
  EXPECT_EQ(note_key_id(peter->name, peter->public_key_raw), 0xc74f20a3u);
  std::string hashed = "PeterNeumann\n\x01" + peter->public_key_raw;
  EXPECT_EQ(crypto::to_hex(crypto::sha256(hashed).substr(0, 4)), "c74f20a3");
}

TEST(CheckpointTest, VerifierKeyStringRoundTrips) {
  EXPECT_EQ(verifier_key_string(*parse_verifier_key(kPeterVkey)), kPeterVkey);
  EXPECT_EQ(verifier_key_string(*parse_verifier_key(kEnochVkey)), kEnochVkey);
  NoteKey key = *make_note_key("sened.example/hub");
  Result<NoteKey> back = parse_verifier_key(verifier_key_string(key));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->name, key.name);
  EXPECT_EQ(back->public_key_raw, key.public_key_raw);
  EXPECT_TRUE(back->private_key_pem.empty());
}

TEST(CheckpointTest, RejectsMalformedVerifierKeys) {
  std::string key_data = std::string(kPeterVkey.substr(kPeterVkey.rfind("+AR") + 1));
  for (std::string vkey : {
           std::string("PeterNeumann"),
           "PeterNeumann+c74f20a4+" + key_data,  // id of another key
           "PeterNeumann+c74f20a+" + key_data,   // id too short
           "PeterNeumann+c74f20a3" + key_data,   // no separator
           "Peter Neumann+c74f20a3+" + key_data,
           "+c74f20a3+" + key_data,
           std::string("PeterNeumann+c74f20a3+AhpjZA=="),  // another signature type
           "PeterNeumann+c74f20a3+" + base64_encode(std::string("\x01short")),
           "PeterNeumann+c74f20a3+" + key_data + "x",
       }) {
    EXPECT_EQ(parse_verifier_key(vkey).status().code(), Code::kInvalidArgument) << vkey;
  }
}

TEST(CheckpointTest, RefusesInvalidKeyNames) {
  for (std::string name : {"", "a b", "a+b", "a\tb",
                           "a\xC2\xA0"
                           "b",
                           "a\xE3\x80\x80"
                           "b"}) {
    EXPECT_FALSE(valid_key_name(name)) << name;
    EXPECT_EQ(make_note_key(name).status().code(), Code::kInvalidArgument);
  }
  EXPECT_TRUE(valid_key_name("sened.example/hub"));
  EXPECT_TRUE(valid_key_name("\xD0\x91\xD0\xB0\xD0\xBA\xD1\x8B"));
}

TEST(CheckpointTest, LoadedKeyHasTheSamePublicHalf) {
  NoteKey made = *make_note_key("sened.example/hub");
  Result<NoteKey> loaded = load_note_key(made.name, made.private_key_pem);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->public_key_raw, made.public_key_raw);
  EXPECT_EQ(peter_signer().public_key_raw, parse_verifier_key(kPeterVkey)->public_key_raw);
}

TEST(CheckpointTest, LoadRefusesGarbageAndKeysThatAreNotEd25519) {
  EXPECT_EQ(load_note_key("k", "not a pem").status().code(), Code::kInvalidArgument);
  testing::TempDir dir;
  auto r = testing::run_command({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                                 "ec_paramgen_curve:P-256", "-out", dir / "ec.pem"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(load_note_key("k", testing::read_file(dir / "ec.pem")).status().code(),
            Code::kInvalidArgument);
}

// ---- Signing and opening ----

TEST(CheckpointTest, SignsExactlyLikeTheReferenceImplementation) {
  Result<std::string> note = sign_note(kGoText, peter_signer());
  ASSERT_TRUE(note.ok()) << note.status().to_string();
  EXPECT_EQ(*note, go_note());
}

TEST(CheckpointTest, OpensTheReferenceNotes) {
  std::vector<NoteKey> peter = {*parse_verifier_key(kPeterVkey)};
  Result<VerifiedNote> opened = open_note(go_note(), peter);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(opened->body, kGoText);
  EXPECT_EQ(opened->verified_by, std::vector<std::string>{"PeterNeumann"});

  std::string both = go_note() + std::string(kEnochLine);
  std::vector<NoteKey> all = {*parse_verifier_key(kEnochVkey), *parse_verifier_key(kPeterVkey)};
  opened = open_note(both, all);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(opened->verified_by, (std::vector<std::string>{"PeterNeumann", "EnochRoot"}));
}

// The example of docs/checkpoints.md, made with the stock openssl command alone.
TEST(CheckpointTest, OpensTheDocumentedExample) {
  constexpr std::string_view kVkey =
      "sened.example/journal+762b733d+AcBSSXutwtOgkAuXEuzHdP6/QbzoCdW5VtuB5OQP9CQF";
  constexpr std::string_view kNote =
      "sened.example/journal\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
      "\xE2\x80\x94 sened.example/journal "
      "ditzPRXjCLXwRbaIzlqwLrYoJ9gHAN/fzwMP+xqak858tqnLrPXObTMMuUIgeWAUnq9oUOPAVfUmaohVHYvjoy/"
      "BMAk=\n";
  Result<VerifiedNote> opened = open_note(kNote, {*parse_verifier_key(kVkey)});
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  Result<Checkpoint> c = parse_checkpoint_body(opened->body);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->size, 8u);
  EXPECT_EQ(crypto::to_hex(c->root),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  EXPECT_EQ(*public_key_pem(*parse_verifier_key(kVkey)),
            "-----BEGIN PUBLIC KEY-----\n"
            "MCowBQYDK2VwAyEAwFJJe63C06CQC5cS7Md0/r9BvOgJ1blW24Hk5A/0JAU=\n"
            "-----END PUBLIC KEY-----\n");
}

TEST(CheckpointTest, SignedCheckpointOpensAndParses) {
  NoteKey key = *make_note_key("sened.example/journal");
  Checkpoint c = sample_checkpoint();
  Result<std::string> note = sign_note(checkpoint_body(c), key);
  ASSERT_TRUE(note.ok()) << note.status().to_string();
  Result<VerifiedNote> opened = open_note(*note, {*parse_verifier_key(verifier_key_string(key))});
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(opened->verified_by, std::vector<std::string>{key.name});
  Result<Checkpoint> back = parse_checkpoint_body(opened->body);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->root, c.root);
  EXPECT_EQ(back->size, 5u);
}

TEST(CheckpointTest, FlippedByteInBodyIsDenied) {
  NoteKey key = *make_note_key("sened.example/journal");
  std::string note = *sign_note(checkpoint_body(sample_checkpoint()), key);
  note[note.find('\n') + 1] = '6';  // the size line: 5 becomes 6
  EXPECT_EQ(open_note(note, {key}).status().code(), Code::kPermissionDenied);
}

TEST(CheckpointTest, FlippedByteInSignatureIsDenied) {
  NoteKey key = *make_note_key("sened.example/journal");
  std::string note = *sign_note(checkpoint_body(sample_checkpoint()), key);
  EXPECT_EQ(open_note(flip_signature_bit(note), {key}).status().code(), Code::kPermissionDenied);
}

TEST(CheckpointTest, SignatureFromUnknownKeyIsIgnored) {
  NoteKey hub = *make_note_key("sened.example/journal");
  NoteKey witness = *make_note_key("witness.example/w1");
  std::string body = checkpoint_body(sample_checkpoint());
  std::string note = *sign_note(body, hub);
  std::string witness_note = *sign_note(body, witness);
  note += witness_note.substr(witness_note.rfind(kSignatureLineStart));

  Result<VerifiedNote> opened = open_note(note, {hub});
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(opened->verified_by, std::vector<std::string>{hub.name});
  // Same name as the hub but another key: its id differs, so it is unknown too.
  NoteKey impostor = *make_note_key(hub.name);
  EXPECT_EQ(open_note(note, {impostor}).status().code(), Code::kPermissionDenied);
  opened = open_note(note, {impostor, witness});
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->verified_by, std::vector<std::string>{witness.name});
}

TEST(CheckpointTest, NoteWithoutAKnownSignerIsDenied) {
  NoteKey hub = *make_note_key("sened.example/journal");
  std::string note = *sign_note(checkpoint_body(sample_checkpoint()), hub);
  EXPECT_EQ(open_note(note, {}).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(open_note(note, {*parse_verifier_key(kPeterVkey)}).status().code(),
            Code::kPermissionDenied);
}

TEST(CheckpointTest, MalformedNotesAreInvalid) {
  std::vector<NoteKey> peter = {*parse_verifier_key(kPeterVkey)};
  std::string text(kGoText);
  std::string line(kPeterLine);
  std::string sig = line.substr(line.rfind(' ') + 1);
  for (std::string note : {
           text + line,                                // no blank line
           go_note().substr(0, go_note().size() - 1),  // no final newline
           text + "\n",                                // no signature lines
           text + "\n- PeterNeumann " + sig,           // a hyphen, not an em dash
           text + "\n\xE2\x80\x94 PeterNeumann\n",     // no signature
           text + "\n\xE2\x80\x94 PeterNeumann not-base64\n",
           text + "\n\xE2\x80\x94 PeterNeumann AAAA\n",  // shorter than a key id and more
           text + "\n\xE2\x80\x94  " + sig,              // empty key name
           "bad\rtext\n\n" + line,
       }) {
    EXPECT_EQ(open_note(note, peter).status().code(), Code::kInvalidArgument) << note;
  }
}

TEST(CheckpointTest, TooManySignatureLinesAreInvalid) {
  NoteKey hub = *make_note_key("sened.example/journal");
  std::string note = *sign_note("text\n", hub);
  std::string line = note.substr(note.rfind(kSignatureLineStart));
  for (size_t i = 1; i < kMaxNoteSignatures; ++i) note += line;
  EXPECT_TRUE(open_note(note, {hub}).ok());
  note += line;
  EXPECT_EQ(open_note(note, {hub}).status().code(), Code::kInvalidArgument);
}

TEST(CheckpointTest, SigningRefusesBadTextAndVerifierOnlyKeys) {
  NoteKey hub = *make_note_key("sened.example/journal");
  EXPECT_EQ(sign_note("no newline", hub).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(sign_note("", hub).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(sign_note("tab\there\n", hub).status().code(), Code::kInvalidArgument);
  NoteKey verifier_only = *parse_verifier_key(verifier_key_string(hub));
  EXPECT_EQ(sign_note("text\n", verifier_only).status().code(), Code::kInvalidArgument);
  NoteKey mixed = hub;
  mixed.public_key_raw = make_note_key("other")->public_key_raw;
  EXPECT_EQ(sign_note("text\n", mixed).status().code(), Code::kInvalidArgument);
}

TEST(CheckpointTest, RawSignatureVerifiesWithStockOpenssl) {
  NoteKey key = *make_note_key("sened.example/journal");
  std::string body = checkpoint_body(sample_checkpoint());
  Result<std::string> sig = raw_signature(body, key);
  ASSERT_TRUE(sig.ok()) << sig.status().to_string();
  ASSERT_EQ(sig->size(), kEd25519SignatureSize);

  testing::TempDir dir;
  testing::write_file(dir / "pub.pem", *public_key_pem(key));
  testing::write_file(dir / "body.bin", body);
  testing::write_file(dir / "sig.bin", *sig);
  auto verify = [&] {
    return testing::run_command({"openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                                 dir / "pub.pem", "-rawin", "-in", dir / "body.bin", "-sigfile",
                                 dir / "sig.bin"});
  };
  testing::CommandResult good = verify();
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;

  body[0] ^= 0x01;
  testing::write_file(dir / "body.bin", body);
  EXPECT_NE(verify().exit_code, 0);
}

TEST(CheckpointTest, PublicKeyPemNeedsA32ByteKey) {
  NoteKey broken{"k", "", "short"};
  EXPECT_EQ(public_key_pem(broken).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sened::journal
