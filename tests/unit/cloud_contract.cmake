# Unit tests of the azurekv:, gcpkms: and hashivault: key backends and their
# shared code (core/keys/cloud: CRC-32C, JOSE, JSON/OAuth plumbing). Included
# from tests/unit/CMakeLists.txt when SIGNET_WITH_CLOUD_KMS is ON; uses
# signet_unit_test() and signet_test_support from there. The services are
# played by in-process fakes (keys/cloud_fakes.h) that check each request;
# the loopback contract servers of tests/tools serve the interop tests.
signet_unit_test(signet_cloud_keys_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/keys/crc32c_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/keys/cloud_common_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/keys/azurekv_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/keys/gcpkms_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/keys/vault_test.cpp
  DEPS signet_keys_azurekv signet_keys_gcpkms signet_keys_vault signet_test_support
       nlohmann_json::nlohmann_json)
