// Helpers for tests that run against the throw-away PostgreSQL server that
// `make test` starts (scripts/pg-test-server.sh): where it is, and schemas of
// their own so that tests running at once never see each other's rows.
#pragma once

#include <string>

namespace sened::testing {

// The server's URL from SENED_TEST_PG_URL, or "" when unset (tests then skip).
std::string pg_test_url();
// The message a test skips with when there is no server.
inline constexpr const char* kNoPgServer =
    "SENED_TEST_PG_URL is not set: no PostgreSQL test server (make test starts one)";

// A fresh, empty schema on the test server, dropped with everything in it
// when the object dies. url() connects with that schema as the search path
// and the schema's name as application_name.
class PgSchema {
 public:
  PgSchema();  // requires pg_test_url() to be set; aborts the test binary if it cannot
  ~PgSchema();
  PgSchema(const PgSchema&) = delete;
  PgSchema& operator=(const PgSchema&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }

 private:
  std::string name_;
  std::string url_;
};

// Runs static SQL on the test server (in `schema` when not empty); returns
// the first column of the first row ("" when none), or "ERROR: ..." on failure.
std::string pg_sql(const std::string& sql, const std::string& schema = "");

}  // namespace sened::testing
