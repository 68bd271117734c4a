// Signet Azure Pipelines task: runs `signet --json sign|verify` on the files
// the globs match, with signet from the signetPath input (default: PATH).
// For a Signet server, signet requests the pipeline's OIDC token itself from
// SYSTEM_OIDCREQUESTURI (the agent's System.OidcRequestUri) with
// SYSTEM_ACCESSTOKEN (System.AccessToken, mapped into the step's env): the
// token never passes through this code, argv or the log.
'use strict';
const tl = require('azure-pipelines-task-lib/task');

// Words of `args`; "double" or 'single' quotes keep spaces (no expansion).
function splitArgs(text) {
  return [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

// One readable line from a failed run: signet's own error, else the exit code.
function errorLine(stderr, report) {
  const line = stderr.split('\n').reverse().find((l) => l.includes('error:'));
  if (line) return line.replace(/^.*?error:\s*/, '').trim();
  const failed = report.find((r) => r.error);
  return failed ? failed.error.message : 'see the log above';
}

function run() {
  try {
    const mode = tl.getInput('mode') || 'sign';
    if (mode !== 'sign' && mode !== 'verify') throw new Error(`mode must be sign or verify, not "${mode}"`);
    const patterns = tl.getInput('files', true).split(/\s+/).filter(Boolean);
    const root = tl.getVariable('System.DefaultWorkingDirectory') || process.cwd();
    const files = tl.findMatch(root, patterns).filter((f) => tl.stats(f).isFile());
    if (files.length === 0) throw new Error(`no file matches files: ${patterns.join(' ')}`);

    const args = ['--json', mode];
    const option = (flag, input) => {
      const value = tl.getInput(input);
      if (value) args.push(flag, value);
    };
    if (mode === 'sign') {
      option('--key', 'key');
      option('--server', 'server');
      option('--tsa', 'tsa');
      option('--audience', 'audience');
    }
    option('--format', 'format');
    args.push(...splitArgs(tl.getInput('args') || ''), '--', ...files);

    const signet = tl.getInput('signetPath') || 'signet';
    const result = tl.tool(signet).arg(args).execSync({ silent: false });
    if (result.error) throw new Error(`cannot run ${signet}: ${result.error.message}`);
    const report = (result.stdout || '')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const done = report.filter((r) => r.ok && r.file);
    tl.setVariable('report', JSON.stringify(report), false, true);
    tl.setVariable('signedFiles', done.map((r) => r.output || r.file).join('\n'), false, true);
    if (result.code !== 0) {
      throw new Error(`signet ${mode} failed (exit ${result.code}): ${errorLine(result.stderr || '', report)}`);
    }
    tl.setResult(tl.TaskResult.Succeeded, `signet ${mode}: ${done.length} file(s) OK`);
  } catch (err) {
    tl.setResult(tl.TaskResult.Failed, err.message);
  }
}

run();
