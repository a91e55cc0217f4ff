// Fuzz target for the signed-note and checkpoint parsers. A body that parses
// must print back to exactly the same bytes; notes and verifier keys must
// never crash, whatever they hold.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "journal/checkpoint.h"

namespace {

const sened::journal::NoteKey& test_key() {
  static const sened::journal::NoteKey key = [] {
    auto k = sened::journal::make_note_key("sened.local/journal");
    if (!k.ok()) std::abort();
    return *k;
  }();
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto body = sened::journal::parse_checkpoint_body(input);
  if (body.ok() && sened::journal::checkpoint_body(*body) != input) std::abort();
  (void)sened::journal::parse_verifier_key(input);
  auto note = sened::journal::open_note(input, {test_key()});
  // Nothing the fuzzer makes can carry a valid signature of a fresh key.
  if (note.ok()) std::abort();
  return 0;
}
