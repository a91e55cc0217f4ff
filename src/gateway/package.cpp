#include "gateway/package.h"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/validate.h"
#include "crypto/digest.h"
#include "gateway/layout.h"

namespace sened::gateway {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// What lstat says a path is, without following a symbolic link.
enum class Kind { kMissing, kFile, kDir, kLink, kOther };

Kind kind_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return Kind::kMissing;
  if (S_ISLNK(st.st_mode)) return Kind::kLink;
  if (S_ISREG(st.st_mode)) return Kind::kFile;
  if (S_ISDIR(st.st_mode)) return Kind::kDir;
  return Kind::kOther;
}

Result<std::string> read_envelope(const std::string& path) {
  Kind k = kind_of(path);
  if (k == Kind::kMissing) return invalid_argument("envelope.json is missing");
  if (k != Kind::kFile) return invalid_argument("envelope.json is not a regular file");
  std::error_code ec;
  if (fs::file_size(path, ec) > kMaxEnvelopeBytes) {
    return invalid_argument("envelope.json is over " + std::to_string(kMaxEnvelopeBytes) +
                            " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (!is_valid_utf8(text)) return invalid_argument("envelope.json is not valid UTF-8");
  return text;
}

Result<json::object> parse_envelope(const std::string& text) {
  json::parse_options options;
  options.max_depth = kMaxMetadataDepth;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return invalid_argument("envelope.json is not JSON: " + ec.message());
  if (!v.is_object()) return invalid_argument("envelope.json is not a JSON object");
  return std::move(v.as_object());
}

// The names in the envelope's `files` list, checked one by one.
Result<std::vector<std::string>> listed_names(const json::object& envelope) {
  const json::value* files = envelope.if_contains("files");
  if (files == nullptr || !files->is_array() || files->as_array().empty()) {
    return invalid_argument("envelope.json: 'files' must list at least one file");
  }
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (size_t i = 0; i < files->as_array().size(); ++i) {
    const json::value& f = files->as_array()[i];
    std::string where = "envelope.json: files[" + std::to_string(i) + "]";
    const json::value* name = f.is_object() ? f.as_object().if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) return invalid_argument(where + ": no 'name'");
    std::string n(name->as_string());
    Status valid = validate_file_name(n);
    if (!valid.ok()) return invalid_argument(where + ": " + valid.message());
    if (!seen.insert(n).second) return invalid_argument(where + ": '" + n + "' is listed twice");
    names.push_back(std::move(n));
  }
  return names;
}

// Regular files directly in files/; anything else there is refused.
Result<std::set<std::string>> present_names(const std::string& files_dir) {
  Kind k = kind_of(files_dir);
  if (k == Kind::kMissing) return invalid_argument("the files/ folder is missing");
  if (k != Kind::kDir) return invalid_argument("files/ is not a folder");
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(files_dir, ec)) {
    std::string n = entry.path().filename().string();
    Kind ek = kind_of(entry.path().string());
    if (ek == Kind::kLink) return invalid_argument("files/" + n + " is a symbolic link");
    if (ek != Kind::kFile) return invalid_argument("files/" + n + " is not a regular file");
    names.insert(std::move(n));
  }
  if (ec) return invalid_argument("cannot list files/: " + ec.message());
  return names;
}

// The files to send: the listed ones, then each listed file's signature.
Result<std::vector<std::string>> match_files(const std::vector<std::string>& listed,
                                             std::set<std::string> present) {
  for (const auto& n : listed) {
    if (present.erase(n) == 0) return invalid_argument("files/" + n + " is listed but missing");
  }
  std::vector<std::string> signatures;
  for (const auto& n : listed) {
    if (present.erase(n + kSignatureSuffix) > 0) signatures.push_back(n + kSignatureSuffix);
  }
  if (!present.empty()) {
    return invalid_argument("files/" + *present.begin() + " is not listed in envelope.json");
  }
  std::vector<std::string> out = listed;
  out.insert(out.end(), signatures.begin(), signatures.end());
  return out;
}

bool plain_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace

std::string derived_sender_ref(const std::string& package_name) {
  constexpr size_t kMaxPlainName = 100;
  if (!package_name.empty() && package_name.size() <= kMaxPlainName && plain_ascii(package_name)) {
    return "gw-" + package_name;
  }
  return "gw-" + crypto::to_hex(crypto::sha256(package_name)).substr(0, 40);
}

Result<Package> read_package(const std::string& folder) {
  Package p;
  p.name = fs::path(folder).filename().string();
  if (kind_of(folder) != Kind::kDir) return invalid_argument("the package is not a folder");

  auto text = read_envelope(folder + "/" + kEnvelopeFile);
  if (!text.ok()) return text.status();
  auto envelope = parse_envelope(*text);
  if (!envelope.ok()) return envelope.status();
  auto listed = listed_names(*envelope);
  if (!listed.ok()) return listed.status();
  auto present = present_names(folder + "/" + kFilesDir);
  if (!present.ok()) return present.status();
  auto files = match_files(*listed, std::move(*present));
  if (!files.ok()) return files.status();
  p.files = std::move(*files);

  // Fill in what the gateway adds: a stable sender_ref. Signatures are not
  // files of the document: they travel as `signature` parts after their file.
  const json::value* ref = envelope->if_contains("sender_ref");
  if (ref == nullptr || ref->is_null() || (ref->is_string() && ref->as_string().empty())) {
    (*envelope)["sender_ref"] = derived_sender_ref(p.name);
  }
  p.metadata_json = json::serialize(*envelope);

  // The hub would refuse bad metadata too, but only after the upload; check
  // it here so the EDMS hears at once, and offline.
  auto meta = parse_metadata(p.metadata_json);
  if (!meta.ok()) return invalid_argument("envelope.json: " + meta.status().message());
  p.sender_ref = meta->sender_ref;
  return p;
}

}  // namespace sened::gateway
