// Signet GitHub Action: installs signet (signet-path, or a release tarball from
// signet-url checked against the pinned signet-sha256 and kept in the tool
// cache, else signet on PATH) and runs `signet --json sign|verify` on the
// files the globs match. signet finds the job's OIDC token itself
// (ACTIONS_ID_TOKEN_REQUEST_*, the job needs `permissions: id-token: write`):
// no token passes through this code, argv or the log.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const core = require('@actions/core');
const exec = require('@actions/exec');
const glob = require('@actions/glob');
const tc = require('@actions/tool-cache');

// Words of `args`; "double" or 'single' quotes keep spaces (no expansion).
function splitArgs(text) {
  return [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

async function sha256Of(file) {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

// The signet binary: signet-path, the verified signet-url tarball, or PATH.
async function installSignet() {
  const given = core.getInput('signet-path');
  if (given) return given;
  const url = core.getInput('signet-url');
  if (!url) return 'signet';
  const want = core.getInput('signet-sha256').trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(want)) {
    throw new Error('signet-sha256 must be the 64-hex-digit SHA-256 of the signet-url tarball (its .sha256 file)');
  }
  // Cached by the pinned hash: another tarball never satisfies this pin.
  const version = `0.0.0-sha256-${want.slice(0, 16)}`;
  let dir = tc.find('signet', version);
  if (!dir) {
    const tarball = await tc.downloadTool(url);
    const got = await sha256Of(tarball);
    if (got !== want) {
      throw new Error(`the signet-url tarball has SHA-256 ${got}, not signet-sha256 ${want}: fix the pin or the URL`);
    }
    dir = await tc.cacheDir(await tc.extractTar(tarball), 'signet', version);
  }
  const found = fs
    .readdirSync(dir, { recursive: true })
    .map((rel) => path.join(dir, rel))
    .find((p) => path.basename(p) === 'signet' && fs.statSync(p).isFile());
  if (!found) throw new Error('the signet-url tarball holds no "signet" binary');
  core.addPath(path.dirname(found));
  return found;
}

// One readable line from a failed run: signet's own error, else the exit code.
function errorLine(stderr, report) {
  const line = stderr.split('\n').reverse().find((l) => l.includes('error:'));
  if (line) return line.replace(/^.*?error:\s*/, '');
  const failed = report.find((r) => r.error);
  return failed ? failed.error.message : 'see the log above';
}

async function run() {
  try {
    const mode = core.getInput('mode') || 'sign';
    if (mode !== 'sign' && mode !== 'verify') throw new Error(`mode must be sign or verify, not "${mode}"`);
    const patterns = core.getInput('files', { required: true }).split(/\s+/).filter(Boolean);
    const globber = await glob.create(patterns.join('\n'), { matchDirectories: false });
    const files = await globber.glob();
    if (files.length === 0) throw new Error(`no file matches files: ${patterns.join(' ')}`);

    const signet = await installSignet();
    const args = ['--json', mode];
    const option = (flag, input) => {
      const value = core.getInput(input);
      if (value) args.push(flag, value);
    };
    if (mode === 'sign') {
      option('--key', 'key');
      option('--server', 'server');
      option('--tsa', 'tsa');
      option('--audience', 'audience');
    }
    option('--format', 'format');
    args.push(...splitArgs(core.getInput('args')), '--', ...files);

    const result = await exec.getExecOutput(signet, args, { ignoreReturnCode: true });
    const report = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    core.setOutput('report', JSON.stringify(report));
    const done = report.filter((r) => r.ok && r.file);
    core.setOutput('signed-files', done.map((r) => r.output || r.file).join('\n'));
    if (result.exitCode !== 0) {
      throw new Error(`signet ${mode} failed (exit ${result.exitCode}): ${errorLine(result.stderr, report)}`);
    }
    core.info(`signet ${mode}: ${done.length} file(s) OK`);
  } catch (err) {
    core.setFailed(err.message);
  }
}

module.exports = { run };
