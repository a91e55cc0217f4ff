// SHA-256 digests and the text encodings used around them (hex, base64).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sened::crypto {

// Incremental SHA-256. Not thread-safe; movable, not copyable.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  // The 32-byte digest. The object may not be updated afterwards.
  std::string finish();

 private:
  void* ctx_;  // EVP_MD_CTX*
};

// 32 raw bytes.
std::string sha256(std::string_view bytes);
// 64 lowercase hex characters.
std::string sha256_hex(std::string_view bytes);
// SHA-256 of a whole file, streamed; lowercase hex.
Result<std::string> sha256_file_hex(const std::string& path);

std::string to_hex(std::string_view bytes);  // lowercase
std::optional<std::string> from_hex(std::string_view hex);
std::string base64_encode(std::string_view bytes);  // standard alphabet, padded
std::optional<std::string> base64_decode(std::string_view text);

// True if `s` is 64 lowercase hex characters.
bool is_sha256_hex(std::string_view s);

}  // namespace sened::crypto
