// Document signatures at the hub: checking each file's detached CMS
// signature against the trust store, and the policy that may require a
// valid one (docs/signatures.md).
//
// A file's signature arrives as a multipart part named `signature` right
// after its `file` part; a file sent by resumable upload has no part, so its
// signature part is named after it instead ("<name>.p7s") and may come
// anywhere after the metadata. The hub records the outcome (valid, invalid,
// unknown_signer, expired, revoked, or not_checked for an encrypted file)
// and the signer's subject (none for an encrypted file) with the file, covers them in the journal
// entry of the submission, and passes the signature on to the recipients.
//
// Thread-safe: a Signatures object holds only its configuration; the trust
// store (crypto/trust_store.h: the hub CA and CRL, trust_dir/*.pem and *.crl)
// is read from disk at each document that carries a signature, so a new CRL
// counts at once.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "crypto/cms.h"
#include "store/store.h"

namespace sened::exchange {

// The multipart part of POST /v1/documents that carries a detached signature.
inline constexpr const char* kSignaturePart = "signature";
// Appended to the name of a file sent by upload, the file name of the
// signature part that signs it (docs/signatures.md).
inline constexpr const char* kSignaturePartSuffix = ".p7s";

class Signatures {
 public:
  // Where trust comes from and which kinds need a valid signature. An empty
  // data folder (the default) trusts nothing: every signer is unknown.
  struct Options {
    HubConfig config;
    bool load_trust = false;  // false: trust nothing (tests of the API alone)
  };
  Signatures() = default;
  explicit Signatures(Options options);

  // Checks the signature each staged file carries (f.signature) and fills
  // f.info.signature_status, signer, signature_sha256 and signature_size.
  // An encrypted file's signature is not parsed at all (the sender encrypts
  // it with the file): not_checked, no signer. kInvalidArgument, naming the
  // file, when another file's signature is not a detached CMS signed data.
  Status check(std::vector<StagedFile>& files) const;

  // kPolicyRefused (HTTP 422, code policy_refused) when the document's kind is one of
  // require_signature_kinds and its main file lacks a valid signature.
  Status enforce_policy(const DocumentMeta& meta, const std::vector<StagedFile>& files) const;

 private:
  Options options_;
};

}  // namespace sened::exchange
