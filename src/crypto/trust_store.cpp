#include "crypto/trust_store.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sened::crypto {
namespace {
namespace fs = std::filesystem;

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Freer<X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Freer<X509_CRL_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Freer<X509_STORE_CTX_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Freer<ASN1_INTEGER_free>>;
// sk_X509_free is a macro; the stack does not own the certificates it lists.
void free_cert_stack(STACK_OF(X509) * stack) { sk_X509_free(stack); }
using CertStackPtr = std::unique_ptr<STACK_OF(X509), Freer<free_cert_stack>>;

// A trusted file is a few certificates or one CRL; national CRLs can reach
// a few megabytes, so the bound is looser than for a single certificate.
constexpr uintmax_t kMaxTrustFileBytes = 64ull << 20;
constexpr unsigned long kNameFlags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
constexpr std::string_view kCertHeader = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kCrlHeader = "-----BEGIN X509 CRL-----";

// The oldest queued OpenSSL error as text, or `fallback`; empties the queue.
std::string openssl_reason(const char* fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

size_t count_of(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Every certificate of `pem`, in order; an error for a damaged one or none.
Result<std::vector<X509Ptr>> parse_certs(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = memory_bio(pem);
  ERR_clear_error();
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  // The loop ends with "no start line" at the end of the text; anything else
  // means a damaged block.
  unsigned long err = ERR_peek_last_error();
  bool clean_end = ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if ((err != 0 && !clean_end) || certs.size() != count_of(pem, "-----BEGIN ")) {
    return invalid_argument("damaged certificate: " + openssl_reason("not a certificate"));
  }
  ERR_clear_error();
  if (certs.empty()) return invalid_argument("no certificate in it");
  return certs;
}

Result<X509CrlPtr> parse_crl(const std::string& pem) {
  if (count_of(pem, "-----BEGIN ") != 1 || pem.find(kCrlHeader) == std::string::npos) {
    return invalid_argument("expected exactly one PEM X509 CRL");
  }
  BioPtr bio = memory_bio(pem);
  ERR_clear_error();
  X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) return invalid_argument("damaged CRL: " + openssl_reason("unreadable"));
  return crl;
}

bool is_ca(X509* cert) { return (X509_get_extension_flags(cert) & EXFLAG_CA) != 0; }

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, kNameFlags);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string fingerprint_of(X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  X509_digest(cert, EVP_sha256(), digest.data(), &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string time_text(const ASN1_TIME* time) {
  struct tm tm {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return "-";
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text.data();
}

Result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (ec) return not_found("cannot read " + path + ": " + ec.message());
  if (size > kMaxTrustFileBytes) return invalid_argument(path + " is too large for a trust file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// trust_dir's *.pem and *.crl regular files, sorted by name.
std::vector<std::string> trust_dir_files(const std::string& trust_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  if (trust_dir.empty()) return names;
  for (fs::directory_iterator it(trust_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string ext = it->path().extension().string();
    if ((ext == ".pem" || ext == ".crl") && it->is_regular_file()) {
      names.push_back(it->path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// One trusted file of a TrustMaterial, with where it came from.
struct TrustedFile {
  std::string path;  // a file path, or "CA certificate #N" / "CRL #N" without one
  std::string pem;
  bool hub = false;  // the hub CA's own certificate or CRL file
};

std::vector<TrustedFile> files_of(const std::vector<std::string>& pems,
                                  const std::vector<std::string>& paths,
                                  const std::string& hub_path, const char* unnamed) {
  std::vector<TrustedFile> out;
  for (size_t i = 0; i < pems.size(); ++i) {
    std::string path = i < paths.size() ? paths[i] : unnamed + std::to_string(i + 1);
    bool hub = !hub_path.empty() && path == hub_path;
    out.push_back({path, pems[i], hub});
  }
  return out;
}

std::vector<TrustedFile> ca_files(const TrustMaterial& m) {
  return files_of(m.ca_pems, m.ca_paths, m.hub_ca_path, "CA certificate #");
}

std::vector<TrustedFile> crl_files(const TrustMaterial& m) {
  return files_of(m.crl_pems, m.crl_paths, m.hub_crl_path, "CRL #");
}

// The CA of `cas` that signed `crl`, or null.
X509* issuer_of(X509_CRL* crl, const std::vector<X509Ptr>& cas) {
  for (const auto& ca : cas) {
    if (X509_NAME_cmp(X509_get_subject_name(ca.get()), X509_CRL_get_issuer(crl)) != 0) continue;
    EVP_PKEY* key = X509_get0_pubkey(ca.get());
    if (key != nullptr && X509_CRL_verify(crl, key) == 1) return ca.get();
  }
  ERR_clear_error();
  return nullptr;
}

// Every CA certificate of `material`, parsed.
Result<std::vector<X509Ptr>> all_cas(const TrustMaterial& material) {
  std::vector<X509Ptr> out;
  for (const auto& file : ca_files(material)) {
    auto certs = parse_certs(file.pem);
    if (!certs.ok()) return certs.status().with_context(file.path);
    for (auto& c : *certs) out.push_back(std::move(c));
  }
  return out;
}

Status add_ca_file(TrustMaterial& m, const std::string& path, bool hub) {
  auto text = read_file(path);
  if (!text.ok()) return text.status();
  auto certs = parse_certs(*text);
  if (!certs.ok()) return certs.status().with_context(path);
  for (const auto& cert : *certs) {
    if (!is_ca(cert.get())) {
      return invalid_argument(path + ": " + name_text(X509_get_subject_name(cert.get())) +
                              " is not a CA certificate");
    }
  }
  m.ca_pems.push_back(*text);
  m.ca_paths.push_back(path);
  if (hub) m.hub_ca_path = path;
  return Status();
}

Status add_crl_file(TrustMaterial& m, const std::vector<X509Ptr>& cas, const std::string& path,
                    bool hub) {
  auto text = read_file(path);
  if (!text.ok()) return text.status();
  auto crl = parse_crl(*text);
  if (!crl.ok()) return crl.status().with_context(path);
  if (issuer_of(crl->get(), cas) == nullptr) {
    return invalid_argument(path + ": the CRL of " + name_text(X509_CRL_get_issuer(crl->get())) +
                            " is not signed by a trusted CA");
  }
  m.crl_pems.push_back(*text);
  m.crl_paths.push_back(path);
  if (hub) m.hub_crl_path = path;
  return Status();
}

// Accepts a chain whose issuing CA has no CRL at all (see the header); every
// other failure stands.
int revocation_policy_callback(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  return ok;
}

// CRL number, or -1 without one; ordering of CRLs from one issuer.
long crl_number(X509_CRL* crl) {
  Asn1IntegerPtr number(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  return number ? ASN1_INTEGER_get(number.get()) : -1;
}

// >0 if `a` is newer than `b`, 0 same age, <0 older: by CRL number, then lastUpdate.
int compare_crl_age(X509_CRL* a, X509_CRL* b) {
  long na = crl_number(a), nb = crl_number(b);
  if (na != nb && na >= 0 && nb >= 0) return na > nb ? 1 : -1;
  int day = 0, sec = 0;
  ASN1_TIME_diff(&day, &sec, X509_CRL_get0_lastUpdate(b), X509_CRL_get0_lastUpdate(a));
  return day != 0 ? day : sec;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

// A certificate or CRL as canonical PEM (OpenSSL's encoding of the parsed
// object, nothing of the text it came from).
Result<std::string> pem_of(X509* cert) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert) != 1) {
    return internal_error("cannot encode the certificate: " + openssl_reason("PEM"));
  }
  return bio_text(out.get());
}

Result<std::string> pem_of(X509_CRL* crl) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509_CRL(out.get(), crl) != 1) {
    return internal_error("cannot encode the CRL: " + openssl_reason("PEM"));
  }
  return bio_text(out.get());
}

bool valid_stem(const std::string& stem) {
  if (stem.empty() || stem.size() > 100 || stem[0] == '.') return false;
  return std::all_of(stem.begin(), stem.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

Result<TrustAddition> check_ca_addition(const TrustMaterial& current, const std::string& trust_dir,
                                        const std::string& pem, const std::string& stem) {
  auto certs = parse_certs(pem);
  if (!certs.ok()) return certs.status();
  if (certs->size() != 1) return invalid_argument("expected exactly one CA certificate");
  X509* cert = certs->front().get();
  std::string subject = name_text(X509_get_subject_name(cert));
  if (!is_ca(cert)) return invalid_argument(subject + " is not a CA certificate");
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0 ||
      X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
    return invalid_argument("CA certificate " + subject + " is not valid now");
  }
  std::string fingerprint = fingerprint_of(cert);
  auto cas = all_cas(current);
  if (!cas.ok()) return cas.status();
  for (const auto& ca : *cas) {
    if (fingerprint_of(ca.get()) == fingerprint) {
      return conflict("CA certificate " + subject + " is already trusted");
    }
  }
  std::string name = stem + ".pem";
  if (fs::exists(trust_dir + "/" + name)) {
    return conflict(name + " already exists in the trust folder (choose another --name)");
  }
  auto encoded = pem_of(cert);
  if (!encoded.ok()) return encoded.status();
  return TrustAddition{TrustKind::kCa, name, false, subject, fingerprint, std::move(*encoded)};
}

Result<TrustAddition> check_crl_addition(const TrustMaterial& current, const std::string& trust_dir,
                                         const std::string& pem, const std::string& stem) {
  auto crl = parse_crl(pem);
  if (!crl.ok()) return crl.status();
  std::string issuer = name_text(X509_CRL_get_issuer(crl->get()));
  auto cas = all_cas(current);
  if (!cas.ok()) return cas.status();
  X509* ca = issuer_of(crl->get(), *cas);
  if (ca == nullptr) {
    return invalid_argument("the CRL of " + issuer + " is not signed by a trusted CA");
  }
  for (const auto& file : ca_files(current)) {
    if (!file.hub) continue;
    auto hub = parse_certs(file.pem);
    if (hub.ok() && X509_cmp(hub->front().get(), ca) == 0) {
      return invalid_argument("this is the hub CA's CRL; it is managed by `admin cert revoke`");
    }
  }

  // A newer CRL of the same CA replaces the file that holds the older one.
  auto encoded = pem_of(crl->get());
  if (!encoded.ok()) return encoded.status();
  TrustAddition addition{TrustKind::kCrl, stem + ".crl", false, issuer, "", std::move(*encoded)};
  for (const auto& file : crl_files(current)) {
    auto old = parse_crl(file.pem);
    if (file.hub || !old.ok() || issuer_of(old->get(), *cas) != ca) continue;
    if (compare_crl_age(crl->get(), old->get()) <= 0) {
      return conflict("the trust folder already has a CRL of " + issuer +
                      " that is as new or newer (" + file.path + ")");
    }
    addition.file_name = fs::path(file.path).filename().string();
    addition.replaces = true;
    return addition;
  }
  if (fs::exists(trust_dir + "/" + addition.file_name)) {
    return conflict(addition.file_name + " already exists in the trust folder");
  }
  return addition;
}

Result<TrustEntry> describe_crl(const TrustedFile& file) {
  auto crl = parse_crl(file.pem);
  if (!crl.ok()) return crl.status().with_context(file.path);
  TrustEntry e;
  e.name = file.hub ? "(hub CRL)" : fs::path(file.path).filename().string();
  e.kind = TrustKind::kCrl;
  e.subject = name_text(X509_CRL_get_issuer(crl->get()));
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl->get());
  e.detail = std::to_string(revoked ? sk_X509_REVOKED_num(revoked) : 0) + " revoked, next update " +
             time_text(X509_CRL_get0_nextUpdate(crl->get()));
  return e;
}

Result<TrustEntry> describe_ca(const TrustedFile& file) {
  auto certs = parse_certs(file.pem);
  if (!certs.ok()) return certs.status().with_context(file.path);
  TrustEntry e;
  e.name = file.hub ? "(hub CA)" : fs::path(file.path).filename().string();
  e.kind = TrustKind::kCa;
  for (const auto& c : *certs) {
    if (!e.subject.empty()) e.subject += "; ";
    e.subject += name_text(X509_get_subject_name(c.get()));
  }
  e.detail = "valid until " + time_text(X509_get0_notAfter(certs->front().get()));
  return e;
}

}  // namespace

std::string TrustMaterial::ca_bundle() const {
  std::string out;
  for (const auto& pem : ca_pems) out += pem + (pem.ends_with('\n') ? "" : "\n");
  return out;
}

std::string TrustMaterial::crl_bundle() const {
  std::string out;
  for (const auto& pem : crl_pems) out += pem + (pem.ends_with('\n') ? "" : "\n");
  return out;
}

void X509StoreFree::operator()(x509_store_st* store) const { X509_STORE_free(store); }

std::string trust_stamp(const std::string& ca_file, const std::string& crl_file,
                        const std::string& trust_dir) {
  std::vector<std::string> paths = {ca_file, crl_file};
  for (const auto& name : trust_dir_files(trust_dir)) paths.push_back(trust_dir + "/" + name);
  std::string stamp;
  for (const auto& path : paths) {
    struct stat st {};
    stamp += path;
    if (!path.empty() && ::stat(path.c_str(), &st) == 0) {
      stamp += ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
               std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    }
    stamp += "\n";
  }
  return stamp;
}

Result<TrustMaterial> load_trust_files(const std::string& ca_file, const std::string& crl_file,
                                       const std::string& trust_dir) {
  TrustMaterial m;
  m.stamp = trust_stamp(ca_file, crl_file, trust_dir);
  std::vector<std::string> names = trust_dir_files(trust_dir);

  // CAs first: each CRL is checked against them.
  SENED_RETURN_IF_ERROR(add_ca_file(m, ca_file, true));
  for (const auto& name : names) {
    if (name.ends_with(".pem"))
      SENED_RETURN_IF_ERROR(add_ca_file(m, trust_dir + "/" + name, false));
  }
  auto cas = all_cas(m);
  if (!cas.ok()) return cas.status();
  if (!crl_file.empty()) SENED_RETURN_IF_ERROR(add_crl_file(m, *cas, crl_file, true));
  for (const auto& name : names) {
    if (name.ends_with(".crl")) {
      SENED_RETURN_IF_ERROR(add_crl_file(m, *cas, trust_dir + "/" + name, false));
    }
  }
  return m;
}

Result<TrustMaterial> load_trust_material(const HubConfig& config) {
  return load_trust_files(config.path(config.ca_cert), config.path(config.crl),
                          config.path(config.trust_dir));
}

Result<X509StorePtr> make_x509_store(const TrustMaterial& material) {
  X509StorePtr store(X509_STORE_new());
  if (!store) return internal_error("X509_STORE_new failed");
  auto cas = all_cas(material);
  if (!cas.ok()) return cas.status();
  for (const auto& ca : *cas) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      // The same CA in two files is harmless: the store keeps one.
      ERR_clear_error();
    }
  }
  for (const auto& file : crl_files(material)) {
    auto crl = parse_crl(file.pem);
    if (!crl.ok()) return crl.status().with_context(file.path);
    if (X509_STORE_add_crl(store.get(), crl->get()) != 1) ERR_clear_error();
  }
  if (!material.crl_pems.empty()) X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  X509_STORE_set_verify_cb(store.get(), revocation_policy_callback);
  return store;
}

Status verify_with_trust(const TrustMaterial& material, const std::string& cert_pem,
                         const std::string& extra_chain_pem, CertPurpose purpose) {
  auto certs = parse_certs(cert_pem);
  if (!certs.ok()) return certs.status().with_context("certificate");
  std::vector<X509Ptr> extra;
  if (!extra_chain_pem.empty()) {
    auto parsed = parse_certs(extra_chain_pem);
    if (!parsed.ok()) return parsed.status().with_context("chain");
    extra = std::move(*parsed);
  }
  auto store = make_x509_store(material);
  if (!store.ok()) return store.status();

  CertStackPtr chain(sk_X509_new_null());
  for (const auto& c : extra) sk_X509_push(chain.get(), c.get());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx ||
      X509_STORE_CTX_init(ctx.get(), store->get(), certs->front().get(), chain.get()) != 1) {
    return internal_error("X509_STORE_CTX_init failed");
  }
  if (purpose == CertPurpose::kTlsClient) {
    // What the TLS server asks of a client's certificate (OpenSSL's
    // "sslclient" purpose and trust).
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_CLIENT);
    X509_VERIFY_PARAM_set_trust(param, X509_TRUST_SSL_CLIENT);
  }
  if (X509_verify_cert(ctx.get()) == 1) return Status();
  int error = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  return permission_denied(std::string("certificate does not verify: ") +
                           X509_verify_cert_error_string(error));
}

Result<bool> is_ca_certificate(const std::string& cert_pem) {
  auto certs = parse_certs(cert_pem);
  if (!certs.ok()) return certs.status();
  return is_ca(certs->front().get());
}

std::vector<std::string> crls_of_ca_file(const TrustMaterial& material,
                                         const std::string& ca_path) {
  std::vector<std::string> out;
  for (const auto& file : ca_files(material)) {
    if (file.path != ca_path) continue;
    auto cas = parse_certs(file.pem);
    if (!cas.ok()) continue;
    for (const auto& crl_file : crl_files(material)) {
      auto crl = parse_crl(crl_file.pem);
      if (crl.ok() && issuer_of(crl->get(), *cas) != nullptr) out.push_back(crl_file.path);
    }
  }
  return out;
}

Status check_key_matches_cert(const std::string& cert_pem, const std::string& key_pem) {
  auto certs = parse_certs(cert_pem);
  if (!certs.ok()) return certs.status().with_context("certificate");
  BioPtr bio = memory_bio(key_pem);
  std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return invalid_argument("damaged private key: " + openssl_reason("unreadable"));
  if (X509_check_private_key(certs->front().get(), key.get()) != 1) {
    ERR_clear_error();
    return invalid_argument("the private key does not belong to the certificate");
  }
  return Status();
}

Result<TrustAddition> check_trust_addition(const TrustMaterial& current,
                                           const std::string& trust_dir, const std::string& pem,
                                           const std::string& preferred_stem) {
  if (!valid_stem(preferred_stem)) {
    return invalid_argument("name \"" + preferred_stem +
                            "\" may hold only letters, digits, '.', '-' and '_'");
  }
  size_t blocks = count_of(pem, "-----BEGIN ");
  bool cert = pem.find(kCertHeader) != std::string::npos;
  bool crl = pem.find(kCrlHeader) != std::string::npos;
  if (blocks != 1 || cert == crl) {
    return invalid_argument("expected exactly one PEM CA certificate or one PEM X509 CRL");
  }
  if (cert) return check_ca_addition(current, trust_dir, pem, preferred_stem);
  return check_crl_addition(current, trust_dir, pem, preferred_stem);
}

Result<std::vector<TrustEntry>> describe_trust(const TrustMaterial& material) {
  std::vector<TrustEntry> out;
  for (const auto& file : ca_files(material)) {
    auto e = describe_ca(file);
    if (!e.ok()) return e.status();
    out.push_back(*e);
  }
  for (const auto& file : crl_files(material)) {
    auto e = describe_crl(file);
    if (!e.ok()) return e.status();
    out.push_back(*e);
  }
  return out;
}

}  // namespace sened::crypto
