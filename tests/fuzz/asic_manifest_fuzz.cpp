// Fuzz target for the ASiC manifest reader (export verify runs it on
// untrusted files). A manifest that parses must survive being written again
// by make_manifest and read back to the same data objects.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exchange/asic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace asic = sened::exchange::asic;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto objects = asic::parse_manifest(input);
  if (!objects.ok()) return 0;
  auto again = asic::parse_manifest(asic::make_manifest(*objects));
  if (!again.ok() || again->size() != objects->size()) std::abort();
  for (size_t i = 0; i < objects->size(); ++i) {
    if ((*again)[i].name != (*objects)[i].name || (*again)[i].sha256 != (*objects)[i].sha256) {
      std::abort();
    }
  }
  return 0;
}
