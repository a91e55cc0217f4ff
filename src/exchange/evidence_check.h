// The evidence inside an ASiC-E bundle (exchange/asic.h, docs/export.md):
// the names of its data objects, shared by the hub that lists them
// (exchange/bundle.h) and the offline check of `sened export verify`.
//
// Beside the document's files, a bundle holds
//   files/N/NAME.p7s             the sender's detached signature of file N
//   receipts/EVENT-PARTICIPANT.p7s  each signed receipt (exchange/receipts.h)
//   journal/proof.json           the document's journal proof, as
//                                `sened journal proof` prints it
//   journal/checkpoint           the checkpoint note the proof is against
//   journal/key.json             the hub's log key, as GET /v1/journal/key
//
// Thread-safe: no shared state.
#pragma once

#include <string>
#include <vector>

#include "crypto/cms.h"
#include "crypto/zip.h"
#include "exchange/asic.h"

namespace sened::exchange {

inline constexpr const char* kEvidenceDocument = "document.json";
inline constexpr const char* kEvidenceReceipts = "receipts/";
inline constexpr const char* kEvidenceProof = "journal/proof.json";
inline constexpr const char* kEvidenceCheckpoint = "journal/checkpoint";
inline constexpr const char* kEvidenceLogKey = "journal/key.json";
inline constexpr const char* kSignatureSuffix = ".p7s";

// The largest journal object (proof, checkpoint, key) a reader accepts.
inline constexpr size_t kMaxJournalObjectBytes = 64 * 1024 * 1024;

// Whether a signature the hub made (manifest, receipt) holds: with an
// anchor (`anchored`), its signer must chain to it (status valid); without,
// the bytes must verify with the certificate the signature carries
// (unknown_signer with a signer). kPermissionDenied naming the status if not.
Status hub_signature_holds(const crypto::SignatureCheck& check, bool anchored);

// Checks the evidence data objects of `zip` that the manifest lists in
// `objects`, adding a finding per check to `report` (named by the entry):
// every receipt's CMS signature (against options.anchor_pem when given) and
// that its JSON names this document and matches its entry name; the journal
// proof against its checkpoint with the log key (options.log_key, else the
// bundle's own journal/key.json, which must then equal the pinned key when
// both are there); that the proof's entries are this document's and the
// checkpoint object is the proof's checkpoint, signed by the log key; and
// that each receipt's journal entry hash is the proof's. What cannot be
// checked (no proof in the bundle, a receipt newer than the checkpoint) is a
// warning.
void check_evidence(crypto::ZipReader& zip, const std::vector<asic::DataObject>& objects,
                    const asic::VerifyOptions& options, asic::Report& report);

}  // namespace sened::exchange
