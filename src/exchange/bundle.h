// GET /v1/documents/{id}/evidence: what a party of a document needs to
// build its ASiC-E evidence bundle (exchange/asic.h). The hub lists the data
// objects (the files and their senders' signatures by download path, small
// ones inline: document.json, history.json, each signed receipt, the
// journal proof, its checkpoint and the log key; names in
// exchange/evidence_check.h), writes the
// manifest over their digests and signs it with its receipt key; the client
// downloads, checks and zips. The hub signs only manifests it writes itself.
//
// Answer (200, JSON):
//   {"document": ID,
//    "objects": [{"name", "mime_type", "sha256", "size",
//                 "source": "/v1/documents/ID/files/N" | "content": BASE64}],
//    "manifest": BASE64 (META-INF/ASiCManifest.xml),
//    "signature": BASE64 (META-INF/signature.p7s, DER)}
// Errors: 404 for a document the caller is not a party to; 503 when the hub
// has no receipt key or certificate. Before the first checkpoint the bundle
// holds no journal objects.
//
// Thread-safe: reads the store and the key files on every call.
#pragma once

#include <string>

#include "http/message.h"
#include "store/store.h"

namespace sened::exchange {
class JournalApi;
class Receipts;
}  // namespace sened::exchange

namespace sened::exchange {

// Where the hub's receipt key and certificate live, and the CA certificate
// that goes into each signature beside the signer's.
struct BundleSigner {
  std::string key_file;
  std::string cert_file;
  std::string ca_file;
};

// Where the receipts and the journal proof come from; either may be null
// (the bundle then goes without them).
struct BundleSources {
  Receipts* receipts = nullptr;
  JournalApi* journal = nullptr;
};

// Answers the evidence route for participant `who` and document `id`.
http::Response bundle_response(Store& store, const BundleSigner& signer,
                               const BundleSources& sources, const std::string& who,
                               const std::string& id);

}  // namespace sened::exchange
