#include "exchange/signatures.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/digest.h"

namespace sened::exchange {
namespace fs = std::filesystem;

namespace {

// Trust files are small PEM texts; a larger one is refused.
constexpr uintmax_t kMaxTrustFileBytes = 4 << 20;

// The file's text, or "" when it does not exist.
Result<std::string> read_optional(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::string();
  if (fs::file_size(path, ec) > kMaxTrustFileBytes) {
    return unavailable("trust file " + path + " is too large");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return unavailable("cannot read trust file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status add_file(const std::string& path, std::vector<std::string>& to) {
  auto text = read_optional(path);
  if (!text.ok()) return text.status();
  if (!text->empty()) to.push_back(std::move(*text));
  return Status();
}

}  // namespace

// Read whenever a signature is checked, so that a CRL the operator replaces
// counts for the next document without a restart.
Result<crypto::TrustMaterial> load_signature_trust(const HubConfig& config) {
  crypto::TrustMaterial trust;
  SENED_RETURN_IF_ERROR(add_file(config.path(config.ca_cert), trust.ca_pems));
  SENED_RETURN_IF_ERROR(add_file(config.path(config.crl), trust.crl_pems));
  std::error_code ec;
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(config.path(config.trust_dir), ec)) {
    entries.push_back(e.path());
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& p : entries) {
    if (p.extension() == ".pem") SENED_RETURN_IF_ERROR(add_file(p.string(), trust.ca_pems));
    if (p.extension() == ".crl") SENED_RETURN_IF_ERROR(add_file(p.string(), trust.crl_pems));
  }
  return trust;
}

Signatures::Signatures(Options options) : options_(std::move(options)) {}

Status Signatures::check(std::vector<StagedFile>& files) const {
  bool any = std::any_of(files.begin(), files.end(),
                         [](const StagedFile& f) { return f.signature.has_value(); });
  if (!any) return Status();
  crypto::TrustMaterial trust;
  if (options_.load_trust) {
    auto loaded = load_signature_trust(options_.config);
    if (!loaded.ok()) return loaded.status();
    trust = std::move(*loaded);
  }
  for (auto& f : files) {
    if (!f.signature) continue;
    std::string where =
        "signature of file " + std::to_string(f.info.index) + " (" + f.info.name + ")";
    f.info.signature_sha256 = crypto::sha256_hex(*f.signature);
    f.info.signature_size = f.signature->size();
    auto check = crypto::verify_detached_file(*f.signature, f.temp_path, trust);
    if (!check.ok() && check.status().code() != Code::kInvalidArgument) return check.status();
    if (!check.ok()) return check.status().with_context(where);
    // The hub cannot read an encrypted file: it records who signed, no verdict.
    f.info.signature_status = std::string(
        crypto::to_string(f.info.encrypted ? crypto::SignatureStatus::kNotChecked : check->status));
    f.info.signer = check->signer;
  }
  return Status();
}

Status Signatures::enforce_policy(const DocumentMeta& meta,
                                  const std::vector<StagedFile>& files) const {
  const auto& kinds = options_.config.require_signature_kinds;
  if (std::find(kinds.begin(), kinds.end(), meta.kind) == kinds.end()) return Status();
  std::string status = files.empty() ? "" : files[0].info.signature_status;
  if (status == crypto::to_string(crypto::SignatureStatus::kValid)) return Status();
  return invalid_argument("a document of kind '" + meta.kind +
                          "' needs a valid signature on its main file (file 0); it has " +
                          (status.empty() ? std::string("none") : "one that is " + status));
}

}  // namespace sened::exchange
