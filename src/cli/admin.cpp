// `sened admin …`: the hub operator's commands on a hub data folder.
#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "core/csv.h"
#include "core/ids.h"
#include "core/json.h"
#include "crypto/pki.h"
#include "crypto/trust_store.h"
#include "exchange/receipts.h"
#include "journal/signer.h"
#include "store/open_store.h"

namespace sened::cli {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int kCaDays = 3650;
constexpr int kServerCertDays = 825;
constexpr int kCrlDays = 30;
constexpr const char* kOperator = "operator";

// The hub certificate's names: always localhost and the loopback
// addresses, then each --host, an IP address or a DNS name.
struct HubNames {
  std::vector<std::string> dns{"localhost"};
  std::vector<std::string> ips{"127.0.0.1", "::1"};
};
// A host name as RFC 1123 has it: dot-separated labels of 1 to 63 letters,
// digits and inner hyphens, 253 characters at most, and a last label that is
// not all digits (else it reads as a malformed IPv4 address).
Status check_host_name(const std::string& h) {
  auto bad = [&](const std::string& why) {
    return invalid_argument("--host \"" + h + "\" is not a host name or IP address: " + why);
  };
  if (h.empty() || h.size() > 253) return bad("it must be 1 to 253 characters long");
  size_t begin = 0;
  std::string last;
  for (;;) {
    size_t dot = std::min(h.find('.', begin), h.size());
    std::string label = h.substr(begin, dot - begin);
    if (label.empty() || label.size() > 63) return bad("each label is 1 to 63 characters");
    for (char c : label) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return bad("only letters, digits, '-' and '.' (no wildcard, no port)");
    }
    if (label.front() == '-' || label.back() == '-')
      return bad("a label may not start or end with '-'");
    last = label;
    if (dot == h.size()) break;
    begin = dot + 1;
  }
  if (last.find_first_not_of("0123456789") == std::string::npos) {
    return bad("its last label is all digits");
  }
  return Status();
}

Result<HubNames> hub_names(const std::vector<std::string>& hosts) {
  HubNames names;
  for (const std::string& h : hosts) {
    unsigned char buf[sizeof(in6_addr)];
    bool ip =
        ::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1;
    if (!ip) SENED_RETURN_IF_ERROR(check_host_name(h));
    auto& list = ip ? names.ips : names.dns;
    if (std::find(list.begin(), list.end(), h) == list.end()) list.push_back(h);
  }
  return names;
}

Status init_data(const std::string& dir, const std::string& file_storage,
                 const std::vector<std::string>& hosts) {
  ::umask(077);  // keys and the database are the hub's alone
  if (fs::exists(dir + "/sened.toml")) {
    return conflict(dir + " is already a hub data folder");
  }
  // The names first: a bad one must fail before anything is made.
  Result<HubNames> names = hub_names(hosts);
  if (!names.ok()) return names.status();
  std::string store = store_address();
  if (!store.empty()) SENED_RETURN_IF_ERROR(check_store_address(store));
  if (!file_storage.empty()) {
    SENED_RETURN_IF_ERROR(check_file_storage(file_storage, store.empty() ? "sqlite:" : store));
  }
  std::error_code ec;
  fs::create_directories(dir + "/ca", ec);
  fs::create_directories(dir + "/tls", ec);
  if (ec) return unavailable("cannot create " + dir + ": " + ec.message());
  HubConfig config;
  config.data_dir = dir;

  auto ca = crypto::make_ca("Sened development CA", "Sened", kCaDays);
  if (!ca.ok()) return ca.status();
  auto server =
      crypto::issue_server_cert(*ca, "sened hub", names->dns, names->ips, kServerCertDays);
  if (!server.ok()) return server.status();
  auto crl = crypto::make_crl(*ca, {}, kCrlDays);
  if (!crl.ok()) return crl.status();

  // Keys first and private; the configuration last, so that a folder with a
  // sened.toml is always complete.
  SENED_RETURN_IF_ERROR(write_file_atomic(config.path(config.ca_key), ca->key_pem, 0600));
  SENED_RETURN_IF_ERROR(write_file_atomic(config.path(config.ca_cert), ca->cert_pem));
  SENED_RETURN_IF_ERROR(write_file_atomic(config.path(config.crl), *crl));
  SENED_RETURN_IF_ERROR(write_file_atomic(config.path(config.tls_key), server->key_pem, 0600));
  SENED_RETURN_IF_ERROR(
      write_file_atomic(config.path(config.tls_cert), server->cert_pem + ca->cert_pem));
  // The journal's log key, which signs every checkpoint (journal/signer.h).
  auto log_key =
      journal::load_or_create_log_key(config.path(config.journal_key), config.journal_origin);
  if (!log_key.ok()) return log_key.status();
  auto receipt_key = exchange::ensure_receipt_key(config);  // issued by the CA just written
  if (!receipt_key.ok()) return receipt_key.status();
  SENED_RETURN_IF_ERROR(
      write_file_atomic(dir + "/sened.toml", default_config_text(store, file_storage)));
  auto data = open_hub_data(dir, true);
  return data.ok() ? Status() : data.status();
}

Result<crypto::KeyAndCert> load_ca(const HubConfig& config) {
  auto key = read_text_file(config.path(config.ca_key));
  if (!key.ok()) return key.status();
  auto cert = read_text_file(config.path(config.ca_cert));
  if (!cert.ok()) return cert.status();
  return crypto::KeyAndCert{*key, *cert};
}

// Rewrites the CRL from the registry's revoked certificates. The hub notices
// the new file by its modification time and reloads it.
Status write_crl(HubData& data) {
  auto ca = load_ca(data.config);
  if (!ca.ok()) return ca.status();
  auto certs = data.store->list_certificates();
  if (!certs.ok()) return certs.status();
  auto hub_ca = crypto::inspect_cert(ca->cert_pem);
  if (!hub_ca.ok()) return hub_ca.status();
  std::vector<crypto::RevokedSerial> revoked;
  for (const auto& c : *certs) {
    // A certificate from an external CA is revoked by that CA's CRL; the
    // registry's mark refuses it at the API (403) meanwhile.
    auto info = crypto::inspect_cert(c.pem);
    if (!c.revoked || !info.ok() || info->issuer != hub_ca->subject) continue;
    revoked.push_back({c.serial, static_cast<int64_t>(std::time(nullptr))});
  }
  auto crl = crypto::make_crl(*ca, revoked, kCrlDays);
  if (!crl.ok()) return crl.status();
  return write_file_atomic(data.config.path(data.config.crl), *crl);
}

void print_participants(const std::vector<Participant>& list, bool as_json) {
  if (as_json) {
    json::array a;
    for (const auto& p : list) a.push_back(to_json(p));
    std::cout << json::serialize(a) << "\n";
    return;
  }
  for (const auto& p : list) {
    std::cout << p.id << "\t" << to_string(p.status) << "\t" << p.category << "\t" << p.name_en
              << "\n";
  }
}

std::string csv_field(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Validates a participant given on the command line exactly as the registry
// import would, by reading it as a one-row registry.
Result<Participant> participant_from_flags(const Participant& p) {
  std::string text = "id,category,obligation,deadline,name_az,name_en,name_ru\n";
  for (const auto* f : {&p.id, &p.category, &p.obligation, &p.deadline, &p.name_az, &p.name_en}) {
    text += csv_field(*f) + ",";
  }
  text += csv_field(p.name_ru) + "\n";
  auto parsed = parse_participants_csv(text);
  if (!parsed.ok()) return parsed.status();
  return parsed->front();
}

void add_init(CLI::App& admin) {
  auto* cmd = admin.add_subcommand("init", "Create a hub data folder: config, CA, hub certificate");
  auto dir = std::make_shared<std::string>();
  auto file_storage = std::make_shared<std::string>();
  cmd->add_option("--data", *dir, "The folder to create")->required();
  cmd->add_option("--store", store_flag(),
                  "Store address written to sened.toml: sqlite:PATH (default sqlite:sened.db) "
                  "or postgresql://USER@HOST:PORT/DB (or SENED_STORE)");
  cmd->add_option("--file-storage", *file_storage,
                  "Where large files go, written to sened.toml: folder (default) or postgresql "
                  "(chunked in the PostgreSQL store; needs --store postgresql://...)");
  auto hosts = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--host", *hosts,
                  "A name or IP address clients reach the hub by, for its TLS certificate "
                  "(repeatable; localhost, 127.0.0.1 and ::1 are always in it)");
  cmd->callback([dir, file_storage, hosts] {
    // A failed init leaves no half-made folder behind, so that it can simply
    // be run again (with, say, a corrected --store).
    std::error_code ec;
    bool existed = fs::exists(*dir, ec);
    bool fresh = !existed || fs::is_empty(*dir, ec);
    Status st = init_data(*dir, *file_storage, *hosts);
    if (!st.ok() && !existed) {
      fs::remove_all(*dir, ec);
    } else if (!st.ok() && fresh) {
      for (const auto& entry : fs::directory_iterator(*dir, ec)) fs::remove_all(entry.path(), ec);
    }
    if (!st.ok()) return report(st);
    std::cout << "created hub data folder " << *dir << "\n";
  });
}

void add_org_import(CLI::App& org) {
  auto* cmd = org.add_subcommand("import", "Load participants from a registry CSV (RFC 4180)");
  auto dir = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  add_data_flag(*cmd, *dir);
  cmd->add_option("FILE", *file, "CSV with id,category,obligation,deadline,name_az,name_en,name_ru")
      ->required();
  cmd->callback([dir, file] {
    auto text = read_text_file(*file);
    if (!text.ok()) return report(text.status());
    auto list = parse_participants_csv(*text);
    if (!list.ok()) return report(list.status().with_context(*file));
    auto data = open_hub_data(*dir);
    if (!data.ok()) return report(data.status());
    for (auto p : *list) {
      // The registry has no status column: a participant already known keeps
      // its lifecycle state (a suspended body stays suspended).
      if (auto existing = data->store->get_participant(p.id); existing.ok()) {
        p.status = existing->status;
      }
      Status st = data->store->put_participant(p, kOperator);
      if (!st.ok()) return report(st.with_context(p.id));
    }
    std::cout << "imported " << list->size() << " participants\n";
  });
}

void add_org_add(CLI::App& org) {
  auto* cmd = org.add_subcommand("add", "Add or update one participant");
  auto dir = std::make_shared<std::string>();
  auto p = std::make_shared<Participant>();
  auto status = std::make_shared<std::string>("active");
  add_data_flag(*cmd, *dir);
  cmd->add_option("--id", p->id, "Participant id, e.g. az.finance")->required();
  cmd->add_option("--category", p->category, "e.g. central-executive")->required();
  cmd->add_option("--obligation", p->obligation, "ordered, recommended or after-launch")
      ->required();
  cmd->add_option("--deadline", p->deadline, "Integration deadline, YYYY-MM-DD");
  cmd->add_option("--name-az", p->name_az, "Name in Azerbaijani")->required();
  cmd->add_option("--name-en", p->name_en, "Name in English")->required();
  cmd->add_option("--name-ru", p->name_ru, "Name in Russian");
  cmd->add_option("--status", *status, "enrolled, testing, active, suspended or retired")
      ->capture_default_str();
  cmd->callback([dir, p, status] {
    auto valid = participant_from_flags(*p);
    if (!valid.ok()) return report(valid.status());
    auto s = parse_participant_status(*status);
    if (!s) return report(invalid_argument("--status: unknown status " + *status));
    valid->status = *s;
    auto data = open_hub_data(*dir);
    if (!data.ok()) return report(data.status());
    Status st = data->store->put_participant(*valid, kOperator);
    if (!st.ok()) return report(st);
    std::cout << "participant " << valid->id << " " << to_string(valid->status) << "\n";
  });
}

void add_org_list(CLI::App& org) {
  auto* cmd = org.add_subcommand("list", "List the participants");
  auto dir = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  add_data_flag(*cmd, *dir);
  cmd->add_flag("--json", *as_json, "Print JSON");
  cmd->callback([dir, as_json] {
    auto data = open_hub_data(*dir);
    if (!data.ok()) return report(data.status());
    auto list = data->store->list_participants();
    if (!list.ok()) return report(list.status());
    print_participants(*list, *as_json);
  });
}

void add_org_status(CLI::App& org, const char* verb, ParticipantStatus status, const char* help) {
  auto* cmd = org.add_subcommand(verb, help);
  auto dir = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  add_data_flag(*cmd, *dir);
  cmd->add_option("ID", *id, "Participant id")->required();
  cmd->callback([dir, id, status] {
    auto data = open_hub_data(*dir);
    if (!data.ok()) return report(data.status());
    auto current = data->store->get_participant(*id);
    if (!current.ok()) return report(current.status());
    if (current->status == ParticipantStatus::kRetired && status != ParticipantStatus::kRetired) {
      return report(conflict("participant " + *id + " is retired; retirement is final"));
    }
    Status st = data->store->set_participant_status(*id, status, kOperator);
    if (!st.ok()) return report(st);
    std::cout << "participant " << *id << " " << to_string(status) << "\n";
  });
}

struct IssueFlags {
  std::string dir, org, out, csr;
  int days = 365;
  bool force = false;
};

// Refuses to replace a participant's existing key or certificate by mistake.
Status check_out_dir(const IssueFlags& f) {
  if (f.force) return Status();
  for (const char* name : {"cert.pem", "key.pem"}) {
    if (fs::exists(f.out + "/" + name)) {
      return conflict(f.out + "/" + name + " exists (use --force to replace it)");
    }
  }
  return Status();
}

// Records `cert_pem` in the registry as one of `org`'s certificates.
Result<Certificate> register_certificate(HubData& data, const std::string& org,
                                         const std::string& cert_pem) {
  auto info = crypto::inspect_cert(cert_pem);
  if (!info.ok()) return info.status();
  Certificate c;
  c.serial = info->serial;
  c.participant = org;
  c.fingerprint = info->fingerprint;
  c.subject = info->subject;
  c.not_before = info->not_before;
  c.not_after = info->not_after;
  c.pem = cert_pem;
  SENED_RETURN_IF_ERROR(data.store->add_certificate(c, kOperator));
  return c;
}

Status issue_cert(const IssueFlags& f) {
  auto data = open_hub_data(f.dir);
  if (!data.ok()) return data.status();
  auto participant = data->store->get_participant(f.org);
  if (!participant.ok()) return participant.status();
  if (participant->status == ParticipantStatus::kRetired) {
    return conflict("participant " + f.org + " is retired");
  }
  SENED_RETURN_IF_ERROR(check_out_dir(f));
  auto ca = load_ca(data->config);
  if (!ca.ok()) return ca.status();

  crypto::KeyAndCert issued;
  if (!f.csr.empty()) {
    auto csr = read_text_file(f.csr);
    if (!csr.ok()) return csr.status();
    auto cert = crypto::sign_csr(*ca, *csr, f.org, participant->name_en, f.days);
    if (!cert.ok()) return cert.status();
    issued.cert_pem = *cert;
  } else {
    auto made = crypto::issue_client_cert(*ca, f.org, participant->name_en, f.days);
    if (!made.ok()) return made.status();
    issued = *made;
  }
  auto c = register_certificate(*data, f.org, issued.cert_pem);
  if (!c.ok()) return c.status();

  std::error_code ec;
  fs::create_directories(f.out, ec);
  if (!issued.key_pem.empty()) {
    SENED_RETURN_IF_ERROR(write_file_atomic(f.out + "/key.pem", issued.key_pem, 0600));
  }
  SENED_RETURN_IF_ERROR(write_file_atomic(f.out + "/cert.pem", issued.cert_pem));
  SENED_RETURN_IF_ERROR(write_file_atomic(f.out + "/ca.pem", ca->cert_pem));
  std::cout << "issued certificate serial=" << c->serial << " for " << f.org << " into " << f.out
            << "\n";
  return Status();
}

void add_cert_issue(CLI::App& cert) {
  auto* cmd = cert.add_subcommand("issue", "Issue and register a participant's certificate");
  auto f = std::make_shared<IssueFlags>();
  add_data_flag(*cmd, f->dir);
  cmd->add_option("--org", f->org, "Participant id")->required();
  cmd->add_option("--out", f->out, "Folder for cert.pem, ca.pem (and key.pem)")->required();
  cmd->add_option("--csr", f->csr,
                  "The participant's certificate request (PEM); without it a key is made "
                  "here, for demos and tests only");
  cmd->add_option("--days", f->days, "Validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  cmd->callback([f] {
    Status st = issue_cert(*f);
    if (!st.ok()) report(st);
  });
}

void add_cert_list(CLI::App& cert) {
  auto* cmd = cert.add_subcommand("list", "List registered certificates");
  auto dir = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  add_data_flag(*cmd, *dir);
  cmd->add_flag("--json", *as_json, "Print JSON");
  cmd->callback([dir, as_json] {
    auto data = open_hub_data(*dir);
    if (!data.ok()) return report(data.status());
    auto certs = data->store->list_certificates();
    if (!certs.ok()) return report(certs.status());
    json::array a;
    for (const auto& c : *certs) {
      if (*as_json) {
        a.push_back(to_json(c));
      } else {
        std::cout << c.serial << "\t" << c.participant << "\t" << (c.revoked ? "revoked" : "valid")
                  << "\t" << c.not_after << "\t" << c.fingerprint << "\n";
      }
    }
    if (*as_json) std::cout << json::serialize(a) << "\n";
  });
}

void add_cert_revoke(CLI::App& cert) {
  auto* cmd = cert.add_subcommand("revoke", "Revoke a certificate and publish the new CRL");
  auto dir = std::make_shared<std::string>();
  auto serial = std::make_shared<std::string>();
  add_data_flag(*cmd, *dir);
  cmd->add_option("SERIAL", *serial, "Serial number, hex as `cert list` shows it")->required();
  cmd->callback([dir, serial] {
    auto data = open_hub_data(*dir);
    if (!data.ok()) return report(data.status());
    std::string s = *serial;
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    Status st = data->store->revoke_certificate(s, now_rfc3339(), kOperator);
    if (!st.ok()) return report(st);
    st = write_crl(*data);
    if (!st.ok()) return report(st.with_context("certificate revoked but the CRL is not written"));
    std::cout << "revoked certificate serial=" << s << "\n";
  });
}

// Registers a certificate issued by an external CA (or by the hub CA
// elsewhere) for a participant, after checking that it chains to the trust
// store, is not revoked and is fit for a TLS client.
Status add_external_cert(const std::string& dir, const std::string& org, const std::string& file) {
  auto text = read_text_file(file);
  if (!text.ok()) return text.status();
  auto certs = crypto::split_pem_certs(*text);
  if (!certs.ok()) return certs.status().with_context(file);
  auto ca = crypto::is_ca_certificate(certs->front());
  if (!ca.ok()) return ca.status().with_context(file);
  if (*ca) {
    return invalid_argument(file + " is a CA certificate; add a CA with `admin trust add`");
  }
  auto data = open_hub_data(dir);
  if (!data.ok()) return data.status();
  auto participant = data->store->get_participant(org);
  if (!participant.ok()) return participant.status();
  if (participant->status == ParticipantStatus::kRetired) {
    return conflict("participant " + org + " is retired");
  }
  auto trust = crypto::load_trust_material(data->config);
  if (!trust.ok()) return trust.status();
  // Anything after the first certificate is its chain of intermediates.
  std::string chain;
  for (size_t i = 1; i < certs->size(); ++i) chain += (*certs)[i];
  Status trusted =
      crypto::verify_with_trust(*trust, certs->front(), chain, crypto::CertPurpose::kTlsClient);
  if (!trusted.ok()) return trusted.with_context(file + " is refused");
  auto c = register_certificate(*data, org, certs->front());
  if (!c.ok()) return c.status();
  std::cout << "registered certificate serial=" << c->serial << " for " << org
            << " subject=" << c->subject << "\n";
  return Status();
}

void add_cert_add(CLI::App& cert) {
  auto* cmd = cert.add_subcommand(
      "add", "Register a participant's certificate issued by a trusted CA (e.g. the national CA)");
  auto dir = std::make_shared<std::string>();
  auto org = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  add_data_flag(*cmd, *dir);
  cmd->add_option("--org", *org, "Participant id")->required();
  cmd->add_option("--cert", *file, "The certificate (PEM), optionally followed by its chain")
      ->required();
  cmd->callback([dir, org, file] {
    Status st = add_external_cert(*dir, *org, *file);
    if (!st.ok()) report(st);
  });
}

const char* kind_name(crypto::TrustKind kind) {
  return kind == crypto::TrustKind::kCa ? "ca" : "crl";
}

Status trust_add(const std::string& dir, const std::string& file, std::string name) {
  auto text = read_text_file(file);
  if (!text.ok()) return text.status();
  auto data = open_hub_data(dir);
  if (!data.ok()) return data.status();
  const HubConfig& config = data->config;
  auto trust = crypto::load_trust_material(config);
  if (!trust.ok()) return trust.status().with_context("the trust store is damaged; fix it first");
  if (name.empty()) name = fs::path(file).stem().string();
  std::string trust_dir = config.path(config.trust_dir);
  auto addition = crypto::check_trust_addition(*trust, trust_dir, *text, name);
  if (!addition.ok()) return addition.status().with_context(file);

  std::error_code ec;
  fs::create_directories(trust_dir, ec);
  if (ec) return unavailable("cannot create " + trust_dir + ": " + ec.message());
  // The hub notices the new file (or the replaced CRL) and reloads its trust.
  // What is written is the parsed object re-encoded, not FILE's text.
  SENED_RETURN_IF_ERROR(write_file_atomic(trust_dir + "/" + addition->file_name, addition->pem));
  if (addition->kind == crypto::TrustKind::kCa) {
    std::cout << "trusted CA " << addition->subject << " as " << addition->file_name
              << " sha256=" << addition->fingerprint << "\n";
  } else {
    std::cout << (addition->replaces ? "replaced CRL of " : "added CRL of ") << addition->subject
              << " as " << addition->file_name << "\n";
  }
  return Status();
}

void add_trust_add(CLI::App& trust) {
  auto* cmd = trust.add_subcommand("add", "Trust a CA certificate, or add a CA's CRL (PEM)");
  auto dir = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  add_data_flag(*cmd, *dir);
  cmd->add_option("FILE", *file, "One CA certificate or one CRL, PEM")->required();
  cmd->add_option("--name", *name,
                  "File name in the trust folder, without extension (default: FILE's)");
  cmd->callback([dir, file, name] {
    Status st = trust_add(*dir, *file, *name);
    if (!st.ok()) report(st);
  });
}

void add_trust_list(CLI::App& trust) {
  auto* cmd = trust.add_subcommand("list", "List the trusted CAs and CRLs");
  auto dir = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  add_data_flag(*cmd, *dir);
  cmd->add_flag("--json", *as_json, "Print JSON");
  cmd->callback([dir, as_json] {
    auto data = open_hub_data(*dir);
    if (!data.ok()) return report(data.status());
    auto trust = crypto::load_trust_material(data->config);
    if (!trust.ok()) return report(trust.status());
    auto entries = crypto::describe_trust(*trust);
    if (!entries.ok()) return report(entries.status());
    json::array a;
    for (const auto& e : *entries) {
      if (*as_json) {
        a.push_back(json::object{{"name", e.name},
                                 {"kind", kind_name(e.kind)},
                                 {"subject", e.subject},
                                 {"detail", e.detail}});
      } else {
        std::cout << e.name << "\t" << kind_name(e.kind) << "\t" << e.subject << "\t" << e.detail
                  << "\n";
      }
    }
    if (*as_json) std::cout << json::serialize(a) << "\n";
  });
}

Status trust_remove(const std::string& dir, const std::string& name) {
  auto data = open_hub_data(dir);
  if (!data.ok()) return data.status();
  const HubConfig& config = data->config;
  std::string trust_dir = config.path(config.trust_dir);
  std::string ext = fs::path(name).extension().string();
  if (name.find('/') != std::string::npos || (ext != ".pem" && ext != ".crl") ||
      name.front() == '.') {
    return invalid_argument("NAME is a file name that `admin trust list` shows, e.g. national.pem");
  }
  std::string path = trust_dir + "/" + name;
  if (!fs::is_regular_file(path)) return not_found("no " + name + " in the trust folder");

  // A CA goes with its CRLs, removed first: a CRL whose CA is not trusted
  // would make the store unloadable.
  std::vector<std::string> doomed;
  if (ext == ".pem") {
    auto trust = crypto::load_trust_material(config);
    if (trust.ok()) doomed = crypto::crls_of_ca_file(*trust, path);
  }
  doomed.push_back(path);
  for (const auto& p : doomed) {
    std::error_code ec;
    fs::remove(p, ec);
    if (ec) return unavailable("cannot remove " + p + ": " + ec.message());
    std::cout << "removed " << fs::path(p).filename().string() << "\n";
  }
  return Status();
}

void add_trust_remove(CLI::App& trust) {
  auto* cmd = trust.add_subcommand("remove", "Stop trusting a CA (with its CRLs) or drop a CRL");
  auto dir = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  add_data_flag(*cmd, *dir);
  cmd->add_option("NAME", *name, "File name as `admin trust list` shows it")->required();
  cmd->callback([dir, name] {
    Status st = trust_remove(*dir, *name);
    if (!st.ok()) report(st);
  });
}

// Webhooks that fail (by default) or all, with how far pushing got.
void add_webhooks(CLI::App& admin) {
  auto* cmd =
      admin.add_subcommand("webhooks", "Participants' webhooks; by default the failing ones");
  auto dir = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto as_json = std::make_shared<bool>(false);
  add_data_flag(*cmd, *dir);
  cmd->add_flag("--all", *all, "Show every webhook, not only failing ones");
  cmd->add_flag("--json", *as_json, "Print JSON");
  cmd->callback([dir, all, as_json] {
    auto data = open_hub_data(*dir);
    if (!data.ok()) return report(data.status());
    auto hooks = data->store->list_webhooks();
    if (!hooks.ok()) return report(hooks.status());
    json::array a;
    for (const auto& h : *hooks) {
      if (!*all && h.failures == 0) continue;
      auto waiting = data->store->events(h.participant, h.cursor, 1000);
      std::string backlog = waiting.ok() ? std::to_string(waiting->size()) : "?";
      if (waiting.ok() && waiting->size() == 1000) backlog = "1000+";
      if (*as_json) {
        a.push_back(json::object{{"participant", h.participant},
                                 {"url", h.url},
                                 {"failures", h.failures},
                                 {"last_error", h.last_error},
                                 {"last_attempt_at", h.last_attempt_at},
                                 {"last_success_at", h.last_success_at},
                                 {"next_attempt_at", h.next_attempt_at},
                                 {"cursor", std::to_string(h.cursor)},
                                 {"waiting", backlog}});
        continue;
      }
      std::cout << h.participant << "\t" << h.url << "\t"
                << (h.failures == 0 ? "ok" : "failing x" + std::to_string(h.failures))
                << "\twaiting " << backlog;
      if (!h.last_error.empty()) std::cout << "\tlast error: " << h.last_error;
      if (!h.next_attempt_at.empty()) std::cout << "\tretry at " << h.next_attempt_at;
      std::cout << "\n";
    }
    if (*as_json) std::cout << json::serialize(a) << "\n";
  });
}

}  // namespace

void add_admin_commands(CLI::App& app) {
  auto* admin = app.add_subcommand("admin", "Operator commands on a hub data folder");
  admin->require_subcommand(1);
  add_init(*admin);
  add_store_commands(*admin);
  auto* org = admin->add_subcommand("org", "Participants (organizations)");
  org->require_subcommand(1);
  add_org_import(*org);
  add_org_add(*org);
  add_org_list(*org);
  add_org_status(*org, "suspend", ParticipantStatus::kSuspended, "Suspend a participant");
  add_org_status(*org, "activate", ParticipantStatus::kActive, "Activate a participant");
  add_org_status(*org, "retire", ParticipantStatus::kRetired, "Retire a participant");
  auto* cert = admin->add_subcommand("cert", "Participants' certificates");
  cert->require_subcommand(1);
  add_cert_issue(*cert);
  add_cert_list(*cert);
  add_cert_revoke(*cert);
  add_cert_add(*cert);
  auto* trust = admin->add_subcommand("trust", "The trust store: external CAs and their CRLs");
  trust->require_subcommand(1);
  add_trust_add(*trust);
  add_trust_list(*trust);
  add_trust_remove(*trust);
  add_webhooks(*admin);
}

}  // namespace sened::cli
