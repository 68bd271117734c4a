# Unit tests of the HTTP client (core/net) and the cloud KMS key backends
# (core/keys/awskms, ...). Included from tests/unit/CMakeLists.txt when
# SIGNET_WITH_CLOUD_KMS is ON; uses signet_unit_test() and
# signet_test_support from there.

# A loopback HTTP server thread for client tests (no Python, no network).
add_library(signet_test_http_server STATIC ${CMAKE_CURRENT_LIST_DIR}/net/test_http_server.cpp)
target_include_directories(signet_test_http_server PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(signet_test_http_server PUBLIC Threads::Threads)

signet_unit_test(signet_net_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/net/http_client_test.cpp
  DEPS signet_net signet_test_http_server)

# SigV4 (pure, AWS's published vectors) and the awskms backend against a
# loopback fake of KMS, STS, the ECS endpoint and IMDSv2.
signet_unit_test(signet_awskms_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/keys/sigv4_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/keys/awskms_test.cpp
  DEPS signet_keys_awskms signet_test_http_server signet_test_support
       nlohmann_json::nlohmann_json)
