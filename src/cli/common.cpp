#include "cli/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/fd.h"
#include "store/open_store.h"

namespace sened::cli {
namespace fs = std::filesystem;

int& exit_code() {
  static int code = kExitOk;
  return code;
}

void report(const Status& status) {
  std::cerr << "error: " << code_name(status.code()) << ": " << status.message() << "\n";
  exit_code() = kExitFailed;
}

const char* const kConnectionHelp =
    "Connection: --hub URL[,URL...] --cert FILE --key FILE --ca FILE, else the variables "
    "SENED_HUB, SENED_CERT, SENED_KEY, SENED_CA, else the profile file $SENED_PROFILE or "
    "~/.config/sened/profile.toml (keys: hub, cert, key, ca). Several hub URLs, separated by "
    "commas, name the nodes of one hub: a node that does not answer is passed over for the "
    "next.";

void add_connection_flags(CLI::App& cmd, Connection& c) {
  cmd.add_option("--hub", c.hub, "Hub URL, e.g. https://127.0.0.1:8443 (or SENED_HUB)");
  cmd.add_option("--cert", c.cert, "Client certificate, PEM (or SENED_CERT)");
  cmd.add_option("--key", c.key, "Client private key, PEM (or SENED_KEY)");
  cmd.add_option("--ca", c.ca, "CA certificate the hub's must chain to (or SENED_CA)");
  cmd.add_flag("--json", c.json, "Print JSON for scripts");
  cmd.footer(kConnectionHelp);
}

namespace {

std::string profile_path() {
  if (const char* p = std::getenv("SENED_PROFILE")) return p;
  if (const char* x = std::getenv("XDG_CONFIG_HOME")) return std::string(x) + "/sened/profile.toml";
  if (const char* h = std::getenv("HOME")) return std::string(h) + "/.config/sened/profile.toml";
  return "";
}

void fill(std::string& field, const char* env, const toml::table* profile, const char* key) {
  if (!field.empty()) return;
  if (const char* v = std::getenv(env); v && *v) {
    field = v;
    return;
  }
  if (profile) field = (*profile)[key].value_or(std::string());
}

// The profile's hub: a string ("https://a,https://b") or an array of URL
// strings, joined with commas. kInvalidArgument for anything else.
Result<std::string> profile_hub(const toml::table& profile, const std::string& path) {
  const toml::node* hub = profile.get("hub");
  if (hub == nullptr) return std::string();
  if (auto text = hub->value<std::string>()) return *text;
  const toml::array* list = hub->as_array();
  if (list == nullptr) {
    return invalid_argument("profile " + path + ": hub must be a string or an array of strings");
  }
  std::string joined;
  for (const auto& item : *list) {
    auto url = item.value<std::string>();
    if (!url) return invalid_argument("profile " + path + ": hub must list strings only");
    joined += (joined.empty() ? "" : ",") + *url;
  }
  if (list->empty()) return invalid_argument("profile " + path + ": hub is an empty array");
  return joined;
}

}  // namespace

Result<client::ClientOptions> resolve(const Connection& c) {
  Connection r = c;
  std::optional<toml::table> profile;
  std::string path = profile_path();
  if (!path.empty() && fs::exists(path)) {
    try {
      profile = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      return invalid_argument("profile " + path + ": " + std::string(e.description()));
    }
  }
  const toml::table* p = profile ? &*profile : nullptr;
  fill(r.hub, "SENED_HUB", nullptr, "hub");
  if (r.hub.empty() && p != nullptr) {
    auto hub = profile_hub(*p, path);
    if (!hub.ok()) return hub.status();
    r.hub = *hub;
  }
  fill(r.cert, "SENED_CERT", p, "cert");
  fill(r.key, "SENED_KEY", p, "key");
  fill(r.ca, "SENED_CA", p, "ca");
  if (r.hub.empty()) return invalid_argument("no hub given (--hub, SENED_HUB or a profile)");
  // A bad node list stops the command before anything is sent.
  auto nodes = client::parse_node_list(r.hub);
  if (!nodes.ok()) return nodes.status();
  if (r.cert.empty() || r.key.empty() || r.ca.empty()) {
    return invalid_argument("--cert, --key and --ca are all needed (or SENED_* or a profile)");
  }
  client::ClientOptions o;
  o.url = r.hub;
  o.cert_file = r.cert;
  o.key_file = r.key;
  o.ca_file = r.ca;
  return o;
}

std::string& store_flag() {
  // One command runs per process, so one address per process.
  static std::string address;
  return address;
}

std::string store_address() {
  // Not CLI11's envname: every command's --store shares the variable above,
  // and the variable would be read from the environment once per command,
  // after the flag. So the flag, then SENED_STORE, by hand.
  if (!store_flag().empty()) return store_flag();
  const char* env = std::getenv("SENED_STORE");
  return env == nullptr ? "" : env;
}

void add_data_flag(CLI::App& cmd, std::string& dir) {
  cmd.add_option("--data", dir, "Hub data folder (or SENED_DATA)")
      ->envname("SENED_DATA")
      ->required();
  cmd.add_option("--store", store_flag(),
                 "Store address, instead of sened.toml's: sqlite:PATH or "
                 "postgresql://USER@HOST:PORT/DB (or SENED_STORE)");
}

Result<HubData> open_hub_data(const std::string& dir, bool create) {
  // The database holds documents' small files: nobody but the hub's own user
  // may read what it creates.
  ::umask(077);
  auto config = load_config(dir);
  if (!config.ok()) return config.status();
  if (std::string address = store_address(); !address.empty()) config->store = address;
  StoreLocation where = store_location(*config);
  where.create = create;
  auto store = open_store(where);
  if (!store.ok()) return store.status();
  return HubData{std::move(*config), std::move(*store)};
}

Status write_file_atomic(const std::string& path, const std::string& bytes, int mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return unavailable("cannot write " + tmp);
  if (!write_all(fd, bytes)) {
    ::close(fd);
    return unavailable("cannot write " + tmp);
  }
  // fsync before the rename, or a crash could leave an empty file under the
  // final name.
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return unavailable("cannot write " + path);
  }
  std::string dir = fs::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status();
}

Result<std::string> read_bounded(const std::string& path, uint64_t limit, const std::string& what,
                                 bool json) {
  std::string too_big =
      what + " " + path + " is larger than " + std::to_string(limit) + " bytes: refused";
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) > limit &&
      !ec) {
    return payload_too_large(too_big);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read " + path);
  // Piecewise, so that /dev/zero, a FIFO or a runaway file is refused once
  // past the limit (or at its first byte when JSON is expected), never read
  // to the end.
  std::string out;
  std::string chunk(size_t{1} << 20, '\0');
  bool started = !json;  // the first non-blank byte was seen and checked
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    std::string_view got(chunk.data(), static_cast<size_t>(in.gcount()));
    if (out.size() + got.size() > limit) return payload_too_large(too_big);
    if (size_t first = got.find_first_not_of(" \t\r\n"); !started && first != got.npos) {
      if (got[first] != '{') {
        return invalid_argument(what + " " + path + " is not JSON (it does not start with '{')");
      }
      started = true;
    }
    out.append(got);
  }
  if (in.bad()) return unavailable("cannot read " + path);
  return out;
}

Result<std::string> read_text_file(const std::string& path, size_t limit) {
  return read_bounded(path, limit, "file");
}

Status answer_status(const client::ClientResponse& r) {
  if (r.status >= 200 && r.status < 300) return Status();
  std::string what = "hub answered HTTP " + std::to_string(r.status);
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (auto* err = v.as_object().if_contains("error"); err && err->is_object()) {
      const auto& o = err->as_object();
      std::string code = o.contains("code") && o.at("code").is_string()
                             ? std::string(o.at("code").as_string())
                             : "";
      std::string msg = o.contains("message") && o.at("message").is_string()
                            ? std::string(o.at("message").as_string())
                            : "";
      if (auto c = code_from_name(code)) return Status(*c, msg);
      if (!msg.empty())
        what = (code.empty() ? "" : code + ": ") + msg + " (HTTP " + std::to_string(r.status) + ")";
    }
  }
  // An error code this program does not know, or no error body at all (a
  // proxy's page, a node that is going away): the HTTP status still says what
  // kind of failure it is.
  switch (r.status) {
    case 400:
      return invalid_argument(what);
    case 422:
      return policy_refused(what);
    case 401:
    case 403:
      return permission_denied(what);
    case 404:
      return not_found(what);
    case 409:
      return conflict(what);
    case 413:
      return payload_too_large(what);
    case 415:
      return unsupported_media_type(what);
    case 502:
    case 503:
    case 504:
      return unavailable(what + ": the hub cannot serve now; try again later or another node");
    default:
      return internal_error(what);
  }
}

}  // namespace sened::cli
