#include "crypto/envelope.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace sened::crypto {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CmsFree {
  void operator()(CMS_ContentInfo* c) const { CMS_ContentInfo_free(c); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cms = std::unique_ptr<CMS_ContentInfo, CmsFree>;
using CertStack = std::unique_ptr<STACK_OF(X509), StackFree>;

// OpenSSL's most recent error reason, and the queue cleared.
std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  std::string reason;
  if (e != 0) {
    const char* r = ERR_reason_error_string(e);
    reason = r ? r : "error " + std::to_string(e);
  }
  ERR_clear_error();
  return reason.empty() ? "unknown OpenSSL error" : reason;
}

Bio memory_of(std::string_view bytes) {
  return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string contents_of(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

// Every certificate of every PEM text, in order.
Result<CertStack> parse_certs(const std::vector<std::string>& pems) {
  CertStack certs(sk_X509_new_null());
  for (size_t i = 0; i < pems.size(); ++i) {
    Bio bio = memory_of(pems[i]);
    int found = 0;
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      sk_X509_push(certs.get(), x);
      ++found;
    }
    ERR_clear_error();  // the loop ends on "no start line"
    if (found == 0) {
      return invalid_argument("recipient certificate " + std::to_string(i) + " does not parse");
    }
  }
  if (sk_X509_num(certs.get()) == 0) return invalid_argument("no recipient certificate");
  return certs;
}

// One chunk of plaintext as one DER AuthEnvelopedData.
Result<std::string> encrypt_chunk(std::string_view plain, STACK_OF(X509) * certs) {
  Cms cms(CMS_encrypt_ex(nullptr, nullptr, EVP_aes_256_gcm(), CMS_BINARY | CMS_PARTIAL, nullptr,
                         nullptr));
  if (!cms) return internal_error("CMS_encrypt: " + openssl_reason());
  for (int i = 0; i < sk_X509_num(certs); ++i) {
    // CMS_KEY_PARAM leaves the key agreement context open to set the KDF.
    CMS_RecipientInfo* ri =
        CMS_add1_recipient_cert(cms.get(), sk_X509_value(certs, i), CMS_KEY_PARAM);
    if (ri == nullptr) {
      return invalid_argument("recipient certificate " + std::to_string(i) +
                              " cannot receive encrypted data: " + openssl_reason());
    }
    if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE) {
      EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
      if (pctx == nullptr || EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0) {
        return internal_error("cannot set the SHA-256 KDF: " + openssl_reason());
      }
    }
  }
  Bio in = memory_of(plain);
  if (CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) != 1) {
    return internal_error("CMS_final: " + openssl_reason());
  }
  Bio out(BIO_new(BIO_s_mem()));
  if (i2d_CMS_bio(out.get(), cms.get()) != 1) return internal_error("i2d_CMS: " + openssl_reason());
  return contents_of(out.get());
}

// Reads up to `n` bytes; fewer only at the end of the stream.
std::string read_some(std::istream& in, size_t n) {
  std::string buf(n, '\0');
  in.read(buf.data(), static_cast<std::streamsize>(n));
  buf.resize(static_cast<size_t>(in.gcount()));
  return buf;
}

// The next whole DER object of the stream; empty at a clean end. The length
// is read from the DER header and checked before the body is read.
Result<std::string> next_chunk(std::istream& in, int index) {
  std::string where = "chunk " + std::to_string(index);
  std::string head = read_some(in, 2);
  if (head.empty()) return std::string();
  if (head.size() < 2 || static_cast<unsigned char>(head[0]) != 0x30) {
    return invalid_argument(where + ": not a DER CMS object");
  }
  size_t length = static_cast<unsigned char>(head[1]);
  if (length & 0x80) {
    size_t n = length & 0x7f;
    if (n == 0 || n > 4) return invalid_argument(where + ": unsupported DER length");
    std::string bytes = read_some(in, n);
    if (bytes.size() != n) return invalid_argument(where + ": truncated");
    head += bytes;
    length = 0;
    for (unsigned char c : bytes) length = (length << 8) | c;
  }
  if (length + head.size() > kMaxEnvelopeChunkDer) {
    return invalid_argument(where + ": larger than " + std::to_string(kMaxEnvelopeChunkDer) +
                            " bytes");
  }
  std::string body = read_some(in, length);
  if (body.size() != length) return invalid_argument(where + ": truncated");
  return head + body;
}

// True if one of the recipient infos of `cms` names `cert`.
bool addressed_to(CMS_ContentInfo* cms, X509* cert) {
  STACK_OF(CMS_RecipientInfo)* ris = CMS_get0_RecipientInfos(cms);
  for (int i = 0; ris && i < sk_CMS_RecipientInfo_num(ris); ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(ris, i);
    if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS &&
        CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0) {
      return true;
    }
    if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_AGREE) continue;
    STACK_OF(CMS_RecipientEncryptedKey)* reks = CMS_RecipientInfo_kari_get0_reks(ri);
    for (int j = 0; reks && j < sk_CMS_RecipientEncryptedKey_num(reks); ++j) {
      if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, j), cert) ==
          0) {
        return true;
      }
    }
  }
  ERR_clear_error();
  return false;
}

Status decrypt_chunk(const std::string& der, int index, X509* cert, EVP_PKEY* key,
                     std::ostream& out) {
  std::string where = "chunk " + std::to_string(index);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return invalid_argument(where + ": not a CMS object");
  }
  // Only authenticated encryption: plain EnvelopedData could be altered unseen.
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_id_smime_ct_authEnvelopedData) {
    return invalid_argument(where + ": not CMS AuthEnvelopedData");
  }
  if (!addressed_to(cms.get(), cert)) {
    return permission_denied(where + ": not encrypted to this certificate");
  }
  Bio plain(BIO_new(BIO_s_mem()));
  if (CMS_decrypt(cms.get(), key, cert, nullptr, plain.get(), CMS_BINARY) != 1) {
    return invalid_argument(where + ": decryption failed, the chunk is damaged or altered (" +
                            openssl_reason() + ")");
  }
  std::string bytes = contents_of(plain.get());
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return out ? Status() : unavailable("cannot write the decrypted data");
}

Result<std::pair<X509Ptr, Pkey>> load_recipient(const std::string& cert_pem,
                                                const std::string& key_pem) {
  Bio cb = memory_of(cert_pem);
  X509Ptr cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return invalid_argument("the certificate does not parse");
  }
  Bio kb = memory_of(key_pem);
  Pkey key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return invalid_argument("the private key does not parse");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return invalid_argument("the private key does not belong to the certificate");
  }
  return std::make_pair(std::move(cert), std::move(key));
}

Status fsync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return unavailable("cannot open " + path);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status() : unavailable("cannot fsync " + path);
}

// Runs `write` into a temporary file beside `out_path`, renamed into place
// only if it succeeds.
template <typename Write>
Status write_through_temp(const std::string& in_path, const std::string& out_path, Write write) {
  std::ifstream in(in_path, std::ios::binary);
  if (!in) return unavailable("cannot read " + in_path);
  std::string temp = out_path + ".part";
  Status st;
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return unavailable("cannot write " + temp);
    st = write(in, out);
    out.flush();
    if (st.ok() && !out) st = unavailable("cannot write " + temp);
    if (st.ok() && in.bad()) st = unavailable("cannot read " + in_path);
  }
  // The rename must not publish bytes that a crash could still lose.
  if (st.ok()) st = fsync_file(temp);
  std::error_code ec;
  if (st.ok()) std::filesystem::rename(temp, out_path, ec);
  if (st.ok() && ec) st = unavailable("cannot rename into " + out_path + ": " + ec.message());
  if (!st.ok()) std::filesystem::remove(temp, ec);
  return st;
}

}  // namespace

bool is_encrypted_media_type(std::string_view media_type) {
  std::string lower(media_type);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string compact;
  for (char c : lower) {
    if (c != ' ' && c != '\t' && c != '"') compact += c;
  }
  return compact.rfind("application/pkcs7-mime;", 0) == 0 &&
         compact.find(";smime-type=authenveloped-data") != std::string::npos;
}

bool starts_with_envelope_chunk(std::string_view bytes) {
  std::istringstream in{std::string(bytes.substr(0, kMaxEnvelopeChunkDer))};
  auto der = next_chunk(in, 0);
  if (!der.ok() || der->empty()) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der->size())));
  bool enveloped =
      cms && OBJ_obj2nid(CMS_get0_type(cms.get())) == NID_id_smime_ct_authEnvelopedData;
  ERR_clear_error();
  return enveloped;
}

Status encrypt_stream(std::istream& in, std::ostream& out,
                      const std::vector<std::string>& cert_pems, size_t chunk_size) {
  if (chunk_size == 0 || chunk_size > kEnvelopeChunkSize) {
    return invalid_argument("chunk size out of range");
  }
  auto certs = parse_certs(cert_pems);
  if (!certs.ok()) return certs.status();
  // An empty input still gives one chunk, so every encrypted file has one.
  bool first = true;
  while (true) {
    std::string plain = read_some(in, chunk_size);
    if (plain.empty() && !first) break;
    first = false;
    auto der = encrypt_chunk(plain, certs->get());
    if (!der.ok()) return der.status();
    out.write(der->data(), static_cast<std::streamsize>(der->size()));
    if (!out) return unavailable("cannot write the encrypted data");
    if (plain.size() < chunk_size) break;
  }
  return in.bad() ? unavailable("cannot read the data to encrypt") : Status();
}

Status decrypt_stream(std::istream& in, std::ostream& out, const std::string& cert_pem,
                      const std::string& key_pem) {
  auto recipient = load_recipient(cert_pem, key_pem);
  if (!recipient.ok()) return recipient.status();
  for (int index = 0;; ++index) {
    auto der = next_chunk(in, index);
    if (!der.ok()) return der.status();
    if (der->empty()) {
      if (index == 0) return invalid_argument("not an encrypted file: it is empty");
      return in.bad() ? unavailable("cannot read the encrypted data") : Status();
    }
    SENED_RETURN_IF_ERROR(
        decrypt_chunk(*der, index, recipient->first.get(), recipient->second.get(), out));
  }
}

Status encrypt_file(const std::string& in_path, const std::string& out_path,
                    const std::vector<std::string>& cert_pems) {
  return write_through_temp(in_path, out_path, [&](std::istream& in, std::ostream& out) {
    return encrypt_stream(in, out, cert_pems);
  });
}

Status decrypt_file(const std::string& in_path, const std::string& out_path,
                    const std::string& cert_pem, const std::string& key_pem) {
  return write_through_temp(in_path, out_path, [&](std::istream& in, std::ostream& out) {
    return decrypt_stream(in, out, cert_pem, key_pem);
  });
}

Result<std::string> encrypt_bytes(const std::string& plaintext,
                                  const std::vector<std::string>& cert_pems, size_t chunk_size) {
  std::istringstream in(plaintext);
  std::ostringstream out;
  SENED_RETURN_IF_ERROR(encrypt_stream(in, out, cert_pems, chunk_size));
  return out.str();
}

Result<std::string> decrypt_bytes(const std::string& ciphertext, const std::string& cert_pem,
                                  const std::string& key_pem) {
  std::istringstream in(ciphertext);
  std::ostringstream out;
  SENED_RETURN_IF_ERROR(decrypt_stream(in, out, cert_pem, key_pem));
  return out.str();
}

}  // namespace sened::crypto
