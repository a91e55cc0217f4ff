#include "core/config.h"

#include <toml++/toml.h>

#include <filesystem>

namespace sened {

std::string HubConfig::path(const std::string& relative) const {
  if (!relative.empty() && relative.front() == '/') return relative;
  return data_dir + "/" + relative;
}

Result<std::string> HubConfig::sqlite_path() const {
  constexpr std::string_view kScheme = "sqlite:";
  if (store.rfind(kScheme, 0) != 0) {
    return invalid_argument("store '" + store + "' is not supported (use sqlite:PATH)");
  }
  return path(store.substr(kScheme.size()));
}

namespace {

template <typename T>
Status read_value(const toml::table& t, std::string_view section, std::string_view key, T& out) {
  const toml::node* node = t.at_path(std::string(section) + "." + std::string(key)).node();
  if (section.empty()) node = t.get(key);
  if (node == nullptr) return Status();
  auto v = node->value<T>();
  if (!v) {
    return invalid_argument("sened.toml: " + std::string(section) + "." + std::string(key) +
                            " has the wrong type");
  }
  out = *v;
  return Status();
}

template <typename T>
Status read_positive(const toml::table& t, std::string_view section, std::string_view key, T& out) {
  int64_t v = static_cast<int64_t>(out);
  SENED_RETURN_IF_ERROR(read_value(t, section, key, v));
  if (v <= 0) {
    return invalid_argument("sened.toml: " + std::string(section) + "." + std::string(key) +
                            " must be positive");
  }
  out = static_cast<T>(v);
  return Status();
}

Status read_limits(const toml::table& t, Limits& l) {
  SENED_RETURN_IF_ERROR(read_positive(t, "limits", "max_file_size", l.max_file_size));
  SENED_RETURN_IF_ERROR(read_positive(t, "limits", "max_upload_size", l.max_upload_size));
  SENED_RETURN_IF_ERROR(read_positive(t, "limits", "max_metadata_size", l.max_metadata_size));
  SENED_RETURN_IF_ERROR(read_positive(t, "limits", "max_files", l.max_files));
  SENED_RETURN_IF_ERROR(read_positive(t, "limits", "max_body_size", l.max_body_size));
  SENED_RETURN_IF_ERROR(read_positive(t, "limits", "header_limit", l.header_limit));
  SENED_RETURN_IF_ERROR(read_positive(t, "limits", "idle_timeout_seconds", l.idle_timeout_seconds));
  SENED_RETURN_IF_ERROR(
      read_positive(t, "limits", "handshake_timeout_seconds", l.handshake_timeout_seconds));
  return read_positive(t, "limits", "page_size", l.page_size);
}

Status read_strings(const toml::table& t, std::string_view section, std::string_view key,
                    std::vector<std::string>& out) {
  const toml::node* node = t.at_path(std::string(section) + "." + std::string(key)).node();
  if (node == nullptr) return Status();
  const std::string name = "sened.toml: " + std::string(section) + "." + std::string(key);
  const toml::array* array = node->as_array();
  if (array == nullptr) return invalid_argument(name + " must be an array of strings");
  out.clear();
  for (const toml::node& item : *array) {
    auto v = item.value<std::string>();
    if (!v || v->empty()) return invalid_argument(name + " must hold non-empty strings");
    out.push_back(*v);
  }
  return Status();
}

// [journal] and its [[journal.witness]] tables.
Status read_journal(const toml::table& t, HubConfig& c) {
  SENED_RETURN_IF_ERROR(read_value(t, "journal", "origin", c.journal_origin));
  if (c.journal_origin.empty()) return invalid_argument("sened.toml: journal.origin is empty");
  SENED_RETURN_IF_ERROR(read_value(t, "journal", "key", c.journal_key));
  SENED_RETURN_IF_ERROR(
      read_positive(t, "journal", "checkpoint_interval_ms", c.checkpoint_interval_ms));
  SENED_RETURN_IF_ERROR(
      read_positive(t, "journal", "witness_timeout_seconds", c.witness_timeout_seconds));
  const toml::node* node = t.at_path("journal.witness").node();
  if (node == nullptr) return Status();
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    return invalid_argument("sened.toml: journal.witness must be an array of tables");
  }
  c.witnesses.clear();
  for (const toml::node& item : *array) {
    const toml::table* table = item.as_table();
    if (table == nullptr) {
      return invalid_argument("sened.toml: journal.witness must be an array of tables");
    }
    WitnessConfig w;
    auto vkey = (*table)["vkey"].value<std::string>();
    auto url = (*table)["url"].value<std::string>();
    if (!vkey || vkey->empty() || !url || url->empty()) {
      return invalid_argument("sened.toml: each [[journal.witness]] needs vkey and url");
    }
    w.vkey = *vkey;
    w.url = *url;
    c.witnesses.push_back(std::move(w));
  }
  return Status();
}

Status read_config(const toml::table& t, HubConfig& c) {
  SENED_RETURN_IF_ERROR(read_value(t, "", "store", c.store));
  SENED_RETURN_IF_ERROR(read_value(t, "hub", "listen", c.listen));
  SENED_RETURN_IF_ERROR(read_value(t, "hub", "files", c.files_dir));
  SENED_RETURN_IF_ERROR(read_positive(t, "hub", "inline_file_limit", c.inline_file_limit));
  SENED_RETURN_IF_ERROR(read_value(t, "hub", "file_storage", c.file_storage));
  if (c.file_storage != kFileStorageFolder && c.file_storage != kFileStoragePostgres) {
    return invalid_argument("sened.toml: hub.file_storage must be \"folder\" or \"postgresql\"");
  }
  int64_t threads = c.network_threads;
  SENED_RETURN_IF_ERROR(read_value(t, "hub", "network_threads", threads));
  if (threads < 0) return invalid_argument("sened.toml: hub.network_threads must be >= 0");
  c.network_threads = static_cast<int>(threads);
  SENED_RETURN_IF_ERROR(read_positive(t, "hub", "blocking_threads", c.blocking_threads));
  SENED_RETURN_IF_ERROR(read_value(t, "tls", "cert", c.tls_cert));
  SENED_RETURN_IF_ERROR(read_value(t, "tls", "key", c.tls_key));
  SENED_RETURN_IF_ERROR(read_value(t, "ca", "cert", c.ca_cert));
  SENED_RETURN_IF_ERROR(read_value(t, "ca", "key", c.ca_key));
  SENED_RETURN_IF_ERROR(read_value(t, "ca", "crl", c.crl));
  SENED_RETURN_IF_ERROR(read_positive(t, "delivery", "expire_after_hours", c.expire_after_hours));
  SENED_RETURN_IF_ERROR(
      read_positive(t, "delivery", "sweep_interval_seconds", c.sweep_interval_seconds));
  SENED_RETURN_IF_ERROR(read_value(t, "webhooks", "ca", c.webhook_ca));
  SENED_RETURN_IF_ERROR(read_positive(t, "webhooks", "timeout_seconds", c.webhook_timeout_seconds));
  SENED_RETURN_IF_ERROR(
      read_positive(t, "webhooks", "max_backoff_seconds", c.webhook_max_backoff_seconds));
  SENED_RETURN_IF_ERROR(read_journal(t, c));
  SENED_RETURN_IF_ERROR(read_value(t, "timestamp", "tsa_url", c.tsa_url));
  SENED_RETURN_IF_ERROR(read_value(t, "timestamp", "tsa_ca", c.tsa_ca));
  SENED_RETURN_IF_ERROR(read_value(t, "receipts", "key", c.receipt_key));
  SENED_RETURN_IF_ERROR(read_value(t, "receipts", "cert", c.receipt_cert));
  SENED_RETURN_IF_ERROR(read_value(t, "trust", "dir", c.trust_dir));
  SENED_RETURN_IF_ERROR(
      read_strings(t, "signatures", "require_valid_for_kinds", c.require_signature_kinds));
  return read_limits(t, c.limits);
}

}  // namespace

Result<HubConfig> load_config(const std::string& data_dir) {
  std::string file = data_dir + "/sened.toml";
  if (!std::filesystem::exists(file)) {
    return not_found(data_dir +
                     " is not a hub data folder (no sened.toml; run `sened admin init`)");
  }
  HubConfig config;
  config.data_dir = std::filesystem::absolute(data_dir).lexically_normal().string();
  if (config.data_dir.size() > 1 && config.data_dir.back() == '/') config.data_dir.pop_back();
  try {
    toml::table t = toml::parse_file(file);
    SENED_RETURN_IF_ERROR(read_config(t, config));
  } catch (const toml::parse_error& e) {
    return invalid_argument("sened.toml: " + std::string(e.description()));
  }
  return config;
}

Status check_file_storage(const std::string& file_storage, const std::string& store) {
  if (file_storage == kFileStorageFolder) return Status();
  if (file_storage != kFileStoragePostgres) {
    return invalid_argument("file storage must be \"folder\" or \"postgresql\"");
  }
  if (store.starts_with("postgresql://") || store.starts_with("postgres://")) return Status();
  return invalid_argument(
      "file storage \"postgresql\" needs a postgresql:// store; the SQLite store keeps large "
      "files in the files folder");
}

std::string default_config_text(const std::string& store, const std::string& file_storage) {
  HubConfig c;
  if (!store.empty()) c.store = store;
  if (!file_storage.empty()) c.file_storage = file_storage;
  const Limits& l = c.limits;
  std::string s;
  s += "# Sened hub configuration. Relative paths are relative to this folder.\n\n";
  s += "# The store: sqlite:PATH (the embedded default), or\n";
  s += "# postgresql://USER@HOST:PORT/DB for several hub nodes sharing one database.\n";
  s += "store = \"" + c.store + "\"\n\n";
  s += "[hub]\n";
  s += "listen = \"" + c.listen + "\"\n";
  s += "# Content-addressed folder for files larger than inline_file_limit bytes\n";
  s += "# (and the uploads' staging folder).\n";
  s += "files = \"" + c.files_dir + "\"\n";
  s += "inline_file_limit = " + std::to_string(c.inline_file_limit) + "\n";
  s += "# Where files larger than inline_file_limit are kept: \"folder\" (the files\n";
  s += "# folder, which the nodes of a cluster must share) or \"postgresql\" (chunked\n";
  s += "# in the PostgreSQL store; needs a postgresql:// store).\n";
  s += "file_storage = \"" + c.file_storage + "\"\n";
  s += "# 0: one network thread per core.\n";
  s += "network_threads = " + std::to_string(c.network_threads) + "\n";
  s += "# Threads for disk and database work.\n";
  s += "blocking_threads = " + std::to_string(c.blocking_threads) + "\n\n";
  s += "[tls]\n";
  s += "cert = \"" + c.tls_cert + "\"\n";
  s += "key = \"" + c.tls_key + "\"\n\n";
  s += "# The development CA that issues participants' certificates, and its CRL.\n";
  s += "[ca]\n";
  s += "cert = \"" + c.ca_cert + "\"\n";
  s += "key = \"" + c.ca_key + "\"\n";
  s += "crl = \"" + c.crl + "\"\n\n";
  s += "[delivery]\n";
  s += "# A delivery still queued this many hours after acceptance expires.\n";
  s += "expire_after_hours = " + std::to_string(c.expire_after_hours) + "\n";
  s += "# Seconds between looks for expired and overdue deliveries.\n";
  s += "sweep_interval_seconds = " + std::to_string(c.sweep_interval_seconds) + "\n\n";
  s += "# Webhook push: endpoints' certificates must chain to this CA (PEM).\n";
  s += "[webhooks]\n";
  s += "ca = \"" + c.webhook_ca + "\"\n";
  s += "timeout_seconds = " + std::to_string(c.webhook_timeout_seconds) + "\n";
  s += "# Retries back off exponentially, with jitter, up to this many seconds.\n";
  s += "max_backoff_seconds = " + std::to_string(c.webhook_max_backoff_seconds) + "\n\n";
  s += "[journal]\n";
  s += "# The origin line of every checkpoint (the log's name).\n";
  s += "origin = \"" + c.journal_origin + "\"\n";
  s += "# The log's Ed25519 signing key (PKCS#8 PEM).\n";
  s += "key = \"" + c.journal_key + "\"\n";
  s += "# A new checkpoint at most this often (milliseconds) while entries arrive.\n";
  s += "checkpoint_interval_ms = " + std::to_string(c.checkpoint_interval_ms) + "\n";
  s += "witness_timeout_seconds = " + std::to_string(c.witness_timeout_seconds) + "\n";
  s += "# Witnesses that cosign checkpoints, one table each:\n";
  s += "# [[journal.witness]]\n";
  s += "# vkey = \"name+0123abcd+BASE64KEY\"\n";
  s += "# url = \"https://witness.example/\"\n\n";
  s += "# RFC 3161 time stamps on checkpoints; an empty tsa_url turns them off.\n";
  s += "[timestamp]\n";
  s += "tsa_url = \"" + c.tsa_url + "\"\n";
  s += "tsa_ca = \"" + c.tsa_ca + "\"\n\n";
  s += "# The key and certificate that sign receipts (CMS).\n";
  s += "[receipts]\n";
  s += "key = \"" + c.receipt_key + "\"\n";
  s += "cert = \"" + c.receipt_cert + "\"\n\n";
  s += "# Extra CA certificates (*.pem) and CRLs (*.crl) trusted for participants'\n";
  s += "# certificates and document signatures (`sened admin trust`).\n";
  s += "[trust]\n";
  s += "dir = \"" + c.trust_dir + "\"\n\n";
  s += "[signatures]\n";
  s += "# Document kinds whose main file must carry a valid signature.\n";
  s += "require_valid_for_kinds = []\n\n";
  s += "[limits]\n";
  s += "# Bytes in one file of a document (2 GiB).\n";
  s += "max_file_size = " + std::to_string(l.max_file_size) + "\n";
  s += "# Bytes in one whole upload; a larger Content-Length is refused before reading.\n";
  s += "max_upload_size = " + std::to_string(l.max_upload_size) + "\n";
  s += "# Bytes in the metadata part of an upload.\n";
  s += "max_metadata_size = " + std::to_string(l.max_metadata_size) + "\n";
  s += "max_files = " + std::to_string(l.max_files) + "\n";
  s += "# Bytes in the body of any other request.\n";
  s += "max_body_size = " + std::to_string(l.max_body_size) + "\n";
  s += "# Bytes in a request's line and headers.\n";
  s += "header_limit = " + std::to_string(l.header_limit) + "\n";
  s += "idle_timeout_seconds = " + std::to_string(l.idle_timeout_seconds) + "\n";
  s += "handshake_timeout_seconds = " + std::to_string(l.handshake_timeout_seconds) + "\n";
  s += "# Documents in one inbox or outbox page.\n";
  s += "page_size = " + std::to_string(l.page_size) + "\n";
  return s;
}

}  // namespace sened
