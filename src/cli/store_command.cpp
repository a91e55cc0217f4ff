// `sened admin store copy|backup|restore`: moves a hub's store from SQLite to
// PostgreSQL; backs a SQLite store up while the hub runs, and restores it.
#include <iostream>
#include <memory>

#include "cli/common.h"
#include "store/store_backup.h"
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
  auto where = [&](const std::string& address) { return store_location(*config, address); };
  auto report = copy_store(where(f.from.empty() ? config->store : f.from), where(f.to));
  if (!report.ok()) return report.status();
  for (const auto& [table, rows] : report->tables) std::cout << table << "\t" << rows << "\n";
  std::cout << "copied; point the hub at the new store with --store or sened.toml's store\n";
  return Status();
}

struct BackupFlags {
  std::string dir;
  std::string to;    // backup: the new backup folder
  std::string from;  // restore: the backup folder
};

Status run_backup(const BackupFlags& f) {
  auto config = load_config(f.dir);
  if (!config.ok()) return config.status();
  auto report = backup_sqlite_store(store_location(*config, store_address()), f.to);
  if (!report.ok()) return report.status();
  std::cout << "backed up to " << f.to << ": " << kBackupDatabase << " and " << report->files
            << " content files (" << report->bytes << " bytes)\n";
  return Status();
}

Status run_restore(const BackupFlags& f) {
  auto config = load_config(f.dir);
  if (!config.ok()) return config.status();
  auto report = restore_sqlite_store(f.from, store_location(*config, store_address()));
  if (!report.ok()) return report.status();
  std::cout << "restored " << report->database << " and " << report->files
            << " content files; check it with `sened journal verify --data " << f.dir << "`\n";
  return Status();
}

void add_backup(CLI::App& store) {
  auto* cmd = store.add_subcommand(
      "backup",
      "Back up a SQLite store while the hub runs: a consistent snapshot of the database and "
      "the content files it names, into a new folder (never overwritten). For PostgreSQL use "
      "pg_dump (docs/backup.md).");
  auto f = std::make_shared<BackupFlags>();
  add_data_flag(*cmd, f->dir);
  cmd->add_option("--to", f->to, "The backup folder to create")->required();
  cmd->callback([f] {
    Status st = run_backup(*f);
    if (!st.ok()) report(st);
  });
}

void add_restore(CLI::App& store) {
  auto* cmd = store.add_subcommand(
      "restore",
      "Put a backup made by `store backup` in place as this data folder's SQLite store; the "
      "hub must be stopped and no database may exist there yet.");
  auto f = std::make_shared<BackupFlags>();
  add_data_flag(*cmd, f->dir);
  cmd->add_option("--from", f->from, "The backup folder")->required();
  cmd->callback([f] {
    Status st = run_restore(*f);
    if (!st.ok()) report(st);
  });
}

}  // namespace

void add_store_commands(CLI::App& admin) {
  auto* store = admin.add_subcommand("store", "The hub's store");
  store->require_subcommand(1);
  auto* cmd = store->add_subcommand(
      "copy",
      "Copy every row of a SQLite store into an empty PostgreSQL store, the journal as it is "
      "(proofs and checkpoints stay valid); stop the hub first. Large files stay in the data "
      "folder's files folder, which the cluster's nodes must share, or with "
      "file_storage = \"postgresql\" go into the database.");
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
  add_backup(*store);
  add_restore(*store);
}

}  // namespace sened::cli
