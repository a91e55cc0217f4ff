// The hub's small certificate authority: keys, certificates, certificate
// requests and revocation lists, all exchanged as PEM text.
//
// `sened admin init` makes a development CA and the hub's TLS server
// certificate; `sened admin cert issue` signs a participant's certificate
// request (its key never leaves its owner) or, for demos and tests only, makes
// a key and a client certificate together; `sened admin cert revoke` publishes
// a CRL. Every key the hub makes is ECDSA P-256 and every signature SHA-256.
//
// All functions are thread-safe (they share no state) and take and return
// values. Errors: kInvalidArgument for input that does not parse or is refused
// (the message says which, with OpenSSL's reason when it has one), kInternal
// when OpenSSL fails on well-formed input. verify_cert alone also answers
// kPermissionDenied. PEM inputs longer than 1 MiB are refused as invalid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace sened::crypto {

// A private key (PKCS#8 PEM, unencrypted) and its certificate (PEM).
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

// What an operator needs to know about a certificate.
struct CertInfo {
  // Uppercase hex exactly as `openssl x509 -noout -serial` prints it after
  // "serial=": two digits per byte, leading zero bytes dropped (so a leading
  // "0" digit remains when the top byte is below 0x10).
  std::string serial;
  std::string fingerprint;  // lowercase hex SHA-256 of the DER encoding, no colons
  std::string subject;      // one-line RFC 2253 form with UTF-8 kept, e.g. "CN=x,O=y"
  std::string issuer;       // same form as `subject`
  std::string not_before;   // RFC 3339 UTC, e.g. "2026-12-04T17:30:00Z"
  std::string not_after;
  bool is_ca = false;  // basicConstraints CA:TRUE
};

// One line of a CRL.
struct RevokedSerial {
  std::string serial;  // hex, either case, as CertInfo::serial gives it
  int64_t revoked_at;  // unix seconds
};

// Validity is given in whole days, 1 to kMaxValidityDays.
inline constexpr int kMaxValidityDays = 36500;

// A new ECDSA P-256 private key, PKCS#8 PEM.
Result<std::string> make_ec_key_pem();

// A self-signed CA certificate with a new P-256 key: subject CN=common_name
// (and O=organization unless empty), basicConstraints critical CA:TRUE,
// keyUsage critical keyCertSign+cRLSign, subjectKeyIdentifier.
Result<KeyAndCert> make_ca(const std::string& common_name, const std::string& organization,
                           int days);

// A TLS server certificate with a new P-256 key, signed by `ca`: subject
// CN=common_name, subjectAltName with each DNS name and IP address (IPv4 or
// IPv6 text; at least one name in all), EKU serverAuth, keyUsage
// digitalSignature, CA:FALSE, authorityKeyIdentifier. kInvalidArgument for a
// malformed name or address, or a `ca` whose key does not match its
// certificate or that is not a CA.
Result<KeyAndCert> issue_server_cert(const KeyAndCert& ca, const std::string& common_name,
                                     const std::vector<std::string>& dns_names,
                                     const std::vector<std::string>& ip_addresses, int days);

// A client certificate with a new P-256 key, for demos and tests: subject
// CN=common_name, O=organization (UTF-8, kept as given), EKU clientAuth,
// CA:FALSE. Real participants send a request to sign_csr instead.
Result<KeyAndCert> issue_client_cert(const KeyAndCert& ca, const std::string& common_name,
                                     const std::string& organization, int days);

// Signs a participant's PEM certificate request and returns the client
// certificate's PEM. Only the request's public key is used: it must be EC
// P-256 or P-384, or RSA of at least 2048 bits. The subject is set to
// CN=common_name, O=organization; the request's subject and extensions are
// ignored. kInvalidArgument if the request does not parse, its self-signature
// does not verify, or its key is refused.
Result<std::string> sign_csr(const KeyAndCert& ca, const std::string& csr_pem,
                             const std::string& common_name, const std::string& organization,
                             int days);

// A PEM certificate request for `key_pem` with subject CN=common_name, signed
// with SHA-256.
Result<std::string> make_csr(const std::string& key_pem, const std::string& common_name);

// A v2 CRL signed by `ca` listing `revoked`: lastUpdate now, nextUpdate now
// plus `next_update_days`, a CRL number (the current unix time, so later CRLs
// carry larger numbers) and authorityKeyIdentifier. An empty list gives a
// valid empty CRL. kInvalidArgument for a serial that is not hex.
Result<std::string> make_crl(const KeyAndCert& ca, const std::vector<RevokedSerial>& revoked,
                             int next_update_days);

// Reads the first certificate of `cert_pem`. kInvalidArgument if there is none.
Result<CertInfo> inspect_cert(const std::string& cert_pem);

// Splits concatenated PEM certificates (a chain or a bundle) into one PEM
// string each, in order; other PEM blocks are skipped. kInvalidArgument if
// there is no certificate or one is damaged.
Result<std::vector<std::string>> split_pem_certs(const std::string& pem);

// Checks that the first certificate of `cert_pem` chains to one of the
// certificates in `ca_pem` at the current time and, unless `crl_pem` is
// empty, that it is not revoked by that CRL (which must then be the issuing
// CA's). kPermissionDenied with OpenSSL's verify error text (e.g.
// "certificate revoked") if not; kInvalidArgument if an input does not parse.
Status verify_cert(const std::string& cert_pem, const std::string& ca_pem,
                   const std::string& crl_pem);

}  // namespace sened::crypto
