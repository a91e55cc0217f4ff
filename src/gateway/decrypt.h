// Opening end-to-end encrypted files on the receiving side (the gateway's
// inbox and `sened fetch`): a file the hub lists as encrypted is decrypted
// with the participant's own key and certificate, and the hub's file entry
// is annotated with what happened, so the EDMS (or the user) sees it.
//
// A file counts as encrypted when its entry has "encrypted": true or its
// media type is crypto::kEncryptedMediaType.
//
// The hub cannot check the sender's signature of an encrypted file (it
// records not_checked); the recipient checks it after decrypting, against
// its own trust material: the hub CA it already trusts plus, optionally, a
// PEM file of further CA certificates and CRLs (external signers' CAs).
//
// Thread-safe: no shared state.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "core/status.h"
#include "crypto/cms.h"
#include "crypto/trust_store.h"

namespace sened::gateway {

// True if the hub's JSON entry of a file marks it encrypted.
bool is_encrypted_entry(const boost::json::object& file);

// Decrypts the downloaded ciphertext at `cipher_path` into `plain_path`
// (written durably, renamed into place only when whole) with the key and
// certificate files `cert_file`/`key_file`, and removes the ciphertext.
// On success `file` gains "decrypted": true, "plaintext_sha256" and
// "plaintext_size". On error nothing is written at `plain_path`, the
// ciphertext stays, and the code is envelope.h's: kPermissionDenied when
// the file was not encrypted to this certificate, kInvalidArgument when it
// is damaged or altered.
Status decrypt_received_file(const std::string& cipher_path, const std::string& plain_path,
                             const std::string& cert_file, const std::string& key_file,
                             boost::json::object& file);

// Opens the detached signature of an encrypted file, downloaded to
// `received_path`, into `sig_path`. The sender encrypts it to the same
// certificates as its file (a plain signature would show the hub the
// plaintext's digest and the signer): it is decrypted with `cert_file` and
// `key_file`, `received_path` is removed, and `file` gains
// "signature_decrypted": true. A plain CMS signature (from a sender that did
// not encrypt it) is moved to `sig_path` as it is.
//
// A signature that cannot be opened (kPermissionDenied or kInvalidArgument
// from envelope.h) is not fatal, since the file itself may be fine: `file`
// gets "signature_status": "invalid", an empty "signer" and
// "signature_error" with the reason, `received_path` stays for the caller
// to keep, nothing is written at `sig_path`, and the call succeeds.
// kUnavailable when a file cannot be read or written.
Status open_received_signature(const std::string& received_path, const std::string& sig_path,
                               const std::string& cert_file, const std::string& key_file,
                               boost::json::object& file);

// The trust material of a recipient: the PEM CA certificate file `ca_file`
// (the hub CA) and, if `trust_file` is not empty, every CA certificate and
// CRL in that PEM file. kUnavailable if a file cannot be read;
// kInvalidArgument if `trust_file` holds neither certificates nor CRLs.
Result<crypto::TrustMaterial> recipient_trust(const std::string& ca_file,
                                              const std::string& trust_file);

// Checks the detached signature at `signature_path` over the decrypted file
// `plain_path` against `trust`, and records the outcome in `file`:
// "signature_status" (cms.h's words; "invalid" also for a signature that
// does not parse) and "signer" (the signer certificate's subject, or empty).
// kUnavailable only when the signature file cannot be read.
Result<crypto::SignatureCheck> verify_decrypted_signature(const std::string& plain_path,
                                                          const std::string& signature_path,
                                                          const crypto::TrustMaterial& trust,
                                                          boost::json::object& file);

}  // namespace sened::gateway
