// `sened demo`: a whole exchange on one machine, from nothing. Every step
// runs the real `sened` binary as a user would, and prints the command.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/common.h"
#include "core/process.h"
#include "crypto/digest.h"

extern char** environ;

namespace sened::cli {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;

constexpr auto kHubStartTimeout = std::chrono::seconds(30);

const char* const kLetter = "Məktub № 14-3-2051 (inteqrasiya).pdf";
const char* const kSignature = "Məktub № 14-3-2051 (inteqrasiya).pdf.p7s";
const char* const kAnnex = "Əlavə 1 — qoşulma qrafiki.csv";
const char* const kReplyDocx = "Письмо № 07-118к.docx";
const char* const kReplyPdf = "Письмо № 07-118к.pdf";

struct DemoFlags {
  std::string dir;
  std::string examples;
  bool once = false;
};

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "sened" : p.string();
}

std::string find_examples(const std::string& given) {
  if (!given.empty()) return given;
  for (std::string c : {std::string("examples"), std::string(SENED_SOURCE_DIR) + "/examples"}) {
    if (fs::exists(c + "/participants.csv")) return fs::absolute(c).string();
  }
  return "";
}

struct Run {
  int code = -1;
  std::string out;
};

// Runs `sened ARGS…` and waits; prints the command (without the first
// `hidden` arguments, the connection flags) and its output, indented. `who`
// names the participant acting, if any.
Run sened(const std::vector<std::string>& args, const std::string& who = "", size_t hidden = 0) {
  std::cout << "  " << (who.empty() ? "operator" : who) << "$ sened";
  for (size_t i = 0; i < args.size(); ++i) {
    if (i >= 1 && i < 1 + hidden) continue;
    const std::string& a = args[i];
    bool plain = a.find_first_of(" \"'()№—") == std::string::npos && !a.empty();
    std::cout << " " << (plain ? a : "'" + a + "'");
  }
  std::cout << "\n" << std::flush;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  std::string exe = self_exe();
  std::vector<char*> argv{exe.data()};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  Run r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  if (rc != 0) return r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  {
    std::string line;
    for (char c : r.out) {
      if (c == '\n') {
        std::cout << "    " << line << "\n";
        line.clear();
      } else {
        line += c;
      }
    }
    if (!line.empty()) std::cout << "    " << line << "\n";
  }
  return r;
}

std::string last_line(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

// The hub as a child process on a free loopback port.
class HubProcess {
 public:
  ~HubProcess() { stop(); }

  Status start(const std::string& dir) {
    std::string port_file = dir + "/hub.addr";
    fs::remove(port_file);
    std::string exe = self_exe();
    std::vector<std::string> args{exe,        "hub",         "--data",      dir,
                                  "--listen", "127.0.0.1:0", "--port-file", port_file};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = dir + "/hub.log";
    pid_ = spawn_tied_to_parent(argv, log, SIGTERM);
    int rc = pid_ > 0 ? 0 : -1;
    if (rc != 0) return unavailable("cannot start the hub");
    auto deadline = std::chrono::steady_clock::now() + kHubStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto text = read_text_file(port_file);
      if (text.ok() && !text->empty() && text->back() == '\n') {
        address_ = text->substr(0, text->size() - 1);
        return Status();
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return unavailable("the hub exited at start; see " + log);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return unavailable("the hub did not start in time; see " + log);
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  const std::string& address() const { return address_; }

 private:
  pid_t pid_ = -1;
  std::string address_;
};

class Demo {
 public:
  explicit Demo(DemoFlags flags) : f_(std::move(flags)) {}

  Status run() {
    SENED_RETURN_IF_ERROR(prepare());
    SENED_RETURN_IF_ERROR(set_up_hub());
    SENED_RETURN_IF_ERROR(send_letter());
    SENED_RETURN_IF_ERROR(recipients_act());
    SENED_RETURN_IF_ERROR(reply());
    SENED_RETURN_IF_ERROR(sender_checks());
    if (!f_.once) wait_for_user();
    hub_.stop();
    std::cout << "\nThe demo worked: every step above ran against the real hub.\n"
              << "Its data folder (a development CA, the database, the received files) is "
              << f_.dir << "; delete it when done.\n";
    return Status();
  }

 private:
  Status prepare() {
    examples_ = find_examples(f_.examples);
    if (examples_.empty()) {
      return not_found("examples/ not found (run from the repository, or pass --examples DIR)");
    }
    if (f_.dir.empty()) {
      std::string tmpl = fs::temp_directory_path().string() + "/sened-demo-XXXXXX";
      if (mkdtemp(tmpl.data()) == nullptr) return unavailable("cannot make a temp folder");
      f_.dir = tmpl;
    }
    f_.dir = fs::absolute(f_.dir).string();
    std::cout << "Data folder: " << f_.dir << "\n";
    return Status();
  }

  Status step(const std::vector<std::string>& args, std::string* out = nullptr) {
    return step_as("", args, out);
  }

  // A client command run as `org` with its own certificate.
  Status step_as(const std::string& org, const std::vector<std::string>& args,
                 std::string* out = nullptr) {
    std::vector<std::string> full = org.empty() ? args : as(org, args);
    Run r = sened(full, org, org.empty() ? 0 : kConnectionArgs);
    if (out) *out = r.out;
    if (r.code != 0) {
      return internal_error("step failed (exit " + std::to_string(r.code) + "): sened " +
                            args.front());
    }
    return Status();
  }

  static constexpr size_t kConnectionArgs = 8;

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string dir = f_.dir + "/clients/" + org;
    args.insert(args.begin() + 1, {"--hub", hub_url_, "--ca", dir + "/ca.pem", "--cert",
                                   dir + "/cert.pem", "--key", dir + "/key.pem"});
    return args;
  }

  Status set_up_hub() {
    std::cout << "\n1. The operator creates the hub, imports the registry of participants and "
                 "issues certificates to three of them.\n";
    SENED_RETURN_IF_ERROR(step({"admin", "init", "--data", f_.dir}));
    SENED_RETURN_IF_ERROR(
        step({"admin", "org", "import", "--data", f_.dir, examples_ + "/participants.csv"}));
    for (const char* org : {"az.mddt", "az.finance", "az.baku-executive"}) {
      SENED_RETURN_IF_ERROR(step({"admin", "cert", "issue", "--data", f_.dir, "--org", org, "--out",
                                  f_.dir + "/clients/" + org}));
    }
    std::cout << "\n2. The hub starts on a loopback port, mutual TLS only.\n";
    SENED_RETURN_IF_ERROR(hub_.start(f_.dir));
    hub_url_ = "https://" + hub_.address();
    std::cout << "  hub listening at " << hub_url_ << " (log: " << f_.dir << "/hub.log)\n"
              << "  Below, each participant's commands run with its own certificate from " << f_.dir
              << "/clients/ (--hub --ca --cert --key, not shown).\n";
    return Status();
  }

  Status send_letter() {
    std::cout << "\n3. The Ministry of Digital Development and Transport sends its letter, "
                 "signature and annex to the Ministry of Finance (to) and the Baku City "
                 "Executive Authority (cc).\n";
    std::string docs = examples_ + "/documents/";
    std::string out;
    SENED_RETURN_IF_ERROR(step_as("az.mddt",
                                  {"send",
                                   "--to",
                                   "az.finance",
                                   "--cc",
                                   "az.baku-executive",
                                   "--subject",
                                   "Elektron sənəd dövriyyəsi sisteminin inteqrasiyası haqqında",
                                   "--kind",
                                   "letter",
                                   "--ref",
                                   "MDDT-2026-2051",
                                   "--reg-number",
                                   "14/3-2051",
                                   "--reg-date",
                                   "2026-12-02",
                                   "--due",
                                   "2026-12-15",
                                   docs + kLetter,
                                   docs + kSignature,
                                   docs + kAnnex},
                                  &out));
    letter_ = last_line(out);
    return Status();
  }

  // Fetches `id` as `org` and checks every file against the original.
  Status fetch_and_compare(const std::string& org, const std::string& id,
                           const std::vector<std::string>& originals) {
    std::string out = f_.dir + "/received/" + org + "/" + id;
    SENED_RETURN_IF_ERROR(step_as(org, {"fetch", id, "--out", out}));
    for (const auto& name : originals) {
      auto a = crypto::sha256_file_hex(examples_ + "/documents/" + name);
      auto b = crypto::sha256_file_hex(out + "/" + name);
      if (!a.ok() || !b.ok() || *a != *b) return internal_error(name + " differs after transfer");
      std::cout << "  SHA-256 equal to the original: " << name << "\n";
    }
    return Status();
  }

  Status recipients_act() {
    std::cout << "\n4. Both recipients see it in their inbox, fetch it and acknowledge it.\n";
    std::vector<std::string> files{kLetter, kSignature, kAnnex};
    for (const char* org : {"az.finance", "az.baku-executive"}) {
      SENED_RETURN_IF_ERROR(step_as(org, {"inbox"}));
      SENED_RETURN_IF_ERROR(fetch_and_compare(org, letter_, files));
      SENED_RETURN_IF_ERROR(step_as(org, {"ack", letter_}));
    }
    std::cout << "\n5. Finance registers it under its own number; Baku rejects it with a "
                 "reason.\n";
    SENED_RETURN_IF_ERROR(step_as(
        "az.finance", {"register", letter_, "--number", "MN-07-118/k", "--date", "2026-12-03"}));
    SENED_RETURN_IF_ERROR(step_as(
        "az.baku-executive", {"reject", letter_, "--reason",
                              "Məsələ Bakı Şəhər İcra Hakimiyyətinin səlahiyyətinə aid deyil"}));
    return Status();
  }

  Status reply() {
    std::cout << "\n6. Finance answers with its Russian letter (DOCX and PDF), in reply to the "
                 "first; the ministry fetches and acknowledges the answer.\n";
    std::string docs = examples_ + "/documents/";
    std::string out;
    SENED_RETURN_IF_ERROR(step_as(
        "az.finance",
        {"send", "--to", "az.mddt", "--kind", "reply", "--subject",
         "Ответ на письмо № 14/3-2051 об интеграции", "--in-reply-to", letter_, "--reg-number",
         "07-118к", "--reg-date", "2026-12-03", docs + kReplyDocx, docs + kReplyPdf},
        &out));
    reply_ = last_line(out);
    SENED_RETURN_IF_ERROR(fetch_and_compare("az.mddt", reply_, {kReplyDocx, kReplyPdf}));
    return step_as("az.mddt", {"ack", reply_});
  }

  Status sender_checks() {
    std::cout << "\n7. The ministry sees every status of its letter, its whole trail, and the "
                 "journal verifies.\n";
    std::string out;
    SENED_RETURN_IF_ERROR(step_as("az.mddt", {"status", letter_}, &out));
    for (const char* want : {"az.finance (to): registered", "az.baku-executive (cc): rejected"}) {
      if (out.find(want) == std::string::npos)
        return internal_error(std::string("missing ") + want);
    }
    SENED_RETURN_IF_ERROR(step_as("az.finance", {"status", reply_}, &out));
    if (out.find("az.mddt (to): delivered") == std::string::npos) {
      return internal_error("the reply is not delivered");
    }
    SENED_RETURN_IF_ERROR(step_as("az.mddt", {"history", letter_}));
    return step({"journal", "verify", "--data", f_.dir});
  }

  void wait_for_user() {
    std::string c = f_.dir + "/clients/az.mddt";
    std::cout << "\nThe hub stays up. Try the client as the ministry:\n"
              << "  export SENED_HUB=" << hub_url_ << " SENED_CA=" << c
              << "/ca.pem SENED_CERT=" << c << "/cert.pem SENED_KEY=" << c << "/key.pem\n"
              << "  " << self_exe() << " outbox\n"
              << "  " << self_exe() << " history " << letter_ << "\n"
              << "Press Ctrl-C to stop.\n"
              << std::flush;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    int sig = 0;
    sigwait(&set, &sig);
  }

  DemoFlags f_;
  std::string examples_;
  HubProcess hub_;
  std::string hub_url_;
  std::string letter_;
  std::string reply_;
};

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "A whole exchange on one machine, from nothing");
  auto f = std::make_shared<DemoFlags>();
  cmd->add_option("--data", f->dir, "Data folder to create (default: a new temp folder)");
  cmd->add_option("--examples", f->examples, "Folder with participants.csv and documents/");
  cmd->add_flag("--once", f->once, "Exit when the demo is done (0 if every step worked)");
  cmd->callback([f] {
    Demo demo(*f);
    Status st = demo.run();
    if (!st.ok()) report(st);
  });
}

}  // namespace sened::cli
