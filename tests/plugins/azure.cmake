# The Azure Pipelines task (plugins/azure-devops/SignetSign) under
# azure-pipelines-task-lib's MockTestRunner (node --test), against the signet
# built here. The script runs `npm ci` itself in a copy of the task in the
# build tree (skipped when node_modules already matches package-lock.json).
find_program(SIGNET_NPM npm)
if(SIGNET_NPM)
  add_test(NAME plugins.azure_task
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/azure/azure_task.sh
            $<TARGET_FILE:signet> ${PROJECT_SOURCE_DIR}/tests/tools
            ${SIGNET_PLUGINS_DIR}/azure-devops/SignetSign ${CMAKE_CURRENT_BINARY_DIR}/azure-task)
  set_tests_properties(plugins.azure_task PROPERTIES
    LABELS plugins TIMEOUT 180 SKIP_RETURN_CODE 77)
endif()
