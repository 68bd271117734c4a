# Unit tests of the PKCS#11 key backend (core/keys/pkcs11). Included from
# tests/unit/CMakeLists.txt:   include(keys/pkcs11.cmake)
#
# pkcs11_uri_test.cpp is pure. pkcs11_key_test.cpp creates real SoftHSM2
# tokens in a temporary directory with tests/tools/softhsm_token.sh (needs the
# Debian packages softhsm2, opensc and openssl), once per test process. The
# suite runs as one ctest test (one process, so one token set-up); run
# `signet_pkcs11_test --gtest_filter=...` directly for single cases.
if(NOT SIGNET_WITH_PKCS11)
  return()
endif()

set(SIGNET_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
    CACHE FILEPATH "SoftHSM2 PKCS#11 module used by the PKCS#11 tests")

add_executable(signet_pkcs11_test
  ${CMAKE_CURRENT_LIST_DIR}/pkcs11_uri_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pkcs11_key_test.cpp)
target_link_libraries(signet_pkcs11_test PRIVATE signet_keys_pkcs11 GTest::gtest_main)
# pkcs11_key_test.cpp checks the CKR mapping, which needs <p11-kit/pkcs11.h>.
target_include_directories(signet_pkcs11_test PRIVATE ${PKCS11_INCLUDE_DIR})
target_compile_definitions(signet_pkcs11_test PRIVATE
  SIGNET_SOFTHSM_TOKEN_SCRIPT="${PROJECT_SOURCE_DIR}/tests/tools/softhsm_token.sh"
  SIGNET_SOFTHSM_MODULE="${SIGNET_SOFTHSM_MODULE}")

add_test(NAME signet_pkcs11_test COMMAND signet_pkcs11_test)
set_tests_properties(signet_pkcs11_test PROPERTIES
  LABELS "unit;pkcs11"
  TIMEOUT 300)
