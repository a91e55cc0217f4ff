#include "exchange/signatures.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "crypto/digest.h"

namespace sened::exchange {

Signatures::Signatures(Options options) : options_(std::move(options)) {}

Status Signatures::check(std::vector<StagedFile>& files) const {
  bool any = std::any_of(files.begin(), files.end(),
                         [](const StagedFile& f) { return f.signature.has_value(); });
  if (!any) return Status();
  crypto::TrustMaterial trust;
  if (options_.load_trust) {
    auto loaded = crypto::load_trust_material(options_.config);
    // The sender is not to blame for the hub's own files: 503, not 400.
    if (!loaded.ok()) return unavailable("trust store: " + loaded.status().message());
    trust = std::move(*loaded);
  }
  for (auto& f : files) {
    if (!f.signature) continue;
    std::string where =
        "signature of file " + std::to_string(f.info.index) + " (" + f.info.name + ")";
    f.info.signature_sha256 = crypto::sha256_hex(*f.signature);
    f.info.signature_size = f.signature->size();
    // An encrypted file's signature is encrypted too (its messageDigest is
    // the plaintext's): the hub passes the bytes on unread, with no verdict
    // and no signer, whatever they hold.
    if (f.info.encrypted) {
      f.info.signature_status =
          std::string(crypto::to_string(crypto::SignatureStatus::kNotChecked));
      f.info.signer.clear();
      continue;
    }
    auto check = f.content ? crypto::verify_detached(*f.signature, *f.content, trust)
                           : crypto::verify_detached_file(*f.signature, f.temp_path, trust);
    if (!check.ok() && check.status().code() != Code::kInvalidArgument) return check.status();
    if (!check.ok()) return check.status().with_context(where);
    f.info.signature_status = std::string(crypto::to_string(check->status));
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
  return policy_refused("a document of kind '" + meta.kind +
                        "' needs a valid signature on its main file (file 0); it has " +
                        (status.empty() ? std::string("none") : "one that is " + status));
}

}  // namespace sened::exchange
