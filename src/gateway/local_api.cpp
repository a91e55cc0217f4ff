#include "gateway/local_api.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/fd.h"
#include "core/ids.h"
#include "core/multipart.h"
#include "core/validate.h"
#include "gateway/action.h"
#include "gateway/durable.h"
#include "gateway/gateway.h"
#include "gateway/layout.h"
#include "gateway/package.h"

namespace sened::gateway {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Largest envelope part of a PUT package; the same bound as a dropped one.
constexpr size_t kMaxEnvelopePart = kMaxEnvelopeBytes;

http::Response json_ok(int status, const json::value& v) {
  return http::json_response(status, json::serialize(v) + "\n");
}

struct Target {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
};

Result<Target> parse_target(const std::string& text) {
  auto parsed = boost::urls::parse_origin_form(text);
  if (!parsed) return invalid_argument("malformed request target");
  Target t;
  for (auto seg : parsed->segments()) t.segments.emplace_back(seg);
  for (auto p : parsed->params()) t.query[std::string(p.key)] = std::string(p.value);
  return t;
}

bool is(const Target& t, std::initializer_list<std::string_view> pattern) {
  if (t.segments.size() != pattern.size()) return false;
  size_t i = 0;
  for (std::string_view p : pattern) {
    if (p != "*" && t.segments[i] != p) return false;
    ++i;
  }
  return true;
}

Result<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_real_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A package name from the URL: a valid file name that is not hidden.
Status check_package_name(const std::string& name) {
  Status st = validate_file_name(name);
  if (!st.ok()) return invalid_argument("package name: " + st.message());
  if (name[0] == '.') return invalid_argument("package name: may not start with '.'");
  return Status();
}

// PUT /v1/outbox/{name}: streams the parts into outbox/.tmp-…/, checks the
// result exactly as a dropped package is checked, and only then renames it
// into outbox/ with READY inside. A refused upload leaves nothing.
class PackageUpload : public http::UploadSink {
 public:
  PackageUpload(std::string dir, std::string name, std::string boundary)
      : dir_(std::move(dir)),
        name_(std::move(name)),
        tmp_(dir_ + "/" + kOutboxDir + "/" + kTempPrefix + new_uuid_v7()),
        parser_(std::move(boundary),
                {[this](const PartHeaders& h) { return begin(h); },
                 [this](std::string_view d) { return data(d); }, [this] { return end(); }}) {}

  ~PackageUpload() override {
    close_file();
    std::error_code ec;
    if (!done_) fs::remove_all(tmp_, ec);
  }

  Status write(std::string_view chunk) override { return parser_.feed(chunk); }

  http::Response finish() override {
    Status st = parser_.finish();
    if (st.ok() && !seen_envelope_) st = invalid_argument("no 'envelope' part");
    if (st.ok()) st = write_durably(tmp_ + "/" + kEnvelopeFile, envelope_);
    if (!st.ok()) return http::error_response(st);
    auto package = read_package(tmp_);
    if (!package.ok()) return http::error_response(package.status());
    std::string target = dir_ + "/" + kOutboxDir + "/" + name_;
    if (fs::exists(fs::symlink_status(target))) {
      return http::error_response(conflict("a package named " + name_ + " is waiting already"));
    }
    st = write_durably(tmp_ + "/" + kReadyFile, "");
    if (st.ok()) st = sync_path(tmp_ + "/" + kFilesDir);
    if (st.ok()) st = rename_durably(tmp_, target);
    if (!st.ok()) return http::error_response(st);
    done_ = true;
    return json_ok(202, json::object{{"package", name_}, {"sender_ref", package->sender_ref}});
  }

 private:
  Status begin(const PartHeaders& h) {
    if (!seen_envelope_) {
      if (h.name != "envelope") return invalid_argument("the first part must be 'envelope'");
      seen_envelope_ = in_envelope_ = true;
      std::error_code ec;
      fs::create_directories(tmp_ + "/" + kFilesDir, ec);
      if (ec) return unavailable("cannot create " + tmp_ + ": " + ec.message());
      return Status();
    }
    bool follows_file = follows_file_;
    follows_file_ = false;
    if (h.name == "signature") return begin_signature(follows_file);
    if (h.name != "file" || !h.filename)
      return invalid_argument("expected a 'file' part with a name");
    SENED_RETURN_IF_ERROR(validate_file_name(*h.filename));
    last_file_ = *h.filename;
    in_signature_ = false;
    return open_file(*h.filename);
  }

  // A `signature` part right after its `file` part NAME lands beside it as
  // NAME.p7s, exactly as in a dropped package (a `file` part named NAME.p7s
  // does the same).
  Status begin_signature(bool follows_file) {
    if (!follows_file) {
      return invalid_argument("a 'signature' part must come right after its 'file' part");
    }
    std::string name = last_file_ + kSignatureSuffix;
    SENED_RETURN_IF_ERROR(validate_file_name(name).with_context("signature of " + last_file_));
    in_signature_ = true;
    return open_file(name);
  }

  Status open_file(const std::string& name) {
    std::string path = tmp_ + "/" + kFilesDir + "/" + name;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) return invalid_argument("file " + name + " is given twice");
    return Status();
  }

  Status data(std::string_view d) {
    if (in_envelope_) {
      if (envelope_.size() + d.size() > kMaxEnvelopePart) {
        return payload_too_large("the envelope is over " + std::to_string(kMaxEnvelopePart) +
                                 " bytes");
      }
      envelope_.append(d);
      return Status();
    }
    if (!write_all(fd_, d)) return unavailable("cannot write a package file");
    return Status();
  }

  Status end() {
    if (in_envelope_) {
      in_envelope_ = false;
      return Status();
    }
    // The copy must be on disk before READY says the package is complete.
    bool synced = ::fsync(fd_) == 0;
    close_file();
    follows_file_ = !in_signature_;
    return synced ? Status() : unavailable("cannot fsync a package file");
  }

  void close_file() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string dir_, name_, tmp_;
  MultipartParser parser_;
  bool seen_envelope_ = false, in_envelope_ = false, done_ = false;
  std::string envelope_;
  std::string last_file_;      // name of the last `file` part
  bool in_signature_ = false;  // the current part is a `signature`
  bool follows_file_ = false;  // the part just ended was a `file`
  int fd_ = -1;
};

}  // namespace

std::optional<http::Handler::UploadStart> LocalApi::begin_upload(const http::Request& head) {
  auto t = parse_target(head.target);
  if (head.method != "PUT" || !t.ok() || !is(*t, {"v1", "outbox", "*"})) return std::nullopt;
  UploadStart start;
  Status name = check_package_name(t->segments[2]);
  auto boundary =
      MultipartParser::boundary_from_content_type(head.header("Content-Type").value_or(""));
  if (!name.ok()) {
    start.refusal = http::error_response(name);
  } else if (!boundary.ok()) {
    start.refusal = http::error_response(boundary.status());
  } else {
    start.sink = std::make_unique<PackageUpload>(dir_, t->segments[2], *boundary);
  }
  return std::optional<UploadStart>(std::move(start));
}

namespace {

http::Response inbox(const std::string& dir) {
  std::vector<std::pair<int64_t, json::value>> docs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir + "/" + kInboxDir, ec)) {
    std::string id = e.path().filename().string();
    if (!is_uuid(id)) continue;  // processed/, temporary folders
    auto text = read_whole(e.path().string() + "/" + kEnvelopeFile);
    if (!text.ok()) continue;
    boost::system::error_code jec;
    json::value v = json::parse(*text, jec);
    if (jec || !v.is_object()) continue;
    const json::value* arrival = v.as_object().if_contains(kArrivalField);
    docs.emplace_back(arrival && arrival->is_int64() ? arrival->as_int64() : 0, std::move(v));
  }
  std::sort(docs.begin(), docs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  json::array out;
  for (auto& [arrival, v] : docs) out.push_back(std::move(v));
  return json_ok(200, json::object{{"documents", std::move(out)}});
}

http::Response inbox_file(const std::string& dir, const std::string& id, const std::string& n) {
  Status missing = not_found("no such file");
  std::string folder = dir + "/" + kInboxDir + "/" + id;
  if (!is_uuid(id) || !is_real_dir(folder)) return http::error_response(missing);
  auto text = read_whole(folder + "/" + kEnvelopeFile);
  if (!text.ok()) return http::error_response(missing);
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object() || !v.as_object().contains("files")) {
    return http::error_response(missing);
  }
  for (const auto& f : v.as_object().at("files").as_array()) {
    const json::object& o = f.as_object();
    if (!o.contains("index") || std::to_string(o.at("index").as_int64()) != n) continue;
    std::string name(o.at("name").as_string());
    if (!validate_file_name(name).ok()) break;
    std::string path = folder + "/" + kFilesDir + "/" + name;
    std::error_code fec;
    http::Response r;
    r.headers.emplace_back("Content-Type", "application/octet-stream");
    r.file = http::FileSource{path, std::nullopt, 0, fs::file_size(path, fec)};
    if (fec) break;
    return r;
  }
  return http::error_response(missing);
}

http::Response mark_processed(const std::string& dir, const std::string& id) {
  std::string from = dir + "/" + kInboxDir + "/" + id;
  std::string to = dir + "/" + kProcessedDir + "/" + id;
  if (is_uuid(id) && !is_real_dir(from) && is_real_dir(to)) {
    return json_ok(200, json::object{{"document", id}, {"changed", false}});
  }
  if (!is_uuid(id) || !is_real_dir(from)) {
    return http::error_response(not_found("no document " + id + " in the inbox"));
  }
  Status st = rename_durably(from, to);
  if (!st.ok()) return http::error_response(st);
  return json_ok(200, json::object{{"document", id}, {"changed", true}});
}

http::Response post_action(const std::string& dir, const std::string& body) {
  auto call = parse_action(body);
  if (!call.ok()) return http::error_response(call.status());
  std::string name = "api-" + new_uuid_v7() + ".json";
  Status st = write_durably(dir + "/" + kActionsDir + "/" + name, body);
  if (!st.ok()) return http::error_response(st);
  return json_ok(202, json::object{{"action", name}, {"document", call->document}});
}

http::Response status_changes(const std::string& dir, const Target& t) {
  auto wanted = t.query.find("document");
  std::string prefix = wanted == t.query.end() ? "" : wanted->second + ".";
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir + "/" + kStatusDir, ec)) {
    std::string n = e.path().filename().string();
    if (n[0] == '.' || n.size() < 5 || n.substr(n.size() - 5) != ".json") continue;
    if (n.rfind(prefix, 0) == 0) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  json::array out;
  for (const auto& n : names) {
    auto text = read_whole(dir + "/" + kStatusDir + "/" + n);
    boost::system::error_code jec;
    json::value v = text.ok() ? json::parse(*text, jec) : json::value();
    if (!text.ok() || jec) continue;
    out.push_back(json::object{{"file", n}, {"change", std::move(v)}});
  }
  return json_ok(200, json::object{{"changes", std::move(out)}});
}

}  // namespace

http::Response LocalApi::handle(const http::Request& request) {
  auto t = parse_target(request.target);
  if (!t.ok()) return http::error_response(t.status());
  const std::string& m = request.method;
  if (m == "GET" && is(*t, {"v1", "inbox"})) return inbox(dir_);
  if (m == "GET" && is(*t, {"v1", "inbox", "*", "files", "*"})) {
    return inbox_file(dir_, t->segments[2], t->segments[4]);
  }
  if (m == "POST" && is(*t, {"v1", "inbox", "*", "processed"})) {
    return mark_processed(dir_, t->segments[2]);
  }
  if (m == "POST" && is(*t, {"v1", "actions"})) return post_action(dir_, request.body);
  if (m == "GET" && is(*t, {"v1", "status-changes"})) return status_changes(dir_, *t);
  if (m == "GET" && is(*t, {"v1", "status"})) {
    auto report = status_report_json(dir_);
    if (!report.ok()) return http::error_response(report.status());
    return http::json_response(200, *report + "\n");
  }
  if (is(*t, {"v1", "outbox", "*"})) {
    return http::error_response(invalid_argument("PUT a multipart/form-data package here"));
  }
  return http::error_response(not_found("no route " + m + " " + request.target));
}

}  // namespace sened::gateway
