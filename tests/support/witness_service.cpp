#include "support/witness_service.h"

#include <csignal>
#include <stdexcept>
#include <vector>

#include "journal/cosignature.h"
#include "journal/witness.h"
#include "store/sqlite/sqlite_db.h"

namespace sened::testing {

namespace {

CommandResult sened(std::vector<std::string> args) {
  args.insert(args.begin(), sened_binary());
  return run_command(args);
}

}  // namespace

WitnessService::WitnessService(const std::string& origin, const std::string& log_vkey,
                               const std::string& name) {
  CommandResult init = sened({"witness", "init", "--data", data(), "--name", name});
  if (init.exit_code != 0 || init.out.empty()) throw std::runtime_error(init.err);
  vkey_ = init.out.substr(0, init.out.size() - 1);
  CommandResult add =
      sened({"witness", "add-log", "--data", data(), "--origin", origin, "--key", log_vkey});
  if (add.exit_code != 0) throw std::runtime_error(add.err);
}

void WitnessService::start() {
  std::string listen = address_.empty() ? "127.0.0.1:0" : address_;
  address_ = process_.start({"witness", "--data", data(), "--listen", listen}, dir_ / "addr",
                            dir_ / "witness.log");
}

void WitnessService::stop() { process_.stop(SIGTERM); }

journal::NoteKey WitnessService::key() const { return *journal::parse_witness_verifier_key(vkey_); }

CommandResult WitnessService::logs() const { return sened({"witness", "logs", "--data", data()}); }

std::vector<std::string> WitnessService::refused_notes() const {
  auto db = sqlite::Database::open(data() + "/" + std::string(journal::kWitnessDbFile));
  if (!db.ok()) throw std::runtime_error(db.status().to_string());
  std::vector<std::string> notes;
  sqlite::Statement q = (*db)->prepare("SELECT note FROM refused ORDER BY id");
  for (;;) {
    Result<bool> row = q.next();
    if (!row.ok()) throw std::runtime_error(row.status().to_string());
    if (!*row) return notes;
    notes.push_back(q.text(0));
  }
}

}  // namespace sened::testing
