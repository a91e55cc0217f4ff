// `sened receipt get | verify`: a document's signed receipts, saved and
// checked offline (docs/receipts.md).
#include <boost/json.hpp>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "core/ids.h"
#include "crypto/cms.h"
#include "crypto/digest.h"

namespace sened::cli {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

// The chain saved beside the receipts, and the trust anchor to check them.
constexpr char kChainFile[] = "hub-chain.pem";

std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Participant ids are short codes, but they become file names here: keep
// only characters that cannot leave the folder.
bool safe_name_part(const std::string& s) {
  if (s.empty() || s.size() > 100 || s == "." || s == "..") return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Status save_receipt(const json::value& item, const std::string& out, bool quiet) {
  if (!item.is_object()) return internal_error("malformed receipt entry");
  const json::object& r = item.as_object();
  std::string event = text_of(r, "event");
  std::string participant = text_of(r, "participant");
  if (!safe_name_part(event) || !safe_name_part(participant)) {
    return internal_error("a receipt names an unusable event or participant");
  }
  auto der = crypto::base64_decode(text_of(r, "der"));
  if (!der) return internal_error("a receipt is not base64");
  std::string path = out + "/" + event + "-" + participant + ".p7s";
  SENED_RETURN_IF_ERROR(write_file_atomic(path, *der));
  if (!quiet) std::cout << "wrote " << path << "\n";
  return Status();
}

Status get_receipts(const Connection& conn, const std::string& id, const std::string& out) {
  if (!is_uuid(id)) return invalid_argument("not a document id: " + id);
  auto options = resolve(conn);
  if (!options.ok()) return options.status();
  client::HubClient hub(*options);
  auto r = hub.request("GET", "/v1/documents/" + id + "/receipts");
  if (!r.ok()) return r.status();
  SENED_RETURN_IF_ERROR(answer_status(*r));
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  const json::value* list = !ec && v.is_object() ? v.as_object().if_contains("receipts") : nullptr;
  if (list == nullptr || !list->is_array()) return internal_error("the hub's answer has no list");

  std::error_code fec;
  fs::create_directories(out, fec);
  if (fec) return unavailable("cannot create " + out + ": " + fec.message());
  for (const auto& item : list->as_array()) {
    SENED_RETURN_IF_ERROR(save_receipt(item, out, conn.json));
  }
  SENED_RETURN_IF_ERROR(write_file_atomic(out + "/" + kChainFile, text_of(v.as_object(), "chain")));
  if (conn.json) std::cout << r->body;
  if (!conn.json) std::cout << "wrote " << out << "/" << kChainFile << "\n";
  return Status();
}

// The chain to check against: --chain, else hub-chain.pem beside FILE
// (which only shows that FILE and that chain agree: whoever wrote the
// folder chose both). An empty chain file is refused, never read as "no CA".
Result<crypto::TrustMaterial> receipt_trust(const std::string& chain) {
  auto pem = read_text_file(chain);
  if (!pem.ok()) return pem.status().with_context("--chain");
  if (Status st = crypto::check_anchor_pem(*pem); !st.ok()) {
    return invalid_argument("chain " + chain + ": the chain file " + st.message());
  }
  crypto::TrustMaterial trust;
  trust.ca_pems.push_back(std::move(*pem));
  return trust;
}

// Prints the receipt's JSON on stdout only when it verified; the verdict,
// and the CA it was trusted through, go to stderr. A receipt that does not
// verify is a failure (exit status 1) with nothing on stdout.
Status verify_receipt(const std::string& file, std::string chain, bool chain_given) {
  if (chain_given && chain.empty()) return invalid_argument("--chain names no file");
  bool beside = !chain_given;
  if (beside) chain = (fs::path(file).parent_path() / kChainFile).string();
  auto der = read_text_file(file);
  if (!der.ok()) return der.status();
  auto trust = receipt_trust(chain);
  if (!trust.ok()) return trust.status();
  auto opened = crypto::open_attached(*der, *trust);
  if (!opened.ok()) return opened.status().with_context(file);
  const crypto::SignatureCheck& check = opened->check;
  if (check.status != crypto::SignatureStatus::kValid) {
    return permission_denied("receipt " + file + " is INVALID (" +
                             std::string(crypto::to_string(check.status)) + "): " + check.detail);
  }
  std::cout << opened->content << "\n";
  std::cerr << "receipt " << file << " is valid: signed by " << check.signer << " at "
            << check.signing_time << "\n";
  std::cerr << "trusted CA: " << check.anchor << " (from " << chain
            << (beside ? ", the chain beside the receipt: pass --chain with the hub's own" : "")
            << ")\n";
  return Status();
}

}  // namespace

void add_receipt_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("receipt", "The hub's signed receipts of a document");
  cmd->require_subcommand(1);

  auto* get = cmd->add_subcommand(
      "get", "Save a document's receipts as DIR/<event>-<participant>.p7s and DIR/hub-chain.pem");
  auto conn = std::make_shared<Connection>();
  auto id = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  add_connection_flags(*get, *conn);
  get->add_option("ID", *id, "Document id")->required();
  get->add_option("--out", *out, "Folder to write into")->required();
  get->callback([conn, id, out] {
    if (Status st = get_receipts(*conn, *id, *out); !st.ok()) report(st);
  });

  auto* verify = cmd->add_subcommand(
      "verify",
      "Check a receipt (DER CMS) and print its JSON if valid; exit status 1 if it is not");
  auto file = std::make_shared<std::string>();
  auto chain = std::make_shared<std::string>();
  verify->add_option("FILE", *file, "The receipt (.p7s)")->required();
  auto* chain_option =
      verify->add_option("--chain", *chain,
                         "The hub's certificate chain (PEM), got from the hub independently; "
                         "default: hub-chain.pem beside FILE, which proves nothing about who "
                         "wrote the folder");
  verify->callback([file, chain, chain_option] {
    Status st = verify_receipt(*file, *chain, chain_option->count() > 0);
    if (!st.ok()) report(st);
  });
}

}  // namespace sened::cli
