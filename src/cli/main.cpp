// `sened`: one binary for the hub, the client, the operator and the demo.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/common.h"

namespace sened::cli {
void add_watch_command(CLI::App& app);     // watch_command.cpp
void add_witness_command(CLI::App& app);   // witness_command.cpp
void add_receipt_commands(CLI::App& app);  // receipt_command.cpp
void add_export_command(CLI::App& app);    // export_command.cpp
}  // namespace sened::cli

namespace {

// Logs go to stderr, one line per event: time, level, component, message.
void setup_logging() {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("sened", sink);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %n %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  if (const char* level = std::getenv("SENED_LOG")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
}

}  // namespace

int main(int argc, char** argv) {
  setup_logging();
  CLI::App app("Sened: the national hub for official documents between government bodies", "sened");
  app.set_version_flag("--version", std::string("sened ") + SENED_VERSION);
  app.require_subcommand(1);
  sened::cli::add_hub_command(app);
  sened::cli::add_admin_commands(app);
  sened::cli::add_client_commands(app);
  sened::cli::add_watch_command(app);
  sened::cli::add_receipt_commands(app);
  sened::cli::add_export_command(app);
  sened::cli::add_journal_commands(app);
  sened::cli::add_demo_command(app);
  sened::cli::add_gateway_command(app);
  sened::cli::add_witness_command(app);
  CLI11_PARSE(app, argc, argv);
  return sened::cli::exit_code();
}
