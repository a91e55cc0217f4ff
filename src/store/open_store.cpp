#include "store/open_store.h"

#include <filesystem>
#include <string_view>

#include "store/postgres/postgres_store.h"

namespace sened {
namespace {

constexpr std::string_view kSqliteScheme = "sqlite:";

bool is_postgres(std::string_view address) {
  return address.starts_with("postgresql://") || address.starts_with("postgres://");
}

}  // namespace

Status check_store_address(const std::string& address) {
  // The address is written into sened.toml as a quoted string.
  for (char c : address) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return invalid_argument("store address holds a quote, backslash or control character");
    }
  }
  if (address.starts_with(kSqliteScheme) && address.size() > kSqliteScheme.size()) {
    return Status();
  }
  if (is_postgres(address)) return Status();
  // The address may carry a password: it is not repeated in the message.
  return invalid_argument("store address is not supported (use sqlite:PATH or postgresql://...)");
}

StoreLocation store_location(const HubConfig& config, const std::string& address) {
  StoreLocation where;
  where.address = address.empty() ? config.store : address;
  where.data_dir = config.data_dir;
  where.files_dir = config.path(config.files_dir);
  where.inline_file_limit = config.inline_file_limit;
  where.files_in_database = config.file_storage == kFileStoragePostgres;
  return where;
}

Result<std::unique_ptr<Store>> open_store(const StoreLocation& where) {
  SENED_RETURN_IF_ERROR(check_store_address(where.address));
  if (is_postgres(where.address)) {
    PostgresOptions options;
    options.conninfo = where.address;
    options.files_dir = where.files_dir;
    options.inline_file_limit = where.inline_file_limit;
    options.files_in_database = where.files_in_database;
    options.create = where.create;
    return open_postgres_store(options);
  }
  if (where.files_in_database) {
    SENED_RETURN_IF_ERROR(check_file_storage(kFileStoragePostgres, where.address));
  }
  std::string path = where.address.substr(kSqliteScheme.size());
  if (path.front() != '/') path = where.data_dir + "/" + path;
  if (!where.create && !std::filesystem::exists(path)) {
    return not_found("no Sened store at " + path +
                     ": make one with sened admin init, or check the address");
  }
  SqliteOptions options;
  options.database_path = path;
  options.files_dir = where.files_dir;
  options.inline_file_limit = where.inline_file_limit;
  return open_sqlite_store(options);
}

}  // namespace sened
