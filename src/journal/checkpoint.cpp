#include "journal/checkpoint.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include "crypto/digest.h"
#include "journal/merkle.h"

namespace sened::journal {

namespace {

// ---- Text rules shared by checkpoints, key names and notes ----

// Decodes the code point at s[i] and advances i. False for invalid UTF-8:
// truncated or stray continuation bytes, overlong forms, surrogates, values
// beyond U+10FFFF.
bool next_code_point(std::string_view s, size_t& i, char32_t& cp) {
  auto byte = [&](size_t at) { return static_cast<unsigned char>(s[at]); };
  unsigned char b0 = byte(i);
  size_t len = b0 < 0x80           ? 1
               : (b0 >> 5) == 0x6  ? 2
               : (b0 >> 4) == 0xE  ? 3
               : (b0 >> 3) == 0x1E ? 4
                                   : 0;
  if (len == 0 || i + len > s.size()) return false;
  static constexpr unsigned char kLeadMask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  cp = b0 & kLeadMask[len];
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kSmallest[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += len;
  return true;
}

// Signed notes are UTF-8 with no control character but newline.
bool valid_note_chars(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    if (!next_code_point(s, i, cp)) return false;
    if (cp < 0x20 && cp != '\n') return false;
  }
  return true;
}

// Unicode's White_Space property.
bool is_unicode_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// Base64 that decodes and re-encodes to the same text, so that one value has
// one spelling (no stray bits in the last character).
std::optional<std::string> canonical_base64(std::string_view text) {
  std::optional<std::string> bytes = crypto::base64_decode(text);
  if (!bytes || crypto::base64_encode(*bytes) != text) return std::nullopt;
  return bytes;
}

// Plain decimal: digits only, no leading zero unless the value is 0, no overflow.
std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

// Splits text that ends in a newline into its lines, without the newlines.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  return lines;
}

std::string key_id_bytes(uint32_t id) {
  std::string out(kKeyIdSize, '\0');
  for (size_t i = 0; i < kKeyIdSize; ++i) out[i] = static_cast<char>(id >> (24 - 8 * i));
  return out;
}

uint32_t key_id_from_bytes(std::string_view b) {
  uint32_t id = 0;
  for (size_t i = 0; i < kKeyIdSize; ++i) id = (id << 8) | static_cast<unsigned char>(b[i]);
  return id;
}

// ---- OpenSSL plumbing ----

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Never ask a terminal for a passphrase: an encrypted key simply fails.
int no_passphrase(char*, int, int, void*) { return 0; }

// A failed OpenSSL call leaves errors queued; drop them so that they do not
// surface in an unrelated later call.
Status openssl_failure(Code code, std::string what) {
  ERR_clear_error();
  return {code, std::move(what)};
}

Result<PkeyPtr> read_private_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_failure(Code::kInternal, "cannot allocate a BIO");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) return openssl_failure(Code::kInvalidArgument, "private key PEM does not parse");
  if (!EVP_PKEY_is_a(key.get(), "ED25519")) {
    return invalid_argument("private key is not Ed25519");
  }
  return key;
}

Result<std::string> raw_public_key(EVP_PKEY* key) {
  std::string out(kEd25519PublicKeySize, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kEd25519PublicKeySize) {
    return openssl_failure(Code::kInternal, "cannot read the Ed25519 public key");
  }
  return out;
}

template <typename Write>
Result<std::string> write_pem(Write write, const char* what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return openssl_failure(Code::kInternal, what);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<PkeyPtr> public_key_object(std::string_view raw) {
  if (raw.size() != kEd25519PublicKeySize) {
    return invalid_argument("Ed25519 public key is not 32 bytes");
  }
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(raw), raw.size()));
  if (!key) return openssl_failure(Code::kInvalidArgument, "not an Ed25519 public key");
  return key;
}

bool ed25519_verify(std::string_view public_key_raw, std::string_view message,
                    std::string_view signature) {
  if (signature.size() != kEd25519SignatureSize) return false;
  Result<PkeyPtr> key = public_key_object(public_key_raw);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!key.ok() || !ctx) return false;
  bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) == 1 &&
            EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(), bytes_of(message),
                             message.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

Result<NoteKey> key_from_private(const std::string& name, EVP_PKEY* key) {
  Result<std::string> pem = write_pem(
      [key](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
      },
      "cannot write the private key");
  if (!pem.ok()) return pem.status();
  Result<std::string> pub = raw_public_key(key);
  if (!pub.ok()) return pub.status();
  return NoteKey{name, std::move(*pem), std::move(*pub)};
}

Status check_note_text(std::string_view body) {
  if (body.empty() || body.back() != '\n') {
    return invalid_argument("note text must be non-empty and end in a newline");
  }
  if (!valid_note_chars(body)) {
    return invalid_argument("note text must be UTF-8 without control characters");
  }
  return Status::ok_status();
}

// ---- Signature lines ----

struct SignatureLine {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // after the key id
};

// "— <name> <base64(key id || signature)>" without its newline.
Result<SignatureLine> parse_signature_line(std::string_view line) {
  if (!line.starts_with(kSignatureLineStart)) {
    return invalid_argument("signature line does not start with an em dash and a space");
  }
  line.remove_prefix(kSignatureLineStart.size());
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return invalid_argument("signature line has no signature");
  std::string_view name = line.substr(0, space);
  if (!valid_key_name(name)) return invalid_argument("signature line has an invalid key name");
  std::optional<std::string> blob = canonical_base64(line.substr(space + 1));
  if (!blob || blob->size() <= kKeyIdSize) {
    return invalid_argument("signature line has a malformed signature");
  }
  return SignatureLine{std::string(name), key_id_from_bytes(*blob), blob->substr(kKeyIdSize)};
}

Result<std::vector<SignatureLine>> parse_signature_block(std::string_view block) {
  std::vector<std::string_view> lines = split_lines(block);
  if (lines.empty()) return invalid_argument("note has no signature lines");
  if (lines.size() > kMaxNoteSignatures) return invalid_argument("note has too many signatures");
  std::vector<SignatureLine> out;
  for (std::string_view line : lines) {
    Result<SignatureLine> sig = parse_signature_line(line);
    if (!sig.ok()) return sig.status();
    out.push_back(std::move(*sig));
  }
  return out;
}

const NoteKey* find_verifier(const SignatureLine& sig, const std::vector<NoteKey>& verifiers) {
  for (const NoteKey& v : verifiers) {
    if (v.name == sig.name && note_key_id(v.name, v.public_key_raw) == sig.key_id) return &v;
  }
  return nullptr;
}

}  // namespace

std::string checkpoint_body(const Checkpoint& c) {
  std::string out =
      c.origin + "\n" + std::to_string(c.size) + "\n" + crypto::base64_encode(c.root) + "\n";
  for (const std::string& line : c.extensions) out += line + "\n";
  return out;
}

Result<Checkpoint> parse_checkpoint_body(std::string_view body) {
  SENED_RETURN_IF_ERROR(check_note_text(body).with_context("checkpoint"));
  std::vector<std::string_view> lines = split_lines(body);
  if (lines.size() < 3) return invalid_argument("checkpoint has fewer than three lines");

  Checkpoint c;
  if (lines[0].empty()) return invalid_argument("checkpoint origin is empty");
  c.origin = lines[0];
  std::optional<uint64_t> size = parse_decimal(lines[1]);
  if (!size) return invalid_argument("checkpoint tree size is not plain decimal");
  c.size = *size;
  std::optional<std::string> root = canonical_base64(lines[2]);
  if (!root || root->size() != kMerkleHashSize) {
    return invalid_argument("checkpoint root is not base64 of 32 bytes");
  }
  c.root = std::move(*root);

  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return invalid_argument("checkpoint extension line is empty");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

bool valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size();) {
    char32_t cp;
    if (!next_code_point(name, i, cp)) return false;
    if (cp < 0x20 || cp == '+' || is_unicode_space(cp)) return false;
  }
  return true;
}

uint32_t note_key_id(const std::string& name, std::string_view public_key_raw) {
  crypto::Sha256 h;
  h.update(name);
  h.update("\n");
  h.update(std::string_view(&kEd25519SignatureType, 1));
  h.update(public_key_raw);
  return key_id_from_bytes(h.finish());
}

Result<NoteKey> make_note_key(const std::string& name) {
  if (!valid_key_name(name)) return invalid_argument("invalid note key name");
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return openssl_failure(Code::kInternal, "cannot generate an Ed25519 key");
  return key_from_private(name, key.get());
}

Result<NoteKey> load_note_key(const std::string& name, const std::string& private_key_pem) {
  if (!valid_key_name(name)) return invalid_argument("invalid note key name");
  Result<PkeyPtr> key = read_private_key(private_key_pem);
  if (!key.ok()) return key.status();
  return key_from_private(name, key->get());
}

Result<std::string> public_key_pem(const NoteKey& key) {
  Result<PkeyPtr> pub = public_key_object(key.public_key_raw);
  if (!pub.ok()) return pub.status();
  EVP_PKEY* raw = pub->get();
  return write_pem([raw](BIO* bio) { return PEM_write_bio_PUBKEY(bio, raw); },
                   "cannot write the public key");
}

std::string verifier_key_string(const NoteKey& key) {
  char id[9];
  std::snprintf(id, sizeof id, "%08x", note_key_id(key.name, key.public_key_raw));
  return key.name + "+" + id + "+" +
         crypto::base64_encode(std::string(1, kEd25519SignatureType) + key.public_key_raw);
}

Result<NoteKey> parse_log_key(std::string_view text, const std::string& pem_name) {
  std::string value(text);
  size_t begin = value.find("-----BEGIN PUBLIC KEY-----");
  size_t other = value.find("-----BEGIN ");
  if (begin == std::string::npos && other != std::string::npos) {
    size_t label = other + 11;
    size_t end = value.find("-----", label);
    return invalid_argument("a PEM " +
                            value.substr(label, end == std::string::npos ? 0 : end - label) +
                            " was given, not an Ed25519 PUBLIC KEY");
  }
  if (begin == std::string::npos) {
    while (!value.empty() &&
           (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
      value.pop_back();
    }
    return parse_verifier_key(value);
  }
  // An Ed25519 SubjectPublicKeyInfo is a fixed 12-byte header and the key.
  size_t a = value.find('\n', begin) + 1;
  size_t b = value.find("-----END", a);
  std::string b64;
  for (char ch : value.substr(a, b == std::string::npos ? 0 : b - a)) {
    if (ch != '\n' && ch != '\r') b64 += ch;
  }
  auto der = crypto::base64_decode(b64);
  if (!der || der->size() != 44) return invalid_argument("not an Ed25519 public key");
  return NoteKey{pem_name, "", der->substr(12)};
}

Result<NoteKey> parse_verifier_key(std::string_view vkey) {
  // The name has no '+', the id is 8 hex digits; the base64 key may hold '+'.
  size_t first = vkey.find('+');
  if (first == std::string_view::npos) return invalid_argument("verifier key has no '+'");
  std::string name(vkey.substr(0, first));
  if (!valid_key_name(name)) return invalid_argument("verifier key has an invalid name");
  std::string_view rest = vkey.substr(first + 1);
  std::optional<std::string> id = crypto::from_hex(rest.substr(0, 2 * kKeyIdSize));
  if (rest.size() < 2 * kKeyIdSize + 1 || !id || rest[2 * kKeyIdSize] != '+') {
    return invalid_argument("verifier key id is not 8 hex digits");
  }

  std::optional<std::string> data = canonical_base64(rest.substr(2 * kKeyIdSize + 1));
  if (!data || data->empty()) return invalid_argument("verifier key data is not base64");
  if ((*data)[0] != kEd25519SignatureType) {
    return invalid_argument("verifier key is not an Ed25519 key");
  }
  std::string pub = data->substr(1);
  if (pub.size() != kEd25519PublicKeySize) return invalid_argument("Ed25519 key is not 32 bytes");
  if (note_key_id(name, pub) != key_id_from_bytes(*id)) {
    return invalid_argument("verifier key id does not match its name and key");
  }
  return NoteKey{std::move(name), "", std::move(pub)};
}

Result<std::string> raw_signature(std::string_view body, const NoteKey& key) {
  SENED_RETURN_IF_ERROR(check_note_text(body));
  if (!valid_key_name(key.name)) return invalid_argument("invalid note key name");
  if (key.private_key_pem.empty()) return invalid_argument("note key has no private key");
  Result<PkeyPtr> pkey = read_private_key(key.private_key_pem);
  if (!pkey.ok()) return pkey.status();
  // The key id is computed from public_key_raw: it must be this key's.
  Result<std::string> pub = raw_public_key(pkey->get());
  if (!pub.ok()) return pub.status();
  if (*pub != key.public_key_raw) return invalid_argument("note key halves do not match");

  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SignatureSize, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey->get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes_of(body),
                     body.size()) != 1 ||
      len != kEd25519SignatureSize) {
    return openssl_failure(Code::kInternal, "Ed25519 signing failed");
  }
  return sig;
}

Result<std::string> sign_note(std::string_view body, const NoteKey& key) {
  Result<std::string> sig = raw_signature(body, key);
  if (!sig.ok()) return sig.status();
  std::string blob = key_id_bytes(note_key_id(key.name, key.public_key_raw)) + *sig;
  return std::string(body) + "\n" + std::string(kSignatureLineStart) + key.name + " " +
         crypto::base64_encode(blob) + "\n";
}

Result<VerifiedNote> open_note(std::string_view note, const std::vector<NoteKey>& verifiers) {
  for (const NoteKey& v : verifiers) {
    if (v.public_key_raw.size() != kEd25519PublicKeySize) {
      return invalid_argument("verifier " + v.name + " has no 32-byte public key");
    }
  }
  SENED_RETURN_IF_ERROR(check_note_text(note).with_context("signed note"));

  // The text ends at the last blank line; signature lines follow it.
  size_t blank = note.rfind("\n\n");
  if (blank == std::string_view::npos) return invalid_argument("signed note has no blank line");
  std::string_view body = note.substr(0, blank + 1);
  Result<std::vector<SignatureLine>> sigs = parse_signature_block(note.substr(blank + 2));
  if (!sigs.ok()) return sigs.status();

  VerifiedNote out{std::string(body), {}};
  for (const SignatureLine& sig : *sigs) {
    const NoteKey* v = find_verifier(sig, verifiers);
    if (v == nullptr) continue;  // an unknown signer: ignored by the spec's rule
    if (!ed25519_verify(v->public_key_raw, body, sig.signature)) {
      return permission_denied("signature by " + v->name + " does not verify");
    }
    if (std::find(out.verified_by.begin(), out.verified_by.end(), v->name) ==
        out.verified_by.end()) {
      out.verified_by.push_back(v->name);
    }
  }
  if (out.verified_by.empty()) return permission_denied("note is not signed by a known key");
  return out;
}

std::optional<std::string> signature_line_key_name(std::string_view line) {
  if (!line.starts_with(kSignatureLineStart) || !line.ends_with('\n')) return std::nullopt;
  line.remove_prefix(kSignatureLineStart.size());
  line.remove_suffix(1);
  size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  std::string_view sig = line.substr(space + 1);
  auto raw = crypto::base64_decode(sig);
  if (!raw || raw->size() < kKeyIdSize + 1 || sig.find(' ') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string name(line.substr(0, space));
  if (!valid_key_name(name)) return std::nullopt;
  return name;
}

}  // namespace sened::journal
