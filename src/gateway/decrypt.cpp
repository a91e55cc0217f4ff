#include "gateway/decrypt.h"

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/digest.h"
#include "crypto/envelope.h"
#include "gateway/durable.h"

namespace sened::gateway {
namespace json = boost::json;

namespace {

Result<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unavailable("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Decrypts `in_path` into `out_path` with the key and certificate files.
Status decrypt_with_own_key(const std::string& in_path, const std::string& out_path,
                            const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return invalid_argument("an encrypted file needs your certificate and key to open");
  }
  auto cert = read_small_file(cert_file);
  if (!cert.ok()) return cert.status();
  auto key = read_small_file(key_file);
  if (!key.ok()) return key.status();
  return crypto::decrypt_file(in_path, out_path, *cert, *key);
}

}  // namespace

bool is_encrypted_entry(const json::object& file) {
  if (const json::value* v = file.if_contains("encrypted"); v && v->is_bool() && v->as_bool()) {
    return true;
  }
  const json::value* type = file.if_contains("media_type");
  return type && type->is_string() && crypto::is_encrypted_media_type(type->as_string());
}

Status decrypt_received_file(const std::string& cipher_path, const std::string& plain_path,
                             const std::string& cert_file, const std::string& key_file,
                             json::object& file) {
  SENED_RETURN_IF_ERROR(decrypt_with_own_key(cipher_path, plain_path, cert_file, key_file));

  auto digest = crypto::sha256_file_hex(plain_path);
  if (!digest.ok()) return digest.status();
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(plain_path, ec);
  std::filesystem::remove(cipher_path, ec);
  file["decrypted"] = true;
  file["plaintext_sha256"] = *digest;
  file["plaintext_size"] = size;
  return Status();
}

Status open_received_signature(const std::string& received_path, const std::string& sig_path,
                               const std::string& cert_file, const std::string& key_file,
                               json::object& file) {
  auto bytes = read_small_file(received_path);
  if (!bytes.ok()) return bytes.status();
  if (!crypto::starts_with_envelope_chunk(*bytes)) return rename_durably(received_path, sig_path);

  Status st = decrypt_with_own_key(received_path, sig_path, cert_file, key_file);
  if (st.code() == Code::kUnavailable) return st;
  if (!st.ok()) {
    file["signature_status"] = crypto::to_string(crypto::SignatureStatus::kInvalid);
    file["signer"] = "";
    file["signature_error"] = st.to_string();
    return Status();
  }
  std::error_code ec;
  std::filesystem::remove(received_path, ec);
  file["signature_decrypted"] = true;
  return Status();
}

Result<crypto::TrustMaterial> recipient_trust(const std::string& ca_file,
                                              const std::string& trust_file) {
  crypto::TrustMaterial trust;
  auto ca = read_small_file(ca_file);
  if (!ca.ok()) return ca.status();
  trust.ca_pems.push_back(std::move(*ca));
  if (trust_file.empty()) return trust;
  auto extra = read_small_file(trust_file);
  if (!extra.ok()) return extra.status();
  // One PEM file may hold both; each reader skips the other's blocks.
  bool certs = extra->find("-----BEGIN CERTIFICATE-----") != std::string::npos;
  bool crls = extra->find("-----BEGIN X509 CRL-----") != std::string::npos;
  if (!certs && !crls) {
    return invalid_argument(trust_file + " holds no PEM certificate or CRL");
  }
  if (certs) trust.ca_pems.push_back(*extra);
  if (crls) trust.crl_pems.push_back(*extra);
  return trust;
}

Result<crypto::SignatureCheck> verify_decrypted_signature(const std::string& plain_path,
                                                          const std::string& signature_path,
                                                          const crypto::TrustMaterial& trust,
                                                          json::object& file) {
  auto der = read_small_file(signature_path);
  if (!der.ok()) return der.status();
  auto check = crypto::verify_detached_file(*der, plain_path, trust);
  crypto::SignatureCheck out;
  if (check.ok()) {
    out = std::move(*check);
  } else {
    out.detail = check.status().message();  // status stays invalid
  }
  file["signature_status"] = crypto::to_string(out.status);
  file["signer"] = out.signer;
  return out;
}

}  // namespace sened::gateway
