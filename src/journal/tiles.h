// C2SP tlog-tiles paths and contents (c2sp.org/tlog-tiles).
//
// A tile at level L, index N holds the hashes of tree nodes at height 8L
// with indexes 256N .. 256N + W - 1 (W = 256 for a full tile, 1..255 for a
// partial one at the right edge), concatenated. An entry bundle holds the
// leaf data of leaves 256N .. 256N + W - 1, each preceded by its length as
// a big-endian uint16. Paths: tile/<L>/<N>[.p/<W>] and
// tile/entries/<N>[.p/<W>], N written as 3-digit groups, every group but the
// last prefixed with "x" (1234067 -> x001/x234/067).
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sened::journal {

inline constexpr uint64_t kTileWidth = 256;
inline constexpr int kTileHeight = 8;
inline constexpr int kMaxTileLevel = 63;

struct TileRef {
  bool entries = false;  // an entry bundle rather than a hash tile
  int level = 0;         // hash tiles only
  uint64_t index = 0;
  uint64_t width = kTileWidth;
};

// "x001/x234/067" for 1234067.
std::string encode_tile_index(uint64_t n);
// The path after the prefix, e.g. "tile/0/x001/067.p/9".
std::string tile_path(const TileRef& t);
// The inverse over path segments after "tile" (e.g. {"0","x001","067.p","9"});
// nullopt for anything not in canonical form.
std::optional<TileRef> parse_tile_path(const std::vector<std::string>& segments);

// An entry bundle of leaf data items.
std::string entry_bundle(const std::vector<std::string>& leaf_data);

}  // namespace sened::journal
