// Readers of comma-separated text (RFC 4180) and of the participant registry
// that is kept in that form (examples/participants.csv).
//
// The input is untrusted: any bytes give either records or kInvalidArgument
// with a message that names the line ("line 7: unterminated quote"). Lines are
// counted from 1 in the text as given, so a line break inside a quoted field
// counts too. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/domain.h"
#include "core/status.h"

namespace sened {

// Parses RFC 4180 text into records of fields.
//
// Fields are separated by commas and records by CRLF or LF. A field that
// starts with a double quote is quoted: it may hold commas, line breaks and
// quotes written twice (""); its bytes are kept as they are. A UTF-8 byte
// order mark at the start is skipped, blank lines are skipped, and a trailing
// line break does not make an empty record. Records may differ in length.
//
// kInvalidArgument: invalid UTF-8, an unterminated quote (naming the line it
// opened on), a quote inside an unquoted field, characters after a closing
// quote, or a carriage return that is not followed by a line feed outside
// quotes.
Result<std::vector<std::vector<std::string>>> parse_csv(std::string_view text);

// Parses the participant registry. The first record is a header naming the
// columns id, category, obligation, deadline, name_az, name_en and,
// optionally, name_ru, in any order; other columns are ignored. Every other
// record is one participant and must have as many fields as the header.
//
// Each participant is checked: id is a participant id (validate.h) and
// unique; category is one of presidential-body, central-executive,
// local-executive, state-owned, legislature, court, central-bank, oversight,
// other; obligation is one of ordered, recommended, after-launch; deadline is
// empty or a valid date, and required when the obligation is "ordered";
// name_az and name_en are non-empty; no name holds a control character.
// Participants come back in file order with status kActive.
//
// kInvalidArgument names the line and, for a bad value, the column:
// "line 9, column category: unknown category \"ministry\"".
Result<std::vector<Participant>> parse_participants_csv(std::string_view text);

}  // namespace sened
