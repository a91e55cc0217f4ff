// The ZIP writer and the reader for untrusted containers.
#include "crypto/zip.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "support/test_support.h"

namespace sened::crypto {
namespace {

using testing::read_file;
using testing::run_command;
using testing::TempDir;
using testing::write_file;

const std::string kMime = "application/vnd.etsi.asic-e+zip";

uint32_t u32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
uint16_t u16(const std::string& s, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[at]) |
                               (static_cast<unsigned char>(s[at + 1]) << 8));
}

// A container like an evidence bundle: mimetype, one file from disk, one
// from memory.
std::string make_container(const TempDir& dir) {
  write_file(dir / "big.bin", std::string(200000, 'z'));
  std::vector<ZipInput> in{{"mimetype", std::nullopt, kMime},
                           {"files/Məktub № 5.pdf", dir / "big.bin", ""},
                           {"META-INF/ASiCManifest.xml", std::nullopt, "<x/>"}};
  Status st = write_zip(dir / "c.zip", in);
  EXPECT_TRUE(st.ok()) << st.to_string();
  return dir / "c.zip";
}

// Makes a ZIP with Python's zipfile (which accepts what ours refuses).
std::string python_zip(const TempDir& dir, const std::string& entries) {
  std::string path = dir / "py.zip";
  auto r = run_command({"python3", "-c",
                        "import sys, zipfile, warnings\nwarnings.simplefilter('ignore')\n"
                        "z = zipfile.ZipFile(sys.argv[1], 'w')\n"
                        "for n in sys.argv[2:]: z.writestr(n, b'data')\nz.close()",
                        path, entries});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

std::string python_zip(const TempDir& dir, const std::string& a, const std::string& b) {
  std::string path = dir / "py.zip";
  auto r = run_command({"python3", "-c",
                        "import sys, zipfile, warnings\nwarnings.simplefilter('ignore')\n"
                        "z = zipfile.ZipFile(sys.argv[1], 'w')\n"
                        "for n in sys.argv[2:]: z.writestr(n, b'data')\nz.close()",
                        path, a, b});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

TEST(ZipTest, WritesMimetypeFirstStoredAndWithoutExtraField) {
  TempDir dir;
  std::string bytes = read_file(make_container(dir));
  ASSERT_GT(bytes.size(), 30u + 8 + kMime.size());
  EXPECT_EQ(u32(bytes, 0), 0x04034b50u);  // local file header
  EXPECT_EQ(u16(bytes, 8), 0);            // stored
  EXPECT_EQ(u16(bytes, 26), 8);           // name length
  EXPECT_EQ(u16(bytes, 28), 0);           // no extra field
  EXPECT_EQ(bytes.substr(30, 8), "mimetype");
  EXPECT_EQ(bytes.substr(38, kMime.size()), kMime);
}

TEST(ZipTest, OrdinaryToolsListTheContainer) {
  TempDir dir;
  std::string path = make_container(dir);
  auto unzip = run_command({"unzip", "-l", path});
  ASSERT_EQ(unzip.exit_code, 0) << unzip.err;
  EXPECT_NE(unzip.out.find("META-INF/ASiCManifest.xml"), std::string::npos) << unzip.out;
  auto test = run_command({"unzip", "-tq", path});
  EXPECT_EQ(test.exit_code, 0) << test.out;
  auto py = run_command({"python3", "-m", "zipfile", "-l", path});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  EXPECT_NE(py.out.find("mimetype"), std::string::npos);
  EXPECT_NE(py.out.find("files/Məktub № 5.pdf"), std::string::npos) << py.out;
}

TEST(ZipTest, ReadsBackWhatItWrote) {
  TempDir dir;
  auto reader = ZipReader::open(make_container(dir));
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  const auto& e = (*reader)->entries();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].name, "mimetype");
  EXPECT_TRUE(e[0].stored);
  EXPECT_FALSE(e[0].extra_field);
  EXPECT_EQ(e[1].size, 200000u);
  auto big = (*reader)->read_all(*(*reader)->find("files/Məktub № 5.pdf"), 1 << 20);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*big, std::string(200000, 'z'));
  auto limited = (*reader)->read_all(1, 1000);
  EXPECT_EQ(limited.status().code(), Code::kPayloadTooLarge);
}

TEST(ZipTest, WriterRefusesUnsafeAndRepeatedNames) {
  TempDir dir;
  EXPECT_EQ(write_zip(dir / "a.zip", {{"../x", std::nullopt, ""}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(write_zip(dir / "a.zip", {{"a", std::nullopt, ""}, {"a", std::nullopt, ""}}).code(),
            Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.zip"));
}

TEST(ZipTest, NamesThatCouldLeaveAFolderAreUnsafe) {
  for (const char* bad :
       {"../evil", "/etc/passwd", "a/../../b", "a\\b", "a//b", "./a", "", "a\nb", "\xff\xfe"}) {
    EXPECT_FALSE(is_safe_entry_name(bad)) << bad;
  }
  for (const char* good : {"mimetype", "META-INF/", "files/Письмо № 1.docx", "a/b/c..d"}) {
    EXPECT_TRUE(is_safe_entry_name(good)) << good;
  }
}

TEST(ZipTest, ReaderRefusesAPathEscape) {
  TempDir dir;
  auto reader = ZipReader::open(python_zip(dir, "ok.txt", "../../escape.txt"));
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Code::kInvalidArgument);
  EXPECT_NE(reader.status().message().find("../../escape.txt"), std::string::npos);
}

TEST(ZipTest, ReaderRefusesAnAbsoluteName) {
  TempDir dir;
  auto reader = ZipReader::open(python_zip(dir, "/abs.txt"));
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Code::kInvalidArgument);
}

TEST(ZipTest, ReaderRefusesADuplicateName) {
  TempDir dir;
  auto reader = ZipReader::open(python_zip(dir, "same.txt", "same.txt"));
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Code::kInvalidArgument);
  EXPECT_NE(reader.status().message().find("twice"), std::string::npos)
      << reader.status().message();
}

TEST(ZipTest, ReaderRefusesContentThatDoesNotMatchItsCrc) {
  TempDir dir;
  std::string path = make_container(dir);
  std::string bytes = read_file(path);
  size_t at = bytes.find(std::string(100, 'z'));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 50] = 'y';
  write_file(path, bytes);
  auto reader = ZipReader::open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  auto data = (*reader)->read_all(1, 1 << 20);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), Code::kInvalidArgument);
  EXPECT_NE(data.status().message().find("Məktub"), std::string::npos);
}

TEST(ZipTest, ReaderRefusesASizeThatDisagreesBetweenHeaders) {
  TempDir dir;
  std::string path = make_container(dir);
  std::string bytes = read_file(path);
  // The central directory entry of the mimetype: its uncompressed size.
  size_t central = bytes.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(central, std::string::npos);
  bytes[central + 24] = static_cast<char>(bytes[central + 24] + 1);
  write_file(path, bytes);
  auto reader = ZipReader::open(path);
  if (reader.ok()) {
    auto data = (*reader)->read_all(0, 1000);
    EXPECT_FALSE(data.ok());
  } else {
    EXPECT_EQ(reader.status().code(), Code::kInvalidArgument);
  }
}

TEST(ZipTest, ReaderRefusesSomethingThatIsNotAZip) {
  TempDir dir;
  write_file(dir / "x.zip", "this is not a zip archive at all");
  auto reader = ZipReader::open(dir / "x.zip");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Code::kInvalidArgument);
  auto missing = ZipReader::open(dir / "missing.zip");
  ASSERT_FALSE(missing.ok());
}

}  // namespace
}  // namespace sened::crypto
