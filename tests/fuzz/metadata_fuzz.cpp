// Fuzz target for the document metadata parser and the text checks of
// validate.h. Metadata that is accepted must keep the promises of
// parse_metadata's contract, or the target aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "core/validate.h"
#include "crypto/digest.h"

namespace {

void check_accepted(const sened::DocumentMeta& meta) {
  if (meta.to.empty() || meta.to.size() + meta.cc.size() > sened::kMaxRecipients) std::abort();
  std::set<std::string> seen;
  for (const auto* list : {&meta.to, &meta.cc}) {
    for (const std::string& id : *list) {
      if (!sened::is_valid_participant_id(id) || !seen.insert(id).second) std::abort();
    }
  }
  for (const sened::DeclaredFile& file : meta.files) {
    if (!sened::validate_file_name(file.name).ok()) std::abort();
    if (file.sha256 && !sened::crypto::is_sha256_hex(*file.sha256)) std::abort();
  }
  if (!sened::is_valid_utf8(meta.subject) || meta.sender_ref.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto meta = sened::parse_metadata(text);
  if (meta.ok()) check_accepted(*meta);

  // The smaller checks on the same bytes.
  const bool valid = sened::is_valid_utf8(text);
  if (valid != (sened::valid_utf8_prefix(text) == text.size())) std::abort();
  if (valid && !sened::is_valid_utf8(sened::to_nfc(text))) std::abort();
  if (sened::validate_file_name(text).ok() && !valid) std::abort();
  (void)sened::is_valid_date(text);
  (void)sened::is_valid_participant_id(text);
  return 0;
}
