# The GitHub Action (plugins/github-action) under @github/local-action, and
# its esbuild bundle under node, against the signet built here. The script
# runs `npm ci` itself in a copy of the action in the build tree (skipped
# when node_modules already matches package-lock.json).
find_program(SIGNET_NPM npm)
if(SIGNET_NPM)
  add_test(NAME plugins.github_action
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/github/github_action.sh
            $<TARGET_FILE:signet> ${PROJECT_SOURCE_DIR}/tests/tools
            ${SIGNET_PLUGINS_DIR}/github-action ${CMAKE_CURRENT_BINARY_DIR}/github-action)
  set_tests_properties(plugins.github_action PROPERTIES
    LABELS plugins TIMEOUT 240 SKIP_RETURN_CODE 77)
endif()
