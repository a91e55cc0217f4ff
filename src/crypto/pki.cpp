#include "crypto/pki.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "crypto/digest.h"

namespace sened::crypto {
namespace {

// Owning pointers that release OpenSSL objects with their own free functions.
template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Freer<ASN1_INTEGER_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, Freer<ASN1_STRING_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Freer<ASN1_TIME_free>>;
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Freer<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Freer<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Freer<GENERAL_NAMES_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Freer<X509_NAME_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, Freer<X509_REVOKED_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Freer<X509_STORE_CTX_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Freer<X509_STORE_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Freer<X509_CRL_free>>;
using X509Ptr = std::unique_ptr<X509, Freer<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Freer<X509_REQ_free>>;

void free_openssl_string(char* text) { OPENSSL_free(text); }
using OpensslStringPtr = std::unique_ptr<char, Freer<free_openssl_string>>;

// Certificates, requests and CRLs are a few kilobytes, and even a system
// bundle of trusted CAs stays under a few hundred: refuse anything longer.
constexpr size_t kMaxPemBytes = 1 << 20;
// notBefore is set this far in the past so that a peer whose clock runs a
// little behind ours still accepts a certificate made a moment ago.
constexpr long kClockSkewSeconds = 5 * 60;
constexpr int kMinRsaBits = 2048;
// RFC 5280 caps serials at 20 octets.
constexpr size_t kMaxSerialHexDigits = 40;
// The one-line subject form: RFC 2253, but UTF-8 kept rather than escaped.
constexpr unsigned long kNameFlags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;

// Builds a status from `what` and the oldest queued OpenSSL error, then
// empties the queue so that the next call on this thread starts clean.
Status openssl_failure(Code code, std::string_view what) {
  std::string message(what);
  if (unsigned long err = ERR_get_error(); err != 0) {
    std::array<char, 256> text;
    ERR_error_string_n(err, text.data(), text.size());
    message += ": ";
    message += text.data();
  }
  ERR_clear_error();
  return Status(code, std::move(message));
}

Status openssl_invalid(std::string_view what) {
  return openssl_failure(Code::kInvalidArgument, what);
}

Status openssl_internal(std::string_view what) { return openssl_failure(Code::kInternal, what); }

// Keys reach this code unencrypted or not at all: never ask for a passphrase
// (OpenSSL's default callback would prompt on the terminal).
int no_passphrase(char*, int, int, void*) { return -1; }

Status check_days(int days) {
  if (days < 1 || days > kMaxValidityDays) {
    return invalid_argument("validity must be 1 to " + std::to_string(kMaxValidityDays) +
                            " days, not " + std::to_string(days));
  }
  return {};
}

// --- PEM in and out -------------------------------------------------------

Result<BioPtr> input_bio(const std::string& pem) {
  if (pem.size() > kMaxPemBytes) {
    return invalid_argument("PEM text longer than " + std::to_string(kMaxPemBytes) + " bytes");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return openssl_internal("BIO_new_mem_buf");
  }
  return bio;
}

// Runs `write` on a memory BIO and returns what it wrote.
template <typename Write>
Result<std::string> write_pem(Write write, std::string_view what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) {
    return openssl_internal(what);
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

Result<std::string> key_to_pem(EVP_PKEY* key) {
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY").
  return write_pem(
      [key](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
      },
      "writing a private key");
}

Result<std::string> cert_to_pem(X509* cert) {
  return write_pem([cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); },
                   "writing a certificate");
}

Result<KeyPtr> parse_key(const std::string& pem) {
  auto bio = input_bio(pem);
  if (!bio.ok()) {
    return bio.status();
  }
  KeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    return openssl_invalid("not an unencrypted PEM private key");
  }
  return key;
}

Result<X509Ptr> parse_cert(const std::string& pem) {
  auto bio = input_bio(pem);
  if (!bio.ok()) {
    return bio.status();
  }
  X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, no_passphrase, nullptr));
  if (!cert) {
    return openssl_invalid("not a PEM certificate");
  }
  return cert;
}

// True if the last queued error says the text simply has no more PEM blocks.
bool pem_text_ended() {
  unsigned long err = ERR_peek_last_error();
  return ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
}

Result<std::vector<X509Ptr>> parse_certs(const std::string& pem) {
  auto bio = input_bio(pem);
  if (!bio.ok()) {
    return bio.status();
  }
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio->get(), nullptr, no_passphrase, nullptr)) {
    certs.emplace_back(cert);
  }

  // Running out of blocks is how every read ends; any other error is damage.
  if (!pem_text_ended()) {
    return openssl_invalid("damaged PEM certificate");
  }
  ERR_clear_error();
  if (certs.empty()) {
    return invalid_argument("no PEM certificate found");
  }
  return certs;
}

Result<X509CrlPtr> parse_crl(const std::string& pem) {
  auto bio = input_bio(pem);
  if (!bio.ok()) {
    return bio.status();
  }
  X509CrlPtr crl(PEM_read_bio_X509_CRL(bio->get(), nullptr, no_passphrase, nullptr));
  if (!crl) {
    return openssl_invalid("not a PEM CRL");
  }
  return crl;
}

Result<X509ReqPtr> parse_csr(const std::string& pem) {
  auto bio = input_bio(pem);
  if (!bio.ok()) {
    return bio.status();
  }
  X509ReqPtr csr(PEM_read_bio_X509_REQ(bio->get(), nullptr, no_passphrase, nullptr));
  if (!csr) {
    return openssl_invalid("not a PEM certificate request");
  }
  return csr;
}

// --- Keys -------------------------------------------------------------------

Result<KeyPtr> new_p256_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    return openssl_internal("generating a P-256 key");
  }
  return key;
}

// The NID of an EC key's curve, or NID_undef.
int curve_nid(EVP_PKEY* key) {
  std::array<char, 80> group;
  size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &length) != 1) {
    ERR_clear_error();
    return NID_undef;
  }
  // Providers name curves either way: "prime256v1" or "P-256".
  int nid = OBJ_sn2nid(group.data());
  return nid != NID_undef ? nid : EC_curve_nist2nid(group.data());
}

// The keys a participant may bring: EC P-256 or P-384, RSA of 2048 bits or more.
Status check_participant_key(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    int bits = EVP_PKEY_get_bits(key);
    if (bits < kMinRsaBits) {
      return invalid_argument("RSA key of " + std::to_string(bits) + " bits; at least " +
                              std::to_string(kMinRsaBits) + " are needed");
    }
    return {};
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    int nid = curve_nid(key);
    if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) {
      return invalid_argument("EC key on a curve other than P-256 or P-384");
    }
    return {};
  }
  return invalid_argument(std::string("key type ") + EVP_PKEY_get0_type_name(key) +
                          " refused; use EC P-256, P-384 or RSA");
}

// --- Names ------------------------------------------------------------------

Status add_name_entry(X509_NAME* name, int nid, const std::string& value) {
  // Control characters have no place in a name an operator reads in logs.
  auto is_control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
  if (std::any_of(value.begin(), value.end(), is_control)) {
    return invalid_argument(std::string(OBJ_nid2sn(nid)) + " contains a control character");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
  // MBSTRING_UTF8 checks the UTF-8 and the length limit (64 characters).
  if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, bytes, static_cast<int>(value.size()),
                                 -1, 0) != 1) {
    return openssl_invalid(std::string("bad ") + OBJ_nid2sn(nid) + " value");
  }
  return {};
}

// CN=common_name, O=organization (left out when empty). O goes first so
// that the RFC 2253 form, which lists the last entry first, reads "CN=..,O=..".
Result<NamePtr> make_name(const std::string& common_name, const std::string& organization) {
  if (common_name.empty()) {
    return invalid_argument("empty common name");
  }
  NamePtr name(X509_NAME_new());
  if (!name) {
    return openssl_internal("X509_NAME_new");
  }
  if (!organization.empty()) {
    SENED_RETURN_IF_ERROR(add_name_entry(name.get(), NID_organizationName, organization));
  }
  SENED_RETURN_IF_ERROR(add_name_entry(name.get(), NID_commonName, common_name));
  return name;
}

Result<std::string> name_text(const X509_NAME* name) {
  return write_pem(
      [name](BIO* bio) { return X509_NAME_print_ex(bio, name, 0, kNameFlags) >= 0 ? 1 : 0; },
      "printing a name");
}

// --- subjectAltName -----------------------------------------------------------

bool is_dns_name(const std::string& name) {
  // Letters, digits, hyphens, dots and a leading wildcard; IDNs come as punycode.
  auto allowed = [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; };
  std::string_view rest(name);
  if (rest.starts_with("*.")) {
    rest.remove_prefix(2);
  }
  return !rest.empty() && rest.size() <= 253 && std::all_of(rest.begin(), rest.end(), allowed) &&
         !rest.starts_with('.') && !rest.ends_with('.') && rest.find("..") == rest.npos;
}

// Appends one name; `value` becomes owned by `names`.
Status push_general_name(GENERAL_NAMES* names, int type, Asn1StringPtr value) {
  GeneralNamePtr name(GENERAL_NAME_new());
  if (!name) {
    return openssl_internal("GENERAL_NAME_new");
  }
  GENERAL_NAME_set0_value(name.get(), type, value.release());
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) {
    return openssl_internal("adding a subjectAltName entry");
  }
  name.release();
  return {};
}

Status push_dns_name(GENERAL_NAMES* names, const std::string& dns_name) {
  if (!is_dns_name(dns_name)) {
    return invalid_argument("not a DNS name: \"" + dns_name + "\"");
  }
  Asn1StringPtr value(ASN1_IA5STRING_new());
  if (!value ||
      ASN1_STRING_set(value.get(), dns_name.data(), static_cast<int>(dns_name.size())) != 1) {
    return openssl_internal("ASN1_STRING_set");
  }
  return push_general_name(names, GEN_DNS, std::move(value));
}

Status push_ip_address(GENERAL_NAMES* names, const std::string& ip_address) {
  Asn1StringPtr value(a2i_IPADDRESS(ip_address.c_str()));
  if (!value) {
    ERR_clear_error();
    return invalid_argument("not an IPv4 or IPv6 address: \"" + ip_address + "\"");
  }
  return push_general_name(names, GEN_IPADD, std::move(value));
}

Result<GeneralNamesPtr> make_alt_names(const std::vector<std::string>& dns_names,
                                       const std::vector<std::string>& ip_addresses) {
  if (dns_names.empty() && ip_addresses.empty()) {
    return invalid_argument("a server certificate needs a DNS name or an IP address");
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) {
    return openssl_internal("GENERAL_NAMES_new");
  }
  for (const std::string& dns_name : dns_names) {
    SENED_RETURN_IF_ERROR(push_dns_name(names.get(), dns_name));
  }
  for (const std::string& ip_address : ip_addresses) {
    SENED_RETURN_IF_ERROR(push_ip_address(names.get(), ip_address));
  }
  return names;
}

// --- Certificates -------------------------------------------------------------

struct ExtensionSpec {
  int nid;
  const char* value;  // in the syntax of openssl's x509v3_config
};

constexpr ExtensionSpec kCaExtensions[] = {
    {NID_basic_constraints, "critical,CA:TRUE"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
};
// The hub's certificate also authenticates the hub as a client, when it
// pushes events to participants' webhook endpoints.
constexpr ExtensionSpec kServerExtensions[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "serverAuth,clientAuth"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};
constexpr ExtensionSpec kClientExtensions[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "clientAuth"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};

// 128 random bits with the top bit cleared: positive, as DER integers for
// serials must be, and unguessable, as RFC 5280 advises.
Status set_random_serial(ASN1_INTEGER* serial) {
  std::array<unsigned char, 16> bytes{};
  auto is_zero = [](unsigned char b) { return b == 0; };
  while (std::all_of(bytes.begin(), bytes.end(), is_zero)) {
    if (RAND_bytes(bytes.data(), bytes.size()) != 1) {
      return openssl_internal("RAND_bytes");
    }
    bytes[0] &= 0x7f;
  }
  BignumPtr number(BN_bin2bn(bytes.data(), bytes.size(), nullptr));
  if (!number || BN_to_ASN1_INTEGER(number.get(), serial) == nullptr) {
    return openssl_internal("setting the serial");
  }
  return {};
}

Status set_validity(X509* cert, int days) {
  if (X509_time_adj_ex(X509_getm_notBefore(cert), 0, -kClockSkewSeconds, nullptr) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, nullptr) == nullptr) {
    return openssl_internal("setting the validity");
  }
  return {};
}

Status add_extensions(X509* cert, X509* issuer, std::span<const ExtensionSpec> extensions) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  for (const ExtensionSpec& spec : extensions) {
    ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &ctx, spec.nid, spec.value));
    if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
      return openssl_internal(std::string("adding extension ") + OBJ_nid2sn(spec.nid));
    }
  }
  return {};
}

// An unsigned v3 certificate for `key` named `subject`, issued by `issuer`,
// or self-issued when `issuer` is null.
Result<X509Ptr> new_cert(const X509_NAME* subject, EVP_PKEY* key, X509* issuer,
                         std::span<const ExtensionSpec> extensions, int days) {
  X509Ptr cert(X509_new());
  if (!cert) {
    return openssl_internal("X509_new");
  }
  X509* signer = issuer != nullptr ? issuer : cert.get();
  // The subject goes in before the issuer name is copied from `signer`,
  // which for a self-issued certificate is this one.
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return openssl_internal("filling in a certificate");
  }
  SENED_RETURN_IF_ERROR(set_random_serial(X509_get_serialNumber(cert.get())));
  SENED_RETURN_IF_ERROR(set_validity(cert.get(), days));
  SENED_RETURN_IF_ERROR(add_extensions(cert.get(), signer, extensions));
  return cert;
}

Status sign_cert(X509* cert, EVP_PKEY* signer_key) {
  if (X509_sign(cert, signer_key, EVP_sha256()) == 0) {
    return openssl_internal("signing a certificate");
  }
  return {};
}

// A CA's certificate and key, checked to belong together.
struct Issuer {
  X509Ptr cert;
  KeyPtr key;
};

Result<Issuer> load_issuer(const KeyAndCert& ca) {
  auto cert = parse_cert(ca.cert_pem);
  if (!cert.ok()) {
    return cert.status().with_context("CA certificate");
  }
  auto key = parse_key(ca.key_pem);
  if (!key.ok()) {
    return key.status().with_context("CA key");
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return openssl_invalid("the CA key does not belong to the CA certificate");
  }
  if ((X509_get_extension_flags(cert->get()) & EXFLAG_CA) == 0) {
    return invalid_argument("the CA certificate is not a CA (basicConstraints CA:TRUE)");
  }
  return Issuer{std::move(*cert), std::move(*key)};
}

// Makes, signs and encodes a certificate for `key` issued by `issuer`, with
// `alt_names` as its subjectAltName unless null.
Result<std::string> issue_cert_pem(const Issuer& issuer, const X509_NAME* subject, EVP_PKEY* key,
                                   std::span<const ExtensionSpec> extensions,
                                   GENERAL_NAMES* alt_names, int days) {
  auto cert = new_cert(subject, key, issuer.cert.get(), extensions, days);
  if (!cert.ok()) {
    return cert.status();
  }
  if (alt_names != nullptr &&
      X509_add1_ext_i2d(cert->get(), NID_subject_alt_name, alt_names, 0, X509V3_ADD_DEFAULT) != 1) {
    return openssl_internal("adding subjectAltName");
  }
  SENED_RETURN_IF_ERROR(sign_cert(cert->get(), issuer.key.get()));
  return cert_to_pem(cert->get());
}

// Like issue_cert_pem, for a new P-256 key that is returned with the certificate.
Result<KeyAndCert> issue_with_new_key(const KeyAndCert& ca, const X509_NAME* subject,
                                      std::span<const ExtensionSpec> extensions,
                                      GENERAL_NAMES* alt_names, int days) {
  auto issuer = load_issuer(ca);
  if (!issuer.ok()) {
    return issuer.status();
  }
  auto key = new_p256_key();
  if (!key.ok()) {
    return key.status();
  }
  auto cert_pem = issue_cert_pem(*issuer, subject, key->get(), extensions, alt_names, days);
  if (!cert_pem.ok()) {
    return cert_pem.status();
  }
  auto key_pem = key_to_pem(key->get());
  if (!key_pem.ok()) {
    return key_pem.status();
  }
  return KeyAndCert{std::move(*key_pem), std::move(*cert_pem)};
}

// --- Inspection -----------------------------------------------------------------

// Hex as `openssl x509 -serial` prints it: BN_bn2hex also writes two
// uppercase digits per byte and drops leading zero bytes.
Result<std::string> serial_text(const ASN1_INTEGER* serial) {
  BignumPtr number(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!number) {
    return openssl_internal("reading the serial");
  }
  OpensslStringPtr hex(BN_bn2hex(number.get()));
  if (!hex) {
    return openssl_internal("BN_bn2hex");
  }
  return std::string(hex.get());
}

Result<std::string> time_text(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) {
    return openssl_invalid("unreadable certificate time");
  }
  std::array<char, 32> text;
  size_t size = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(text.data(), size);
}

Result<std::string> fingerprint_text(const X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int size = 0;
  if (X509_digest(cert, EVP_sha256(), digest.data(), &size) != 1) {
    return openssl_internal("X509_digest");
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), size));
}

// --- CRLs -------------------------------------------------------------------------

Result<Asn1IntegerPtr> parse_serial(const std::string& hex) {
  auto is_hex = [](unsigned char c) { return std::isxdigit(c) != 0; };
  if (hex.empty() || hex.size() > kMaxSerialHexDigits ||
      !std::all_of(hex.begin(), hex.end(), is_hex)) {
    return invalid_argument("a revoked serial must be 1 to 40 hex digits");
  }
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, hex.c_str()) == 0) {
    return openssl_internal("BN_hex2bn");
  }
  BignumPtr number(raw);
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  if (!serial) {
    return openssl_internal("BN_to_ASN1_INTEGER");
  }
  return serial;
}

Status add_revoked(X509_CRL* crl, const RevokedSerial& entry) {
  auto serial = parse_serial(entry.serial);
  if (!serial.ok()) {
    return serial.status();
  }
  RevokedPtr revoked(X509_REVOKED_new());
  Asn1TimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(entry.revoked_at)));
  if (!revoked || !when || X509_REVOKED_set_serialNumber(revoked.get(), serial->get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1 ||
      X509_CRL_add0_revoked(crl, revoked.get()) != 1) {
    return openssl_internal("adding a revoked serial");
  }
  revoked.release();  // now owned by the CRL
  return {};
}

Status set_crl_times(X509_CRL* crl, int next_update_days) {
  time_t now = std::time(nullptr);
  Asn1TimePtr last_update(ASN1_TIME_set(nullptr, now));
  Asn1TimePtr next_update(ASN1_TIME_adj(nullptr, now, next_update_days, 0));
  if (!last_update || !next_update || X509_CRL_set1_lastUpdate(crl, last_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl, next_update.get()) != 1) {
    return openssl_internal("setting the CRL times");
  }
  return {};
}

Status add_crl_extensions(X509_CRL* crl, X509* ca_cert) {
  // RFC 5280 wants each new CRL to carry a larger number. Unix milliseconds
  // give that without keeping a counter, unless the clock steps back.
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), millis.count()) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return openssl_internal("adding the CRL number");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca_cert, nullptr, nullptr, crl, 0);
  ExtensionPtr key_id(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!key_id || X509_CRL_add_ext(crl, key_id.get(), -1) != 1) {
    return openssl_internal("adding the CRL's authorityKeyIdentifier");
  }
  return {};
}

// --- Verification -------------------------------------------------------------------

// A store trusting each certificate of `ca_pem` and, unless `crl_pem` is
// empty, checking leaf certificates against that CRL.
Result<StorePtr> trust_store(const std::string& ca_pem, const std::string& crl_pem) {
  auto cas = parse_certs(ca_pem);
  if (!cas.ok()) {
    return cas.status().with_context("trusted CAs");
  }
  StorePtr store(X509_STORE_new());
  if (!store) {
    return openssl_internal("X509_STORE_new");
  }
  for (const X509Ptr& ca : *cas) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      return openssl_internal("adding a trusted CA");
    }
  }
  if (crl_pem.empty()) {
    return store;
  }
  auto crl = parse_crl(crl_pem);
  if (!crl.ok()) {
    return crl.status();
  }
  if (X509_STORE_add_crl(store.get(), crl->get()) != 1) {
    return openssl_internal("adding the CRL");
  }
  X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  return store;
}

}  // namespace

Result<std::string> make_ec_key_pem() {
  auto key = new_p256_key();
  if (!key.ok()) {
    return key.status();
  }
  return key_to_pem(key->get());
}

Result<KeyAndCert> make_ca(const std::string& common_name, const std::string& organization,
                           int days) {
  SENED_RETURN_IF_ERROR(check_days(days));
  auto name = make_name(common_name, organization);
  if (!name.ok()) {
    return name.status();
  }
  auto key = new_p256_key();
  if (!key.ok()) {
    return key.status();
  }
  auto cert = new_cert(name->get(), key->get(), nullptr, kCaExtensions, days);
  if (!cert.ok()) {
    return cert.status();
  }
  SENED_RETURN_IF_ERROR(sign_cert(cert->get(), key->get()));

  auto key_pem = key_to_pem(key->get());
  auto cert_pem = cert_to_pem(cert->get());
  if (!key_pem.ok() || !cert_pem.ok()) {
    return key_pem.ok() ? cert_pem.status() : key_pem.status();
  }
  return KeyAndCert{std::move(*key_pem), std::move(*cert_pem)};
}

Result<KeyAndCert> issue_server_cert(const KeyAndCert& ca, const std::string& common_name,
                                     const std::vector<std::string>& dns_names,
                                     const std::vector<std::string>& ip_addresses, int days) {
  SENED_RETURN_IF_ERROR(check_days(days));
  auto name = make_name(common_name, "");
  if (!name.ok()) {
    return name.status();
  }
  auto alt_names = make_alt_names(dns_names, ip_addresses);
  if (!alt_names.ok()) {
    return alt_names.status();
  }
  return issue_with_new_key(ca, name->get(), kServerExtensions, alt_names->get(), days);
}

Result<KeyAndCert> issue_client_cert(const KeyAndCert& ca, const std::string& common_name,
                                     const std::string& organization, int days) {
  SENED_RETURN_IF_ERROR(check_days(days));
  auto name = make_name(common_name, organization);
  if (!name.ok()) {
    return name.status();
  }
  return issue_with_new_key(ca, name->get(), kClientExtensions, nullptr, days);
}

Result<std::string> sign_csr(const KeyAndCert& ca, const std::string& csr_pem,
                             const std::string& common_name, const std::string& organization,
                             int days) {
  SENED_RETURN_IF_ERROR(check_days(days));
  auto issuer = load_issuer(ca);
  if (!issuer.ok()) {
    return issuer.status();
  }
  auto csr = parse_csr(csr_pem);
  if (!csr.ok()) {
    return csr.status();
  }

  // The signature proves the sender holds the key; nothing else in the
  // request is trusted.
  EVP_PKEY* key = X509_REQ_get0_pubkey(csr->get());
  if (key == nullptr || X509_REQ_verify(csr->get(), key) != 1) {
    return openssl_invalid("the certificate request's signature does not verify");
  }
  SENED_RETURN_IF_ERROR(check_participant_key(key));

  auto name = make_name(common_name, organization);
  if (!name.ok()) {
    return name.status();
  }
  return issue_cert_pem(*issuer, name->get(), key, kClientExtensions, nullptr, days);
}

Result<std::string> make_csr(const std::string& key_pem, const std::string& common_name) {
  auto key = parse_key(key_pem);
  if (!key.ok()) {
    return key.status();
  }
  auto name = make_name(common_name, "");
  if (!name.ok()) {
    return name.status();
  }
  X509ReqPtr csr(X509_REQ_new());
  if (!csr || X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(csr.get(), name->get()) != 1 ||
      X509_REQ_set_pubkey(csr.get(), key->get()) != 1) {
    return openssl_internal("filling in a certificate request");
  }
  if (X509_REQ_sign(csr.get(), key->get(), EVP_sha256()) <= 0) {
    return openssl_invalid("signing the certificate request with this key");
  }
  X509_REQ* raw = csr.get();
  return write_pem([raw](BIO* bio) { return PEM_write_bio_X509_REQ(bio, raw); },
                   "writing a certificate request");
}

Result<std::string> make_crl(const KeyAndCert& ca, const std::vector<RevokedSerial>& revoked,
                             int next_update_days) {
  SENED_RETURN_IF_ERROR(check_days(next_update_days));
  auto issuer = load_issuer(ca);
  if (!issuer.ok()) {
    return issuer.status();
  }
  X509CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer->cert.get())) != 1) {
    return openssl_internal("filling in a CRL");
  }
  SENED_RETURN_IF_ERROR(set_crl_times(crl.get(), next_update_days));
  for (const RevokedSerial& entry : revoked) {
    SENED_RETURN_IF_ERROR(add_revoked(crl.get(), entry));
  }
  SENED_RETURN_IF_ERROR(add_crl_extensions(crl.get(), issuer->cert.get()));

  // DER wants the entries in a canonical order; sort before signing.
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), issuer->key.get(), EVP_sha256()) == 0) {
    return openssl_internal("signing the CRL");
  }
  X509_CRL* raw = crl.get();
  return write_pem([raw](BIO* bio) { return PEM_write_bio_X509_CRL(bio, raw); }, "writing a CRL");
}

Result<CertInfo> inspect_cert(const std::string& cert_pem) {
  auto cert = parse_cert(cert_pem);
  if (!cert.ok()) {
    return cert.status();
  }
  const X509* x = cert->get();
  auto serial = serial_text(X509_get0_serialNumber(x));
  auto fingerprint = fingerprint_text(x);
  auto subject = name_text(X509_get_subject_name(x));
  auto issuer = name_text(X509_get_issuer_name(x));
  auto not_before = time_text(X509_get0_notBefore(x));
  auto not_after = time_text(X509_get0_notAfter(x));
  for (const Status* status : {&serial.status(), &fingerprint.status(), &subject.status(),
                               &issuer.status(), &not_before.status(), &not_after.status()}) {
    SENED_RETURN_IF_ERROR(*status);
  }

  CertInfo info;
  info.serial = std::move(*serial);
  info.fingerprint = std::move(*fingerprint);
  info.subject = std::move(*subject);
  info.issuer = std::move(*issuer);
  info.not_before = std::move(*not_before);
  info.not_after = std::move(*not_after);
  info.is_ca = (X509_get_extension_flags(cert->get()) & EXFLAG_CA) != 0;
  return info;
}

Result<std::vector<std::string>> split_pem_certs(const std::string& pem) {
  auto certs = parse_certs(pem);
  if (!certs.ok()) {
    return certs.status();
  }
  std::vector<std::string> pems;
  for (const X509Ptr& cert : *certs) {
    auto text = cert_to_pem(cert.get());
    if (!text.ok()) {
      return text.status();
    }
    pems.push_back(std::move(*text));
  }
  return pems;
}

Status verify_cert(const std::string& cert_pem, const std::string& ca_pem,
                   const std::string& crl_pem) {
  auto cert = parse_cert(cert_pem);
  if (!cert.ok()) {
    return cert.status().with_context("certificate");
  }
  auto store = trust_store(ca_pem, crl_pem);
  if (!store.ok()) {
    return store.status();
  }

  // Declared after the store, so freed before it: the context refers to it.
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store->get(), cert->get(), nullptr) != 1) {
    return openssl_internal("X509_STORE_CTX_init");
  }
  if (X509_verify_cert(ctx.get()) == 1) {
    return {};
  }
  int error = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  return permission_denied(std::string("certificate does not verify: ") +
                           X509_verify_cert_error_string(error));
}

}  // namespace sened::crypto
