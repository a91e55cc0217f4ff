#include "journal/cosignature.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include "crypto/digest.h"

namespace sened::journal {

namespace {

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

uint64_t read_be(std::string_view b, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

std::string write_be(uint64_t v, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[n - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

// Base64 with exactly one spelling per value.
std::optional<std::string> canonical_base64(std::string_view text) {
  std::optional<std::string> bytes = crypto::base64_decode(text);
  if (!bytes || crypto::base64_encode(*bytes) != text) return std::nullopt;
  return bytes;
}

bool ed25519_verify(std::string_view public_key_raw, std::string_view message,
                    std::string_view signature) {
  if (signature.size() != kEd25519SignatureSize) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(public_key_raw),
                                  public_key_raw.size()),
      &EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  bool ok = key && ctx &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(), bytes_of(message),
                             message.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

struct ParsedLine {
  std::string name;
  uint32_t key_id = 0;
  std::string blob;  // everything after the key id
};

Result<ParsedLine> parse_line(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.starts_with(kSignatureLineStart)) {
    return invalid_argument("signature line does not start with an em dash and a space");
  }
  line.remove_prefix(kSignatureLineStart.size());
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return invalid_argument("signature line has no signature");
  std::string name(line.substr(0, space));
  if (!valid_key_name(name)) return invalid_argument("signature line has an invalid key name");
  std::optional<std::string> blob = canonical_base64(line.substr(space + 1));
  if (!blob || blob->size() <= kKeyIdSize) {
    return invalid_argument("signature line has a malformed signature");
  }
  auto id = static_cast<uint32_t>(read_be(*blob, kKeyIdSize));
  return ParsedLine{std::move(name), id, blob->substr(kKeyIdSize)};
}

Status check_witness_keys(const std::vector<NoteKey>& witnesses) {
  for (const NoteKey& w : witnesses) {
    if (w.public_key_raw.size() != kEd25519PublicKeySize) {
      return invalid_argument("witness " + w.name + " has no 32-byte public key");
    }
  }
  return Status::ok_status();
}

}  // namespace

uint32_t cosignature_key_id(const std::string& name, std::string_view public_key_raw) {
  crypto::Sha256 h;
  h.update(name);
  h.update("\n");
  h.update(std::string_view(&kCosignatureV1Type, 1));
  h.update(public_key_raw);
  return static_cast<uint32_t>(read_be(h.finish(), kKeyIdSize));
}

std::string witness_verifier_key_string(const NoteKey& key) {
  char id[9];
  std::snprintf(id, sizeof id, "%08x", cosignature_key_id(key.name, key.public_key_raw));
  return key.name + "+" + id + "+" +
         crypto::base64_encode(std::string(1, kCosignatureV1Type) + key.public_key_raw);
}

Result<NoteKey> parse_witness_verifier_key(std::string_view vkey) {
  // The name has no '+'; the base64 key data may.
  size_t first = vkey.find('+');
  if (first == std::string_view::npos) return invalid_argument("witness key has no '+'");
  std::string name(vkey.substr(0, first));
  if (!valid_key_name(name)) return invalid_argument("witness key has an invalid name");
  std::string_view rest = vkey.substr(first + 1);
  constexpr size_t kHex = 2 * kKeyIdSize;
  std::optional<std::string> id = crypto::from_hex(rest.substr(0, kHex));
  if (rest.size() < kHex + 1 || !id || rest[kHex] != '+') {
    return invalid_argument("witness key id is not 8 hex digits");
  }

  std::optional<std::string> data = canonical_base64(rest.substr(kHex + 1));
  if (!data || data->empty()) return invalid_argument("witness key data is not base64");
  if ((*data)[0] != kCosignatureV1Type) {
    return invalid_argument("witness key is not an Ed25519 cosignature/v1 key (type 0x04)");
  }
  std::string pub = data->substr(1);
  if (pub.size() != kEd25519PublicKeySize) return invalid_argument("Ed25519 key is not 32 bytes");
  if (cosignature_key_id(name, pub) != read_be(*id, kKeyIdSize)) {
    return invalid_argument("witness key id does not match its name and key");
  }
  return NoteKey{std::move(name), "", std::move(pub)};
}

std::string cosigned_message(std::string_view checkpoint_body, uint64_t time) {
  std::string msg(kCosignatureV1Header);
  msg += "time " + std::to_string(time) + "\n";
  msg += checkpoint_body;
  return msg;
}

Result<std::string> make_cosignature_line(std::string_view checkpoint_body, const NoteKey& witness,
                                          uint64_t time) {
  if (time > kMaxCosignatureTime) return invalid_argument("cosignature time is too large");
  if (checkpoint_body.empty() || checkpoint_body.back() != '\n') {
    return invalid_argument("checkpoint body must end in a newline");
  }
  Result<std::string> sig = raw_signature(cosigned_message(checkpoint_body, time), witness);
  if (!sig.ok()) return sig.status();
  std::string blob =
      write_be(cosignature_key_id(witness.name, witness.public_key_raw), kKeyIdSize) +
      write_be(time, kCosignatureTimeSize) + *sig;
  return std::string(kSignatureLineStart) + witness.name + " " + crypto::base64_encode(blob) + "\n";
}

Result<uint64_t> verify_cosignature_line(std::string_view line, std::string_view checkpoint_body,
                                         const NoteKey& witness) {
  SENED_RETURN_IF_ERROR(check_witness_keys({witness}));
  Result<ParsedLine> parsed = parse_line(line);
  if (!parsed.ok()) return parsed.status();
  if (parsed->name != witness.name ||
      parsed->key_id != cosignature_key_id(witness.name, witness.public_key_raw)) {
    return not_found("signature line is not by witness " + witness.name);
  }
  if (parsed->blob.size() != kCosignatureTimeSize + kEd25519SignatureSize) {
    return permission_denied("cosignature by " + witness.name + " has the wrong length");
  }
  uint64_t time = read_be(parsed->blob, kCosignatureTimeSize);
  if (time > kMaxCosignatureTime) {
    return permission_denied("cosignature by " + witness.name + " has an impossible time");
  }
  if (!ed25519_verify(witness.public_key_raw, cosigned_message(checkpoint_body, time),
                      std::string_view(parsed->blob).substr(kCosignatureTimeSize))) {
    return permission_denied("cosignature by " + witness.name + " does not verify");
  }
  return time;
}

Result<NoteParts> split_note(std::string_view note) {
  if (note.empty() || note.back() != '\n') return invalid_argument("note must end in a newline");
  size_t blank = note.rfind("\n\n");
  if (blank == std::string_view::npos) return invalid_argument("signed note has no blank line");
  NoteParts out{std::string(note.substr(0, blank + 1)), {}};
  std::string_view block = note.substr(blank + 2);
  if (block.empty()) return invalid_argument("signed note has no signature lines");
  for (size_t start = 0; start < block.size();) {
    size_t nl = block.find('\n', start);
    std::string_view line = block.substr(start, nl - start);
    if (!line.starts_with(kSignatureLineStart)) {
      return invalid_argument("signed note has a line after its blank line that is no signature");
    }
    out.signature_lines.emplace_back(line);
    if (out.signature_lines.size() > kMaxNoteSignatures) {
      return invalid_argument("signed note has too many signatures");
    }
    start = nl + 1;
  }
  return out;
}

Result<size_t> count_cosignatures(std::string_view note, const std::vector<NoteKey>& witnesses) {
  SENED_RETURN_IF_ERROR(check_witness_keys(witnesses));
  Result<NoteParts> parts = split_note(note);
  if (!parts.ok()) return parts.status();

  std::vector<bool> seen(witnesses.size(), false);
  for (const std::string& line : parts->signature_lines) {
    for (size_t i = 0; i < witnesses.size(); ++i) {
      Result<uint64_t> t = verify_cosignature_line(line, parts->body, witnesses[i]);
      if (t.ok()) {
        seen[i] = true;
      } else if (t.status().code() != Code::kNotFound) {
        return t.status();
      }
    }
  }
  return static_cast<size_t>(std::count(seen.begin(), seen.end(), true));
}

Status check_witness_threshold(std::string_view note, const std::vector<NoteKey>& witnesses,
                               size_t threshold) {
  Result<size_t> n = count_cosignatures(note, witnesses);
  if (!n.ok()) return n.status();
  if (*n < threshold) {
    return permission_denied("checkpoint is cosigned by " + std::to_string(*n) + " of " +
                             std::to_string(witnesses.size()) + " known witnesses, " +
                             std::to_string(threshold) + " required");
  }
  return Status::ok_status();
}

Result<std::string> add_signature_lines(std::string_view note,
                                        const std::vector<std::string>& lines) {
  Result<NoteParts> parts = split_note(note);
  if (!parts.ok()) return parts.status();
  std::string out(note);
  for (std::string line : lines) {
    if (!line.empty() && line.back() == '\n') line.pop_back();
    Result<ParsedLine> parsed = parse_line(line);
    if (!parsed.ok()) return parsed.status();
    auto& have = parts->signature_lines;
    if (std::find(have.begin(), have.end(), line) != have.end()) continue;
    if (have.size() >= kMaxNoteSignatures) return invalid_argument("note has too many signatures");
    have.push_back(line);
    out += line + "\n";
  }
  return out;
}

}  // namespace sened::journal
