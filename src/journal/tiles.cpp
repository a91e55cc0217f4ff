#include "journal/tiles.h"

#include <charconv>

namespace sened::journal {

namespace {

// A canonical decimal (no sign, no leading zero), or nullopt.
std::optional<uint64_t> decimal(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool three_digits(std::string_view s) {
  return s.size() == 3 && std::isdigit(static_cast<unsigned char>(s[0])) &&
         std::isdigit(static_cast<unsigned char>(s[1])) &&
         std::isdigit(static_cast<unsigned char>(s[2]));
}

}  // namespace

std::string encode_tile_index(uint64_t n) {
  std::string out;
  do {
    char group[4];
    std::snprintf(group, sizeof group, "%03u", static_cast<unsigned>(n % 1000));
    out = (out.empty() ? std::string(group) : "x" + std::string(group) + "/" + out);
    n /= 1000;
  } while (n > 0);
  return out;
}

std::string tile_path(const TileRef& t) {
  std::string out = "tile/" + (t.entries ? std::string("entries") : std::to_string(t.level)) + "/" +
                    encode_tile_index(t.index);
  if (t.width != kTileWidth) out += ".p/" + std::to_string(t.width);
  return out;
}

std::optional<TileRef> parse_tile_path(const std::vector<std::string>& segments) {
  if (segments.size() < 2) return std::nullopt;
  TileRef t;
  if (segments[0] == "entries") {
    t.entries = true;
  } else {
    std::optional<uint64_t> level = decimal(segments[0]);
    if (!level || *level > kMaxTileLevel) return std::nullopt;
    t.level = static_cast<int>(*level);
  }
  std::vector<std::string> index(segments.begin() + 1, segments.end());
  if (index.size() >= 2 && index[index.size() - 2].ends_with(".p")) {
    std::optional<uint64_t> width = decimal(index.back());
    if (!width || *width == 0 || *width >= kTileWidth) return std::nullopt;
    t.width = *width;
    index.pop_back();
    index.back().resize(index.back().size() - 2);
  }
  uint64_t n = 0;
  for (size_t i = 0; i < index.size(); ++i) {
    std::string_view g = index[i];
    bool last = i + 1 == index.size();
    if (!last) {
      if (!g.starts_with('x')) return std::nullopt;
      g.remove_prefix(1);
    }
    if (!three_digits(g) || n > UINT64_MAX / 1000) return std::nullopt;
    n = n * 1000 + static_cast<uint64_t>(std::stoi(std::string(g)));
  }
  t.index = n;
  // Only the canonical spelling names a tile (no superfluous leading groups).
  std::string canonical = encode_tile_index(n);
  std::string given;
  for (size_t i = 0; i < index.size(); ++i) given += (i ? "/" : "") + index[i];
  if (given != canonical) return std::nullopt;
  return t;
}

std::string entry_bundle(const std::vector<std::string>& leaf_data) {
  std::string out;
  for (const std::string& d : leaf_data) {
    out.push_back(static_cast<char>((d.size() >> 8) & 0xff));
    out.push_back(static_cast<char>(d.size() & 0xff));
    out += d;
  }
  return out;
}

}  // namespace sened::journal
