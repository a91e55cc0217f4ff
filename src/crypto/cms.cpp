#include "crypto/cms.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <ctime>
#include <memory>

namespace sened::crypto {
namespace {

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
// A stack that lists certificates owned elsewhere (CMS_get0_signers returns
// a new stack of borrowed certificates: the stack is ours, they are not).
void free_borrowed_x509_stack(STACK_OF(X509) * s) { sk_X509_free(s); }
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free_all>>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, Freer<CMS_ContentInfo_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Freer<X509_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Freer<free_x509_stack>>;
using BorrowedX509StackPtr = std::unique_ptr<STACK_OF(X509), Freer<free_borrowed_x509_stack>>;
using StorePtr = std::unique_ptr<X509_STORE, Freer<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Freer<X509_STORE_CTX_free>>;
using EssV1Ptr = std::unique_ptr<ESS_SIGNING_CERT, Freer<ESS_SIGNING_CERT_free>>;
using EssV2Ptr = std::unique_ptr<ESS_SIGNING_CERT_V2, Freer<ESS_SIGNING_CERT_V2_free>>;

int no_passphrase(char*, int, int, void*) { return -1; }

// The oldest queued OpenSSL error as text (empty if none); clears the queue.
std::string take_openssl_error() {
  std::string text;
  if (unsigned long err = ERR_get_error(); err != 0) {
    std::array<char, 256> buf;
    ERR_error_string_n(err, buf.data(), buf.size());
    text = buf.data();
  }
  ERR_clear_error();
  return text;
}

Status openssl_failure(Code code, const std::string& what) {
  std::string reason = take_openssl_error();
  return Status(code, reason.empty() ? what : what + ": " + reason);
}

BioPtr memory_bio(std::string_view bytes) {
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Result<KeyPtr> parse_key(const std::string& pem) {
  BioPtr in = memory_bio(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase, nullptr));
  if (!key) return openssl_failure(Code::kInvalidArgument, "signing key does not parse");
  return key;
}

// Every certificate of a PEM text, in order (none for an empty text).
Result<X509StackPtr> parse_certs(const std::string& pem) {
  X509StackPtr out(sk_X509_new_null());
  if (!out) return openssl_failure(Code::kInternal, "out of memory");
  if (pem.empty()) return out;
  BioPtr in = memory_bio(pem);
  while (X509* cert = PEM_read_bio_X509(in.get(), nullptr, no_passphrase, nullptr)) {
    sk_X509_push(out.get(), cert);
  }
  // The loop ends on "no start line" at the end of the text: not an error.
  ERR_clear_error();
  if (sk_X509_num(out.get()) == 0) return invalid_argument("no certificate in the PEM text");
  return out;
}

Result<CmsPtr> parse_signed_data(std::string_view der) {
  if (der.size() > kMaxSignatureBytes) {
    return invalid_argument("signature over " + std::to_string(kMaxSignatureBytes) + " bytes");
  }
  // Decoded from memory, not a BIO, so that what follows the object is seen:
  // appended bytes are not covered by the signature and must not pass.
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = start;
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &end, static_cast<long>(der.size())));
  if (!cms) return openssl_failure(Code::kInvalidArgument, "not a DER CMS structure");
  if (size_t used = static_cast<size_t>(end - start); used != der.size()) {
    return invalid_argument(std::to_string(der.size() - used) + " bytes after the signature");
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    return invalid_argument("the CMS structure is not signed data");
  }
  if (sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms.get())) < 1) {
    return invalid_argument("the signed data has no signer");
  }
  return cms;
}

Result<std::string> sign(BIO* content, const std::string& key_pem, const std::string& cert_pem,
                         const std::string& extra_certs_pem, bool detached) {
  auto key = parse_key(key_pem);
  if (!key.ok()) return key.status();
  auto certs = parse_certs(cert_pem);
  if (!certs.ok()) return certs.status();
  auto extra = parse_certs(extra_certs_pem);
  if (!extra.ok()) return extra.status();
  X509* signer = sk_X509_value(certs->get(), 0);

  // CMS_CADES adds signing-certificate-v2 (SHA-256 of the signer certificate).
  unsigned int flags = CMS_BINARY | CMS_PARTIAL | (detached ? CMS_DETACHED : 0);
  CmsPtr cms(CMS_sign(nullptr, nullptr, extra->get(), nullptr, flags));
  if (!cms) return openssl_failure(Code::kInternal, "cannot start signed data");
  if (CMS_add1_signer(cms.get(), signer, key->get(), EVP_sha256(),
                      flags | CMS_CADES | CMS_NOSMIMECAP) == nullptr) {
    return openssl_failure(Code::kInvalidArgument, "cannot add the signer");
  }
  if (CMS_final(cms.get(), content, nullptr, flags) != 1) {
    return openssl_failure(Code::kInternal, "cannot sign");
  }
  BioPtr out(BIO_new(BIO_s_mem()));
  if (i2d_CMS_bio(out.get(), cms.get()) != 1) {
    return openssl_failure(Code::kInternal, "cannot encode signed data");
  }
  return bio_text(out.get());
}

std::string rfc3339(const std::tm& tm) {
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const ASN1_TYPE* signed_attribute(CMS_SignerInfo* si, int nid) {
  int idx = CMS_signed_get_attr_by_NID(si, nid, -1);
  if (idx < 0) return nullptr;
  return X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
}

std::string signing_time(CMS_SignerInfo* si) {
  const ASN1_TYPE* t = signed_attribute(si, NID_pkcs9_signingTime);
  if (t == nullptr || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME)) {
    return "";
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(t->value.utctime, &tm) != 1) return "";
  return rfc3339(tm);
}

// CAdES: a signing-certificate(-v2) attribute, where present, must name the
// certificate that verified the signature (or a substituted certificate
// could claim the signature).
bool signing_cert_attribute_matches(CMS_SignerInfo* si, X509* signer) {
  EssV1Ptr v1;
  EssV2Ptr v2;
  const ASN1_TYPE* t = signed_attribute(si, NID_id_smime_aa_signingCertificateV2);
  if (t != nullptr) {
    if (t->type != V_ASN1_SEQUENCE) return false;
    const unsigned char* p = t->value.sequence->data;
    v2.reset(d2i_ESS_SIGNING_CERT_V2(nullptr, &p, t->value.sequence->length));
    if (!v2) return false;
  }
  t = signed_attribute(si, NID_id_smime_aa_signingCertificate);
  if (t != nullptr) {
    if (t->type != V_ASN1_SEQUENCE) return false;
    const unsigned char* p = t->value.sequence->data;
    v1.reset(d2i_ESS_SIGNING_CERT(nullptr, &p, t->value.sequence->length));
    if (!v1) return false;
  }
  if (!v1 && !v2) return true;
  X509StackPtr chain(sk_X509_new_null());
  if (!chain || X509_up_ref(signer) != 1) return false;
  sk_X509_push(chain.get(), signer);
  bool ok = OSSL_ESS_check_signing_certs(v1.get(), v2.get(), chain.get(), 0) > 0;
  ERR_clear_error();
  return ok;
}

Result<CertInfo> describe(X509* cert) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(out.get(), cert) != 1) {
    return openssl_failure(Code::kInternal, "cannot encode the signer certificate");
  }
  return inspect_cert(bio_text(out.get()));
}

Result<StorePtr> trust_store(const TrustMaterial& trust) {
  StorePtr store(X509_STORE_new());
  if (!store) return openssl_failure(Code::kInternal, "out of memory");
  for (const auto& pem : trust.ca_pems) {
    auto certs = parse_certs(pem);
    if (!certs.ok()) return certs.status().with_context("trusted CA certificates");
    for (int i = 0; i < sk_X509_num(certs->get()); ++i) {
      X509_STORE_add_cert(store.get(), sk_X509_value(certs->get(), i));
    }
  }
  for (const auto& pem : trust.crl_pems) {
    BioPtr in = memory_bio(pem);
    int count = 0;
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(in.get(), nullptr, no_passphrase, nullptr)) {
      X509_STORE_add_crl(store.get(), crl);
      X509_CRL_free(crl);
      ++count;
    }
    ERR_clear_error();
    if (count == 0 && !pem.empty()) return invalid_argument("a trusted CRL does not parse");
  }
  ERR_clear_error();
  return store;
}

// A CA with no CRL in the trust material is not revocation-checked (the
// trust store's policy); every other failure stands.
int tolerate_missing_crls(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  return ok;
}

std::string subject_of(X509* cert) {
  auto info = describe(cert);
  return info.ok() ? info->subject : std::string();
}

// The trusted CA a verified chain ends at. With a partial chain the trust
// material may hold the signer or an intermediate as well as the root
// (hub-chain.pem holds the receipt certificate and the hub CA): climb to
// the highest issuer the trust material still holds, so the name shown is
// the CA's.
std::string anchor_subject(X509_STORE_CTX* ctx) {
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
  int n = chain != nullptr ? sk_X509_num(chain) : 0;
  if (n == 0) return "";
  X509Ptr top(sk_X509_value(chain, n - 1));
  X509_up_ref(top.get());
  for (int depth = 0; depth < 16; ++depth) {
    if (X509_check_issued(top.get(), top.get()) == X509_V_OK) break;
    X509* issuer = nullptr;
    if (X509_STORE_CTX_get1_issuer(&issuer, ctx, top.get()) != 1 || issuer == nullptr) break;
    top.reset(issuer);
  }
  ERR_clear_error();
  return subject_of(top.get());
}

// Whether `signer` chains to the trust material at `at` (0: now).
Status check_chain(CMS_ContentInfo* cms, X509* signer, const TrustMaterial& trust, int64_t at,
                   SignatureCheck& check) {
  auto store = trust_store(trust);
  if (!store.ok()) return store.status();
  X509StackPtr untrusted(CMS_get1_certs(cms));
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store->get(), signer, untrusted.get()) != 1) {
    return openssl_failure(Code::kInternal, "cannot set up certificate verification");
  }
  unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;  // a trusted intermediate is an anchor too
  if (!trust.crl_pems.empty()) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  X509_STORE_CTX_set_flags(ctx.get(), flags);
  if (at != 0) X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at));
  X509_STORE_CTX_set_verify_cb(ctx.get(), tolerate_missing_crls);
  if (X509_verify_cert(ctx.get()) == 1) {
    check.status = SignatureStatus::kValid;
    check.anchor = anchor_subject(ctx.get());
    return Status();
  }
  int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  check.detail = X509_verify_cert_error_string(err);
  if (err == X509_V_ERR_CERT_REVOKED) {
    check.status = SignatureStatus::kRevoked;
  } else if (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID) {
    check.status = SignatureStatus::kExpired;
  } else {
    check.status = SignatureStatus::kUnknownSigner;
  }
  return Status();
}

// Checks `cms` (its detached content read from `content`, or the
// encapsulated content when null): first the bytes, then the signer.
Result<SignatureCheck> check_signed_data(CMS_ContentInfo* cms, BIO* content,
                                         const TrustMaterial& trust, int64_t at) {
  SignatureCheck check;
  ERR_clear_error();
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
  check.signing_time = signing_time(si);

  // The signatures alone: CMS_verify's own chain check is replaced by
  // check_chain, which tells expired, revoked and unknown apart.
  int verified =
      CMS_verify(cms, nullptr, nullptr, content, nullptr, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY);
  unsigned long err = verified == 1 ? 0 : ERR_peek_error();
  if (verified != 1 && ERR_GET_REASON(err) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND) {
    check.status = SignatureStatus::kUnknownSigner;
    check.detail = "the signature does not carry its signer's certificate";
    ERR_clear_error();
    return check;
  }
  BorrowedX509StackPtr signer_stack(CMS_get0_signers(cms));
  STACK_OF(X509)* signers = signer_stack.get();
  X509* signer =
      signers != nullptr && sk_X509_num(signers) > 0 ? sk_X509_value(signers, 0) : nullptr;
  if (signer != nullptr) {
    auto info = describe(signer);
    if (!info.ok()) return info.status();
    check.signer = info->subject;
    check.signer_cert = std::move(*info);
  }
  if (verified != 1) {
    check.status = SignatureStatus::kInvalid;
    check.detail = take_openssl_error();
    if (check.detail.empty()) check.detail = "the signature does not verify";
    return check;
  }
  if (signer == nullptr) {
    check.status = SignatureStatus::kUnknownSigner;
    check.detail = "no signer certificate";
    return check;
  }
  for (int i = 0; i < sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)); ++i) {
    if (!signing_cert_attribute_matches(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), i),
                                        sk_X509_value(signers, i))) {
      check.status = SignatureStatus::kInvalid;
      check.detail = "the signing-certificate attribute does not name the signer's certificate";
      return check;
    }
  }
  SENED_RETURN_IF_ERROR(check_chain(cms, signer, trust, at, check));
  return check;
}

}  // namespace

Status check_anchor_pem(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  size_t blocks = 0;
  for (size_t at = pem.find(kBegin); at != std::string_view::npos; at = pem.find(kBegin, at + 1)) {
    ++blocks;
  }
  if (blocks == 0) return invalid_argument("holds no certificate");
  auto certs = parse_certs(std::string(pem));
  if (!certs.ok() || sk_X509_num(certs->get()) != static_cast<int>(blocks)) {
    return invalid_argument("damaged certificate: one of its " + std::to_string(blocks) +
                            " certificate blocks does not parse");
  }
  return Status();
}

std::string_view to_string(SignatureStatus s) {
  switch (s) {
    case SignatureStatus::kValid:
      return "valid";
    case SignatureStatus::kInvalid:
      return "invalid";
    case SignatureStatus::kUnknownSigner:
      return "unknown_signer";
    case SignatureStatus::kExpired:
      return "expired";
    case SignatureStatus::kRevoked:
      return "revoked";
    case SignatureStatus::kNotChecked:
      return "not_checked";
  }
  return "invalid";
}

std::optional<SignatureStatus> parse_signature_status(std::string_view s) {
  for (auto st :
       {SignatureStatus::kValid, SignatureStatus::kInvalid, SignatureStatus::kUnknownSigner,
        SignatureStatus::kExpired, SignatureStatus::kRevoked, SignatureStatus::kNotChecked}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

Result<std::string> sign_attached(std::string_view content, const std::string& key_pem,
                                  const std::string& cert_pem, const std::string& extra_certs_pem) {
  BioPtr in = memory_bio(content);
  return sign(in.get(), key_pem, cert_pem, extra_certs_pem, false);
}

Result<std::string> sign_detached_file(const std::string& content_path, const std::string& key_pem,
                                       const std::string& cert_pem) {
  BioPtr in(BIO_new_file(content_path.c_str(), "rb"));
  if (!in) {
    ERR_clear_error();
    return not_found("cannot open " + content_path);
  }
  return sign(in.get(), key_pem, cert_pem, "", true);
}

Result<std::string> sign_detached(std::string_view content, const std::string& key_pem,
                                  const std::string& cert_pem, const std::string& extra_certs_pem) {
  BioPtr in = memory_bio(content);
  return sign(in.get(), key_pem, cert_pem, extra_certs_pem, true);
}

Result<SignatureCheck> verify_detached(std::string_view signature_der, std::string_view content,
                                       const TrustMaterial& trust, int64_t at) {
  auto cms = parse_signed_data(signature_der);
  if (!cms.ok()) return cms.status();
  if (CMS_is_detached(cms->get()) != 1) {
    return invalid_argument("the signature is not detached: it carries its own content");
  }
  BioPtr in = memory_bio(content);
  return check_signed_data(cms->get(), in.get(), trust, at);
}

Result<SignatureCheck> verify_detached_file(std::string_view signature_der,
                                            const std::string& content_path,
                                            const TrustMaterial& trust, int64_t at) {
  auto cms = parse_signed_data(signature_der);
  if (!cms.ok()) return cms.status();
  if (CMS_is_detached(cms->get()) != 1) {
    return invalid_argument("the signature is not detached: it carries its own content");
  }
  BioPtr in(BIO_new_file(content_path.c_str(), "rb"));
  if (!in) {
    ERR_clear_error();
    return not_found("cannot open " + content_path);
  }
  return check_signed_data(cms->get(), in.get(), trust, at);
}

Result<OpenedSignedData> open_attached(std::string_view der, const TrustMaterial& trust,
                                       int64_t at) {
  auto cms = parse_signed_data(der);
  if (!cms.ok()) return cms.status();
  ASN1_OCTET_STRING** content = CMS_get0_content(cms->get());
  if (content == nullptr || *content == nullptr) {
    return invalid_argument("the signed data has no encapsulated content");
  }
  OpenedSignedData out;
  out.content.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*content)),
                     static_cast<size_t>(ASN1_STRING_length(*content)));
  auto check = check_signed_data(cms->get(), nullptr, trust, at);
  if (!check.ok()) return check.status();
  out.check = std::move(*check);
  return out;
}

}  // namespace sened::crypto
