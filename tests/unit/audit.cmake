# Audit stores (core/audit): one parameterised suite run against SQLite and
# PostgreSQL. PostgreSQL comes from a throwaway cluster that the fixture
# below starts under the build dir with tests/tools/pg_cluster.sh, so a plain
# `ctest` has it; the tests read its URL from the file the script writes.
#
# The executable is registered by hand rather than with signet_unit_test()
# because its tests need two more properties (FIXTURES_REQUIRED and
# ENVIRONMENT) than that function passes to gtest_discover_tests.

set(SIGNET_AUDIT_PG_DIR ${CMAKE_CURRENT_BINARY_DIR}/audit-pg)
set(SIGNET_PG_CLUSTER ${CMAKE_CURRENT_SOURCE_DIR}/../tools/pg_cluster.sh)

add_test(NAME audit.pg_cluster.start COMMAND ${SIGNET_PG_CLUSTER} start ${SIGNET_AUDIT_PG_DIR})
add_test(NAME audit.pg_cluster.stop COMMAND ${SIGNET_PG_CLUSTER} stop ${SIGNET_AUDIT_PG_DIR})
set_tests_properties(audit.pg_cluster.start PROPERTIES
  FIXTURES_SETUP signet_audit_pg LABELS unit TIMEOUT 120)
set_tests_properties(audit.pg_cluster.stop PROPERTIES
  FIXTURES_CLEANUP signet_audit_pg LABELS unit TIMEOUT 60)

add_executable(signet_audit_test
  audit/record_test.cpp audit/store_test.cpp audit/test_db.cpp)
target_link_libraries(signet_audit_test PRIVATE
  signet_audit signet_test_support SQLite::SQLite3 PostgreSQL::PostgreSQL
  GTest::gmock GTest::gtest GTest::gtest_main)
gtest_discover_tests(signet_audit_test
  PROPERTIES LABELS unit
             FIXTURES_REQUIRED signet_audit_pg
             ENVIRONMENT "SIGNET_TEST_PG_URL_FILE=${SIGNET_AUDIT_PG_DIR}/url"
  DISCOVERY_TIMEOUT 120)
