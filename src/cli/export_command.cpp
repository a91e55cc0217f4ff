// `sened export ID --out FILE.asice`: a document's evidence bundle as an
// ASiC-E container, and `sened export verify FILE.asice [--chain PEM]
// [--log-key VKEY|PEM]`, its
// offline check. See exchange/asic.h and docs/export.md.
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/common.h"
#include "core/ids.h"
#include "crypto/cms.h"
#include "crypto/digest.h"
#include "crypto/zip.h"
#include "exchange/asic.h"

namespace sened::cli {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

std::string text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A private temporary folder, removed with its contents when the object dies.
struct TempFolder {
  std::string path;
  ~TempFolder() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

// Fetches one data object into `folder` (or decodes it) and checks its
// digest against the hub's list, which the signed manifest repeats.
Result<crypto::ZipInput> fetch_object(client::HubClient& hub, const json::object& o,
                                      const std::string& folder, size_t n) {
  std::string name = text(o, "name");
  if (!crypto::is_safe_entry_name(name) || name.rfind("META-INF/", 0) == 0 ||
      name == exchange::asic::kMimetypeEntry) {
    return internal_error("the hub named a data object '" + name + "'");
  }
  crypto::ZipInput in{name, std::nullopt, ""};
  if (o.contains("content")) {
    auto bytes = crypto::base64_decode(text(o, "content"));
    if (!bytes) return internal_error(name + ": the hub's content is not base64");
    in.data = std::move(*bytes);
    if (crypto::sha256_hex(in.data) != text(o, "sha256")) {
      return internal_error(name + ": content does not match its digest");
    }
    return in;
  }
  std::string path = folder + "/" + std::to_string(n);
  auto r = hub.download(text(o, "source"), path);
  if (!r.ok()) return r.status();
  SENED_RETURN_IF_ERROR(answer_status(*r).with_context(name));
  auto digest = crypto::sha256_file_hex(path);
  if (!digest.ok()) return digest.status();
  if (*digest != text(o, "sha256")) {
    return internal_error(name + ": the received bytes do not match their digest");
  }
  in.path = path;
  return in;
}

// The manifest must list exactly the objects the hub handed out, with the
// same digests: the signature covers the manifest, not the JSON.
Status check_manifest(const std::string& manifest, const std::vector<crypto::ZipInput>& inputs,
                      const json::array& objects) {
  auto listed = exchange::asic::parse_manifest(manifest);
  if (!listed.ok()) return listed.status().with_context("the hub's manifest");
  if (listed->size() != objects.size()) return internal_error("the hub's manifest is incomplete");
  for (size_t i = 0; i < objects.size(); ++i) {
    const auto& o = objects[i].as_object();
    if ((*listed)[i].name != inputs[i].name || (*listed)[i].sha256 != text(o, "sha256")) {
      return internal_error("the hub's manifest disagrees on " + inputs[i].name);
    }
  }
  return Status();
}

Status export_bundle(const Connection& conn, const std::string& id, const std::string& out) {
  if (!is_uuid(id)) return invalid_argument("not a document id: " + id);
  auto options = resolve(conn);
  if (!options.ok()) return options.status();
  client::HubClient hub(*options);
  auto r = hub.request("GET", "/v1/documents/" + id + "/evidence");
  if (!r.ok()) return r.status();
  SENED_RETURN_IF_ERROR(answer_status(*r));
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  const json::object* o = !ec && v.is_object() ? &v.as_object() : nullptr;
  const json::value* objects = o ? o->if_contains("objects") : nullptr;
  if (!objects || !objects->is_array()) return internal_error("the hub's answer is not evidence");
  auto manifest = crypto::base64_decode(text(*o, "manifest"));
  auto signature = crypto::base64_decode(text(*o, "signature"));
  if (!manifest || !signature) return internal_error("the hub's manifest is not base64");

  TempFolder temp;
  std::string pattern = (fs::temp_directory_path() / "sened-export-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return unavailable("cannot make a temporary folder");
  temp.path = pattern;
  std::vector<crypto::ZipInput> inputs;
  for (size_t i = 0; i < objects->as_array().size(); ++i) {
    const json::value& item = objects->as_array()[i];
    if (!item.is_object()) return internal_error("malformed data object");
    auto in = fetch_object(hub, item.as_object(), temp.path, i);
    if (!in.ok()) return in.status();
    inputs.push_back(std::move(*in));
  }
  SENED_RETURN_IF_ERROR(check_manifest(*manifest, inputs, objects->as_array()));

  std::vector<crypto::ZipInput> entries{
      {exchange::asic::kMimetypeEntry, std::nullopt, exchange::asic::kMimeType}};
  entries.insert(entries.end(), inputs.begin(), inputs.end());
  entries.push_back({exchange::asic::kManifestEntry, std::nullopt, *manifest});
  entries.push_back({exchange::asic::kSignatureEntry, std::nullopt, *signature});
  SENED_RETURN_IF_ERROR(crypto::write_zip(out, entries));
  if (conn.json) {
    std::cout << json::serialize(
                     json::object{{"document", id}, {"out", out}, {"objects", inputs.size()}})
              << "\n";
  } else {
    std::cout << "wrote " << out << " (" << inputs.size() << " data objects)\n";
  }
  return Status();
}

// Reads the --chain file. An empty one (a failed download, /dev/null) must
// not quietly turn the CA check off: it is refused, as is any file that
// holds no certificate.
Result<std::string> read_chain_file(const std::string& path) {
  if (path.empty()) return invalid_argument("--chain names no file");
  auto pem = read_text_file(path);
  if (!pem.ok()) return pem.status().with_context("--chain");
  if (Status st = crypto::check_anchor_pem(*pem); !st.ok()) {
    return invalid_argument("--chain " + path + ": the chain file " + st.message());
  }
  return pem;
}

// --log-key takes the key itself (verifier key or PEM) or a file holding
// it; an empty file is refused, or the pin would silently fall back to the
// bundle's own key.
Result<std::string> read_log_key(const std::string& log_key) {
  std::error_code ec;
  if (log_key.empty() || !fs::exists(log_key, ec) || fs::is_directory(log_key, ec)) return log_key;
  auto text = read_text_file(log_key);
  if (!text.ok()) return text.status().with_context("--log-key");
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
    return invalid_argument("--log-key " + log_key + ": the file holds no key");
  }
  return text;
}

Result<exchange::asic::VerifyOptions> verify_options(const std::optional<std::string>& chain_file,
                                                     const std::string& log_key) {
  exchange::asic::VerifyOptions options;
  if (chain_file) {
    auto pem = read_chain_file(*chain_file);
    if (!pem.ok()) return pem.status();
    options.anchor_pem = std::move(*pem);
  }
  auto key = read_log_key(log_key);
  if (!key.ok()) return key.status();
  options.log_key = std::move(*key);
  return options;
}

// With --json every outcome is one JSON object on stdout, this one for a
// bundle that could not be checked at all (bad flags, not a ZIP).
void print_json_error(const Status& st) {
  std::cout << json::serialize(json::object{{"ok", false},
                                            {"error", json::object{{"code", code_name(st.code())},
                                                                   {"message", st.message()}}},
                                            {"warnings", json::array()},
                                            {"findings", json::array()}})
            << "\n";
}

void print_json_report(const exchange::asic::Report& report) {
  json::array findings;
  for (const auto& f : report.findings) {
    findings.push_back(json::object{{"item", f.item}, {"ok", f.ok}, {"detail", f.detail}});
  }
  json::array warnings;
  for (const auto& w : report.warnings) warnings.emplace_back(w);
  std::cout << json::serialize(json::object{{"ok", report.ok()},
                                            {"warnings", std::move(warnings)},
                                            {"signer", report.signer.subject},
                                            {"anchored", report.signer.anchored},
                                            {"anchor", report.signer.anchor},
                                            {"findings", std::move(findings)}})
            << "\n";
}

void print_text_report(const exchange::asic::Report& report) {
  for (const auto& f : report.findings) {
    std::cout << (f.ok ? "ok    " : "FAIL  ") << f.item << (f.ok ? "" : ": " + f.detail) << "\n";
  }
  for (const auto& w : report.warnings) std::cout << "warning: " << w << "\n";
  if (!report.ok()) return;
  std::cout << "signed by " << report.signer.subject
            << (report.signer.anchored ? " (chains to the given CA: " + report.signer.anchor + ")"
                                       : " (not checked against a CA: pass --chain)")
            << "\n";
}

// `chain_file` is set when --chain was given, even as "" (an unset shell
// variable): that is refused, not taken as "no CA".
Status verify_bundle(const std::string& path, const std::optional<std::string>& chain_file,
                     const std::string& log_key, bool as_json) {
  auto options = verify_options(chain_file, log_key);
  Result<exchange::asic::Report> report = options.ok()
                                              ? exchange::asic::verify_container(path, *options)
                                              : Result<exchange::asic::Report>(options.status());
  if (!report.ok()) {
    if (as_json) print_json_error(report.status());
    return report.status();
  }
  if (as_json) {
    print_json_report(*report);
  } else {
    print_text_report(*report);
  }
  if (report->ok()) return Status();
  std::string failed;
  for (const auto& f : report->findings) {
    if (!f.ok) failed += (failed.empty() ? "" : ", ") + f.item;
  }
  return permission_denied("evidence does not verify: " + failed);
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "export", "A document's evidence bundle (ASiC-E), or `export verify FILE` to check one");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  add_connection_flags(*cmd, *conn);
  cmd->add_option("ID", *id, "Document id");
  cmd->add_option("--out", *out, "The .asice file to write");

  auto* verify = cmd->add_subcommand("verify", "Check an evidence bundle offline");
  auto file = std::make_shared<std::string>();
  auto chain = std::make_shared<std::string>();
  auto json_out = std::make_shared<bool>(false);
  verify->add_option("FILE", *file, "The .asice file")->required();
  auto* chain_option = verify->add_option(
      "--chain", *chain, "PEM CA certificate(s) the hub's signing certificate must chain to");
  auto log_key = std::make_shared<std::string>();
  verify->add_option("--log-key", *log_key,
                     "The hub's log key (verifier key, Ed25519 public key PEM, or a file with "
                     "either) the checkpoint must be signed with; default: the bundle's own");
  verify->add_flag("--json", *json_out, "Print the findings as JSON");
  verify->callback([file, chain, chain_option, log_key, json_out] {
    std::optional<std::string> given;
    if (chain_option->count() > 0) given = *chain;
    Status st = verify_bundle(*file, given, *log_key, *json_out);
    if (!st.ok()) report(st);
  });

  cmd->callback([verify, conn, id, out] {
    if (verify->parsed()) return;
    if (id->empty() || out->empty()) {
      report(invalid_argument("usage: sened export ID --out FILE.asice"));
      return;
    }
    Status st = export_bundle(*conn, *id, *out);
    if (!st.ok()) report(st);
  });
}

}  // namespace sened::cli
