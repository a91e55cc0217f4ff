#include "exchange/asic.h"

#include <map>
#include <memory>
#include <set>

#include "crypto/cms.h"
#include "crypto/digest.h"
#include "crypto/zip.h"
#include "exchange/evidence_check.h"

namespace sened::exchange::asic {
namespace {

// ---- XML ---------------------------------------------------------------------
//
// The manifest is read with a deliberately small parser: elements,
// attributes, character data, comments and the XML declaration. DOCTYPE,
// entity declarations, CDATA and processing instructions are refused, so no
// entity is ever expanded and nothing outside the text is fetched.

constexpr int kMaxDepth = 16;
constexpr size_t kMaxNodes = 200000;

struct Node {
  std::string ns;                            // namespace URI
  std::string local;                         // local name
  std::map<std::string, std::string> attrs;  // unprefixed attributes
  std::vector<Node> children;
  std::string text;
};

class XmlReader {
 public:
  explicit XmlReader(std::string_view s) : s_(s) {}

  Result<Node> document() {
    skip_space();
    if (starts("<?xml")) {
      size_t end = s_.find("?>", pos_);
      if (end == std::string_view::npos) return bad("unterminated XML declaration");
      pos_ = end + 2;
    }
    SENED_RETURN_IF_ERROR(skip_misc());
    if (!starts("<")) return bad("no root element");
    std::vector<std::map<std::string, std::string>> scopes{
        {{"xml", "http://www.w3.org/XML/1998/namespace"}}};
    auto root = element(scopes, 0);
    if (!root.ok()) return root.status();
    SENED_RETURN_IF_ERROR(skip_misc());
    if (pos_ != s_.size()) return bad("content after the root element");
    return root;
  }

 private:
  using Scopes = std::vector<std::map<std::string, std::string>>;

  Status bad(const std::string& why) const {
    return invalid_argument("manifest XML at byte " + std::to_string(pos_) + ": " + why);
  }
  bool starts(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }
  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  // Whitespace and comments; anything else starting with "<!" or "<?" is refused.
  Status skip_misc() {
    while (true) {
      skip_space();
      if (starts("<!--")) {
        size_t end = s_.find("-->", pos_ + 4);
        if (end == std::string_view::npos) return bad("unterminated comment");
        pos_ = end + 3;
      } else if (starts("<!") || starts("<?")) {
        return bad("DOCTYPE, CDATA and processing instructions are not allowed");
      } else {
        return Status();
      }
    }
  }
  static bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == ':' || static_cast<unsigned char>(c) >= 0x80;
  }
  std::string name() {
    size_t start = pos_;
    while (pos_ < s_.size() && name_char(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  // Replaces the five predefined entities and character references.
  Result<std::string> unescape(std::string_view raw) const {
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      size_t semi = raw.find(';', i);
      if (semi == std::string_view::npos) return bad("bare '&'");
      std::string_view ref = raw.substr(i + 1, semi - i - 1);
      static const std::map<std::string_view, char> kNamed{
          {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
      if (auto it = kNamed.find(ref); it != kNamed.end()) {
        out += it->second;
      } else if (ref.size() > 1 && ref[0] == '#') {
        bool hex = ref[1] == 'x';
        unsigned long cp = 0;
        try {
          cp = std::stoul(std::string(ref.substr(hex ? 2 : 1)), nullptr, hex ? 16 : 10);
        } catch (...) {
          return bad("bad character reference");
        }
        if (cp == 0 || cp > 0x10ffff) return bad("bad character reference");
        append_utf8(out, static_cast<uint32_t>(cp));
      } else {
        return bad("entity references are not allowed");
      }
      i = semi;
    }
    return out;
  }
  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  Result<std::pair<std::string, std::string>> resolve(const std::string& qname,
                                                      const Scopes& scopes) const {
    size_t colon = qname.find(':');
    std::string prefix = colon == std::string::npos ? "" : qname.substr(0, colon);
    std::string local = colon == std::string::npos ? qname : qname.substr(colon + 1);
    for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
      if (auto found = it->find(prefix); found != it->end())
        return std::make_pair(found->second, local);
    }
    if (prefix.empty()) return std::make_pair(std::string(), local);
    return bad("undeclared namespace prefix '" + prefix + "'");
  }

  Result<Node> element(Scopes& scopes, int depth) {
    if (depth > kMaxDepth) return bad("nested too deeply");
    if (++nodes_ > kMaxNodes) return bad("too many elements");
    ++pos_;  // '<'
    std::string qname = name();
    if (qname.empty()) return bad("element without a name");
    std::vector<std::pair<std::string, std::string>> raw_attrs;
    std::map<std::string, std::string> scope;
    while (true) {
      skip_space();
      if (pos_ >= s_.size()) return bad("unterminated tag");
      if (s_[pos_] == '>' || starts("/>")) break;
      std::string an = name();
      if (an.empty()) return bad("malformed attribute");
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '=') return bad("attribute without a value");
      ++pos_;
      skip_space();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) return bad("unquoted value");
      char q = s_[pos_++];
      size_t end = s_.find(q, pos_);
      if (end == std::string_view::npos) return bad("unterminated attribute value");
      std::string_view raw = s_.substr(pos_, end - pos_);
      if (raw.find('<') != std::string_view::npos) return bad("'<' in an attribute value");
      auto value = unescape(raw);
      if (!value.ok()) return value.status();
      pos_ = end + 1;
      if (an == "xmlns") {
        scope[""] = *value;
      } else if (an.rfind("xmlns:", 0) == 0) {
        scope[an.substr(6)] = *value;
      } else {
        raw_attrs.emplace_back(an, *value);
      }
    }
    scopes.push_back(std::move(scope));
    Node node;
    auto resolved = resolve(qname, scopes);
    if (!resolved.ok()) return resolved.status();
    node.ns = resolved->first;
    node.local = resolved->second;
    for (auto& [an, v] : raw_attrs) {
      // Only unprefixed attributes matter to the manifest.
      if (an.find(':') != std::string::npos) continue;
      if (!node.attrs.emplace(an, v).second) return bad("attribute '" + an + "' twice");
    }
    if (starts("/>")) {
      pos_ += 2;
      scopes.pop_back();
      return node;
    }
    ++pos_;  // '>'
    SENED_RETURN_IF_ERROR(content(node, scopes, depth, qname));
    scopes.pop_back();
    return node;
  }

  Status content(Node& node, Scopes& scopes, int depth, const std::string& qname) {
    while (true) {
      size_t lt = s_.find('<', pos_);
      if (lt == std::string_view::npos) return bad("unterminated element '" + qname + "'");
      auto text = unescape(s_.substr(pos_, lt - pos_));
      if (!text.ok()) return text.status();
      node.text += *text;
      pos_ = lt;
      if (starts("</")) {
        pos_ += 2;
        if (name() != qname) return bad("mismatched end tag for '" + qname + "'");
        skip_space();
        if (pos_ >= s_.size() || s_[pos_] != '>') return bad("malformed end tag");
        ++pos_;
        return Status();
      }
      if (starts("<!--")) {
        size_t end = s_.find("-->", pos_ + 4);
        if (end == std::string_view::npos) return bad("unterminated comment");
        pos_ = end + 3;
        continue;
      }
      if (starts("<!") || starts("<?")) {
        return bad("DOCTYPE, CDATA and processing instructions are not allowed");
      }
      auto child = element(scopes, depth + 1);
      if (!child.ok()) return child.status();
      node.children.push_back(std::move(*child));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  size_t nodes_ = 0;
};

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// URI attribute values: the entry name with every byte outside the
// unreserved set and "/" percent-encoded (RFC 3986).
std::string uri_of(std::string_view name) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> name_of(std::string_view uri) {
  std::string out;
  for (size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] != '%') {
      out += uri[i];
      continue;
    }
    auto byte = i + 2 < uri.size() ? crypto::from_hex(uri.substr(i + 1, 2)) : std::nullopt;
    if (!byte) return invalid_argument("manifest: malformed URI '" + std::string(uri) + "'");
    out += *byte;
    i += 2;
  }
  return out;
}

const Node* child(const Node& n, std::string_view ns, std::string_view local) {
  for (const auto& c : n.children) {
    if (c.ns == ns && c.local == local) return &c;
  }
  return nullptr;
}

std::string attr(const Node& n, const std::string& key) {
  auto it = n.attrs.find(key);
  return it == n.attrs.end() ? std::string() : it->second;
}

std::string trim(std::string s) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && space(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && space(s[i])) ++i;
  return s.substr(i);
}

Result<DataObject> data_object(const Node& ref) {
  auto name = name_of(attr(ref, "URI"));
  if (!name.ok()) return name.status();
  std::string where = "manifest entry '" + *name + "'";
  if (!crypto::is_safe_entry_name(*name) || name->back() == '/' ||
      name->rfind("META-INF/", 0) == 0 || *name == kMimetypeEntry) {
    return invalid_argument(where + ": not a data object name");
  }
  const Node* method = child(ref, kDsNamespace, "DigestMethod");
  const Node* value = child(ref, kDsNamespace, "DigestValue");
  if (method == nullptr || value == nullptr) return invalid_argument(where + ": no digest");
  if (attr(*method, "Algorithm") != kSha256Algorithm) {
    return invalid_argument(where + ": digest method is not SHA-256");
  }
  auto digest = crypto::base64_decode(trim(value->text));
  if (!digest || digest->size() != 32) return invalid_argument(where + ": malformed digest");
  return DataObject{*name, attr(ref, "MimeType"), crypto::to_hex(*digest)};
}

// The hub's signature over the manifest (crypto/cms.h). With `anchor_pem`
// the signer must chain to it; without, the bytes must verify with the
// certificate the signature carries, and the output says it is not anchored.
Result<SignerInfo> check_manifest_signature(std::string_view manifest, const std::string& der,
                                            const std::string& anchor_pem) {
  crypto::TrustMaterial trust;
  if (!anchor_pem.empty()) trust.ca_pems.push_back(anchor_pem);
  auto check = crypto::verify_detached(der, manifest, trust);
  if (!check.ok()) return check.status();
  Status holds = hub_signature_holds(*check, !anchor_pem.empty());
  if (!holds.ok()) return permission_denied("the signature does not verify: " + holds.message());
  bool anchored = check->status == crypto::SignatureStatus::kValid;
  return SignerInfo{check->signer, anchored, anchored ? check->anchor : std::string()};
}

}  // namespace

std::string make_manifest(const std::vector<DataObject>& objects) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
  x += "<asic:ASiCManifest xmlns:asic=\"" + std::string(kAsicNamespace) + "\" xmlns:ds=\"" +
       kDsNamespace + "\">\n";
  x += "  <asic:SigReference URI=\"" + std::string(kSignatureEntry) + "\" MimeType=\"" +
       kSignatureMimeType + "\"/>\n";
  for (const auto& o : objects) {
    std::string raw = crypto::from_hex(o.sha256).value_or("");
    x += "  <asic:DataObjectReference URI=\"" + xml_escape(uri_of(o.name)) + "\" MimeType=\"" +
         xml_escape(o.mime_type) + "\">\n";
    x += "    <ds:DigestMethod Algorithm=\"" + std::string(kSha256Algorithm) + "\"/>\n";
    x += "    <ds:DigestValue>" + crypto::base64_encode(raw) + "</ds:DigestValue>\n";
    x += "  </asic:DataObjectReference>\n";
  }
  x += "</asic:ASiCManifest>\n";
  return x;
}

Result<std::vector<DataObject>> parse_manifest(std::string_view xml) {
  if (xml.size() > kMaxManifestBytes) return invalid_argument("manifest: too large");
  auto root = XmlReader(xml).document();
  if (!root.ok()) return root.status();
  if (root->ns != kAsicNamespace || root->local != "ASiCManifest") {
    return invalid_argument("manifest: the root is not asic:ASiCManifest");
  }
  const Node* sig = child(*root, kAsicNamespace, "SigReference");
  if (sig == nullptr || attr(*sig, "URI") != kSignatureEntry) {
    return invalid_argument(std::string("manifest: SigReference must name ") + kSignatureEntry);
  }
  std::vector<DataObject> out;
  std::set<std::string> seen;
  for (const auto& c : root->children) {
    if (c.ns != kAsicNamespace || c.local != "DataObjectReference") continue;
    auto o = data_object(c);
    if (!o.ok()) return o.status();
    if (!seen.insert(o->name).second) {
      return invalid_argument("manifest entry '" + o->name + "': listed twice");
    }
    out.push_back(std::move(*o));
  }
  if (out.empty()) return invalid_argument("manifest: no data object");
  return out;
}

bool Report::ok() const {
  for (const auto& f : findings) {
    if (!f.ok) return false;
  }
  return !findings.empty();
}

Result<Report> verify_container(const std::string& path, const VerifyOptions& options) {
  auto zip = crypto::ZipReader::open(path);
  if (!zip.ok()) return zip.status();
  crypto::ZipReader& z = **zip;
  Report report;
  auto note = [&](std::string item, Status st) {
    report.findings.push_back({std::move(item), st.ok(), st.ok() ? "" : st.message()});
  };

  // mimetype: first, stored, no extra field, exact content.
  const auto& entries = z.entries();
  Status mime;
  if (entries.empty() || entries[0].name != kMimetypeEntry) {
    mime = invalid_argument("the first entry is not 'mimetype'");
  } else if (!entries[0].stored || entries[0].extra_field) {
    mime = invalid_argument("'mimetype' is compressed or has an extra field");
  } else {
    auto text = z.read_all(0, 256);
    if (!text.ok())
      mime = text.status();
    else if (*text != kMimeType)
      mime = invalid_argument("'mimetype' is not " + std::string(kMimeType));
  }
  note(kMimetypeEntry, mime);

  // The manifest and the hub's signature over it.
  auto manifest_at = z.find(kManifestEntry);
  auto signature_at = z.find(kSignatureEntry);
  if (!manifest_at || !signature_at) {
    note("manifest", invalid_argument("no META-INF/ASiCManifest.xml or META-INF/signature.p7s"));
    return report;
  }
  auto manifest = z.read_all(*manifest_at, kMaxManifestBytes);
  auto signature = z.read_all(*signature_at, kMaxManifestBytes);
  if (!manifest.ok() || !signature.ok()) {
    note("manifest", !manifest.ok() ? manifest.status() : signature.status());
    return report;
  }
  auto signer = check_manifest_signature(*manifest, *signature, options.anchor_pem);
  note("signature", signer.ok() ? Status() : signer.status());
  if (signer.ok()) report.signer = *signer;
  auto objects = parse_manifest(*manifest);
  note("manifest", objects.ok() ? Status() : objects.status());
  if (!objects.ok()) return report;

  // Every listed object is there with its digest; nothing else is.
  std::set<std::string> listed;
  for (const auto& o : *objects) {
    listed.insert(o.name);
    auto at = z.find(o.name);
    if (!at) {
      note(o.name, not_found("listed in the manifest but missing from the container"));
      continue;
    }
    crypto::Sha256 h;
    Status read = z.read(*at, [&](std::string_view piece) {
      h.update(piece);
      return Status();
    });
    if (read.ok() && crypto::to_hex(h.finish()) != o.sha256) {
      read = invalid_argument("its SHA-256 does not match the manifest");
    }
    note(o.name, read);
  }
  // Nothing rides along unsigned: not in META-INF/ either (a second
  // signature or manifest there would be read by other ASiC tools), nor as
  // a folder entry, which may carry bytes too.
  for (const auto& e : entries) {
    if (e.name == kMimetypeEntry || e.name == kManifestEntry || e.name == kSignatureEntry) continue;
    if (!listed.count(e.name)) note(e.name, invalid_argument("not listed in the manifest"));
  }

  // What the data objects say: receipts, the journal proof, the checkpoint.
  check_evidence(z, *objects, options, report);
  return report;
}

}  // namespace sened::exchange::asic
