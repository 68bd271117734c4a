# Unit tests of core/identity: claim normalisation, JWK parsing, API tokens,
# token discovery (fake environment and HTTP), and the JWT validator against
# a real loopback HTTPS issuer (tests/tools/oidc_issuer.py, python3 +
# python3-cryptography). Included from tests/unit/CMakeLists.txt.
# Debian's python3 (with python3-cryptography) when there is one: a version
# manager's shim on PATH costs a few hundred ms per start.
find_program(SIGNET_TEST_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT SIGNET_TEST_PYTHON3)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  set(SIGNET_TEST_PYTHON3 ${Python3_EXECUTABLE})
endif()

signet_unit_test(signet_identity_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/identity/normalize_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/identity/jwk_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/identity/api_token_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/identity/token_source_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/identity/oidc_issuer.cpp
          ${CMAKE_CURRENT_LIST_DIR}/identity/jwt_test.cpp
  DEPS signet_identity signet_test_support nlohmann_json::nlohmann_json)
target_compile_definitions(signet_identity_test PRIVATE
  SIGNET_TEST_TOOLS_DIR="${PROJECT_SOURCE_DIR}/tests/tools"
  SIGNET_TEST_PYTHON="${SIGNET_TEST_PYTHON3}"
  SIGNET_TEST_ISSUER_SEED="${CMAKE_CURRENT_BINARY_DIR}/oidc_issuer_seed")
