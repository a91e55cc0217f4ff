// The hub's trust store: which certificate authorities vouch for
// participants' TLS certificates and document signatures, and which
// certificates they have revoked.
//
// It is made of the hub's own CA (HubConfig::ca_cert) with its CRL
// (HubConfig::crl), plus every CA certificate (*.pem) and CRL (*.crl, PEM)
// in the trust folder (HubConfig::trust_dir), such as the national CA's.
// Other files in the folder are ignored. `sened admin trust add|list|remove`
// manages the folder; the hub notices a change by `stamp` and reloads.
//
// Revocation policy: a certificate is checked against the CRL of the CA that
// issued it whenever one is in the store (then an expired CRL, or a revoked
// serial, fails); a CA that has no CRL at all (an external CA whose CRL the
// operator has not added yet) is trusted without a revocation check. The hub
// CA always has one, since its CRL file is required.
//
// All functions are thread-safe (no shared state). Errors: kInvalidArgument
// for a damaged or refused file or PEM (the message names the file),
// kNotFound when the hub CA or its CRL file is missing, kPermissionDenied when
// a certificate does not verify, kInternal when OpenSSL fails on good input.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

struct x509_store_st;  // OpenSSL's X509_STORE

namespace sened::crypto {

// CA certificates and CRLs to check certificates against. Also built by hand
// (ca_pems and crl_pems alone), e.g. from a receipt's chain; the crypto/cms.h
// functions take it too.
struct TrustMaterial {
  // PEM text of each trusted file: CA certificates (one or more per string)
  // and CRLs (one per string). From load_*: the hub CA first, then
  // trust_dir/*.pem in name order; the hub CRL first, then trust_dir/*.crl.
  // Every certificate is a CA (basicConstraints CA:TRUE); every CRL's issuer
  // is one of the CAs and its signature verifies.
  std::vector<std::string> ca_pems;
  std::vector<std::string> crl_pems;

  // Set by load_*, empty otherwise: the file each string above came from
  // (same order), and which of them are the hub CA's own certificate and CRL.
  std::vector<std::string> ca_paths;
  std::vector<std::string> crl_paths;
  std::string hub_ca_path;
  std::string hub_crl_path;
  // Changes whenever one of the files above (or the set of names in the trust
  // folder) changes; see trust_stamp. Taken before the files are read, so a
  // change during loading shows as a changed stamp later.
  std::string stamp;

  // All CA certificates, concatenated PEM.
  std::string ca_bundle() const;
  // All CRLs, concatenated PEM.
  std::string crl_bundle() const;
};

// The hub CA, its CRL and the trust folder named by `config`.
Result<TrustMaterial> load_trust_material(const HubConfig& config);

// The same from explicit paths (the TLS server has no HubConfig). An empty
// `crl_file` means no hub CRL; an empty or missing `trust_dir` means no extra
// files. `ca_file` is required.
Result<TrustMaterial> load_trust_files(const std::string& ca_file, const std::string& crl_file,
                                       const std::string& trust_dir);

// A cheap fingerprint of the files load_trust_files would read: names, inode
// numbers, sizes and modification times, no content. Never fails (a missing
// file is part of the stamp).
std::string trust_stamp(const std::string& ca_file, const std::string& crl_file,
                        const std::string& trust_dir);

struct X509StoreFree {
  void operator()(x509_store_st* store) const;
};
using X509StorePtr = std::unique_ptr<x509_store_st, X509StoreFree>;

// An OpenSSL certificate store holding every CA and CRL of `material`, with
// CRL checking and the revocation policy above set on it (flags and verify
// callback), ready for TLS (SSL_CTX_set1_cert_store) or CMS_verify.
Result<X509StorePtr> make_x509_store(const TrustMaterial& material);

// What a certificate is checked for besides its chain.
enum class CertPurpose {
  kAny,        // any use (document signatures)
  kTlsClient,  // a participant's TLS client certificate: its extended key
               // usage, if any, allows clientAuth, as the TLS server requires
};

// Checks that the first certificate of `cert_pem` chains to a CA of
// `material` now and is not revoked (policy above). `extra_chain_pem` may hold
// untrusted intermediate certificates (may be empty). kPermissionDenied with
// OpenSSL's reason (e.g. "certificate revoked") if not.
Status verify_with_trust(const TrustMaterial& material, const std::string& cert_pem,
                         const std::string& extra_chain_pem = "",
                         CertPurpose purpose = CertPurpose::kAny);

// Whether the first certificate of `cert_pem` is a CA certificate
// (basicConstraints CA:TRUE). kInvalidArgument if it does not parse.
Result<bool> is_ca_certificate(const std::string& cert_pem);

// Paths of the CRLs in `material` signed by a CA certificate of the file
// `ca_path` (what must go when that CA is removed from the trust folder).
std::vector<std::string> crls_of_ca_file(const TrustMaterial& material, const std::string& ca_path);

// Checks that the PEM private key `key_pem` belongs to the first certificate
// of `cert_pem` (e.g. before a gateway switches to newly replaced files).
// kInvalidArgument if either does not parse or they do not match.
Status check_key_matches_cert(const std::string& cert_pem, const std::string& key_pem);

// What `sened admin trust add` would do with a PEM file.
enum class TrustKind { kCa, kCrl };
struct TrustAddition {
  TrustKind kind;
  // The file name to write in the trust folder: `preferred_stem` plus ".pem"
  // or ".crl"; for a CRL whose CA already has one in the folder, that file's
  // name (the newer CRL replaces it).
  std::string file_name;
  bool replaces = false;    // file_name exists and is replaced
  std::string subject;      // CA subject, or the CRL's issuer
  std::string fingerprint;  // CA certificate SHA-256 (hex); empty for a CRL
  // What to write to file_name: the parsed certificate or CRL re-encoded as
  // PEM, never the given text (words around the block, PEM headers and
  // odd line breaks stay out of the trust folder).
  std::string pem;
};

// Classifies and checks `pem` (exactly one CA certificate or one CRL) against
// the current store. Refused (kInvalidArgument): anything else, a certificate
// that is not a CA or not valid now, a CRL whose issuer is not a trusted CA or
// whose signature fails, a CRL of the hub CA (managed by `admin cert
// revoke`), a bad `preferred_stem` (letters, digits, '.', '-', '_' only).
// kConflict: a CA already trusted, a name taken by another file, a CRL older
// than the one it would replace.
Result<TrustAddition> check_trust_addition(const TrustMaterial& current,
                                           const std::string& trust_dir, const std::string& pem,
                                           const std::string& preferred_stem);

// One line of `sened admin trust list`.
struct TrustEntry {
  std::string name;  // file name in the trust folder, or "(hub CA)" / "(hub CRL)"
  TrustKind kind;
  std::string subject;  // each CA's subject ("; "-joined for a bundle), or the CRL issuer
  std::string detail;   // CA: "valid until <RFC 3339>"; CRL: "N revoked, next update <RFC 3339>"
};

// Describes every file of `material`.
Result<std::vector<TrustEntry>> describe_trust(const TrustMaterial& material);

}  // namespace sened::crypto
