#include "crypto/timestamp.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include <cstring>
#include <ctime>
#include <memory>

#include "crypto/digest.h"

namespace sened::crypto {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

using TsReq = Owned<TS_REQ, TS_REQ_free>;
using TsResp = Owned<TS_RESP, TS_RESP_free>;
using TsMsgImprint = Owned<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free>;
using TsTstInfo = Owned<TS_TST_INFO, TS_TST_INFO_free>;
using TsVerifyCtx = Owned<TS_VERIFY_CTX, TS_VERIFY_CTX_free>;
using Algor = Owned<X509_ALGOR, X509_ALGOR_free>;
using Asn1Int = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using Bignum = Owned<BIGNUM, BN_free>;
using Pkcs7 = Owned<PKCS7, PKCS7_free>;
using Store = Owned<X509_STORE, X509_STORE_free>;

constexpr size_t kNonceBytes = 8;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Drops OpenSSL's queued errors so they do not leak into a later call.
Status openssl_error(Code code, std::string what) {
  unsigned long e = ERR_peek_last_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    what += " (" + std::string(buf) + ")";
  }
  ERR_clear_error();
  return Status(code, std::move(what));
}

template <typename T, int (*I2d)(const T*, unsigned char**)>
std::string to_der(const T* value) {
  int len = I2d(value, nullptr);
  if (len <= 0) return {};
  std::string out(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  I2d(value, &p);
  return out;
}

std::string integer_bytes(const ASN1_INTEGER* n) {
  Bignum bn(ASN1_INTEGER_to_BN(n, nullptr));
  if (!bn) return {};
  std::string out(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

Result<TimestampToken> describe(PKCS7* token, TS_TST_INFO* tst) {
  TimestampToken out;
  out.der = to_der<PKCS7, i2d_PKCS7>(token);
  struct tm tm {};
  if (ASN1_TIME_to_tm(TS_TST_INFO_get_time(tst), &tm) != 1) {
    return openssl_error(Code::kInvalidArgument, "time stamp has an unreadable genTime");
  }
  out.gen_time = static_cast<int64_t>(timegm(&tm));
  out.serial = to_hex(integer_bytes(TS_TST_INFO_get_serial(tst)));
  return out;
}

// The token must state a SHA-256 imprint equal to `digest`.
Status check_imprint_algorithm(TS_TST_INFO* tst) {
  X509_ALGOR* algo = TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(tst));
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, algo);
  if (oid == nullptr || OBJ_obj2nid(oid) != NID_sha256) {
    return invalid_argument("time stamp imprint is not SHA-256");
  }
  return Status::ok_status();
}

// Signature (chaining to `ca_file`, timeStamping purpose), version and imprint.
Status verify_token(PKCS7* token, TS_TST_INFO* tst, std::string_view digest,
                    const std::string& ca_file) {
  SENED_RETURN_IF_ERROR(check_imprint_algorithm(tst));
  Store store(X509_STORE_new());
  if (!store || X509_STORE_load_file(store.get(), ca_file.c_str()) != 1) {
    return openssl_error(Code::kInvalidArgument, "cannot read the TSA CA file " + ca_file);
  }
  TsVerifyCtx ctx(TS_VERIFY_CTX_new());
  auto* imprint = static_cast<unsigned char*>(OPENSSL_malloc(digest.size()));
  if (!ctx || imprint == nullptr) {
    OPENSSL_free(imprint);
    return internal_error("out of memory");
  }
  std::memcpy(imprint, digest.data(), digest.size());
  TS_VERIFY_CTX_set_imprint(ctx.get(), imprint, static_cast<long>(digest.size()));  // owns it
  TS_VERIFY_CTX_set_store(ctx.get(), store.release());                              // owns it
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_SIGNATURE | TS_VFY_VERSION | TS_VFY_IMPRINT);
  if (TS_RESP_verify_token(ctx.get(), token) != 1) {
    // Tell a wrong imprint (other bytes) from a bad signature.
    ASN1_OCTET_STRING* have = TS_MSG_IMPRINT_get_msg(TS_TST_INFO_get_msg_imprint(tst));
    std::string_view stated(reinterpret_cast<const char*>(ASN1_STRING_get0_data(have)),
                            static_cast<size_t>(ASN1_STRING_length(have)));
    if (stated != digest) {
      ERR_clear_error();
      return invalid_argument("time stamp is for other bytes");
    }
    return openssl_error(Code::kPermissionDenied, "time stamp does not verify");
  }
  return Status::ok_status();
}

}  // namespace

Result<TimestampRequest> make_timestamp_request(std::string_view message) {
  TimestampRequest out;
  out.digest = sha256(message);

  Algor algo(X509_ALGOR_new());
  TsMsgImprint imprint(TS_MSG_IMPRINT_new());
  TsReq req(TS_REQ_new());
  if (!algo || !imprint || !req) return internal_error("out of memory");
  X509_ALGOR_set0(algo.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr);
  unsigned char raw[kNonceBytes];
  if (RAND_bytes(raw, sizeof raw) != 1) return openssl_error(Code::kInternal, "no randomness");
  raw[0] = static_cast<unsigned char>((raw[0] & 0x7F) | 0x40);  // positive, full width
  Bignum bn(BN_bin2bn(raw, sizeof raw, nullptr));
  Asn1Int nonce(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!nonce || TS_REQ_set_version(req.get(), 1) != 1 ||
      TS_MSG_IMPRINT_set_algo(imprint.get(), algo.get()) != 1 ||
      TS_MSG_IMPRINT_set_msg(imprint.get(), const_cast<unsigned char*>(bytes_of(out.digest)),
                             static_cast<int>(out.digest.size())) != 1 ||
      TS_REQ_set_msg_imprint(req.get(), imprint.get()) != 1 ||
      TS_REQ_set_nonce(req.get(), nonce.get()) != 1 || TS_REQ_set_cert_req(req.get(), 1) != 1) {
    return openssl_error(Code::kInternal, "cannot build the time stamp request");
  }
  out.nonce = std::string(reinterpret_cast<const char*>(raw), sizeof raw);
  out.der = to_der<TS_REQ, i2d_TS_REQ>(req.get());
  if (out.der.empty()) return openssl_error(Code::kInternal, "cannot encode the request");
  return out;
}

Result<TimestampToken> accept_timestamp_reply(std::string_view reply_der,
                                              const TimestampRequest& request,
                                              const std::string& ca_file) {
  const unsigned char* p = bytes_of(reply_der);
  TsResp resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(reply_der.size())));
  if (!resp || p != bytes_of(reply_der) + reply_der.size()) {
    return openssl_error(Code::kInvalidArgument, "time stamp reply does not parse");
  }
  long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp.get())));
  if (status != 0 && status != 1) {  // granted, grantedWithMods
    return unavailable("TSA refused the request, status " + std::to_string(status));
  }
  PKCS7* token = TS_RESP_get_token(resp.get());
  TS_TST_INFO* tst = TS_RESP_get_tst_info(resp.get());
  if (token == nullptr || tst == nullptr) return invalid_argument("time stamp reply has no token");

  const ASN1_INTEGER* nonce = TS_TST_INFO_get_nonce(tst);
  if (nonce == nullptr || integer_bytes(nonce) != request.nonce) {
    return invalid_argument("time stamp reply is not for this request (nonce)");
  }
  SENED_RETURN_IF_ERROR(verify_token(token, tst, request.digest, ca_file));
  return describe(token, tst);
}

Result<TimestampToken> verify_timestamp_token(std::string_view token_der, std::string_view message,
                                              const std::string& ca_file) {
  const unsigned char* p = bytes_of(token_der);
  Pkcs7 token(d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
  if (!token || p != bytes_of(token_der) + token_der.size()) {
    return openssl_error(Code::kInvalidArgument, "time stamp token does not parse");
  }
  TsTstInfo tst(PKCS7_to_TS_TST_INFO(token.get()));
  if (!tst) return openssl_error(Code::kInvalidArgument, "time stamp token has no TSTInfo");
  SENED_RETURN_IF_ERROR(verify_token(token.get(), tst.get(), sha256(message), ca_file));
  return describe(token.get(), tst.get());
}

}  // namespace sened::crypto
