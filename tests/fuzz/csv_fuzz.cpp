// Fuzz target for the CSV reader and the participant registry parser.
//
// Records that parse are written back with every field quoted and parsed
// again; getting different records back aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/csv.h"
#include "core/validate.h"

namespace {

std::string quote_all(const std::vector<std::vector<std::string>>& records) {
  std::string out;
  for (const auto& record : records) {
    for (size_t i = 0; i < record.size(); ++i) {
      out += i == 0 ? "\"" : ",\"";
      for (char c : record[i]) out += c == '"' ? std::string("\"\"") : std::string(1, c);
      out += '"';
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto records = sened::parse_csv(text);
  if (records.ok()) {
    auto again = sened::parse_csv(quote_all(*records));
    if (!again.ok() || *again != *records) std::abort();
  }

  auto participants = sened::parse_participants_csv(text);
  if (participants.ok()) {
    for (const sened::Participant& p : *participants) {
      if (!sened::is_valid_participant_id(p.id) || p.name_az.empty() || p.name_en.empty()) {
        std::abort();
      }
    }
  }
  return 0;
}
