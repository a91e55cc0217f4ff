// What the `sened` subcommands share: how a command finds the hub and its
// certificate, how it opens a hub data folder, and how it reports errors.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "client/hub_client.h"
#include "core/config.h"
#include "core/status.h"
#include "store/store.h"

namespace sened::cli {

// Exit status of a command: 0 ok, 1 failed, 2 bad usage (CLI11's own).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;

// The result of a command's run, stored by the callback and returned by main.
int& exit_code();

// Prints "error: <code>: <message>" to stderr and records a failure.
void report(const Status& status);

// Connection flags of the client commands. Resolution order, first set wins:
// the flag, then the environment (SENED_HUB, SENED_CERT, SENED_KEY,
// SENED_CA), then the profile file ($SENED_PROFILE, else
// $XDG_CONFIG_HOME/sened/profile.toml, else ~/.config/sened/profile.toml),
// whose keys are hub, cert, key and ca. The hub may be a comma-separated list
// of node URLs (client::parse_node_list): resolve() checks it, and the
// client fails over between the nodes.
struct Connection {
  std::string hub, cert, key, ca;
  bool json = false;
};
void add_connection_flags(CLI::App& cmd, Connection& c);
Result<client::ClientOptions> resolve(const Connection& c);
extern const char* const kConnectionHelp;

// A hub data folder opened for an admin command.
struct HubData {
  HubConfig config;
  std::unique_ptr<Store> store;
};
// Loads DIR's configuration and opens its store: the one named by --store
// when given, else sened.toml's `store`.
// `create`: make the store when it does not exist yet (admin init only);
// otherwise a missing store is kNotFound.
Result<HubData> open_hub_data(const std::string& dir, bool create = false);
// "--data DIR" (or SENED_DATA), required; and "--store ADDRESS" (or
// SENED_STORE), which overrides sened.toml's store for this run. Both belong
// to every command that opens the store.
void add_data_flag(CLI::App& cmd, std::string& dir);
// The --store flag's variable, shared by every command that has the flag.
std::string& store_flag();
// The store address of this run: --store, else SENED_STORE, else "".
std::string store_address();

// Writes `bytes` to `path` through a temp file, fsync and rename.
Status write_file_atomic(const std::string& path, const std::string& bytes, int mode = 0644);
// The whole of a small file the CLI reads (certificates, receipts, CSV,
// JSON): refused as payload_too_large beyond `limit` bytes, without reading
// further.
inline constexpr size_t kMaxSmallFile = 64 * 1024 * 1024;
Result<std::string> read_text_file(const std::string& path, size_t limit = kMaxSmallFile);
// The whole of `path`, refused (kPayloadTooLarge naming `what` and the
// bound) when it holds more than `limit` bytes: a regular file by its size,
// before reading; anything else (a device, a pipe) once the bound is passed.
// `json` also refuses a first non-blank byte that is not '{' at once
// (kInvalidArgument). kNotFound if it cannot be opened.
Result<std::string> read_bounded(const std::string& path, uint64_t limit, const std::string& what,
                                 bool json = false);

// An answer of the hub: ok for 2xx, else the error from its JSON body.
Status answer_status(const client::ClientResponse& r);

void add_admin_commands(CLI::App& app);
// `admin store …` (store_command.cpp), added by add_admin_commands.
void add_store_commands(CLI::App& admin);
void add_hub_command(CLI::App& app);
void add_client_commands(CLI::App& app);
void add_journal_commands(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_gateway_command(CLI::App& app);

}  // namespace sened::cli
