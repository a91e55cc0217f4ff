#include "exchange/journal_api.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <map>
#include <set>

#include "core/json.h"
#include "crypto/digest.h"
#include "journal/export.h"
#include "journal/signer.h"
#include "journal/tiles.h"

namespace sened::exchange {

namespace json = boost::json;

namespace {

constexpr int kExportPage = 500;
// Full tiles never change: mirrors and caches may keep them for ever.
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kRevalidate = "no-cache";

struct Parsed {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
};

std::optional<Parsed> parse(const std::string& target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;
  Parsed p;
  for (auto seg : url->segments()) p.segments.emplace_back(seg);
  for (auto param : url->params()) p.query.emplace(param.key, param.value);
  return p;
}

http::Response bytes_response(std::string body, const char* type, const char* cache) {
  http::Response r;
  r.headers.emplace_back("Content-Type", type);
  r.headers.emplace_back("Cache-Control", cache);
  r.body = std::move(body);
  return r;
}

http::Response json_ok(const json::value& v) {
  return http::json_response(200, json::serialize(v) + "\n");
}

Result<uint64_t> number_param(const Parsed& p, const std::string& name) {
  auto it = p.query.find(name);
  if (it == p.query.end()) return invalid_argument("query parameter " + name + " is required");
  const std::string& s = it->second;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return invalid_argument(name + " must be a non-negative integer");
  }
  return v;
}

json::array base64_list(const std::vector<std::string>& hashes) {
  json::array a;
  for (const std::string& h : hashes) a.emplace_back(crypto::base64_encode(h));
  return a;
}

}  // namespace

JournalApi::JournalApi(Store& store, JournalKeyInfo key) : store_(store), key_(std::move(key)) {}

namespace {

Result<StoredCheckpoint> latest(Store& store) {
  auto c = store.latest_checkpoint();
  if (!c.ok()) return c.status();
  if (!c->has_value()) return unavailable("no checkpoint signed yet");
  return std::move(**c);
}

http::Response tile(Store& store, const journal::TileRef& t) {
  auto head = latest(store);
  if (!head.ok()) return http::error_response(head.status());
  // How many nodes of the tile's height the latest checkpoint covers.
  int height = t.entries ? 0 : t.level * journal::kTileHeight;
  uint64_t available = height >= 64 ? 0 : head->size >> height;
  uint64_t begin = t.index * journal::kTileWidth;
  if (t.index > UINT64_MAX / journal::kTileWidth || begin + t.width > available) {
    return http::error_response(not_found("no such tile in the latest checkpoint"));
  }
  const char* cache = t.width == journal::kTileWidth ? kImmutable : kRevalidate;
  if (t.entries) {
    auto data = store.leaf_data(begin, begin + t.width);
    if (!data.ok()) return http::error_response(data.status());
    return bytes_response(journal::entry_bundle(*data), "application/octet-stream", cache);
  }
  auto hashes = store.node_hashes(height, begin, begin + t.width);
  if (!hashes.ok()) return http::error_response(hashes.status());
  std::string body;
  for (const std::string& h : *hashes) body += h;
  return bytes_response(std::move(body), "application/octet-stream", cache);
}

// The entries of one document with their proofs in `head`, seq ascending.
Status add_document_entries(Store& store, const std::string& id, const StoredCheckpoint& head,
                            std::map<int64_t, journal::ExportEntry>& out) {
  auto history = store.history(id);
  if (!history.ok()) return history.status();
  for (const JournalEntry& e : *history) {
    // Entries newer than the checkpoint appear in the next one.
    if (static_cast<uint64_t>(e.seq) > head.size || out.count(e.seq)) continue;
    auto proof = store.inclusion_proof(static_cast<uint64_t>(e.seq - 1), head.size);
    if (!proof.ok()) return proof.status();
    out[e.seq] = {e, std::move(*proof)};
  }
  return Status();
}

journal::JournalExport make_export(const StoredCheckpoint& head,
                                   std::map<int64_t, journal::ExportEntry> entries) {
  journal::JournalExport e;
  e.checkpoint = journal::served_note(head);
  for (auto& [seq, x] : entries) e.entries.push_back(std::move(x));
  return e;
}

http::Response export_response(const StoredCheckpoint& head,
                               std::map<int64_t, journal::ExportEntry> entries) {
  return http::json_response(200, journal::export_to_json(make_export(head, std::move(entries))));
}

// Whether `who` sent or received document `id` (not-found for both else).
Status check_party(Store& store, const std::string& id, const std::string& who) {
  auto doc = store.get_document(id);
  if (!doc.ok()) return not_found("no document " + id);
  if (doc->sender == who) return Status();
  auto deliveries = store.deliveries(id);
  if (!deliveries.ok()) return deliveries.status();
  for (const Delivery& d : *deliveries) {
    if (d.recipient == who) return Status();
  }
  return not_found("no document " + id);
}

// Ids of every document `who` sent or received.
Result<std::set<std::string>> documents_of(Store& store, const std::string& who) {
  std::set<std::string> ids;
  for (int64_t after = 0;;) {
    auto page = store.outbox(who, after, kExportPage);
    if (!page.ok()) return page.status();
    for (const auto& item : page->items) ids.insert(item.document.id);
    if (page->items.empty() || page->next_after == after) break;
    after = page->next_after;
  }
  for (int64_t after = 0;;) {
    auto page = store.inbox(who, after, true, kExportPage);
    if (!page.ok()) return page.status();
    for (const auto& item : page->items) ids.insert(item.document.id);
    if (page->items.empty() || page->next_after == after) break;
    after = page->next_after;
  }
  return ids;
}

}  // namespace

std::optional<http::Response> JournalApi::handle_log(const http::Request& request) {
  std::string_view target = request.target;
  if (!target.starts_with(std::string(kLogPrefix) + "/")) return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response r = http::error_response(invalid_argument("the log is read-only: use GET"));
    r.status = 405;
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  auto p = parse(request.target);
  if (!p || p->segments.size() < 2) return http::error_response(not_found("no such log path"));
  if (p->segments.size() == 2 && p->segments[1] == "checkpoint") {
    auto head = latest(store_);
    if (!head.ok()) return http::error_response(head.status());
    return bytes_response(journal::served_note(*head), "text/plain; charset=utf-8", kRevalidate);
  }
  if (p->segments[1] != "tile") return http::error_response(not_found("no such log path"));
  auto t = journal::parse_tile_path({p->segments.begin() + 2, p->segments.end()});
  if (!t) return http::error_response(not_found("not a tile path"));
  return tile(store_, *t);
}

std::optional<http::Response> JournalApi::handle_v1(const http::Request& request,
                                                    const std::string& who) {
  auto p = parse(request.target);
  if (!p || p->segments.size() < 2 || request.method != "GET") return std::nullopt;
  const auto& s = p->segments;
  if (s.size() == 4 && s[1] == "documents" && s[3] == "proof") {
    std::string id = s[2];
    for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto proof = document_proof(id, who);
    if (!proof.ok()) return http::error_response(proof.status());
    return http::json_response(200, journal::export_to_json(*proof));
  }
  if (s[1] != "journal") return std::nullopt;
  std::string route;
  for (size_t i = 2; i < s.size(); ++i) route += "/" + s[i];

  if (route == "/checkpoint") {
    auto head = latest(store_);
    if (!head.ok()) return http::error_response(head.status());
    return bytes_response(journal::served_note(*head), "text/plain; charset=utf-8", kRevalidate);
  }
  if (route == "/key") {
    return json_ok(json::object{
        {"origin", key_.origin}, {"vkey", key_.vkey}, {"public_key_pem", key_.public_key_pem}});
  }
  if (route == "/proof/inclusion") {
    auto index = number_param(*p, "index");
    auto size = number_param(*p, "size");
    if (!index.ok()) return http::error_response(index.status());
    if (!size.ok()) return http::error_response(size.status());
    auto proof = store_.inclusion_proof(*index, *size);
    if (!proof.ok()) return http::error_response(proof.status());
    return json_ok(
        json::object{{"index", *index}, {"size", *size}, {"inclusion_proof", base64_list(*proof)}});
  }
  if (route == "/proof/consistency") {
    auto from = number_param(*p, "from");
    auto to = number_param(*p, "to");
    if (!from.ok()) return http::error_response(from.status());
    if (!to.ok()) return http::error_response(to.status());
    auto proof = store_.consistency_proof(*from, *to);
    if (!proof.ok()) return http::error_response(proof.status());
    return json_ok(
        json::object{{"from", *from}, {"to", *to}, {"consistency_proof", base64_list(*proof)}});
  }
  if (route == "/export") {
    auto head = latest(store_);
    if (!head.ok()) return http::error_response(head.status());
    auto ids = documents_of(store_, who);
    if (!ids.ok()) return http::error_response(ids.status());
    std::map<int64_t, journal::ExportEntry> entries;
    for (const std::string& id : *ids) {
      Status st = add_document_entries(store_, id, *head, entries);
      if (!st.ok()) return http::error_response(st);
    }
    return export_response(*head, std::move(entries));
  }
  return http::error_response(not_found("no route GET " + request.target));
}

Result<journal::JournalExport> JournalApi::document_proof(const std::string& id,
                                                          const std::string& who) {
  SENED_RETURN_IF_ERROR(check_party(store_, id, who));
  auto head = latest(store_);
  if (!head.ok()) return head.status();
  std::map<int64_t, journal::ExportEntry> entries;
  SENED_RETURN_IF_ERROR(add_document_entries(store_, id, *head, entries));
  return make_export(*head, std::move(entries));
}

http::Response JournalLogHandler::handle(const http::Request& request) {
  if (auto r = api_.handle_log(request)) return *r;
  return http::error_response(
      not_found("this listener serves only the journal under " + std::string(kLogPrefix) + "/"));
}

std::optional<http::Handler::UploadStart> JournalLogHandler::begin_upload(
    const http::Request& head) {
  (void)head;
  return std::nullopt;
}

}  // namespace sened::exchange
