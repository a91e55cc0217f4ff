// Evidence bundles as ASiC-E containers (ETSI EN 319 162-1, CAdES flavour).
//
// A container is a ZIP (crypto/zip.h) whose first entry is `mimetype`
// (stored, no extra field, "application/vnd.etsi.asic-e+zip"), followed by
// the data objects (the document's files as the hub holds them, its
// metadata and history, and whatever receipts, proofs and checkpoint the hub
// offers), META-INF/ASiCManifest.xml listing every data object with its
// SHA-256 digest, and META-INF/signature.p7s, the hub's detached CMS
// signature (CAdES-BES: signing-certificate-v2) over the manifest's bytes.
// docs/export.md describes the layout.
//
// The hub makes the manifest and signs it (it never signs a manifest it did
// not write); the client fetches the data objects, checks them against the
// manifest and writes the ZIP; anyone verifies offline.
//
// Thread-safe: no shared state. Errors: kInvalidArgument for a malformed
// manifest, signature or container; kPermissionDenied for a signature that
// does not verify or chain; kUnavailable for files that cannot be read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sened::exchange::asic {

inline constexpr const char* kMimeType = "application/vnd.etsi.asic-e+zip";
inline constexpr const char* kMimetypeEntry = "mimetype";
inline constexpr const char* kManifestEntry = "META-INF/ASiCManifest.xml";
inline constexpr const char* kSignatureEntry = "META-INF/signature.p7s";
inline constexpr const char* kSignatureMimeType = "application/pkcs7-signature";
inline constexpr const char* kAsicNamespace = "http://uri.etsi.org/02918/v1.2.1#";
inline constexpr const char* kDsNamespace = "http://www.w3.org/2000/09/xmldsig#";
inline constexpr const char* kSha256Algorithm = "http://www.w3.org/2001/04/xmlenc#sha256";
// The largest manifest a reader accepts.
inline constexpr size_t kMaxManifestBytes = 4 * 1024 * 1024;

// One data object of a container.
struct DataObject {
  std::string name;       // ZIP entry name, e.g. "files/Məktub.pdf"
  std::string mime_type;  // e.g. "application/octet-stream"
  std::string sha256;     // lowercase hex
};

// The manifest's XML for `objects` (names as crypto::is_safe_entry_name
// allows, outside META-INF/; digests as hex).
std::string make_manifest(const std::vector<DataObject>& objects);

// The data objects a manifest lists. kInvalidArgument when the XML is not
// the manifest form: other root or namespace, DOCTYPE or entity
// declarations (never expanded), a SigReference other than
// META-INF/signature.p7s, a digest method other than SHA-256, a digest that
// is not 32 bytes of base64, or a name listed twice.
Result<std::vector<DataObject>> parse_manifest(std::string_view xml);

// Who signed the manifest (its subject), and whether the signer was checked
// to chain to a trust anchor, and to which CA (its subject).
struct SignerInfo {
  std::string subject;
  bool anchored = false;
  std::string anchor;  // set when anchored
};

// One finding of verify_container: what was checked and, if it failed, why.
struct Finding {
  std::string item;  // e.g. "files/x.pdf", "signature", "mimetype"
  bool ok = true;
  std::string detail;
};

struct Report {
  std::vector<Finding> findings;
  std::vector<std::string> warnings;  // checks that could not be made
  SignerInfo signer;
  bool ok() const;
};

struct VerifyOptions {
  // PEM CA certificate(s) the hub's signing certificate must chain to
  // (manifest signature and receipts); empty: signatures are checked with the
  // certificates they carry, not anchored. Text that is not empty but holds
  // no certificate anchors to nothing, so every signature fails; callers
  // reading a --chain file refuse an empty one (crypto::check_anchor_pem)
  // rather than pass "" on.
  std::string anchor_pem;
  // The hub's log key (verifier key "name+id+base64" or Ed25519 public key
  // PEM); empty: the bundle's own journal/key.json is used.
  std::string log_key;
};

// Checks a container offline: the ZIP, `mimetype`, the manifest's
// signature, every data object's digest, that no data object is missing
// from the ZIP, that every entry but `mimetype`, the manifest and its
// signature is listed in the manifest (META-INF/ included), and then the evidence inside
// (exchange/evidence_check.h: receipts, journal proof, checkpoint).
// Failures are findings, not errors; an error means the file could not be
// read as a ZIP at all.
Result<Report> verify_container(const std::string& path, const VerifyOptions& options);

}  // namespace sened::exchange::asic
