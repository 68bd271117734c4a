# The GitLab CI/CD component (plugins/gitlab) run by gitlab-ci-local (npm,
# pinned in tests/plugins/gitlab/package-lock.json; the script runs `npm ci`
# itself) against the signet built here. Label "plugins".
add_test(NAME plugins.gitlab
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/gitlab/run.sh
          $<TARGET_FILE:signet> ${PROJECT_SOURCE_DIR}/tests/tools ${SIGNET_PLUGINS_DIR}/gitlab)
set_tests_properties(plugins.gitlab PROPERTIES
  LABELS plugins
  TIMEOUT 180
  SKIP_RETURN_CODE 77)
