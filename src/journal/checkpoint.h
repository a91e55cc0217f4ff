// Checkpoints: signed tree heads of the journal, as C2SP signed notes.
//
// A checkpoint (c2sp.org/tlog-checkpoint) is a short text naming the log
// (origin), a tree size and the Merkle root at that size (see merkle.h). The
// hub signs it as a signed note (c2sp.org/signed-note) with Ed25519; anyone
// holding the hub's verifier key can check it offline, and witnesses can add
// their own signature lines. The exact formats, with an example, are in
// docs/checkpoints.md; this header holds the constants shared by the writer
// and every reader.
//
// All functions are pure apart from key generation's use of the system's
// randomness, and thread-safe. The structs are plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sened::journal {

// Starts every signature line, followed by a space: U+2014 EM DASH in UTF-8.
inline constexpr std::string_view kSignatureLineStart = "\xE2\x80\x94 ";
// Signature type byte of Ed25519 in key ids and verifier keys.
inline constexpr char kEd25519SignatureType = '\x01';
inline constexpr size_t kKeyIdSize = 4;
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;
// Most signature lines open_note() reads; the spec asks for at least 16.
inline constexpr size_t kMaxNoteSignatures = 100;

// A tree head. `root` is 32 raw bytes; `extensions` are extra body lines,
// each non-empty and without a newline (the spec discourages them).
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  std::string root;
  std::vector<std::string> extensions;
};

// "<origin>\n<size>\n<base64 root>\n" followed by each extension line and a
// newline. Precondition: `c` is well formed (parse_checkpoint_body would
// accept the result).
std::string checkpoint_body(const Checkpoint& c);
// The inverse, strict: kInvalidArgument for any deviation (no final
// newline, fewer than three lines, an empty origin or extension line, a size
// that is not plain decimal or has a leading zero or overflows, a root that is
// not canonical base64 of 32 bytes, a control character or invalid UTF-8).
Result<Checkpoint> parse_checkpoint_body(std::string_view body);

// An Ed25519 note key. A signer has `private_key_pem` (PKCS#8); a verifier
// leaves it empty. `public_key_raw` is the 32-byte RFC 8032 public key.
struct NoteKey {
  std::string name;
  std::string private_key_pem;
  std::string public_key_raw;
};

// True if `name` may name a note key: non-empty UTF-8 with no Unicode space,
// no control character and no '+'.
bool valid_key_name(std::string_view name);
// The key id of signed-note.md: the first four bytes, big-endian, of
// SHA-256(name || 0x0A || 0x01 || public key).
uint32_t note_key_id(const std::string& name, std::string_view public_key_raw);

// A new Ed25519 key. kInvalidArgument for an invalid name; kInternal if
// OpenSSL fails.
Result<NoteKey> make_note_key(const std::string& name);
// A signer from a PEM private key. kInvalidArgument for an invalid name, a
// PEM that does not parse or a key that is not Ed25519.
Result<NoteKey> load_note_key(const std::string& name, const std::string& private_key_pem);
// The public key as SubjectPublicKeyInfo PEM, for
// `openssl pkeyutl -verify -pubin -inkey`. kInvalidArgument if the public key
// is not 32 bytes.
Result<std::string> public_key_pem(const NoteKey& key);

// The verifier key text "<name>+<8 hex digit key id>+<base64(0x01 || public
// key)>", as Go's golang.org/x/mod/sumdb/note and the witness ecosystem use.
std::string verifier_key_string(const NoteKey& key);
// Its parser: kInvalidArgument for a bad name, id or encoding, a signature
// type other than Ed25519, or a key id that does not match name and key.
Result<NoteKey> parse_verifier_key(std::string_view vkey);

// The hub's log key as a user gives it: a verifier key string, or an
// Ed25519 public key PEM (SubjectPublicKeyInfo, as GET /v1/journal/key
// serves it), which is then named `pem_name` (the log's origin).
// Surrounding whitespace is ignored. kInvalidArgument if it is neither.
Result<NoteKey> parse_log_key(std::string_view text, const std::string& pem_name);

// The signed note for `body`: body, a blank line, then
// "— <name> <base64(4-byte key id || 64-byte signature)>\n".
// kInvalidArgument if the body is not note text (non-empty, ending in a
// newline, UTF-8 without control characters other than newline) or the key
// has no usable private key or an invalid name.
Result<std::string> sign_note(std::string_view body, const NoteKey& key);
// The 64-byte Ed25519 signature over `body` alone, errors as sign_note's.
Result<std::string> raw_signature(std::string_view body, const NoteKey& key);

// The key name of one signature line "— <name> <base64>\n" (final newline
// included), or nullopt if the line is not one: a bad name, base64 that does
// not decode or is shorter than a key id plus one byte, or extra spaces. The
// signature itself is not checked.
std::optional<std::string> signature_line_key_name(std::string_view line);

struct VerifiedNote {
  std::string body;                      // the note text, final newline included
  std::vector<std::string> verified_by;  // names of the verifiers that signed it, once each
};

// Splits a signed note at its last blank line and checks the signature lines
// whose key name and key id both match one of `verifiers`. Lines from other
// keys are ignored, as the spec requires. kInvalidArgument for a malformed
// note (or more than kMaxNoteSignatures lines, or a verifier whose public
// key is not 32 bytes); kPermissionDenied if a known key's signature does not
// verify, or if no known key signed at all.
Result<VerifiedNote> open_note(std::string_view note, const std::vector<NoteKey>& verifiers);

}  // namespace sened::journal
