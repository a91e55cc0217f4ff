#include "support/pg_test_support.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace sened::testing {
namespace {

std::string with_search_path(const std::string& url, const std::string& schema) {
  if (schema.empty()) return url;
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  // The application name marks the schema's connections in pg_stat_activity,
  // so that a test can cut its own connections and no other test's.
  return url + separator + "options=-csearch_path%3D" + schema + "&application_name=" + schema;
}

}  // namespace

std::string pg_test_url() {
  const char* url = std::getenv("SENED_TEST_PG_URL");
  return url == nullptr ? "" : url;
}

std::string pg_sql(const std::string& sql, const std::string& schema) {
  PGconn* conn = PQconnectdb(with_search_path(pg_test_url(), schema).c_str());
  std::string out;
  if (PQstatus(conn) != CONNECTION_OK) {
    out = std::string("ERROR: ") + PQerrorMessage(conn);
  } else {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);  // "drop cascades to ..."
    PGresult* r = PQexec(conn, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      out = std::string("ERROR: ") + PQresultErrorMessage(r);
    } else if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
      out = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
  }
  PQfinish(conn);
  return out;
}

PgSchema::PgSchema() {
  static std::atomic<int> counter{0};
  name_ = "sened_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  std::string made = pg_sql("CREATE SCHEMA " + name_);
  if (made.rfind("ERROR", 0) == 0) {
    std::fprintf(stderr, "cannot create test schema %s: %s\n", name_.c_str(), made.c_str());
    std::abort();
  }
  url_ = with_search_path(pg_test_url(), name_);
}

PgSchema::~PgSchema() { pg_sql("DROP SCHEMA " + name_ + " CASCADE"); }

}  // namespace sened::testing
