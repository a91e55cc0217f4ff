#include "gateway/journal_watch.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/ids.h"
#include "crypto/digest.h"
#include "gateway/durable.h"
#include "journal/cosignature.h"
#include "journal/merkle.h"

namespace sened::gateway {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("journal-watch");
    return l ? l : spdlog::default_logger()->clone("journal-watch");
  }();
  return log;
}

// Warnings that only the operator clears: the journal itself disagrees.
bool sticky(const std::string& kind) { return kind == "inconsistent"; }

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The consistency proof the hub serves: {"consistency_proof": [base64...]}.
Result<std::vector<std::string>> fetch_proof(const HubGet& get, uint64_t from, uint64_t to) {
  auto r = get("/v1/journal/proof/consistency?from=" + std::to_string(from) +
               "&to=" + std::to_string(to));
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return permission_denied("hub refused a consistency proof from " + std::to_string(from) +
                             " to " + std::to_string(to) + " (HTTP " + std::to_string(r->status) +
                             ")");
  }
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  const json::array* list = nullptr;
  if (!ec && v.is_object()) {
    if (auto* p = v.as_object().if_contains("consistency_proof")) list = p->if_array();
  }
  if (list == nullptr) return permission_denied("hub sent a malformed consistency proof");
  std::vector<std::string> proof;
  for (const json::value& h : *list) {
    std::optional<std::string> raw =
        h.is_string() ? crypto::base64_decode(h.as_string().c_str()) : std::nullopt;
    if (!raw || raw->size() != journal::kMerkleHashSize) {
      return permission_denied("hub sent a malformed consistency proof");
    }
    proof.push_back(std::move(*raw));
  }
  return proof;
}

}  // namespace

JournalWatch::JournalWatch(std::string dir, JournalWatchOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

Result<std::unique_ptr<JournalWatch>> JournalWatch::open(const std::string& dir,
                                                         JournalWatchOptions options) {
  std::unique_ptr<JournalWatch> w(new JournalWatch(dir, std::move(options)));
  for (const std::string& vkey : w->options_.witness_vkeys) {
    auto key = journal::parse_witness_verifier_key(vkey);
    if (!key.ok()) return key.status().with_context("--witness");
    w->witnesses_.push_back(std::move(*key));
  }
  if (w->options_.witness_threshold > w->witnesses_.size()) {
    return invalid_argument("--witness-threshold " + std::to_string(w->options_.witness_threshold) +
                            " exceeds the " + std::to_string(w->witnesses_.size()) +
                            " --witness keys given");
  }
  if (!w->options_.log_vkey.empty()) {
    auto key = journal::parse_verifier_key(w->options_.log_vkey);
    if (!key.ok()) return key.status().with_context("--log-key");
  }

  std::string path = dir + "/" + kJournalWatchFile;
  if (fs::exists(path)) {
    boost::system::error_code ec;
    json::value v = json::parse(read_all(path), ec);
    if (ec || !v.is_object()) return internal_error(path + " does not parse");
    const json::object& o = v.as_object();
    try {
      w->log_vkey_ = json::value_to<std::string>(o.at("log_vkey"));
      w->origin_ = json::value_to<std::string>(o.at("origin"));
      w->last_size_ = json::value_to<uint64_t>(o.at("size"));
      w->last_root_ = crypto::base64_decode(json::value_to<std::string>(o.at("root"))).value_or("");
      w->last_note_ = json::value_to<std::string>(o.at("note"));
    } catch (const std::exception& e) {
      return internal_error(path + " is malformed: " + e.what());
    }
  }
  if (!w->options_.log_vkey.empty()) {
    if (!w->log_vkey_.empty() && w->log_vkey_ != w->options_.log_vkey) {
      return invalid_argument("--log-key differs from the key saved in " + path +
                              "; delete that file to trust the new key");
    }
    w->log_vkey_ = w->options_.log_vkey;
  }
  return w;
}

void JournalWatch::tick(const HubGet& get) {
  auto now = std::chrono::steady_clock::now();
  if (!due_.exchange(false) && now < next_) return;
  next_ = now + options_.interval;
  Status st = check(get);
  if (st.code() == Code::kUnavailable) {
    logger()->debug("journal check postponed: {}", st.message());
    next_ = now + std::min(options_.interval, std::chrono::seconds(5));
  }
}

Status JournalWatch::learn_log_key(const HubGet& get) {
  auto r = get("/v1/journal/key");
  if (!r.ok()) return r.status();
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  const json::string* vkey = nullptr;
  if (r->status == 200 && !ec && v.is_object()) {
    if (auto* p = v.as_object().if_contains("vkey")) vkey = p->if_string();
  }
  if (vkey == nullptr || !journal::parse_verifier_key(vkey->c_str()).ok()) {
    return permission_denied("hub did not serve a usable log key (HTTP " +
                             std::to_string(r->status) + ")");
  }
  log_vkey_ = vkey->c_str();
  logger()->warn("trusting the hub's journal key on first use key={} (pin it with --log-key)",
                 log_vkey_);
  return Status::ok_status();
}

Status JournalWatch::check(const HubGet& get) {
  // A hub that never served a journal (an older hub) is not a warning; one
  // that served it before and stops is.
  if (last_size_ == 0 && last_note_.empty()) {
    auto probe = get("/v1/journal/checkpoint");
    if (!probe.ok()) return probe.status();
    if (probe->status == 404) return unavailable("the hub serves no journal checkpoint");
  }
  if (log_vkey_.empty()) {
    Status st = learn_log_key(get);
    if (st.code() == Code::kUnavailable) return st;
    if (!st.ok()) return warn("log-key", st.message(), "");
  }
  auto r = get("/v1/journal/checkpoint");
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return warn("checkpoint",
                "hub did not serve a checkpoint (HTTP " + std::to_string(r->status) + ")", "");
  }
  journal::Checkpoint cp;
  bool fork = false;
  Status st = verify(get, r->body, cp, fork);
  if (st.code() == Code::kUnavailable) return st;
  if (!st.ok()) return warn(fork ? "inconsistent" : "checkpoint", st.message(), r->body);

  // A smaller, consistent checkpoint (a lagging hub node) is not remembered.
  if (cp.size >= last_size_) {
    origin_ = cp.origin;
    last_size_ = cp.size;
    last_root_ = cp.root;
    last_note_ = r->body;
    SENED_RETURN_IF_ERROR(save());
  }
  std::string warning = dir_ + "/" + kJournalWarningFile;
  if (fs::exists(warning)) {
    boost::system::error_code ec;
    json::value v = json::parse(read_all(warning), ec);
    const json::value* kind = !ec && v.is_object() ? v.as_object().if_contains("kind") : nullptr;
    if (kind == nullptr || !kind->is_string() || !sticky(kind->as_string().c_str())) {
      std::error_code rm;
      fs::remove(warning, rm);
    }
  }
  return Status::ok_status();
}

Status JournalWatch::verify(const HubGet& get, const std::string& note, journal::Checkpoint& cp,
                            bool& fork) {
  auto key = journal::parse_verifier_key(log_vkey_);
  if (!key.ok()) return key.status();
  auto opened = journal::open_note(note, {*key});
  if (!opened.ok()) return permission_denied("checkpoint signature: " + opened.status().message());
  auto parsed = journal::parse_checkpoint_body(opened->body);
  if (!parsed.ok()) return permission_denied("checkpoint: " + parsed.status().message());
  cp = std::move(*parsed);
  if (!origin_.empty() && cp.origin != origin_) {
    return permission_denied("checkpoint names another log: " + cp.origin);
  }
  // Consistency first: a forked checkpoint usually lacks cosignatures too
  // (the witnesses refuse it), and the fork is the warning that must stay.
  SENED_RETURN_IF_ERROR(check_consistency(get, cp, fork));
  Status enough = journal::check_witness_threshold(note, witnesses_, options_.witness_threshold);
  if (!enough.ok()) return permission_denied("witnesses: " + enough.message());
  return Status::ok_status();
}

Status JournalWatch::check_consistency(const HubGet& get, const journal::Checkpoint& cp,
                                       bool& fork) {
  if (last_size_ == 0 || cp.size == 0) return Status::ok_status();
  fork = true;
  if (cp.size == last_size_) {
    if (cp.root == last_root_) {
      fork = false;
      return Status::ok_status();
    }
    return permission_denied("the hub shows another tree of size " + std::to_string(cp.size) +
                             " than it showed before: the journal was forked or rewritten");
  }
  uint64_t from = std::min(cp.size, last_size_);
  uint64_t to = std::max(cp.size, last_size_);
  auto proof = fetch_proof(get, from, to);
  if (!proof.ok()) {
    if (proof.status().code() == Code::kUnavailable) return proof.status();
    return permission_denied(proof.status().message() +
                             ": consistency with the last checkpoint seen cannot be shown");
  }
  const std::string& old_root = cp.size < last_size_ ? cp.root : last_root_;
  const std::string& new_root = cp.size < last_size_ ? last_root_ : cp.root;
  if (Status st = journal::verify_consistency(from, to, old_root, new_root, *proof); !st.ok()) {
    return permission_denied("checkpoint of size " + std::to_string(cp.size) +
                             " is not consistent with the one of size " +
                             std::to_string(last_size_) + " seen before (" + st.message() +
                             "): the journal was forked or rewritten");
  }
  fork = false;
  return Status::ok_status();
}

Status JournalWatch::warn(const std::string& kind, const std::string& message,
                          const std::string& note) {
  logger()->error("journal warning kind={} message=\"{}\" last_good_size={}", kind, message,
                  last_size_);
  json::object o{{"kind", kind},
                 {"message", message},
                 {"at", now_rfc3339()},
                 {"checkpoint", note},
                 {"last_good_checkpoint", last_note_},
                 {"last_good_size", last_size_}};
  std::string path = dir_ + "/" + kJournalWarningFile;
  // An inconsistency already on file is kept: it is the evidence.
  if (!sticky(kind) && fs::exists(path)) {
    boost::system::error_code ec;
    json::value v = json::parse(read_all(path), ec);
    const json::value* k = !ec && v.is_object() ? v.as_object().if_contains("kind") : nullptr;
    if (k != nullptr && k->is_string() && sticky(k->as_string().c_str())) {
      return permission_denied(message);
    }
  }
  if (Status st = write_durably(path, json::serialize(o) + "\n"); !st.ok()) {
    logger()->error("cannot write {}: {}", path, st.message());
  }
  return permission_denied(message);
}

Status JournalWatch::save() {
  json::object o{{"log_vkey", log_vkey_},
                 {"origin", origin_},
                 {"size", last_size_},
                 {"root", crypto::base64_encode(last_root_)},
                 {"note", last_note_}};
  return write_durably(dir_ + "/" + kJournalWatchFile, json::serialize(o) + "\n");
}

}  // namespace sened::gateway
