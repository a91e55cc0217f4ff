// Certificates against the real `sened hub`: an external CA made with the
// stock `openssl` command and added with `sened admin trust`, revocation
// through that CA's CRL without a restart, and a participant rotating its
// certificate under running `sened gateway` processes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "client/hub_client.h"
#include "core/process.h"
#include "support/hub_process.h"

namespace sened::testing {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;
using client::HubClient;

// The participant whose certificate comes from the external CA; it has no
// certificate from the hub.
constexpr char kExternalOrg[] = "az.mddt";

// An external CA ("the national CA") made with stock openssl in a folder of
// its own, with an `openssl ca` database so that it can revoke.
class ExternalCa {
 public:
  ExternalCa() {
    write_file(dir_ / "ca.cnf", "[ca]\ndefault_ca=d\n[d]\ndatabase=" + (dir_ / "index.txt") +
                                    "\nnew_certs_dir=" + dir_.path() + "\nserial=" +
                                    (dir_ / "serial") + "\ncrlnumber=" + (dir_ / "crlnumber") +
                                    "\ndefault_md=sha256\ndefault_crl_days=30\npolicy=p\n"
                                    "[p]\ncommonName=supplied\n"
                                    "[leaf]\nbasicConstraints=critical,CA:FALSE\n"
                                    "keyUsage=critical,digitalSignature\n"
                                    "extendedKeyUsage=clientAuth\n");
    write_file(dir_ / "index.txt", "");
    write_file(dir_ / "serial", "5A01\n");
    write_file(dir_ / "crlnumber", "01\n");
    must({"openssl",
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-keyout",
          ca_key(),
          "-subj",
          "/O=Republic/CN=National Test CA",
          "-days",
          "30",
          "-addext",
          "basicConstraints=critical,CA:TRUE",
          "-addext",
          "keyUsage=critical,keyCertSign,cRLSign",
          "-out",
          ca_cert()});
  }

  std::string ca_cert() const { return dir_ / "ca.pem"; }
  std::string ca_key() const { return dir_ / "ca.key"; }
  std::string path(const std::string& name) const { return dir_ / name; }

  // A key and a client certificate for `cn` under NAME.key / NAME.pem.
  void issue(const std::string& name, const std::string& cn) {
    must({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-nodes", "-keyout", path(name + ".key"), "-subj", "/CN=" + cn, "-out",
          path(name + ".csr")});
    must({"openssl", "ca", "-batch", "-config", dir_ / "ca.cnf", "-cert", ca_cert(), "-keyfile",
          ca_key(), "-extensions", "leaf", "-days", "10", "-in", path(name + ".csr"), "-out",
          path(name + ".pem")});
  }

  // A CRL (PEM) revoking certificate NAME.pem, written to `out`.
  void revoke_into_crl(const std::string& name, const std::string& out) {
    must({"openssl", "ca", "-batch", "-config", dir_ / "ca.cnf", "-cert", ca_cert(), "-keyfile",
          ca_key(), "-revoke", path(name + ".pem")});
    must({"openssl", "ca", "-batch", "-config", dir_ / "ca.cnf", "-cert", ca_cert(), "-keyfile",
          ca_key(), "-gencrl", "-out", out});
  }

 private:
  static void must(const std::vector<std::string>& argv) {
    CommandResult r = run_command(argv);
    ASSERT_EQ(r.exit_code, 0) << argv[1] << ": " << r.err;
  }

  TempDir dir_;
};

class CertsTest : public ::testing::Test {
 protected:
  void SetUp() override { hub_.start(); }

  CommandResult admin(std::vector<std::string> args) {
    args.insert(args.begin(), "admin");
    args.insert(args.end(), {"--data", hub_.dir()});
    return hub_.sened(args);
  }

  client::ClientOptions external_client(const std::string& name) {
    client::ClientOptions o = hub_.client("az.finance");
    o.cert_file = ca_.path(name + ".pem");
    o.key_file = ca_.path(name + ".key");
    return o;
  }

  // A fresh connection's outcome: the HTTP status, or -1 when the handshake
  // (or the connection) fails.
  static int status_of(const client::ClientOptions& o, const std::string& target = "/v1/inbox") {
    HubClient c(o);
    auto r = c.request("GET", target);
    return r.ok() ? r->status : -1;
  }

  int certificates_of(const std::string& org) {
    auto list = admin({"cert", "list", "--json"});
    int n = 0;
    json::value certs = json::parse(list.out);
    for (const auto& c : certs.as_array()) {
      if (c.at("participant").as_string() == org) ++n;
    }
    return n;
  }

  std::string send(const client::ClientOptions& from, const std::string& ref,
                   const std::string& to) {
    json::object m{{"sender_ref", ref},
                   {"kind", "letter"},
                   {"subject", "Trust test " + ref},
                   {"recipients", json::object{{"to", json::array{json::value(to)}}}}};
    HubClient c(from);
    auto r = c.post_multipart(
        "/v1/documents", {{"metadata", "", "application/json", std::nullopt, json::serialize(m)},
                          {"file", "letter.txt", "text/plain", std::nullopt, "text of " + ref}});
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return "";
    EXPECT_EQ(r->status, 201) << r->body;
    return std::string(json::parse(r->body).at("id").as_string());
  }

  bool inbox_has(const client::ClientOptions& who, const std::string& id) {
    HubClient c(who);
    auto r = c.request("GET", "/v1/inbox");
    return r.ok() && r->status == 200 && r->body.find(id) != std::string::npos;
  }

  HubProcess hub_{{"az.finance", "az.justice"}};
  ExternalCa ca_;
};

TEST_F(CertsTest, AParticipantOfAnExternalCaExchangesDocumentsUntilItsCrlRevokesIt) {
  ca_.issue("mddt", "mddt.example");
  // Not trusted yet: neither registrable nor able to connect.
  CommandResult early =
      admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("mddt.pem")});
  EXPECT_NE(early.exit_code, 0);
  EXPECT_NE(early.err.find("does not verify"), std::string::npos) << early.err;
  EXPECT_EQ(status_of(external_client("mddt")), -1);

  CommandResult added = admin({"trust", "add", ca_.ca_cert(), "--name", "national"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_NE(added.out.find("trusted CA CN=National Test CA,O=Republic as national.pem"),
            std::string::npos)
      << added.out;
  CommandResult registered =
      admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("mddt.pem")});
  ASSERT_EQ(registered.exit_code, 0) << registered.err;
  EXPECT_EQ(certificates_of(kExternalOrg), 1);

  // The running hub picks the new CA up by itself.
  ASSERT_TRUE(wait_until([&] { return status_of(external_client("mddt")) == 200; }));
  std::string out = send(external_client("mddt"), "ext-1", "az.finance");
  std::string in = send(hub_.client("az.finance"), "fin-1", kExternalOrg);
  EXPECT_TRUE(inbox_has(hub_.client("az.finance"), out));
  EXPECT_TRUE(inbox_has(external_client("mddt"), in));

  // The national CA revokes it; its CRL, added with `admin trust add`, makes
  // the running hub refuse the certificate at the handshake.
  ca_.revoke_into_crl("mddt", ca_.path("national.crl"));
  CommandResult crl = admin({"trust", "add", ca_.path("national.crl")});
  ASSERT_EQ(crl.exit_code, 0) << crl.err;
  EXPECT_NE(crl.out.find("added CRL of CN=National Test CA,O=Republic"), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return status_of(external_client("mddt")) == -1; }));
  HubClient refused(external_client("mddt"));
  auto r = refused.request("GET", "/v1/inbox");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(status_of(hub_.client("az.finance")), 200);
  EXPECT_TRUE(hub_.running());
}

TEST_F(CertsTest, AnotherCertificateOfTheExternalCaWithoutACrlStillConnects) {
  ca_.issue("mddt", "mddt.example");
  ASSERT_EQ(admin({"trust", "add", ca_.ca_cert()}).exit_code, 0);
  ASSERT_EQ(admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("mddt.pem")}).exit_code,
            0);
  // No CRL of this CA is in the store: its certificates are not checked for
  // revocation (docs/security.md), while the hub CA's still are.
  ASSERT_TRUE(wait_until([&] { return status_of(external_client("mddt")) == 200; }));
  auto list = admin({"trust", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0);
  json::array entries = json::parse(list.out).as_array();
  ASSERT_EQ(entries.size(), 3u);  // hub CA, ca.pem, hub CRL
  EXPECT_EQ(entries[1].at("name").as_string(), "ca.pem");
  EXPECT_EQ(entries[1].at("kind").as_string(), "ca");
  EXPECT_EQ(entries[2].at("name").as_string(), "(hub CRL)");
}

TEST_F(CertsTest, RevokingAnExternalCertificateInTheRegistryGives403AndLeavesTheHubCrlAlone) {
  ca_.issue("mddt", "mddt.example");
  ASSERT_EQ(admin({"trust", "add", ca_.ca_cert()}).exit_code, 0);
  ASSERT_EQ(admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("mddt.pem")}).exit_code,
            0);
  ASSERT_TRUE(wait_until([&] { return status_of(external_client("mddt")) == 200; }));
  std::string hub_crl = read_file(hub_.dir() + "/ca/crl.pem");

  // 5A01 is the first serial of the external CA's database.
  CommandResult revoked = admin({"cert", "revoke", "5A01"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  // Only the national CA's CRL can refuse it at the handshake; the registry
  // refuses it at once.
  EXPECT_EQ(status_of(external_client("mddt")), 403);
  CommandResult listed =
      run_command({"openssl", "crl", "-noout", "-text", "-in", hub_.dir() + "/ca/crl.pem"});
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_EQ(listed.out.find("5A01"), std::string::npos) << listed.out;
  EXPECT_NE(read_file(hub_.dir() + "/ca/crl.pem"), hub_crl);  // rewritten, without it
}

TEST_F(CertsTest, AnUnregisteredCertificateOfATrustedCaGets403) {
  ca_.issue("stranger", "stranger.example");
  ASSERT_EQ(admin({"trust", "add", ca_.ca_cert()}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return status_of(external_client("stranger")) != -1; }));
  EXPECT_EQ(status_of(external_client("stranger")), 403);
}

TEST_F(CertsTest, TrustAddRefusesWhatIsNotACaCertificateOrATrustedCrl) {
  ca_.issue("mddt", "mddt.example");
  std::string before = admin({"trust", "list"}).out;
  struct Case {
    std::string file;
    std::string message;
  };
  write_file(ca_.path("notes.txt"), "hello");
  write_file(ca_.path("both.pem"), read_file(ca_.ca_cert()) + read_file(ca_.path("mddt.pem")));
  ca_.revoke_into_crl("mddt", ca_.path("untrusted.crl"));
  for (const Case& c : std::vector<Case>{
           {ca_.path("mddt.pem"), "is not a CA certificate"},
           {ca_.path("mddt.key"), "expected exactly one PEM CA certificate or one PEM X509 CRL"},
           {ca_.path("notes.txt"), "expected exactly one"},
           {ca_.path("both.pem"), "expected exactly one"},
           {ca_.path("untrusted.crl"), "is not signed by a trusted CA"},
           {hub_.dir() + "/ca/crl.pem", "admin cert revoke"},
           {ca_.path("missing.pem"), "cannot read"}}) {
    CommandResult r = admin({"trust", "add", c.file});
    EXPECT_NE(r.exit_code, 0) << c.file;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.file << ": " << r.err;
  }
  CommandResult bad_name = admin({"trust", "add", ca_.ca_cert(), "--name", "../x"});
  EXPECT_NE(bad_name.exit_code, 0);
  EXPECT_EQ(admin({"trust", "list"}).out, before);
  EXPECT_FALSE(fs::exists(hub_.dir() + "/trust/mddt.pem"));

  ASSERT_EQ(admin({"trust", "add", ca_.ca_cert()}).exit_code, 0);
  CommandResult again = admin({"trust", "add", ca_.ca_cert(), "--name", "again"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already trusted"), std::string::npos) << again.err;
}

TEST_F(CertsTest, TrustAddStoresOnlyTheCertificateAndCrlNotTheTextAroundThem) {
  // `openssl x509 -text` and `openssl crl -text` put a readable dump before
  // the PEM block; a mail or a web page may wrap it in more words.
  ca_.issue("mddt", "mddt.example");
  ca_.revoke_into_crl("mddt", ca_.path("national.crl"));
  CommandResult text = run_command({"openssl", "x509", "-in", ca_.ca_cert(), "-text"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  write_file(ca_.path("dump.pem"), "Dear operator,\n" + text.out + "Regards\n");
  CommandResult crl_text =
      run_command({"openssl", "crl", "-in", ca_.path("national.crl"), "-text"});
  ASSERT_EQ(crl_text.exit_code, 0) << crl_text.err;
  write_file(ca_.path("dump.crl"), crl_text.out + "-- \nsignature of the mail\n");

  ASSERT_EQ(admin({"trust", "add", ca_.path("dump.pem"), "--name", "national"}).exit_code, 0);
  ASSERT_EQ(admin({"trust", "add", ca_.path("dump.crl"), "--name", "national"}).exit_code, 0);
  std::string stored = read_file(hub_.dir() + "/trust/national.pem");
  EXPECT_EQ(stored, run_command({"openssl", "x509", "-in", ca_.ca_cert()}).out);
  EXPECT_EQ(stored.find("Dear"), std::string::npos) << stored;
  EXPECT_EQ(stored.find("Certificate:"), std::string::npos) << stored;
  std::string stored_crl = read_file(hub_.dir() + "/trust/national.crl");
  EXPECT_EQ(stored_crl, run_command({"openssl", "crl", "-in", ca_.path("national.crl")}).out);
  EXPECT_EQ(stored_crl.find("signature of the mail"), std::string::npos) << stored_crl;
  EXPECT_NE(admin({"trust", "list"}).out.find("1 revoked"), std::string::npos);
}

TEST_F(CertsTest, CertAddRefusesACaAnUntrustedOrARevokedCertificate) {
  ca_.issue("mddt", "mddt.example");
  ca_.issue("other", "other.example");
  CommandResult untrusted =
      admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("mddt.pem")});
  EXPECT_NE(untrusted.exit_code, 0);
  EXPECT_NE(untrusted.err.find("is refused"), std::string::npos) << untrusted.err;

  ASSERT_EQ(admin({"trust", "add", ca_.ca_cert()}).exit_code, 0);
  CommandResult ca = admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.ca_cert()});
  EXPECT_NE(ca.exit_code, 0);
  EXPECT_NE(ca.err.find("is a CA certificate"), std::string::npos) << ca.err;
  CommandResult nobody =
      admin({"cert", "add", "--org", "az.nobody", "--cert", ca_.path("mddt.pem")});
  EXPECT_NE(nobody.exit_code, 0);

  ca_.revoke_into_crl("other", ca_.path("national.crl"));
  ASSERT_EQ(admin({"trust", "add", ca_.path("national.crl")}).exit_code, 0);
  CommandResult revoked =
      admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("other.pem")});
  EXPECT_NE(revoked.exit_code, 0);
  EXPECT_NE(revoked.err.find("revoked"), std::string::npos) << revoked.err;
  EXPECT_EQ(certificates_of(kExternalOrg), 0);

  ASSERT_EQ(admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("mddt.pem")}).exit_code,
            0);
  CommandResult twice =
      admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("mddt.pem")});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_EQ(certificates_of(kExternalOrg), 1);
}

TEST_F(CertsTest, TrustRemoveTakesTheCaWithItsCrlAndTheHubStopsTrustingIt) {
  ca_.issue("mddt", "mddt.example");
  ca_.issue("other", "other.example");
  ASSERT_EQ(admin({"trust", "add", ca_.ca_cert(), "--name", "national"}).exit_code, 0);
  ca_.revoke_into_crl("other", ca_.path("national.crl"));
  ASSERT_EQ(admin({"trust", "add", ca_.path("national.crl")}).exit_code, 0);
  ASSERT_EQ(admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("mddt.pem")}).exit_code,
            0);
  ASSERT_TRUE(wait_until([&] { return status_of(external_client("mddt")) == 200; }));

  EXPECT_EQ(admin({"trust", "remove", "nothing.pem"}).exit_code != 0, true);
  EXPECT_NE(admin({"trust", "remove", "../sened.toml"}).exit_code, 0);
  CommandResult removed = admin({"trust", "remove", "national.pem"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_NE(removed.out.find("removed national.crl"), std::string::npos) << removed.out;
  EXPECT_FALSE(fs::exists(hub_.dir() + "/trust/national.crl"));
  ASSERT_TRUE(wait_until([&] { return status_of(external_client("mddt")) == -1; }));
  EXPECT_EQ(status_of(hub_.client("az.finance")), 200);
}

TEST_F(CertsTest, TheHubKeepsItsTrustWhenATrustFileIsDamaged) {
  ca_.issue("mddt", "mddt.example");
  ASSERT_EQ(admin({"trust", "add", ca_.ca_cert(), "--name", "national"}).exit_code, 0);
  ASSERT_EQ(admin({"cert", "add", "--org", kExternalOrg, "--cert", ca_.path("mddt.pem")}).exit_code,
            0);
  ASSERT_TRUE(wait_until([&] { return status_of(external_client("mddt")) == 200; }));
  write_file(hub_.dir() + "/trust/broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n");
  // The hub looks at its trust files when a connection arrives.
  ASSERT_TRUE(wait_until([&] {
    status_of(hub_.client("az.finance"));
    return hub_.log().find("broken.pem") != std::string::npos;
  }));
  EXPECT_NE(hub_.log().find("tls reload failed"), std::string::npos);
  EXPECT_EQ(status_of(external_client("mddt")), 200);
  EXPECT_EQ(status_of(hub_.client("az.finance")), 200);
  CommandResult list = admin({"trust", "list"});
  EXPECT_NE(list.exit_code, 0);
  EXPECT_NE(list.err.find("broken.pem"), std::string::npos) << list.err;
}

// ---------------------------------------------------------------------------
// Rotation under running gateways.

// `sened gateway` for `org`, reading its certificate and key from files the
// test replaces while it runs.
class GatewayProcess {
 public:
  GatewayProcess(const HubProcess& hub, const std::string& org) {
    fs::copy_file(hub.client_dir(org) + "/cert.pem", cert());
    fs::copy_file(hub.client_dir(org) + "/key.pem", key());
    std::vector<std::string> args{sened_binary(),
                                  "gateway",
                                  "--dir",
                                  dir(),
                                  "--hub",
                                  hub.url(),
                                  "--cert",
                                  cert(),
                                  "--key",
                                  key(),
                                  "--ca",
                                  hub.client_dir(org) + "/ca.pem",
                                  "--poll-ms",
                                  "50",
                                  "--event-wait",
                                  "2",
                                  "--max-backoff-ms",
                                  "500"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = spawn_tied_to_parent(argv, dir_ / "gateway.log", SIGKILL);
    if (pid_ <= 0) throw std::runtime_error("cannot start the gateway");
  }
  ~GatewayProcess() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

  std::string dir() const { return dir_ / "gw"; }
  std::string cert() const { return dir_ / "cert.pem"; }
  std::string key() const { return dir_ / "key.pem"; }
  std::string log() const { return read_file(dir_ / "gateway.log"); }

  // Replaces the certificate and key files the way an operator's script
  // does: each written aside and renamed over the old one, certificate first.
  void install(const std::string& cert_from, const std::string& key_from) {
    write_file(cert() + ".new", read_file(cert_from));
    fs::rename(cert() + ".new", cert());
    write_file(key() + ".new", read_file(key_from));
    fs::rename(key() + ".new", key());
  }

  void drop_letter(const std::string& name, const std::string& to) {
    std::string p = dir() + "/outbox/" + name;
    fs::create_directories(p + "/files");
    json::object m{{"kind", "letter"},
                   {"subject", name},
                   {"recipients", json::object{{"to", json::array{json::value(to)}}}},
                   {"files", json::array{json::object{{"name", "letter.txt"}}}}};
    write_file(p + "/envelope.json", json::serialize(m));
    write_file(p + "/files/letter.txt", "text of " + name);
    write_file(p + "/READY", "");
  }

  // Subject of every document received, with how often it arrived.
  std::map<std::string, int> received() const {
    std::map<std::string, int> out;
    for (const std::string& folder : {dir() + "/inbox", dir() + "/inbox/processed"}) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(folder, ec)) {
        std::string envelope = e.path().string() + "/envelope.json";
        if (e.path().filename().string()[0] == '.' || !fs::exists(envelope)) continue;
        json::value v = json::parse(read_file(envelope));
        ++out[std::string(v.at("subject").as_string())];
      }
    }
    return out;
  }

  int sent() const {
    std::error_code ec;
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir() + "/sent", ec)) n += e.is_directory();
    return n;
  }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
};

TEST_F(CertsTest, AGatewaySwitchesToItsSecondCertificateWithoutLosingADocument) {
  const std::string a = "az.finance";
  const std::string b = "az.justice";
  GatewayProcess ga(hub_, a);
  GatewayProcess gb(hub_, b);
  std::set<std::string> to_b, to_a;
  auto send_round = [&](const std::string& tag, int n) {
    for (int i = 0; i < n; ++i) {
      std::string ab = "a-to-b-" + tag + "-" + std::to_string(i);
      std::string ba = "b-to-a-" + tag + "-" + std::to_string(i);
      ga.drop_letter(ab, b);
      gb.drop_letter(ba, a);
      to_b.insert(ab);
      to_a.insert(ba);
    }
  };

  send_round("first", 4);
  ASSERT_TRUE(wait_until([&] { return gb.received().size() >= 2 && ga.received().size() >= 2; }))
      << ga.log() << gb.log();

  // The second certificate: the first stays valid during the change-over.
  std::string second = hub_.dir() + "/clients/second";
  CommandResult issued = admin({"cert", "issue", "--org", a, "--out", second});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  auto list = json::parse(admin({"cert", "list", "--json"}).out).as_array();
  int valid = 0;
  for (const auto& c : list) {
    if (c.at("participant").as_string() == a && !c.at("revoked").as_bool()) ++valid;
  }
  EXPECT_EQ(valid, 2);
  CommandResult serial = run_command(
      {"openssl", "x509", "-noout", "-serial", "-in", hub_.client_dir(a) + "/cert.pem"});
  ASSERT_EQ(serial.exit_code, 0);
  std::string old_serial = serial.out.substr(serial.out.find('=') + 1);
  old_serial.erase(old_serial.find_last_not_of("\n") + 1);
  client::ClientOptions second_client = hub_.client(a);
  second_client.cert_file = second + "/cert.pem";
  second_client.key_file = second + "/key.pem";
  EXPECT_EQ(status_of(second_client), 200);
  EXPECT_EQ(status_of(hub_.client(a)), 200);

  // Mid-stream: more letters, the files swapped, more letters.
  send_round("during", 4);
  ga.install(second + "/cert.pem", second + "/key.pem");
  send_round("swapped", 4);
  ASSERT_TRUE(wait_until([&] {
    return ga.log().find("gateway certificate reloaded") != std::string::npos;
  })) << ga.log();

  // The old certificate revoked: the gateway carries on with the new one.
  CommandResult revoked = admin({"cert", "revoke", old_serial});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  ASSERT_TRUE(wait_until([&] { return status_of(hub_.client(a)) == -1; }));
  send_round("after", 4);

  auto all_arrived = [&] {
    auto at_a = ga.received();
    auto at_b = gb.received();
    return at_a.size() == to_a.size() && at_b.size() == to_b.size() &&
           ga.sent() == static_cast<int>(to_b.size()) && gb.sent() == static_cast<int>(to_a.size());
  };
  ASSERT_TRUE(wait_until(all_arrived)) << ga.log() << gb.log();
  for (const auto& [subject, count] : gb.received()) {
    EXPECT_TRUE(to_b.count(subject)) << subject;
    EXPECT_EQ(count, 1) << subject;
  }
  for (const auto& [subject, count] : ga.received()) {
    EXPECT_TRUE(to_a.count(subject)) << subject;
    EXPECT_EQ(count, 1) << subject;
  }
  // The hub holds each document once: 16 each way.
  HubClient reader(second_client);
  auto outbox = reader.request("GET", "/v1/outbox");
  ASSERT_TRUE(outbox.ok());
  EXPECT_EQ(json::parse(outbox->body).at("documents").as_array().size(), to_b.size());

  // A client still holding the old certificate fails at the handshake.
  HubClient old_client(hub_.client(a));
  auto r = old_client.request("GET", "/v1/inbox");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace sened::testing
