# Unit tests of the pe format and the RFC 3161 timestamp module (owned with
# them). Included from tests/unit/CMakeLists.txt, which defines
# signet_unit_test() and signet_test_support.

# An in-process RFC 3161 TSA (OpenSSL TS_RESP_CTX) with its own CA.
add_library(signet_test_tsa STATIC ${CMAKE_CURRENT_LIST_DIR}/timestamp/test_tsa.cpp)
target_include_directories(signet_test_tsa PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(signet_test_tsa PUBLIC signet_crypto signet_test_support OpenSSL::Crypto)

signet_unit_test(signet_timestamp_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/timestamp/rfc3161_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/timestamp/timestamper_test.cpp
  DEPS signet_timestamp signet_test_tsa)

# The formats tests link formats and crypto only (never keys).
signet_unit_test(signet_pe_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/formats/pe_test.cpp
  DEPS signet_formats_pe signet_timestamp_token signet_test_tsa nlohmann_json::nlohmann_json)
