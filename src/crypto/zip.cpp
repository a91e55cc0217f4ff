#include "crypto/zip.h"

#include <zip.h>

#include <unordered_set>

namespace sened::crypto {
namespace {

constexpr size_t kMaxEntryName = 1024;
// More entries than any evidence bundle has; bounds what a hostile central
// directory can make the reader hold.
constexpr int64_t kMaxEntries = 100000;
constexpr size_t kReadPiece = 64 * 1024;

// Length of the UTF-8 sequence at `s[i]`, or 0 if it is not valid there.
size_t utf8_length(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size() || (n == 2 && c < 0xc2)) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  return n;
}

std::string archive_error(zip_t* za) {
  zip_error_t* e = zip_get_error(za);
  return e ? zip_error_strerror(e) : "unknown libzip error";
}

Status refuse(const std::string& name, const std::string& why) {
  return invalid_argument("zip entry '" + name + "': " + why);
}

}  // namespace

bool is_safe_entry_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxEntryName || name.front() == '/') return false;
  for (size_t i = 0; i < name.size();) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') return false;
    size_t n = utf8_length(name, i);
    if (n == 0) return false;
    i += n;
  }
  // Segments: no empty one (except after a trailing "/"), no "." or "..".
  std::string_view rest = name;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return true;
}

Status write_zip(const std::string& out_path, const std::vector<ZipInput>& entries) {
  std::unordered_set<std::string> names;
  for (const auto& e : entries) {
    if (!is_safe_entry_name(e.name)) return refuse(e.name, "not a safe name");
    if (!names.insert(e.name).second) return refuse(e.name, "named twice");
  }
  int err = 0;
  zip_t* za = zip_open(out_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (za == nullptr) return unavailable("cannot create " + out_path);
  auto fail = [&](Status st) {
    zip_discard(za);
    return st;
  };
  for (const auto& e : entries) {
    zip_source_t* src = e.path ? zip_source_file(za, e.path->c_str(), 0, -1)
                               : zip_source_buffer(za, e.data.data(), e.data.size(), 0);
    if (src == nullptr) return fail(unavailable(e.name + ": " + archive_error(za)));
    zip_int64_t index = zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(src);
      return fail(unavailable(e.name + ": " + archive_error(za)));
    }
    if (zip_set_file_compression(za, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) != 0) {
      return fail(internal_error(e.name + ": " + archive_error(za)));
    }
  }
  // zip_close reads the file sources now and writes a temporary file that
  // it renames over out_path only when complete.
  if (zip_close(za) != 0) {
    return fail(unavailable("cannot write " + out_path + ": " + archive_error(za)));
  }
  return Status();
}

Result<std::unique_ptr<ZipReader>> ZipReader::open(const std::string& path) {
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (za == nullptr) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    if (err == ZIP_ER_OPEN || err == ZIP_ER_NOENT || err == ZIP_ER_READ) {
      return unavailable("cannot read " + path + ": " + why);
    }
    // libzip itself refuses a central directory that names an entry twice.
    if (err == ZIP_ER_EXISTS) why = "an entry name appears twice";
    return invalid_argument("not a well-formed ZIP archive: " + why);
  }
  std::unique_ptr<ZipReader> reader(new ZipReader());
  reader->archive_ = za;
  zip_int64_t n = zip_get_num_entries(za, 0);
  if (n < 0 || n > kMaxEntries) return invalid_argument("too many ZIP entries");
  std::unordered_set<std::string> names;
  for (zip_int64_t i = 0; i < n; ++i) {
    auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t st;
    zip_stat_init(&st);
    const char* raw = zip_get_name(za, index, ZIP_FL_ENC_RAW);
    if (raw == nullptr || zip_stat_index(za, index, ZIP_FL_ENC_RAW, &st) != 0) {
      return invalid_argument("ZIP entry " + std::to_string(i) + " cannot be read");
    }
    Entry e;
    e.name = raw;
    if (!is_safe_entry_name(e.name)) return refuse(e.name, "not a safe name");
    if (!names.insert(e.name).second) return refuse(e.name, "appears twice");
    if (st.encryption_method != ZIP_EM_NONE) return refuse(e.name, "is encrypted");
    e.size = st.size;
    e.crc = st.crc;
    e.stored = st.comp_method == ZIP_CM_STORE;
    e.extra_field = zip_file_extra_fields_count(za, index, ZIP_FL_LOCAL | ZIP_FL_CENTRAL) != 0;
    e.is_folder = e.name.back() == '/';
    if (e.is_folder && e.size != 0) return refuse(e.name, "a folder with content");
    reader->entries_.push_back(std::move(e));
  }
  return reader;
}

ZipReader::~ZipReader() {
  if (archive_ != nullptr) zip_discard(static_cast<zip_t*>(archive_));
}

std::optional<size_t> ZipReader::find(std::string_view name) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].name == name) return i;
  }
  return std::nullopt;
}

Status ZipReader::read(size_t i, const std::function<Status(std::string_view)>& sink) {
  if (i >= entries_.size()) return not_found("no ZIP entry " + std::to_string(i));
  const Entry& e = entries_[i];
  auto* za = static_cast<zip_t*>(archive_);
  zip_file_t* f = zip_fopen_index(za, i, 0);
  if (f == nullptr) return refuse(e.name, "cannot be opened: " + archive_error(za));
  std::string buf(kReadPiece, '\0');
  uint64_t total = 0;
  Status st;
  while (st.ok()) {
    zip_int64_t n = zip_fread(f, buf.data(), buf.size());
    if (n < 0) {
      // libzip checks the CRC-32 when the entry ends, and the lengths.
      zip_error_t* err = zip_file_get_error(f);
      st =
          refuse(e.name, std::string("damaged: ") + (err ? zip_error_strerror(err) : "read error"));
      break;
    }
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > e.size) {
      st = refuse(e.name, "longer than its declared size");
      break;
    }
    st = sink(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  zip_fclose(f);
  if (st.ok() && total != e.size) st = refuse(e.name, "shorter than its declared size");
  return st;
}

Result<std::string> ZipReader::read_all(size_t i, uint64_t max_size) {
  if (i >= entries_.size()) return not_found("no ZIP entry " + std::to_string(i));
  if (entries_[i].size > max_size) {
    return payload_too_large("zip entry '" + entries_[i].name + "' is over " +
                             std::to_string(max_size) + " bytes");
  }
  std::string out;
  Status st = read(i, [&](std::string_view piece) {
    out.append(piece);
    return Status();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace sened::crypto
