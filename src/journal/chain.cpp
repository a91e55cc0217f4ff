#include "journal/chain.h"

#include "crypto/digest.h"

namespace sened::journal {

void append_u64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void append_length_prefixed(std::string& out, std::string_view bytes) {
  append_u64(out, bytes.size());
  out.append(bytes);
}

std::string entry_hash(const JournalEntry& e) {
  std::string seq;
  append_u64(seq, static_cast<uint64_t>(e.seq));

  std::string encoded;
  for (std::string_view field :
       {kEntryHashTag, std::string_view(e.prev_hash), std::string_view(seq),
        std::string_view(e.time), std::string_view(e.actor), std::string_view(e.kind),
        std::string_view(e.document), std::string_view(e.recipient),
        std::string_view(e.content_digest)}) {
    append_length_prefixed(encoded, field);
  }
  return crypto::sha256_hex(encoded);
}

std::string content_digest(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string encoded;
  for (const auto& [key, value] : fields) {
    append_length_prefixed(encoded, key);
    append_length_prefixed(encoded, value);
  }
  return crypto::sha256_hex(encoded);
}

void ChainVerifier::fail(int64_t seq, std::string problem) {
  report_.ok = false;
  report_.first_bad_seq = seq;
  report_.problem = std::move(problem);
}

void ChainVerifier::add(const JournalEntry& e) {
  if (!report_.ok) return;
  ++report_.entries;

  // Order of the checks: a gap explains a broken link, and a broken link
  // explains nothing about the entry's own content, so the most specific
  // cause is reported.
  int64_t expected = last_seq_ + 1;
  if (e.seq != expected) {
    fail(e.seq, "entry " + std::to_string(expected) + " missing or out of order");
    return;
  }
  if (e.prev_hash != report_.head_hash) {
    fail(e.seq, "entry " + std::to_string(e.seq) + " does not link to the entry before it");
    return;
  }
  if (e.hash != entry_hash(e)) {
    fail(e.seq, "entry " + std::to_string(e.seq) + " does not match its hash");
    return;
  }
  last_seq_ = e.seq;
  report_.head_hash = e.hash;
}

VerifyReport ChainVerifier::finish(int64_t highest_referenced) {
  if (report_.ok && highest_referenced > last_seq_) {
    fail(last_seq_ + 1, "journal ends at " + std::to_string(last_seq_) + " but entry " +
                            std::to_string(highest_referenced) + " is referenced");
  }
  return report_;
}

}  // namespace sened::journal
