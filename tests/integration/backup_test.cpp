// Backup and restore of both backends with the real `sened` binary: a SQLite
// hub backed up by `sened admin store backup` while it runs and documents keep
// arriving, restored by `sened admin store restore` into a new data folder; a
// PostgreSQL hub (files in the database) dumped by the stock pg_dump -Fc while
// it runs and restored by pg_restore into a fresh database. Either way `sened
// journal verify` passes on the copy, the documents of the snapshot are there
// with files of equal digests, and the journal's root matches its checkpoint.
// Bad input (existing target, unwritable folder, missing store) changes
// nothing. The PostgreSQL case skips without a test server.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "crypto/digest.h"
#include "store/postgres/postgres_store.h"
#include "store/store.h"
#include "support/hub_process.h"
#include "support/pg_test_support.h"

namespace sened::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

std::string last_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

void write_large_file(const std::string& path, size_t size) {
  std::ofstream out(path, std::ios::binary);
  std::string block(1 << 20, '\0');
  uint32_t x = 11;
  for (size_t done = 0; done < size; done += block.size()) {
    for (auto& c : block) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    out.write(block.data(), static_cast<std::streamsize>(std::min(block.size(), size - done)));
  }
}

std::string digest_of(const FileContent& content) {
  crypto::Sha256 hash;
  Status st = for_each_piece(content, 64 * 1024, [&](std::string_view bytes) {
    hash.update(bytes);
    return Status();
  });
  EXPECT_TRUE(st.ok()) << st.to_string();
  return crypto::to_hex(hash.finish());
}

// A sent document and what its files must hash to.
struct Sent {
  std::string id;
  std::vector<std::string> digests;
};

class BackupTest : public ::testing::Test {
 protected:
  void start_hub() {
    hub_ = std::make_unique<HubProcess>(std::vector<std::string>{"az.mddt", "az.finance"});
    if (!file_storage_.empty()) hub_->set_config("file_storage", file_storage_);
    hub_->start();
    write_large_file(work_ / "annual.bin", 3 * 1024 * 1024 + 77);
    testing::write_file(work_ / "note.txt", "Qeyd: hesabat əlavə olunur.\n");
  }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_->client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 2, {"--hub", hub_->url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }

  Sent send(const std::string& subject, std::vector<std::string> files) {
    std::vector<std::string> args{"send", "--to", "az.finance", "--subject", subject};
    Sent s;
    for (const auto& f : files) {
      args.push_back(f);
      s.digests.push_back(*crypto::sha256_file_hex(f));
    }
    auto r = run_command(as("az.mddt", args));
    EXPECT_EQ(r.exit_code, 0) << r.err << hub_->log();
    s.id = last_line(r.out);
    return s;
  }

  // Documents before the backup (one with a large file), then more sent on
  // another thread while `backup` runs.
  void send_around(const std::function<void()>& backup) {
    before_.push_back(send("Hesabat", {work_ / "annual.bin", work_ / "note.txt"}));
    before_.push_back(send("Qeyd", {work_ / "note.txt"}));
    wait_for_checkpoint();
    std::atomic<bool> done{false};
    std::thread more([&] {
      for (int i = 0; i < 6 && !done; ++i) send("Davam " + std::to_string(i), {work_ / "note.txt"});
    });
    backup();
    done = true;
    more.join();
  }

  // Polls the hub (bounded) until it has signed a checkpoint covering the
  // documents sent so far, so that the snapshot holds one.
  void wait_for_checkpoint() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = run_command(hub_->curl("az.mddt", {hub_->url() + "/v1/journal/checkpoint"}));
      if (r.exit_code == 0 && r.out.find('\n') != std::string::npos &&
          r.out.find("error") == std::string::npos) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the hub signed no checkpoint within 30 s";
  }

  // What every restored copy must show: the documents sent before the
  // backup, files with equal digests, and a checkpoint whose root is the
  // journal's root at that size.
  void expect_restored(Store& store) {
    for (const auto& s : before_) {
      for (size_t i = 0; i < s.digests.size(); ++i) {
        auto content = store.open_file(s.id, static_cast<int>(i));
        ASSERT_TRUE(content.ok()) << content.status().to_string();
        EXPECT_EQ(digest_of(*content), s.digests[i]);
        EXPECT_EQ(content->info.sha256, s.digests[i]);
      }
    }
    auto checkpoint = store.latest_checkpoint();
    ASSERT_TRUE(checkpoint.ok() && checkpoint->has_value());
    auto root = store.tree_root((*checkpoint)->size);
    ASSERT_TRUE(root.ok()) << root.status().to_string();
    EXPECT_EQ(*root, (*checkpoint)->root);
    auto problems = store.audit(true);
    ASSERT_TRUE(problems.ok()) << problems.status().to_string();
    EXPECT_TRUE(problems->empty()) << problems->front().problem;
  }

  std::string file_storage_;
  std::unique_ptr<HubProcess> hub_;
  std::vector<Sent> before_;
  TempDir work_;
};

// A new data folder with the hub's keys and configuration but no store.
void copy_keys_and_config(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("sened.db") || name == "files") continue;
    fs::copy(e.path(), to + "/" + name, fs::copy_options::recursive);
  }
}

TEST_F(BackupTest, SqliteBackupWhileTheHubRunsRestoresIntoANewPlaceAndVerifies) {
  start_hub();
  TempDir backups;
  std::string backup = backups / "monday";
  send_around([&] {
    auto r = hub_->sened({"admin", "store", "backup", "--data", hub_->dir(), "--to", backup});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("1 content files"), std::string::npos) << r.out;
  });
  EXPECT_TRUE(fs::is_regular_file(backup + "/sened.db"));

  TempDir place;
  std::string data = place / "hub";
  copy_keys_and_config(hub_->dir(), data);
  auto restored = hub_->sened({"admin", "store", "restore", "--data", data, "--from", backup});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  auto verified = hub_->sened({"journal", "verify", "--data", data});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  auto store = open_sqlite_store(SqliteOptions{data + "/sened.db", data + "/files"});
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  expect_restored(**store);
}

TEST_F(BackupTest, SqliteBackupRefusesAnExistingTargetAndLeavesItAlone) {
  start_hub();
  TempDir backups;
  testing::write_file(backups / "taken", "someone's file");
  auto r =
      hub_->sened({"admin", "store", "backup", "--data", hub_->dir(), "--to", backups / "taken"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(backups / "taken"), "someone's file");
  EXPECT_EQ(std::distance(fs::directory_iterator(backups.path()), fs::directory_iterator()), 1);
}

TEST_F(BackupTest, SqliteBackupIntoAFolderThatCannotBeWrittenFailsAndLeavesNothing) {
  start_hub();
  TempDir backups;
  std::string target;
  if (::geteuid() == 0) {
    // root writes anywhere the mode bits say no: a "folder" that is a file.
    testing::write_file(backups / "not-a-folder", "");
    target = backups / "not-a-folder/backup";
  } else {
    fs::create_directories(backups / "locked");
    fs::permissions(backups / "locked", fs::perms::owner_read | fs::perms::owner_exec);
    target = backups / "locked/backup";
  }
  auto r = hub_->sened({"admin", "store", "backup", "--data", hub_->dir(), "--to", target});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot create"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(target));
  if (::geteuid() != 0) {
    fs::permissions(backups / "locked", fs::perms::owner_all, fs::perm_options::add);
  }
}

TEST_F(BackupTest, SqliteBackupOfAMissingStoreFailsAndCreatesNothing) {
  start_hub();
  TempDir backups;
  auto r = hub_->sened({"admin", "store", "backup", "--data", hub_->dir(), "--store",
                        "sqlite:missing.db", "--to", backups / "b"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no SQLite database"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(hub_->dir() + "/missing.db"));
  EXPECT_FALSE(fs::exists(backups / "b"));
}

// The content files under `files` (named by their SHA-256).
std::vector<std::string> content_files(const std::string& files) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(files)) {
    if (e.is_regular_file() && e.path().filename().string().size() == 64) {
      out.push_back(e.path().string());
    }
  }
  return out;
}

// Same name, same size, other bytes: a damaged file where the restore goes
// is replaced by the backup's good one, not kept because it is "there".
TEST_F(BackupTest, RestoreReplacesADamagedContentFileOfTheSameNameAndSize) {
  start_hub();
  send_around([] {});
  TempDir backups;
  ASSERT_EQ(hub_->sened({"admin", "store", "backup", "--data", hub_->dir(), "--to", backups / "b"})
                .exit_code,
            0);
  TempDir place;
  std::string data = place / "hub";
  copy_keys_and_config(hub_->dir(), data);
  std::vector<std::string> backed = content_files(backups / "b/files");
  ASSERT_EQ(backed.size(), 1u);
  std::string relative = fs::relative(backed[0], backups / "b/files").string();
  std::string good = read_file(backed[0]);
  std::string damaged = good;
  damaged[damaged.size() / 2] ^= 0x01;
  fs::create_directories(fs::path(data + "/files/" + relative).parent_path());
  testing::write_file(data + "/files/" + relative, damaged);

  auto restored =
      hub_->sened({"admin", "store", "restore", "--data", data, "--from", backups / "b"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(read_file(data + "/files/" + relative), good);
  auto store = open_sqlite_store(SqliteOptions{data + "/sened.db", data + "/files"});
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  expect_restored(**store);
}

TEST_F(BackupTest, ABackupOfADamagedContentFileFailsNamingItAndLeavesNothing) {
  start_hub();
  send_around([] {});
  std::vector<std::string> stored = content_files(hub_->dir() + "/files");
  ASSERT_EQ(stored.size(), 1u);
  std::string bytes = read_file(stored[0]);
  bytes[0] ^= 0x01;
  testing::write_file(stored[0], bytes);
  TempDir backups;
  auto r = hub_->sened({"admin", "store", "backup", "--data", hub_->dir(), "--to", backups / "b"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not hold the bytes its name says"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(fs::path(stored[0]).filename().string()), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(backups.path()));
}

TEST_F(BackupTest, ABackupNeedsAFolderOutsideTheFilesFolder) {
  start_hub();
  auto empty = hub_->sened({"admin", "store", "backup", "--data", hub_->dir(), "--to", ""});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("no backup folder given"), std::string::npos) << empty.err;
  std::string inside = hub_->dir() + "/files/backup";
  auto r = hub_->sened({"admin", "store", "backup", "--data", hub_->dir(), "--to", inside});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("inside the store's files folder"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(inside));
}

TEST_F(BackupTest, RestoreOverAnExistingDatabaseIsRefusedAndChangesNothing) {
  start_hub();
  TempDir backups;
  ASSERT_EQ(hub_->sened({"admin", "store", "backup", "--data", hub_->dir(), "--to", backups / "b"})
                .exit_code,
            0);
  hub_->stop(SIGTERM);
  std::string before = read_file(hub_->dir() + "/sened.db");
  auto r =
      hub_->sened({"admin", "store", "restore", "--data", hub_->dir(), "--from", backups / "b"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("a database exists"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(hub_->dir() + "/sened.db"), before);
}

TEST_F(BackupTest, PostgresqlDumpWhileTheHubRunsRestoresIntoAFreshDatabaseAndVerifies) {
  if (pg_test_url().empty()) GTEST_SKIP() << kNoPgServer;
  PgSchema schema;
  setenv("SENED_STORE", schema.url().c_str(), 1);
  file_storage_ = "\"postgresql\"";
  start_hub();
  TempDir dumps;
  std::string dump = dumps / "sened.dump";
  send_around([&] {
    auto r = run_command({std::string(kPgBin) + "/pg_dump", "-Fc", "--schema", schema.name(),
                          "--file", dump, "--dbname", pg_test_url()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  });
  hub_->stop(SIGTERM);
  unsetenv("SENED_STORE");

  // A fresh database, restored with the stock pg_restore.
  std::string database = "restored_" + schema.name();
  ASSERT_EQ(pg_sql("CREATE DATABASE " + database), "");
  std::string base = pg_test_url().substr(0, pg_test_url().rfind('/') + 1) + database;
  auto restored =
      run_command({std::string(kPgBin) + "/pg_restore", "--exit-on-error", "--dbname", base, dump});
  EXPECT_EQ(restored.exit_code, 0) << restored.err;
  std::string url = base + "?options=-csearch_path%3D" + schema.name();

  auto verified = hub_->sened({"journal", "verify", "--data", hub_->dir(), "--store", url});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  {
    PostgresOptions options{url, hub_->dir() + "/files", 64 * 1024};
    options.files_in_database = true;
    auto store = open_postgres_store(options);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    expect_restored(**store);
  }
  EXPECT_EQ(pg_sql("DROP DATABASE " + database + " WITH (FORCE)"), "");
}

}  // namespace
}  // namespace sened::testing
