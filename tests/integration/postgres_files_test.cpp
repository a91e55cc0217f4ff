// Large files kept in PostgreSQL, chunked (hub.file_storage = "postgresql"),
// through the real `sened` binary: a multi-MiB file sent and fetched with
// equal digests, nothing of it in the files folder; a file much larger than
// the programs' memory passes in bounded memory; `admin init` refuses the
// setting with a SQLite store; `admin store copy` carries a SQLite hub's
// large files into the database. Skips without a PostgreSQL test server.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "core/config.h"
#include "crypto/digest.h"
#include "support/hub_process.h"
#include "support/pg_test_support.h"

namespace sened::testing {
namespace {
namespace fs = std::filesystem;

std::string last_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

// Writes `size` bytes that do not repeat within a MiB (no chunk equals
// another), one MiB at a time.
void write_large_file(const std::string& path, size_t size) {
  std::ofstream out(path, std::ios::binary);
  std::string block(1 << 20, '\0');
  uint32_t x = 7;
  for (size_t done = 0; done < size; done += block.size()) {
    for (auto& c : block) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    out.write(block.data(), static_cast<std::streamsize>(std::min(block.size(), size - done)));
  }
}

// Regular files under `dir` outside its staging folder.
int content_files_in(const std::string& dir) {
  int n = 0;
  if (!fs::exists(dir)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().string().find("/.staging/") == std::string::npos) ++n;
  }
  return n;
}

class PostgresFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (pg_test_url().empty()) GTEST_SKIP() << kNoPgServer;
    schema_ = std::make_unique<PgSchema>();
  }

  void TearDown() override {
    hub_.reset();
    unsetenv("SENED_STORE");
    schema_.reset();
  }

  // A hub on this test's schema that keeps large files in the database.
  void start_hub() {
    setenv("SENED_STORE", schema_->url().c_str(), 1);
    hub_ = std::make_unique<HubProcess>(std::vector<std::string>{"az.mddt", "az.finance"});
    hub_->set_config("file_storage", "\"postgresql\"");
    hub_->start();
  }

  std::vector<std::string> as(const std::string& org, std::vector<std::string> args) {
    std::string d = hub_->client_dir(org);
    args.insert(args.begin(), {sened_binary()});
    args.insert(args.begin() + 2, {"--hub", hub_->url(), "--ca", d + "/ca.pem", "--cert",
                                   d + "/cert.pem", "--key", d + "/key.pem"});
    return args;
  }

  // Sends `path` from az.mddt to az.finance and fetches it back; returns the
  // fetched copy's path.
  std::string send_and_fetch(const std::string& path, const TempDir& out) {
    auto sent =
        run_command(as("az.mddt", {"send", "--to", "az.finance", "--subject", "Böyük fayl", path}));
    EXPECT_EQ(sent.exit_code, 0) << sent.err << hub_->log();
    std::string id = last_line(sent.out);
    auto fetched = run_command(as("az.finance", {"fetch", id, "--out", out.path()}));
    EXPECT_EQ(fetched.exit_code, 0) << fetched.err << hub_->log();
    return out.path() + "/" + fs::path(path).filename().string();
  }

  std::string sql(const std::string& text) { return pg_sql(text, schema_->name()); }

  std::unique_ptr<PgSchema> schema_;
  std::unique_ptr<HubProcess> hub_;
  TempDir work_;
};

TEST_F(PostgresFilesTest, AMultiMebibyteFileGoesThroughTheDatabaseWithItsDigest) {
  start_hub();
  constexpr size_t kSize = 5 * 1024 * 1024 + 12345;
  write_large_file(work_ / "report.bin", kSize);
  TempDir out;
  std::string back = send_and_fetch(work_ / "report.bin", out);
  EXPECT_EQ(*crypto::sha256_file_hex(back), *crypto::sha256_file_hex(work_ / "report.bin"));

  EXPECT_EQ(sql("SELECT count(*) FROM file_chunks"), "6");
  EXPECT_EQ(sql("SELECT chunked FROM files"), "1");
  EXPECT_EQ(content_files_in(hub_->dir() + "/files"), 0);

  hub_->stop(SIGTERM);
  auto verified = hub_->verify_journal();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(PostgresFilesTest, AByteRangeAcrossAChunkBoundaryIsServedFromTheChunks) {
  start_hub();
  write_large_file(work_ / "range.bin", 3 * 1024 * 1024);
  auto sent = run_command(
      as("az.mddt", {"send", "--to", "az.finance", "--subject", "Aralıq", work_ / "range.bin"}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id = last_line(sent.out);

  // 100 bytes before the end of chunk 0 to 100 bytes into chunk 2.
  constexpr uint64_t kFirst = 1024 * 1024 - 100;
  constexpr uint64_t kLast = 2 * 1024 * 1024 + 99;
  auto r = run_command(hub_->curl(
      "az.finance", {"-o", work_ / "part.bin", "-w", "%{http_code}", "-H",
                     "Range: bytes=" + std::to_string(kFirst) + "-" + std::to_string(kLast),
                     hub_->url() + "/v1/documents/" + id + "/files/0"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "206");
  std::string whole = read_file(work_ / "range.bin");
  EXPECT_TRUE(read_file(work_ / "part.bin") == whole.substr(kFirst, kLast - kFirst + 1));
}

TEST_F(PostgresFilesTest, AFileLargerThanTheProgramsMemoryPassesInBoundedMemory) {
  start_hub();
  // As in EncryptionTest: well above what the hub, the sending and the
  // fetching CLI take (about 14 MiB each, a few MiB per chunk in flight).
  constexpr size_t kSize = 96 * 1024 * 1024;
  write_large_file(work_ / "big.bin", kSize);
  TempDir out;
  std::string back = send_and_fetch(work_ / "big.bin", out);
  EXPECT_EQ(*crypto::sha256_file_hex(back), *crypto::sha256_file_hex(work_ / "big.bin"));
  EXPECT_EQ(sql("SELECT count(*) FROM file_chunks"), "96");

  // The hub counts once it has been waited for. Under AddressSanitizer
  // freed memory waits in its quarantine, so (as in EncryptionTest) only the
  // optimised build checks the figure.
  hub_->stop(SIGTERM);
#if !defined(__SANITIZE_ADDRESS__)
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  EXPECT_LT(static_cast<size_t>(usage.ru_maxrss) * 1024, kSize / 2) << usage.ru_maxrss << " KiB";
#endif
}

TEST_F(PostgresFilesTest, InitRefusesFilesInTheDatabaseWithASqliteStoreAndWritesNothing) {
  TempDir dir;
  auto r = run_command(
      {sened_binary(), "admin", "init", "--data", dir / "hub", "--file-storage", "postgresql"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("needs a postgresql:// store"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "hub"));

  auto bad = run_command({sened_binary(), "admin", "init", "--data", dir / "hub", "--file-storage",
                          "tape", "--store", schema_->url()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("must be \"folder\" or \"postgresql\""), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir / "hub"));
}

TEST_F(PostgresFilesTest, InitWritesTheSettingAndAHubOnSqliteRefusesIt) {
  TempDir dir;
  auto r = run_command({sened_binary(), "admin", "init", "--data", dir / "hub", "--file-storage",
                        "postgresql", "--store", schema_->url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file(dir / "hub/sened.toml").find("file_storage = \"postgresql\""),
            std::string::npos);
  // The same folder pointed at a SQLite store: the store refuses to open.
  auto list = run_command(
      {sened_binary(), "admin", "org", "list", "--data", dir / "hub", "--store", "sqlite:x.db"});
  EXPECT_EQ(list.exit_code, 1);
  EXPECT_NE(list.err.find("needs a postgresql:// store"), std::string::npos) << list.err;
  EXPECT_FALSE(fs::exists(dir / "hub/x.db"));
}

TEST_F(PostgresFilesTest, StoreCopyCarriesASqliteHubsLargeFilesIntoTheDatabase) {
  // A SQLite hub with a large file.
  hub_ = std::make_unique<HubProcess>(std::vector<std::string>{"az.mddt", "az.finance"});
  hub_->start();
  write_large_file(work_ / "annual.bin", 3 * 1024 * 1024 + 5);
  auto sent = run_command(
      as("az.mddt", {"send", "--to", "az.finance", "--subject", "İllik", work_ / "annual.bin"}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id = last_line(sent.out);
  hub_->stop(SIGTERM);

  // Copied into PostgreSQL with files in the database; the folder is then
  // taken away, so the hub can only serve the file from the database.
  hub_->set_config("file_storage", "\"postgresql\"");
  auto copied =
      hub_->sened({"admin", "store", "copy", "--data", hub_->dir(), "--to", schema_->url()});
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_NE(copied.out.find("file_contents\t1"), std::string::npos) << copied.out;
  EXPECT_EQ(sql("SELECT count(*) FROM files WHERE chunked = 1 AND cas_path IS NULL"), "1");
  fs::rename(hub_->dir() + "/files", hub_->dir() + "/files.old");

  setenv("SENED_STORE", schema_->url().c_str(), 1);
  hub_->start();
  TempDir out;
  auto fetched = run_command(as("az.finance", {"fetch", id, "--out", out.path()}));
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err << hub_->log();
  EXPECT_EQ(*crypto::sha256_file_hex(out / "annual.bin"),
            *crypto::sha256_file_hex(work_ / "annual.bin"));
  hub_->stop(SIGTERM);
  auto verified = hub_->verify_journal();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(PostgresFilesTest, StoreCopyWithAMissingContentFileCopiesNothing) {
  hub_ = std::make_unique<HubProcess>(std::vector<std::string>{"az.mddt", "az.finance"});
  hub_->start();
  write_large_file(work_ / "annual.bin", 2 * 1024 * 1024);
  auto sent = run_command(
      as("az.mddt", {"send", "--to", "az.finance", "--subject", "İllik", work_ / "annual.bin"}));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  hub_->stop(SIGTERM);
  std::string digest = *crypto::sha256_file_hex(work_ / "annual.bin");
  fs::remove(hub_->dir() + "/files/" + digest.substr(0, 2) + "/" + digest);

  hub_->set_config("file_storage", "\"postgresql\"");
  auto copied =
      hub_->sened({"admin", "store", "copy", "--data", hub_->dir(), "--to", schema_->url()});
  EXPECT_EQ(copied.exit_code, 1);
  EXPECT_NE(copied.err.find("moving content file"), std::string::npos) << copied.err;
  EXPECT_EQ(sql("SELECT count(*) FROM participants"), "0");
  EXPECT_EQ(sql("SELECT count(*) FROM file_chunks"), "0");
}

// Needs no server: the setting is checked when sened.toml is read.
TEST(FileStorageSettingTest, AnUnknownValueInSenedTomlIsRefusedByName) {
  TempDir dir;
  std::string text = default_config_text();
  size_t at = text.find("file_storage = \"folder\"");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, std::string("file_storage = \"folder\"").size(), "file_storage = \"tape\"");
  write_file(dir / "sened.toml", text);
  auto config = load_config(dir.path());
  EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
  EXPECT_NE(config.status().message().find("hub.file_storage"), std::string::npos)
      << config.status().message();
}

TEST(FileStorageSettingTest, TheDefaultIsTheFolder) {
  TempDir dir;
  write_file(dir / "sened.toml", default_config_text());
  auto config = load_config(dir.path());
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->file_storage, kFileStorageFolder);
}

}  // namespace
}  // namespace sened::testing
