// `sened admin store copy`: moves a hub's store from SQLite to PostgreSQL.
#include <iostream>
#include <memory>

#include "cli/common.h"
#include "store/store_copy.h"

namespace sened::cli {
namespace {

struct CopyFlags {
  std::string dir;
  std::string from;
  std::string to;
};

Status run_copy(const CopyFlags& f) {
  auto config = load_config(f.dir);
  if (!config.ok()) return config.status();
  auto where = [&](const std::string& address) {
    return StoreLocation{address, config->data_dir, config->path(config->files_dir),
                         config->inline_file_limit};
  };
  auto report = copy_store(where(f.from.empty() ? config->store : f.from), where(f.to));
  if (!report.ok()) return report.status();
  for (const auto& [table, rows] : report->tables) std::cout << table << "\t" << rows << "\n";
  std::cout << "copied; point the hub at the new store with --store or sened.toml's store\n";
  return Status();
}

}  // namespace

void add_store_commands(CLI::App& admin) {
  auto* store = admin.add_subcommand("store", "The hub's store");
  store->require_subcommand(1);
  auto* cmd = store->add_subcommand(
      "copy",
      "Copy every row of a SQLite store into an empty PostgreSQL store, the journal as it is "
      "(proofs and checkpoints stay valid); stop the hub first. Large files stay in the data "
      "folder's files folder, which the cluster's nodes must share.");
  auto f = std::make_shared<CopyFlags>();
  cmd->add_option("--data", f->dir, "Hub data folder (or SENED_DATA)")
      ->envname("SENED_DATA")
      ->required();
  cmd->add_option("--from", f->from, "Source store: sqlite:PATH (default: sened.toml's store)");
  cmd->add_option("--to", f->to, "Target store: postgresql://USER@HOST:PORT/DB")->required();
  cmd->callback([f] {
    Status st = run_copy(*f);
    if (!st.ok()) report(st);
  });
}

}  // namespace sened::cli
