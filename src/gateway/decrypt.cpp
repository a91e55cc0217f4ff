#include "gateway/decrypt.h"

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/digest.h"
#include "crypto/envelope.h"

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
  if (cert_file.empty() || key_file.empty()) {
    return invalid_argument("an encrypted file needs your certificate and key to open");
  }
  auto cert = read_small_file(cert_file);
  if (!cert.ok()) return cert.status();
  auto key = read_small_file(key_file);
  if (!key.ok()) return key.status();
  SENED_RETURN_IF_ERROR(crypto::decrypt_file(cipher_path, plain_path, *cert, *key));

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

}  // namespace sened::gateway
