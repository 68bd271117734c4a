# Server tests: the HTTP layer (real loopback sockets, plain and TLS),
# Prometheus metrics and JSON logs. The service's tests are appended by the
# lead.
add_library(signet_server_test_support STATIC server/http_test_util.cpp)
target_include_directories(signet_server_test_support PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/server)
target_link_libraries(signet_server_test_support PUBLIC signet_test_support OpenSSL::Crypto)

signet_unit_test(signet_server_http_test
  SOURCES server/http_server_test.cpp server/metrics_test.cpp server/log_test.cpp
  DEPS signet_server_http signet_net signet_server_test_support nlohmann_json::nlohmann_json)

# The signing service (requests straight to Handle(): file keys, SQLite
# audit), its configuration, and the remote client against a real loopback
# server.
signet_unit_test(signet_server_test
  SOURCES server/service_fixture.cpp server/service_test.cpp server/config_test.cpp
          server/remote_client_test.cpp
  DEPS signet_server signet_keys_builtin signet_formats_builtin signet_cli
       signet_test_support nlohmann_json::nlohmann_json)
