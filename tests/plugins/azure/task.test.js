// MockTestRunner tests of the Signet Azure Pipelines task (node --test),
// against a real signet; fixtures (keys, PE, loopback server, fake Azure OIDC
// endpoint) are made by azure_task.sh, which passes them in the environment.
'use strict';
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');

const E = process.env;
const mt = require(path.join(E.SIGNET_TASK_DIR, 'node_modules', 'azure-pipelines-task-lib', 'mock-test'));
let n = 0;

// Runs the task with the case; returns {tr, complete, vars}.
async function runTask(c) {
  const file = path.join(E.T, `case-${++n}.json`);
  c.variables = { 'System.DefaultWorkingDirectory': E.T, ...(c.variables || {}) };
  c.inputs = { signetPath: E.SIGNET, ...c.inputs };
  fs.writeFileSync(file, JSON.stringify(c));
  process.env.SIGNET_TASK_CASE = file;
  const tr = new mt.MockTestRunner(path.join(__dirname, 'run_task.js'), path.join(E.SIGNET_TASK_DIR, 'task.json'));
  tr.nodePath = process.execPath; // the installed Node 20, no download
  await tr.runAsync();
  fs.writeFileSync(file.replace('.json', '.log'), tr.stdout + tr.stderr);
  const m = tr.stdout.match(/##vso\[task\.complete result=(\w+);\](.*)/);
  const vars = {};
  for (const v of tr.stdout.matchAll(/##vso\[task\.setvariable variable=(\w+);isOutput=true;[^\]]*\](.*)/g)) {
    vars[v[1]] = v[2].replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
  }
  return { tr, result: m && m[1], message: m && m[2], vars };
}

function ok(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}
const cmsOk = (sig, data) =>
  ok('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', data, '-CAfile', E.CA, '-purpose', 'any', '-out', '/dev/null']);
const art = (f) => path.join(E.T, 'art', f);
const fileKey = { key: `file:${E.T}/pki/ec.key`, args: `--cert ${E.T}/pki/ec.chain.pem` };

test('file key, cms, two globs: Succeeded, outputs, openssl accepts', async () => {
  const { tr, result, vars } = await runTask({ inputs: { ...fileKey, files: 'art/*.bin art/*.txt', format: 'cms' } });
  assert.equal(result, 'Succeeded', tr.stdout);
  assert.ok(tr.succeeded);
  const files = vars.signedFiles.split('\n').map((f) => path.basename(f)).sort();
  assert.deepEqual(files, ['a.bin.p7s', 'b.txt.p7s']);
  const report = JSON.parse(vars.report);
  assert.equal(report.length, 2);
  assert.ok(report.every((r) => r.ok && r.format === 'cms'));
  cmsOk(art('a.bin.p7s'), art('a.bin'));
  cmsOk(art('b.txt.p7s'), art('b.txt'));
});

test('file key, PE: osslsigncode and signet verify accept it', async () => {
  const { tr, result, vars } = await runTask({ inputs: { ...fileKey, files: 'art/app.exe' } });
  assert.equal(result, 'Succeeded', tr.stdout);
  assert.equal(JSON.parse(vars.report)[0].format, 'pe');
  assert.match(ok('osslsigncode', ['verify', '-in', art('app.exe'), '-CAfile', E.CA]), /Succeeded/);
  assert.match(ok(E.SIGNET, ['verify', '--trust', E.CA, art('app.exe')]), /^OK /m);
});

test('remote: the pipeline OIDC token (System.OidcRequestUri + SYSTEM_ACCESSTOKEN in env)', async () => {
  fs.copyFileSync(art('b.txt'), art('remote.txt'));
  const { tr, result, vars } = await runTask({
    inputs: { files: 'art/remote.txt', server: E.SRV_URL, key: 'ec' },
    variables: { 'System.OidcRequestUri': `${E.OIDC_URL}/azure/oidctoken` },
    env: { SYSTEM_ACCESSTOKEN: fs.readFileSync(E.REQ_TOKEN_FILE, 'utf8').trim() },
  });
  assert.equal(result, 'Succeeded', tr.stdout + tr.stderr);
  assert.ok(vars.signedFiles.endsWith('remote.txt.p7s'));
  cmsOk(art('remote.txt.p7s'), art('remote.txt'));
  const token = fs.readFileSync(E.REQ_TOKEN_FILE, 'utf8').trim();
  assert.ok(!(tr.stdout + tr.stderr).includes(token), 'the access token is in the log');
});

test('remote without the access token: Failed, names the missing variable', async () => {
  fs.copyFileSync(art('b.txt'), art('noauth.txt'));
  const { tr, result, message } = await runTask({
    inputs: { files: 'art/noauth.txt', server: E.SRV_URL, key: 'ec' },
    variables: { 'System.OidcRequestUri': `${E.OIDC_URL}/azure/oidctoken` },
  });
  assert.equal(result, 'Failed', tr.stdout);
  assert.ok(tr.failed);
  assert.match(message, /^signet sign failed \(exit \d\): .*no identity token found.*SYSTEM_ACCESSTOKEN unset/);
});

test('wrong key: Failed with signet\'s one-line error, nothing signed', async () => {
  fs.copyFileSync(art('b.txt'), art('c.txt'));
  const { tr, result, message, vars } = await runTask({ inputs: { files: 'art/c.txt', key: `file:${E.T}/pki/missing.key` } });
  assert.equal(result, 'Failed', tr.stdout);
  assert.match(message, /^signet sign failed \(exit 2\): cannot open .*missing\.key/);
  assert.ok(tr.createdErrorIssue(message));
  assert.equal(vars.signedFiles, '');
  assert.ok(!fs.existsSync(art('c.txt.p7s')));
});

test('verify: a good file Succeeded, a tampered one Failed', async () => {
  let r = await runTask({ inputs: { mode: 'verify', files: 'art/a.bin', args: `--trust ${E.CA}` } });
  assert.equal(r.result, 'Succeeded', r.tr.stdout);
  assert.ok(JSON.parse(r.vars.report)[0].signer.startsWith('CN='));
  const bad = Buffer.from(fs.readFileSync(art('a.bin')));
  bad[10] ^= 1;
  fs.writeFileSync(art('bad.bin'), bad);
  fs.copyFileSync(art('a.bin.p7s'), art('bad.bin.p7s'));
  r = await runTask({ inputs: { mode: 'verify', files: 'art/bad.bin', args: `--trust ${E.CA}` } });
  assert.equal(r.result, 'Failed', r.tr.stdout);
  assert.match(r.message, /^signet verify failed \(exit 1\): /);
});

test('no matching file: Failed', async () => {
  const { result, message } = await runTask({ inputs: { ...fileKey, files: 'art/*.nothing' } });
  assert.equal(result, 'Failed');
  assert.match(message, /^no file matches files: art\/\*\.nothing/);
});
