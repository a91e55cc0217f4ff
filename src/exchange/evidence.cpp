#include "exchange/evidence.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "client/hub_client.h"
#include "crypto/digest.h"
#include "crypto/timestamp.h"
#include "journal/cosignature.h"

namespace sened::exchange {

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> l = [] {
    auto found = spdlog::get("evidence");
    return found ? found : spdlog::default_logger()->clone("evidence");
  }();
  return l;
}

bool http_url(const std::string& url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

// "scheme://host[:port]" and the path after it ("" when none).
std::pair<std::string, std::string> split_url(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return {url, ""};
  return {url.substr(0, slash), url.substr(slash)};
}

std::string without_trailing_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::optional<uint64_t> parse_size_body(const std::string& body) {
  if (body.empty() || body.back() != '\n' || body.size() > 21) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i + 1 < body.size(); ++i) {
    char c = body[i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return body.size() > 1 ? std::optional<uint64_t>(v) : std::nullopt;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  return out;
}

}  // namespace

CheckpointLog checkpoint_log_of(Store& store) {
  CheckpointLog log;
  log.latest = [&store]() -> Result<std::optional<CheckpointLog::Latest>> {
    auto c = store.latest_checkpoint();
    if (!c.ok()) return c.status();
    if (!c->has_value()) return std::optional<CheckpointLog::Latest>();
    const StoredCheckpoint& s = **c;
    return std::optional<CheckpointLog::Latest>(
        CheckpointLog::Latest{s.size, s.note, s.cosignatures, !s.timestamp_token.empty()});
  };
  log.consistency_proof = [&store](uint64_t from, uint64_t to) {
    return store.consistency_proof(from, to);
  };
  log.add_cosignature = [&store](uint64_t size, const std::string& line) {
    return store.add_checkpoint_cosignature(size, line);
  };
  log.set_timestamp = [&store](uint64_t size, const std::string& der) {
    return store.set_checkpoint_timestamp(size, der);
  };
  return log;
}

Result<PostAnswer> post_with_hub_client(const std::string& url, const std::string& body,
                                        const std::string& content_type, int timeout) {
  auto [base, target] = split_url(url);
  client::ClientOptions o;
  o.url = base;
  o.timeout_seconds = timeout;
  client::HubClient c(o);
  auto r = c.request("POST", target.empty() ? "/" : target, body, content_type);
  if (!r.ok()) return r.status();
  return PostAnswer{r->status, r->header("Content-Type").value_or(""), std::move(r->body)};
}

struct EvidenceCollector::WitnessState {
  journal::NoteKey key;
  std::string url;  // submission prefix without trailing '/'
  std::optional<uint64_t> known_size;
  std::chrono::steady_clock::time_point next{};
  int failures = 0;
  size_t index = 0;  // in status_.witnesses
};

EvidenceCollector::EvidenceCollector(CheckpointLog log, EvidenceOptions options, HttpPost post)
    : log_(std::move(log)),
      options_(std::move(options)),
      post_(post ? std::move(post) : HttpPost(post_with_hub_client)) {}

EvidenceCollector::~EvidenceCollector() { stop(); }

Status EvidenceCollector::start() {
  SENED_RETURN_IF_ERROR(configure());
  publish();
  if (witnesses_.empty() && options_.tsa_url.empty()) return Status::ok_status();
  thread_ = std::thread([this] { loop(); });
  return Status::ok_status();
}

Status EvidenceCollector::configure() {
  configured_ = true;
  for (const WitnessConfig& w : options_.witnesses) {
    Result<journal::NoteKey> key = journal::parse_witness_verifier_key(w.vkey);
    if (!key.ok()) return key.status().with_context("witness " + w.url);
    if (!http_url(w.url)) return invalid_argument("witness url must be http(s)://: " + w.url);
    auto state = std::make_unique<WitnessState>();
    state->key = std::move(*key);
    state->url = without_trailing_slash(w.url);
    state->index = witnesses_.size();
    status_.witnesses.push_back({state->key.name, state->url, 0, true, 0, ""});
    witnesses_.push_back(std::move(state));
  }
  if (!options_.tsa_url.empty()) {
    if (!http_url(options_.tsa_url)) return invalid_argument("tsa url must be http(s)://");
    if (options_.tsa_ca.empty()) return invalid_argument("a TSA needs its CA file (tsa_ca)");
    status_.tsa_configured = true;
  }
  return Status::ok_status();
}

void EvidenceCollector::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EvidenceCollector::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

EvidenceStatus EvidenceCollector::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

Status EvidenceCollector::run_once() {
  if (!configured_) SENED_RETURN_IF_ERROR(configure());
  pass(true);
  publish();
  return Status::ok_status();
}

void EvidenceCollector::publish() {
  if (options_.status_file.empty()) return;
  std::string text = evidence_status_json(status()) + "\n";
  if (text == published_) return;
  // No fsync: the file is a view of memory, rewritten at the next start.
  std::string temp = options_.status_file + ".tmp";
  std::error_code ec;
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) ec = std::make_error_code(std::errc::io_error);
  }
  if (!ec) std::filesystem::rename(temp, options_.status_file, ec);
  if (ec) {
    logger()->warn("cannot write the evidence status file={} reason=\"{}\"", options_.status_file,
                   ec.message());
    return;
  }
  published_ = std::move(text);
}

void EvidenceCollector::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    woken_ = false;
    lock.unlock();
    if (!options_.may_collect || options_.may_collect()) pass(false);
    publish();
    lock.lock();
    cv_.wait_for(lock, options_.poll_interval, [this] { return stop_ || woken_; });
  }
}

void EvidenceCollector::pass(bool ignore_backoff) {
  auto latest = log_.latest();
  if (!latest.ok()) {
    logger()->warn("cannot read the latest checkpoint: {}", latest.status().to_string());
    return;
  }
  if (!latest->has_value()) return;
  const CheckpointLog::Latest& head = **latest;
  {
    std::lock_guard lock(mu_);
    status_.latest_size = head.size;
  }
  auto now = std::chrono::steady_clock::now();
  for (auto& w : witnesses_) {
    if (!ignore_backoff && now < w->next) continue;
    submit(*w, head);
  }
  if (status_.tsa_configured && !head.has_timestamp && (ignore_backoff || now >= tsa_next_)) {
    timestamp(head);
  }
}

std::chrono::milliseconds EvidenceCollector::backoff(int failures) const {
  auto d = options_.first_backoff;
  for (int i = 1; i < failures && d < options_.max_backoff; ++i) d *= 2;
  return std::min(d, options_.max_backoff);
}

void EvidenceCollector::failed(WitnessState& w, const std::string& why, bool refusal) {
  ++w.failures;
  w.next = std::chrono::steady_clock::now() + backoff(w.failures);
  bool first;
  {
    std::lock_guard lock(mu_);
    auto& s = status_.witnesses[w.index];
    first = s.ok;
    s.ok = false;
    s.failures = w.failures;
    s.last_error = why;
  }
  // Refusals always warn: the operator must look at them. Outages warn once.
  if (refusal) {
    logger()->error("witness refused checkpoint witness={} url={} reason=\"{}\"", w.key.name, w.url,
                    why);
  } else if (first) {
    logger()->warn(
        "witness unreachable, documents are still accepted and the checkpoint will be "
        "cosigned when it returns witness={} url={} reason=\"{}\"",
        w.key.name, w.url, why);
  } else {
    logger()->debug("witness still failing witness={} failures={} reason=\"{}\"", w.key.name,
                    w.failures, why);
  }
}

void EvidenceCollector::submit(WitnessState& w, const CheckpointLog::Latest& head) {
  auto parts = journal::split_note(head.note);
  if (!parts.ok()) {
    logger()->error("latest checkpoint note is malformed: {}", parts.status().to_string());
    return;
  }
  // Already cosigned by this witness (e.g. before a restart)?
  for (const std::string& line : head.cosignatures) {
    if (journal::verify_cosignature_line(line, parts->body, w.key).ok()) {
      w.known_size = std::max(w.known_size.value_or(0), head.size);
      std::lock_guard lock(mu_);
      status_.witnesses[w.index].cosigned_size = head.size;
      return;
    }
  }

  // Two tries: the first may only teach us the witness's size (409).
  for (int attempt = 0; attempt < 2; ++attempt) {
    uint64_t old = w.known_size.value_or(0);
    if (old > head.size) {
      return failed(w,
                    "witness has cosigned size " + std::to_string(old) +
                        ", larger than our latest " + std::to_string(head.size),
                    true);
    }
    auto proof = log_.consistency_proof(old, head.size);
    if (!proof.ok()) return failed(w, "consistency proof: " + proof.status().message(), false);
    std::string body = "old " + std::to_string(old) + "\n";
    for (const std::string& h : *proof) body += crypto::base64_encode(h) + "\n";
    body += "\n" + head.note;

    auto answer = post_(w.url + "/add-checkpoint", body, "text/plain; charset=utf-8",
                        options_.witness_timeout_seconds);
    if (!answer.ok()) return failed(w, answer.status().message(), false);
    if (answer->status == 409) {
      std::optional<uint64_t> size = parse_size_body(answer->body);
      if (!size || *size == old) {
        return failed(w,
                      "conflict at size " + std::to_string(old) +
                          ": the witness saw another "
                          "tree of this size",
                      true);
      }
      w.known_size = *size;
      continue;
    }
    if (answer->status != 200) {
      std::string text = answer->body.substr(0, 200);
      while (!text.empty() && text.back() == '\n') text.pop_back();
      return failed(w, "HTTP " + std::to_string(answer->status) + ": " + text,
                    answer->status == 422 || answer->status == 403 || answer->status == 404);
    }

    // Keep only lines that verify with this witness's key over our body.
    int stored = 0;
    for (const std::string& line : lines_of(answer->body)) {
      if (!journal::verify_cosignature_line(line, parts->body, w.key).ok()) continue;
      Status st = log_.add_cosignature(head.size, line + "\n");
      if (!st.ok()) return failed(w, "storing cosignature: " + st.message(), false);
      ++stored;
    }
    if (stored == 0) return failed(w, "answer holds no valid cosignature", true);
    w.known_size = head.size;
    w.failures = 0;
    w.next = {};
    bool recovered;
    {
      std::lock_guard lock(mu_);
      auto& s = status_.witnesses[w.index];
      recovered = !s.ok;
      s = {w.key.name, w.url, head.size, true, 0, ""};
    }
    if (recovered) {
      logger()->info("witness back, latest checkpoint cosigned witness={} size={}", w.key.name,
                     head.size);
    } else {
      logger()->debug("checkpoint cosigned witness={} size={}", w.key.name, head.size);
    }
    return;
  }
  failed(w, "the witness's size kept changing", false);
}

void EvidenceCollector::timestamp(const CheckpointLog::Latest& head) {
  auto fail = [&](const std::string& why) {
    bool first;
    int failures;
    {
      std::lock_guard lock(mu_);
      first = status_.tsa_ok;
      status_.tsa_ok = false;
      failures = ++status_.tsa_failures;
      status_.tsa_last_error = why;
    }
    tsa_next_ = std::chrono::steady_clock::now() + backoff(failures);
    if (first) {
      logger()->warn(
          "time stamp failed, documents are still accepted and the checkpoint will be "
          "time-stamped later url={} reason=\"{}\"",
          options_.tsa_url, why);
    }
  };
  auto req = crypto::make_timestamp_request(head.note);
  if (!req.ok()) return fail(req.status().message());
  auto answer = post_(options_.tsa_url, req->der, std::string(crypto::kTimestampQueryType),
                      options_.witness_timeout_seconds);
  if (!answer.ok()) return fail(answer.status().message());
  if (answer->status != 200) return fail("HTTP " + std::to_string(answer->status));
  auto token = crypto::accept_timestamp_reply(answer->body, *req, options_.tsa_ca);
  if (!token.ok()) return fail(token.status().to_string());
  if (Status st = log_.set_timestamp(head.size, token->der); !st.ok()) {
    return fail("storing time stamp: " + st.message());
  }
  bool recovered;
  {
    std::lock_guard lock(mu_);
    recovered = !status_.tsa_ok;
    status_.tsa_ok = true;
    status_.tsa_failures = 0;
    status_.tsa_last_error.clear();
    status_.timestamped_size = head.size;
  }
  tsa_next_ = {};
  if (recovered) {
    logger()->info("TSA back, latest checkpoint time-stamped size={}", head.size);
  }
}

bool evidence_healthy(const EvidenceStatus& s) {
  for (const auto& w : s.witnesses) {
    if (!w.ok) return false;
  }
  return !s.tsa_configured || s.tsa_ok;
}

std::string evidence_status_json(const EvidenceStatus& s) {
  boost::json::array witnesses;
  for (const auto& w : s.witnesses) {
    witnesses.push_back(boost::json::object{{"name", w.name},
                                            {"url", w.url},
                                            {"cosigned_size", w.cosigned_size},
                                            {"ok", w.ok},
                                            {"failures", w.failures},
                                            {"last_error", w.last_error}});
  }
  boost::json::object tsa{{"configured", s.tsa_configured},
                          {"timestamped_size", s.timestamped_size},
                          {"ok", s.tsa_ok},
                          {"failures", s.tsa_failures},
                          {"last_error", s.tsa_last_error}};
  return boost::json::serialize(boost::json::object{{"healthy", evidence_healthy(s)},
                                                    {"latest_size", s.latest_size},
                                                    {"witnesses", witnesses},
                                                    {"tsa", tsa}});
}

}  // namespace sened::exchange
