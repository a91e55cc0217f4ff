// End-to-end encryption of document files: CMS AuthEnvelopedData (RFC 5083)
// with AES-256-GCM content encryption, and for each recipient certificate a
// key agreement recipient info (ECDH, X9.63 KDF with SHA-256, AES-256 key
// wrap; RFC 5753). An RSA certificate gets a key transport recipient info.
//
// An encrypted file is a sequence of chunks. Each chunk is one complete DER
// ContentInfo holding AuthEnvelopedData over at most kEnvelopeChunkSize bytes
// of the plaintext, with its own content key; the chunks are simply
// concatenated (DER is self-delimiting). A file of at most one chunk is
// exactly one CMS object, which `openssl cms -decrypt -inform DER` reads
// directly. An empty file is one chunk with empty content. OpenSSL 3.0
// decrypts a CMS object whole in memory: chunking keeps the memory used for
// any file size bounded by a few chunks. docs/encryption.md has the format.
//
// What GCM guarantees is per chunk: a chunk that was altered fails. Chunks
// can be dropped, reordered or replaced by anyone holding the recipients'
// public certificates (the hub among them), so authenticity of the whole
// file comes from the sender's detached signature, checked after decrypting.
//
// Thread-safe: no shared state. Errors: kInvalidArgument for input that is
// not a well-formed encrypted file, a chunk that fails authentication, or a
// key and certificate that do not belong together; kPermissionDenied when
// the file was not encrypted to the given certificate; kUnavailable when a
// file cannot be read or written; kInternal when OpenSSL fails on good input.
#pragma once

#include <cstddef>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "core/status.h"

namespace sened::crypto {

// Plaintext bytes per chunk. Writers use this; readers accept any chunk up to
// kMaxEnvelopeChunkDer bytes of DER.
inline constexpr size_t kEnvelopeChunkSize = 4 * 1024 * 1024;
// The largest chunk a reader accepts: a full chunk plus room for many
// recipient infos. Larger declared lengths are refused before reading.
inline constexpr size_t kMaxEnvelopeChunkDer = kEnvelopeChunkSize + 1024 * 1024;

// The media type an encrypted file travels under (RFC 8551), so a recipient
// knows to decrypt it even where the metadata carries no `encrypted` flag.
inline constexpr const char* kEncryptedMediaType =
    "application/pkcs7-mime; smime-type=authEnveloped-data";

// True if a file with this media type is an encrypted file of this format.
bool is_encrypted_media_type(std::string_view media_type);

// True if `bytes` begin with a chunk of this format: a whole DER ContentInfo
// of type AuthEnvelopedData. Says nothing of what follows the first chunk;
// a reader tells an encrypted detached signature from a plain one this way.
bool starts_with_envelope_chunk(std::string_view bytes);

// Encrypts everything `in` yields to every certificate in `cert_pems` (at
// least one; each PEM may hold several certificates), writing chunks to
// `out`. `chunk_size` (1 to kEnvelopeChunkSize) exists for tests.
Status encrypt_stream(std::istream& in, std::ostream& out,
                      const std::vector<std::string>& cert_pems,
                      size_t chunk_size = kEnvelopeChunkSize);

// Decrypts the chunks `in` yields with the recipient's key and certificate
// (PEM), writing the plaintext to `out`. On error, `out` may hold the
// plaintext of the chunks before the bad one: callers discard it.
Status decrypt_stream(std::istream& in, std::ostream& out, const std::string& cert_pem,
                      const std::string& key_pem);

// File forms. The output is written to a temporary name beside `out_path`
// and renamed into place only on success, so a failure leaves nothing.
Status encrypt_file(const std::string& in_path, const std::string& out_path,
                    const std::vector<std::string>& cert_pems);
Status decrypt_file(const std::string& in_path, const std::string& out_path,
                    const std::string& cert_pem, const std::string& key_pem);

// In-memory forms, for small data and tests.
Result<std::string> encrypt_bytes(const std::string& plaintext,
                                  const std::vector<std::string>& cert_pems,
                                  size_t chunk_size = kEnvelopeChunkSize);
Result<std::string> decrypt_bytes(const std::string& ciphertext, const std::string& cert_pem,
                                  const std::string& key_pem);

}  // namespace sened::crypto
