// Opening end-to-end encrypted files on the receiving side (the gateway's
// inbox and `sened fetch`): a file the hub lists as encrypted is decrypted
// with the participant's own key and certificate, and the hub's file entry
// is annotated with what happened, so the EDMS (or the user) sees it.
//
// A file counts as encrypted when its entry has "encrypted": true or its
// media type is crypto::kEncryptedMediaType.
//
// Thread-safe: no shared state.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "core/status.h"

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

}  // namespace sened::gateway
