// Fuzz target for the reader of encrypted files (chunked CMS
// AuthEnvelopedData): whatever the bytes, decrypting must fail cleanly or
// succeed, never crash or read past a chunk's declared length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "crypto/envelope.h"
#include "crypto/pki.h"

namespace {

const sened::crypto::KeyAndCert& recipient() {
  static const sened::crypto::KeyAndCert who = [] {
    auto ca = sened::crypto::make_ca("Fuzz CA", "Sened", 30);
    if (!ca.ok()) std::abort();
    auto c = sened::crypto::issue_client_cert(*ca, "fuzz", "Sened", 30);
    if (!c.ok()) std::abort();
    return *c;
  }();
  return who;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  (void)sened::crypto::decrypt_bytes(input, recipient().cert_pem, recipient().key_pem);
  return 0;
}
