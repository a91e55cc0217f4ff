// Checks on untrusted text: UTF-8, file names, dates, participant ids, and the
// document metadata that a sender posts with POST /v1/documents.
//
// Every function here takes bytes straight from the network and must give a
// clear answer for any input: a bool, or kInvalidArgument with a message that
// names the rule or the field that failed. All functions are pure and
// thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/domain.h"
#include "core/status.h"

namespace sened {

// Limits on the document metadata. Each is in bytes unless it says otherwise.
inline constexpr size_t kMaxSenderRefBytes = 128;
inline constexpr size_t kMaxSubjectBytes = 2000;
inline constexpr size_t kMaxRegNumberBytes = 64;
inline constexpr size_t kMaxRecipients = 500;  // entries of to and cc together
inline constexpr size_t kMaxDeclaredFiles = 1000;
inline constexpr size_t kMaxFileNameBytes = 255;
// Hostile deep nesting is refused by the JSON parser instead of exhausting
// the stack; real metadata nests three levels deep.
inline constexpr size_t kMaxMetadataDepth = 32;

// The length of the longest prefix of `s` that is well-formed UTF-8, so that
// s.size() means the whole string is valid and anything less points at the
// first bad byte.
size_t valid_utf8_prefix(std::string_view s);

// True if `s` is well-formed UTF-8 in the strict sense of Unicode: no overlong
// forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF and no
// sequence cut short.
bool is_valid_utf8(std::string_view s);

// True if `utf8` holds a control character: C0 (tab included), DEL or C1.
// Bytes that are not valid UTF-8 count as one, so check UTF-8 first when the
// difference matters.
bool has_control_character(std::string_view utf8);

// Checks a file name as the sender sent it. It must be non-empty, at most 255
// bytes, valid UTF-8, hold no '/' or '\\' and no control character (C0, DEL,
// C1), and be neither "." nor "..", nor start with "..". It may not hold
// invisible or direction-changing code points (bidi controls, zero-width
// characters, U+2028/U+2029, noncharacters), start or end with a space, or end
// with a dot. Otherwise the name is kept byte for byte, so inner spaces, "№",
// dashes and any script are fine.
// kInvalidArgument names the rule that failed.
Status validate_file_name(std::string_view name);

// Unicode Normalization Form C of `utf8`, through ICU. The input must be
// valid UTF-8; should ICU fail anyway, the input is returned unchanged.
std::string to_nfc(std::string_view utf8);

// True for "YYYY-MM-DD" naming a real day of the Gregorian calendar (years
// 0001 to 9999, leap years counted).
bool is_valid_date(std::string_view s);

// True for a participant id such as "az.finance": 2 to 64 characters of
// [a-z0-9.-], starting with a letter, with no ".." and not ending in '.' or
// '-'.
bool is_valid_participant_id(std::string_view s);

// Parses and checks the metadata JSON of a document. The body must be a JSON
// object in valid UTF-8, nested at most kMaxMetadataDepth levels.
//
// Fields: sender_ref, kind, subject and recipients.to are required; urgency
// defaults to "normal"; registration {number, date}, recipients.cc,
// in_reply_to, due_date and files are optional, and null counts as absent.
// Unknown fields are ignored so that newer senders keep working.
//
// Normalisation: repeated recipients are dropped (the first occurrence wins,
// and an id in both to and cc stays only in to); in_reply_to and each file's
// sha256 and upload id are lowercased. Everything else is kept byte for byte.
// A file entry's optional `upload` must be an upload id, and no two entries
// may name the same upload.
//
// Errors are kInvalidArgument, with a message that starts with the field's
// path, e.g. "recipients.to[1]: not a participant id", or with "body" when
// the text as a whole is not a JSON object in UTF-8.
Result<DocumentMeta> parse_metadata(std::string_view text);

}  // namespace sened
