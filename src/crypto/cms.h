// CMS signed data (RFC 5652) with CAdES signed attributes: the hub's signed
// receipts (content encapsulated) and participants' detached document
// signatures (content in a separate file, possibly gigabytes long).
//
// Checking a signature has two independent outcomes, kept apart on purpose:
// whether the bytes are what the signer signed (the digest and signature
// over the signed attributes, and the CAdES signing-certificate(-v2)
// attribute when present), and whether the signer's certificate chains to
// the given trust material at the given time. The result names the first
// failure in that order: `invalid` before `unknown_signer`, `expired` or
// `revoked`.
//
// Signers are checked against a TrustMaterial (trust_store.h): the PEM text
// of each of its CA files and CRL files is used as given (load_* has already
// validated them). The revocation policy is the trust store's: a CRL in the
// material is applied to every certificate of the chain its issuer issued,
// and a CA with no CRL there is not revocation-checked.
//
// A signature is exactly one DER object: bytes after it (a receipt with
// something appended) are refused as invalid input, never ignored.
//
// All functions are thread-safe (no shared state). Errors: kInvalidArgument
// for input that is not DER CMS signed data (or has bytes after it), or a
// key/certificate PEM that does not parse; kNotFound for a content file that cannot be opened;
// kInternal when OpenSSL fails on well-formed input. A signature that parses
// but does not verify is not an error: it is a SignatureCheck with a status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/pki.h"
#include "crypto/trust_store.h"

namespace sened::crypto {

// What the hub records about a document signature (wire names in to_string).
enum class SignatureStatus {
  kValid,          // "valid": bytes intact and the signer chains to the trust store
  kInvalid,        // "invalid": the content or signed attributes were changed
  kUnknownSigner,  // "unknown_signer": no chain to a trusted CA (or no signer cert)
  kExpired,        // "expired": signer or CA certificate outside its validity
  kRevoked,        // "revoked": a trusted CRL lists a certificate of the chain
  kNotChecked,     // "not_checked": the file is encrypted, the hub cannot see it
};
std::string_view to_string(SignatureStatus s);
std::optional<SignatureStatus> parse_signature_status(std::string_view s);

// Signatures are small; a larger one is refused as invalid input.
inline constexpr size_t kMaxSignatureBytes = 1 << 20;

struct SignatureCheck {
  SignatureStatus status = SignatureStatus::kInvalid;
  // The signer certificate's subject (CertInfo::subject form), empty when the
  // signature carries no certificate for its signer.
  std::string signer;
  std::optional<CertInfo> signer_cert;
  std::string signing_time;  // RFC 3339 UTC from the signingTime attribute, or empty
  // When valid: the subject of the trusted CA the signer chained to (the
  // highest certificate of the trust material on the chain); else empty.
  std::string anchor;
  std::string detail;  // why it is not valid (OpenSSL's reason), empty when valid
};

// An encapsulated signed data, opened.
struct OpenedSignedData {
  SignatureCheck check;
  std::string content;  // the encapsulated bytes (set even when not valid)
};

// Checks PEM text given as trust anchors (a `--chain` file) before it is
// used: kInvalidArgument "holds no certificate" when it has none (an empty
// file, /dev/null, an error page saved by a failed download), and "damaged
// certificate" when a CERTIFICATE block does not parse. An empty anchor
// must never read as "no anchor asked for".
Status check_anchor_pem(std::string_view pem);

// Signs `content` (encapsulated, not detached) with `key_pem` for `cert_pem`:
// DER CMS SignedData, SHA-256, signed attributes contentType, messageDigest,
// signingTime and CAdES signing-certificate-v2; `cert_pem` and every
// certificate in `extra_certs_pem` are included.
Result<std::string> sign_attached(std::string_view content, const std::string& key_pem,
                                  const std::string& cert_pem,
                                  const std::string& extra_certs_pem = "");

// As sign_attached, but detached: the signature over the file at
// `content_path` (streamed), without the content.
Result<std::string> sign_detached_file(const std::string& content_path, const std::string& key_pem,
                                       const std::string& cert_pem);

// As sign_detached_file, over bytes in memory, with `extra_certs_pem` (more
// certificates, may be empty) included beside the signer's.
Result<std::string> sign_detached(std::string_view content, const std::string& key_pem,
                                  const std::string& cert_pem,
                                  const std::string& extra_certs_pem = "");

// Checks a detached signature (DER) over bytes in memory, as
// verify_detached_file does over a file.
Result<SignatureCheck> verify_detached(std::string_view signature_der, std::string_view content,
                                       const TrustMaterial& trust, int64_t at = 0);

// Checks a detached signature (DER) over the file at `content_path`, read
// as a stream in bounded memory, against `trust` at unix time `at` (0: now).
Result<SignatureCheck> verify_detached_file(std::string_view signature_der,
                                            const std::string& content_path,
                                            const TrustMaterial& trust, int64_t at = 0);

// Checks a signed data with encapsulated content (DER) against `trust` at
// unix time `at` (0: now) and returns the content with the outcome.
Result<OpenedSignedData> open_attached(std::string_view der, const TrustMaterial& trust,
                                       int64_t at = 0);

}  // namespace sened::crypto
