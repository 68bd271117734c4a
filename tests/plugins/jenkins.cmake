# The Jenkins shared library (plugins/jenkins): its steps run by a groovy
# harness (Debian's groovy; no Jenkins controller can run here) against the
# signet built here. Label "plugins".
add_test(NAME plugins.jenkins
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/jenkins/run.sh
          $<TARGET_FILE:signet> ${PROJECT_SOURCE_DIR}/tests/tools ${SIGNET_PLUGINS_DIR}/jenkins)
set_tests_properties(plugins.jenkins PROPERTIES
  LABELS plugins
  TIMEOUT 180
  SKIP_RETURN_CODE 77)
