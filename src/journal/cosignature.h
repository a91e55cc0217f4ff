// Witness cosignatures on checkpoints (c2sp.org/tlog-cosignature, Ed25519 v1).
//
// A witness that has checked a checkpoint's consistency with everything it
// saw before adds a signature line of its own to the checkpoint's signed
// note. The line looks like any note signature,
//
//   "— <witness name> base64(key id || 8-byte big-endian time || Ed25519 sig)"
//
// but its key id uses the cosignature type byte 0x04 instead of 0x01, and the
// Ed25519 signature covers
//
//   "cosignature/v1\ntime <decimal seconds>\n" || checkpoint body
//
// so it can never be mistaken for, or replayed as, the log's own signature.
// Witness keys are NoteKey values (checkpoint.h) whose verifier key string
// carries the 0x04 type byte. docs/witness.md has an example.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "journal/checkpoint.h"

namespace sened::journal {

// Signature type byte of Ed25519 cosignature/v1 in key ids and verifier keys.
inline constexpr char kCosignatureV1Type = '\x04';
// First line of the signed message (domain separation).
inline constexpr std::string_view kCosignatureV1Header = "cosignature/v1\n";
// Size of the big-endian timestamp between key id and signature.
inline constexpr size_t kCosignatureTimeSize = 8;
// Largest timestamp the spec allows (2^63 - 1).
inline constexpr uint64_t kMaxCosignatureTime = 0x7FFFFFFFFFFFFFFFull;

// SHA-256(name || "\n" || 0x04 || public key)[:4], big-endian.
uint32_t cosignature_key_id(const std::string& name, std::string_view public_key_raw);

// "<name>+<8 hex digit key id>+<base64(0x04 || public key)>".
std::string witness_verifier_key_string(const NoteKey& key);
// Its parser: kInvalidArgument for a bad name, id or encoding, a type byte
// other than 0x04, or a key id that does not match name and key.
Result<NoteKey> parse_witness_verifier_key(std::string_view vkey);

// The exact bytes a witness signs for `checkpoint_body` at `time`.
std::string cosigned_message(std::string_view checkpoint_body, uint64_t time);

// The cosignature line (with its final newline) of `witness` (which must
// hold its private key) over `checkpoint_body` at `time` (seconds since the
// epoch). kInvalidArgument if the body is not note text, the time exceeds
// kMaxCosignatureTime, or the key is unusable.
Result<std::string> make_cosignature_line(std::string_view checkpoint_body, const NoteKey& witness,
                                          uint64_t time);

// Checks one signature line (with or without its final newline) as a
// cosignature of `witness` over `checkpoint_body`, and returns its time.
// kInvalidArgument if the line is malformed or the witness key is not 32
// bytes; kNotFound if the line names another key (name or key id differ:
// not this witness's line); kPermissionDenied if the signature does not
// verify or the time exceeds kMaxCosignatureTime.
Result<uint64_t> verify_cosignature_line(std::string_view line, std::string_view checkpoint_body,
                                         const NoteKey& witness);

// Splits a signed note into its body (final newline included) and its
// signature lines (without newlines). kInvalidArgument if the note is not
// text followed by a blank line and at most kMaxNoteSignatures lines that
// each start with "— ".
struct NoteParts {
  std::string body;
  std::vector<std::string> signature_lines;
};
Result<NoteParts> split_note(std::string_view note);

// How many distinct `witnesses` have a valid cosignature line in `note`.
// Lines from other keys (the log's own signature included) are ignored.
// The log's signature is NOT checked here: use open_note for that.
// kInvalidArgument for a malformed note or a witness key that is not 32
// bytes; kPermissionDenied if a line carrying a known witness's name and key
// id does not verify (a forged cosignature is not silently skipped).
Result<size_t> count_cosignatures(std::string_view note, const std::vector<NoteKey>& witnesses);

// Ok if at least `threshold` of `witnesses` cosigned `note`; otherwise
// kPermissionDenied naming how many did. Errors of count_cosignatures pass
// through. A threshold of 0 always passes (for a well-formed note).
Status check_witness_threshold(std::string_view note, const std::vector<NoteKey>& witnesses,
                               size_t threshold);

// `note` with each of `lines` (signature lines, newline optional) appended
// unless an identical line is already there. kInvalidArgument if the note
// or a line is malformed. Used to attach collected cosignatures to the
// log's signed checkpoint.
Result<std::string> add_signature_lines(std::string_view note,
                                        const std::vector<std::string>& lines);

}  // namespace sened::journal
