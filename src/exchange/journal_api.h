// The journal's HTTP routes: the latest checkpoint, the log key, inclusion
// and consistency proofs, a participant's export and a document's proof
// (under /v1, for authenticated participants), and the log as C2SP
// tlog-tiles under kLogPrefix (static, cacheable paths anyone may mirror;
// also served alone by the hub's plain read-only journal listener).
//
// Tiles and entry bundles are served only as far as the latest stored
// checkpoint reaches, so that a mirror always matches a signed tree head.
// Thread-safe: every method may run on several threads at once.
#pragma once

#include <optional>
#include <string>

#include "http/message.h"
#include "journal/export.h"
#include "store/store.h"

namespace sened::exchange {

// Prefix of the tlog-tiles paths: /journal/checkpoint, /journal/tile/...
inline constexpr std::string_view kLogPrefix = "/journal";

// Public facts about the log key, served by GET /v1/journal/key.
struct JournalKeyInfo {
  std::string origin;
  std::string vkey;            // "<name>+<id>+<base64>"
  std::string public_key_pem;  // SubjectPublicKeyInfo
};

class JournalApi {
 public:
  // `store` must outlive the JournalApi.
  JournalApi(Store& store, JournalKeyInfo key);

  // A GET under kLogPrefix: the checkpoint, a tile or an entry bundle.
  // nullopt if the path is not under the prefix.
  std::optional<http::Response> handle_log(const http::Request& request);
  // /v1/journal/... and GET /v1/documents/{id}/proof for participant `who`;
  // nullopt for any other path.
  std::optional<http::Response> handle_v1(const http::Request& request, const std::string& who);

  // Document `id`'s proof for participant `who`, as GET
  // /v1/documents/{id}/proof serves it: its entries with salts and inclusion
  // proofs in the latest checkpoint. kNotFound unless `who` is a party;
  // kUnavailable before the first checkpoint.
  Result<journal::JournalExport> document_proof(const std::string& id, const std::string& who);
  // The log key GET /v1/journal/key describes.
  const JournalKeyInfo& key() const { return key_; }

 private:
  Store& store_;
  JournalKeyInfo key_;
};

// The handler of the plain read-only journal listener (`sened hub
// --journal-listen`): the kLogPrefix paths and nothing else (404).
class JournalLogHandler : public http::Handler {
 public:
  explicit JournalLogHandler(JournalApi& api) : api_(api) {}
  http::Response handle(const http::Request& request) override;
  std::optional<UploadStart> begin_upload(const http::Request& head) override;

 private:
  JournalApi& api_;
};

}  // namespace sened::exchange
