// The task-mock-runner script MockTestRunner starts for one case: the case
// (inputs, variables, env) is the JSON file SIGNET_TASK_CASE;
// the task is SIGNET_TASK_DIR/index.js with the real azure-pipelines-task-lib
// (run(true): no mocked task lib, so the real signet runs).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.SIGNET_TASK_DIR;
const mr = require(path.join(dir, 'node_modules', 'azure-pipelines-task-lib', 'mock-run'));
const c = JSON.parse(fs.readFileSync(process.env.SIGNET_TASK_CASE, 'utf8'));
const tmr = new mr.TaskMockRunner(path.join(dir, 'index.js'));
for (const [k, v] of Object.entries(c.inputs || {})) tmr.setInput(k, v);
// The agent exports non-secret variables as environment variables.
for (const [k, v] of Object.entries(c.variables || {})) process.env[k.replace(/\./g, '_').toUpperCase()] = v;
// A secret mapped into the step's env (env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)).
for (const [k, v] of Object.entries(c.env || {})) process.env[k] = v;
tmr.run(true);
