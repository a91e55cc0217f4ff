// Resumable uploads against the real hub binary over mutual TLS: curl speaks
// tus 1.0.0 by hand (create, PATCH in pieces, HEAD, resume after a cut
// connection and after the hub was killed), and the tus-js-client library
// runs under Node.js. Every upload ends in a submitted document whose file,
// fetched back by the recipient, must have the SHA-256 of what was sent.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "crypto/digest.h"
#include "support/hub_process.h"

extern char** environ;

namespace sened::testing {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = 1024 * 1024;

// The size of the "large" upload: 1 GiB in an optimised build, less in a
// debug or sanitizer build; SENED_TUS_BIG_MB overrides.
uint64_t big_size() {
  if (const char* mb = std::getenv("SENED_TUS_BIG_MB")) return std::stoull(mb) * kMiB;
#ifdef NDEBUG
  return 1024 * kMiB;
#else
  return 64 * kMiB;
#endif
}

// Writes `size` pseudo-random bytes to `path`; returns their SHA-256.
std::string make_file(const std::string& path, uint64_t size, uint64_t seed) {
  std::ofstream out(path, std::ios::binary);
  crypto::Sha256 hash;
  std::string block(kMiB, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (uint64_t done = 0; done < size;) {
    for (size_t i = 0; i + 8 <= block.size(); i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(block.data() + i, &x, 8);
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), size - done));
    out.write(block.data(), static_cast<std::streamsize>(n));
    hash.update(std::string_view(block.data(), n));
    done += n;
  }
  return crypto::to_hex(hash.finish());
}

struct Answer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "(none)" : it->second;
  }
};

// Reads what curl wrote with -D (headers), -o (body) and -w (status).
Answer read_answer(const std::string& status_text, const std::string& header_file,
                   const std::string& body_file) {
  Answer a;
  a.status = std::atoi(status_text.c_str());
  std::istringstream lines(fs::exists(header_file) ? read_file(header_file) : "");
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (line.rfind("HTTP/", 0) == 0 || colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    a.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  if (fs::exists(body_file)) a.body = read_file(body_file);
  return a;
}

// A curl process whose request body comes from a pipe that the test feeds,
// so the test decides how many bytes the hub gets before a cut.
class StreamingCurl {
 public:
  StreamingCurl(const std::vector<std::string>& argv, const std::string& status_file) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
    posix_spawn_file_actions_addopen(&actions, 1, status_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[0]);
    stdin_ = fds[1];
    if (rc != 0) throw std::runtime_error("cannot start curl");
  }

  ~StreamingCurl() {
    close_input();
    if (pid_ > 0) kill(SIGKILL);
  }

  // Sends bytes [from, to) of `path` to curl; false once curl stopped reading.
  bool feed(const std::string& path, uint64_t from, uint64_t to) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(from));
    std::string buf(kMiB, '\0');
    while (from < to) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - from));
      in.read(buf.data(), static_cast<std::streamsize>(n));
      for (size_t off = 0; off < n;) {
        ssize_t w = ::write(stdin_, buf.data() + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        off += static_cast<size_t>(w);
      }
      from += n;
    }
    return true;
  }

  void close_input() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }

  // Kills curl, which cuts its connection; returns its exit status.
  int kill(int signal) {
    ::kill(pid_, signal);
    return wait();
  }

  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
};

class TusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override { hub_.start(); }

  std::string scratch(const std::string& name) const { return work_ / name; }

  // curl as az.mddt (or `org`), tus headers included, answer parsed.
  Answer call(const std::string& method, const std::string& path,
              std::vector<std::string> args = {}, const std::string& org = "az.mddt") {
    std::string h = scratch("answer.headers"), b = scratch("answer.body");
    fs::remove(h);
    fs::remove(b);
    std::vector<std::string> base{"--max-time", "300", "-D", h, "-o", b, "-w", "%{http_code}"};
    if (method == "HEAD") {
      base.push_back("-I");
    } else {
      base.insert(base.end(), {"-X", method});
    }
    if (send_tus_version_ && path.rfind("/v1/uploads", 0) == 0)
      base.insert(base.end(), {"-H", "Tus-Resumable: 1.0.0"});
    base.insert(base.end(), args.begin(), args.end());
    base.push_back(hub_.url() + path);
    CommandResult r = run_command(hub_.curl(org, base));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_answer(r.out, h, b);
  }

  std::string create(uint64_t length) {
    Answer a = call("POST", "/v1/uploads", {"-H", "Upload-Length: " + std::to_string(length)});
    EXPECT_EQ(a.status, 201) << a.body;
    std::string location = a.header("location");
    EXPECT_EQ(location.rfind("/v1/uploads/", 0), 0u) << location;
    return location.substr(12);
  }

  Answer patch_bytes(const std::string& id, uint64_t offset, const std::string& bytes) {
    std::string piece = scratch("piece");
    write_file(piece, bytes);
    return call("PATCH", "/v1/uploads/" + id,
                {"-H", "Content-Type: application/offset+octet-stream", "-H",
                 "Upload-Offset: " + std::to_string(offset), "--data-binary", "@" + piece});
  }

  uint64_t offset_of(const std::string& id) {
    Answer a = call("HEAD", "/v1/uploads/" + id);
    EXPECT_EQ(a.status, 200) << a.body;
    return std::stoull(a.header("upload-offset") == "(none)" ? "0" : a.header("upload-offset"));
  }

  // A curl PATCH that streams its body from the test (chunked encoding).
  std::unique_ptr<StreamingCurl> streaming_patch(const std::string& id, uint64_t offset) {
    std::vector<std::string> args{"--max-time",
                                  "300",
                                  "-o",
                                  "/dev/null",
                                  "-w",
                                  "%{http_code}",
                                  "-X",
                                  "PATCH",
                                  "-T",
                                  "-",
                                  "-H",
                                  "Tus-Resumable: 1.0.0",
                                  "-H",
                                  "Content-Type: application/offset+octet-stream",
                                  "-H",
                                  "Upload-Offset: " + std::to_string(offset),
                                  hub_.url() + "/v1/uploads/" + id};
    return std::make_unique<StreamingCurl>(hub_.curl("az.mddt", args), scratch("patch.status"));
  }

  // Waits (bounded) until HEAD reports at least `at_least`; returns it.
  uint64_t wait_for_offset(const std::string& id, uint64_t at_least) {
    auto deadline = Clock::now() + std::chrono::seconds(120);
    uint64_t got = 0;
    while (Clock::now() < deadline) {
      got = offset_of(id);
      if (got >= at_least) return got;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "offset stayed at " << got << ", waited for " << at_least;
    return got;
  }

  // Resumes as a tus client does: HEAD, then PATCH the rest from there. A
  // 409 means the hub still finishes the cut request: ask again.
  void resume(const std::string& id, const std::string& path, uint64_t size) {
    auto deadline = Clock::now() + std::chrono::seconds(120);
    while (Clock::now() < deadline) {
      uint64_t from = offset_of(id);
      auto curl = streaming_patch(id, from);
      curl->feed(path, from, size);
      curl->close_input();
      EXPECT_EQ(curl->wait(), 0);
      std::string status = read_file(scratch("patch.status"));
      if (status == "204") return;
      ASSERT_EQ(status, "409") << "resume from " << from;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "the upload could not be resumed";
  }

  // Submits a letter whose only file is the upload; returns the answer.
  Answer submit(const std::string& ref, const std::string& upload, const std::string& sha256 = "") {
    json::object file{{"name", "big.bin"}, {"upload", upload}};
    if (!sha256.empty()) file["sha256"] = sha256;
    json::object meta{{"sender_ref", ref},
                      {"kind", "letter"},
                      {"subject", "Böyük əlavə"},
                      {"recipients", json::object{{"to", json::array{"az.finance"}}}},
                      {"files", json::array{file}}};
    write_file(scratch("meta.json"), json::serialize(meta));
    return call("POST", "/v1/documents", {"-F", "metadata=<" + scratch("meta.json")});
  }

  // Fetches file 0 of `document` as the recipient; returns its SHA-256.
  std::string fetched_sha256(const std::string& document) {
    std::string out = scratch("fetched");
    CommandResult r = run_command(
        hub_.curl("az.finance", {"--max-time", "300", "-f", "-o", out,
                                 hub_.url() + "/v1/documents/" + document + "/files/0"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto sha = crypto::sha256_file_hex(out);
    fs::remove(out);
    return sha.ok() ? *sha : sha.status().to_string();
  }

  // Submits the upload and checks the recipient gets exactly `sha256`.
  void submit_and_compare(const std::string& ref, const std::string& id, const std::string& sha256,
                          uint64_t size) {
    Answer a = submit(ref, id, sha256);
    ASSERT_EQ(a.status, 201) << a.body;
    json::object doc = json::parse(a.body).as_object();
    const auto& file = doc.at("files").as_array()[0].as_object();
    EXPECT_EQ(file.at("sha256").as_string(), sha256);
    EXPECT_EQ(file.at("size").to_number<uint64_t>(), size);
    EXPECT_EQ(fetched_sha256(std::string(doc.at("id").as_string())), sha256);
  }

  std::string data_file(const std::string& id) const {
    return hub_.dir() + "/files/.staging/uploads/" + id + ".data";
  }

  HubProcess hub_{{"az.mddt", "az.finance"}};
  TempDir work_;
  bool send_tus_version_ = true;
};

TEST_F(TusTest, OptionsAnswersWithTheProtocolAndLimit) {
  Answer a = call("OPTIONS", "/v1/uploads");
  EXPECT_EQ(a.status, 204);
  EXPECT_EQ(a.header("tus-version"), "1.0.0");
  EXPECT_EQ(a.header("tus-extension"), "creation,termination,expiration");
  EXPECT_EQ(a.header("tus-max-size"), std::to_string(2ull * 1024 * 1024 * 1024));
}

TEST_F(TusTest, CreatePatchInPiecesSubmitAndFetch) {
  std::string source = scratch("source.bin");
  const uint64_t size = 3 * kMiB + 17;
  std::string sha = make_file(source, size, 1);
  std::string bytes = read_file(source);
  std::string id = create(size);
  EXPECT_EQ(offset_of(id), 0u);

  uint64_t offset = 0;
  for (uint64_t piece : {uint64_t{1}, kMiB, 2 * kMiB + 16}) {
    Answer a = patch_bytes(id, offset, bytes.substr(offset, piece));
    ASSERT_EQ(a.status, 204) << a.body;
    offset += piece;
    EXPECT_EQ(a.header("upload-offset"), std::to_string(offset));
    EXPECT_EQ(a.header("tus-resumable"), "1.0.0");
  }
  Answer h = call("HEAD", "/v1/uploads/" + id);
  EXPECT_EQ(h.header("upload-offset"), std::to_string(size));
  EXPECT_EQ(h.header("upload-length"), std::to_string(size));
  EXPECT_EQ(h.header("cache-control"), "no-store");

  submit_and_compare("tus-1", id, sha, size);
  // A repeated submit answers with the same document.
  Answer again = submit("tus-1", id, sha);
  EXPECT_EQ(again.status, 200) << again.body;
}

TEST_F(TusTest, RefusalsOverTheWire) {
  std::string id = create(10);
  EXPECT_EQ(patch_bytes(id, 3, "abc").status, 409);
  EXPECT_EQ(patch_bytes(id, 0, "0123456789X").status, 400);
  Answer other = call("HEAD", "/v1/uploads/" + id, {}, "az.finance");
  EXPECT_EQ(other.status, 404);
  send_tus_version_ = false;
  Answer no_version = call("POST", "/v1/uploads", {"-H", "Upload-Length: 5"});
  EXPECT_EQ(no_version.status, 412);
  EXPECT_EQ(no_version.header("tus-version"), "1.0.0");
  send_tus_version_ = true;
  Answer too_large = call("POST", "/v1/uploads", {"-H", "Upload-Length: 2147483649"});
  EXPECT_EQ(too_large.status, 413);
  EXPECT_EQ(offset_of(id), 0u);
  ASSERT_EQ(patch_bytes(id, 0, "01234").status, 204);
  Answer unfinished = submit("tus-2", id);
  EXPECT_EQ(unfinished.status, 400) << unfinished.body;
  EXPECT_EQ(call("DELETE", "/v1/uploads/" + id).status, 204);
  EXPECT_EQ(call("HEAD", "/v1/uploads/" + id).status, 404);
}

TEST_F(TusTest, InterruptedLargeUploadResumesFromTheHubsOffset) {
  const uint64_t size = big_size();
  std::string source = scratch("big.bin");
  std::string sha = make_file(source, size, 2);
  std::string id = create(size);

  // Send a bit over half, wait until the hub holds a good part of it, cut.
  auto curl = streaming_patch(id, 0);
  ASSERT_TRUE(curl->feed(source, 0, size / 2 + 123));
  wait_for_offset(id, size / 4);
  curl->kill(SIGKILL);

  uint64_t held = wait_for_offset(id, 1);
  EXPECT_GT(held, 0u);
  EXPECT_LE(held, size / 2 + 123);
  resume(id, source, size);
  EXPECT_EQ(offset_of(id), size);
  submit_and_compare("tus-big", id, sha, size);
  EXPECT_FALSE(fs::exists(data_file(id)));
}

TEST_F(TusTest, HubKilledMidUploadResumesFromTheDurableOffset) {
  const uint64_t size = 64 * kMiB;
  std::string source = scratch("crash.bin");
  std::string sha = make_file(source, size, 3);
  std::string id = create(size);

  auto curl = streaming_patch(id, 0);
  ASSERT_TRUE(curl->feed(source, 0, 40 * kMiB));
  uint64_t seen = wait_for_offset(id, 16 * kMiB);
  EXPECT_EQ(hub_.stop(SIGKILL), 128 + SIGKILL);
  curl->kill(SIGKILL);

  hub_.start();
  uint64_t held = offset_of(id);
  EXPECT_GE(held, seen);  // never less than what the hub reported before
  EXPECT_LE(held, 40 * kMiB);
  EXPECT_EQ(fs::file_size(data_file(id)), held);  // cut back to the record
  resume(id, source, size);
  submit_and_compare("tus-crash", id, sha, size);
}

TEST_F(TusTest, TusJsClientUploadsAndResumesUnderNode) {
  if (run_command({"node", "--version"}).exit_code != 0 ||
      run_command({"npm", "--version"}).exit_code != 0) {
    GTEST_SKIP() << "node and npm are not installed (scripts/install-deps.sh installs them)";
  }
  // npm ci in a copy, so the source tree stays clean.
  std::string app = scratch("app");
  fs::create_directories(app);
  for (std::string f : {"package.json", "package-lock.json", "upload.js"}) {
    fs::copy_file(source_dir() + "/tests/e2e/tus/" + f, app + "/" + f);
  }
  CommandResult ci =
      run_command({"npm", "ci", "--prefix", app, "--no-audit", "--no-fund", "--prefer-offline"});
  ASSERT_EQ(ci.exit_code, 0) << ci.out << ci.err;

  const uint64_t size = 5 * kMiB + 99;
  std::string source = scratch("node.bin");
  std::string sha = make_file(source, size, 4);
  std::string dir = hub_.client_dir("az.mddt");
  CommandResult run = run_command(
      {"env", "SENED_URL=" + hub_.url(), "SENED_CERT=" + dir + "/cert.pem",
       "SENED_KEY=" + dir + "/key.pem", "SENED_CA=" + dir + "/ca.pem", "SENED_FILE=" + source,
       "SENED_CHUNK=" + std::to_string(kMiB), "node", app + "/upload.js"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  json::object out = json::parse(run.out).as_object();
  uint64_t paused_at = out.at("paused_at").to_number<uint64_t>();
  EXPECT_GE(paused_at, 2 * kMiB);
  EXPECT_LT(paused_at, size);
  EXPECT_EQ(out.at("resumed_from").to_number<uint64_t>(), paused_at);
  std::string id(out.at("upload").as_string());
  EXPECT_EQ(offset_of(id), size);
  submit_and_compare("tus-node", id, sha, size);
}

}  // namespace
}  // namespace sened::testing
