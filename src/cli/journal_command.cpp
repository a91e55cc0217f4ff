// `sened journal …`: offline checks of the hub's journal.
#include <iostream>

#include "cli/common.h"
#include "journal/chain.h"

namespace sened::cli {
namespace {

constexpr int kVerifyPage = 1000;

Result<journal::VerifyReport> verify(Store& store) {
  journal::ChainVerifier verifier;
  int64_t after = 0;
  for (;;) {
    auto page = store.journal(after, kVerifyPage);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    for (const auto& e : *page) verifier.add(e);
    after = page->back().seq;
  }
  auto highest = store.highest_referenced_journal_seq();
  if (!highest.ok()) return highest.status();
  return verifier.finish(*highest);
}

}  // namespace

void add_journal_commands(CLI::App& app) {
  auto* journal = app.add_subcommand("journal", "Check the hub's journal");
  journal->require_subcommand(1);
  auto* cmd = journal->add_subcommand(
      "verify",
      "Check the journal's chain and every stored row and file against it, offline; exit 1 and "
      "name the first bad entry if anything is wrong");
  auto dir = std::make_shared<std::string>();
  auto skip_files = std::make_shared<bool>(false);
  add_data_flag(*cmd, *dir);
  cmd->add_flag("--skip-files", *skip_files,
                "Do not re-hash stored file contents (faster on a large store)");
  cmd->callback([dir, skip_files] {
    auto data = open_hub_data(*dir);
    if (!data.ok()) return report(data.status());
    auto report_or = verify(*data->store);
    if (!report_or.ok()) return report(report_or.status());
    const auto& r = *report_or;
    if (!r.ok) {
      std::cout << "journal BROKEN at entry " << r.first_bad_seq << ": " << r.problem << "\n";
      exit_code() = kExitFailed;
      return;
    }
    auto problems = data->store->audit(!*skip_files);
    if (!problems.ok()) return report(problems.status());
    if (!problems->empty()) {
      const auto& first = problems->front();
      std::cout << "journal BROKEN at entry " << first.seq << ": " << first.problem << "\n";
      for (size_t i = 1; i < problems->size(); ++i) {
        std::cout << "  also entry " << (*problems)[i].seq << ": " << (*problems)[i].problem
                  << "\n";
      }
      exit_code() = kExitFailed;
      return;
    }
    std::cout << "journal ok: " << r.entries << " entries, head " << r.head_hash
              << "; every stored row" << (*skip_files ? "" : " and file") << " matches it\n";
  });
}

}  // namespace sened::cli
