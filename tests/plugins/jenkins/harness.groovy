// Runs the Jenkins shared library's steps (plugins/jenkins/vars) in plain
// groovy: no Jenkins controller can run here, so this harness stands in for
// the pipeline steps they use -- sh (really runs /bin/sh -xe with the
// pipeline's environment plus the bound credentials, in the workspace),
// withCredentials + string (binds a secret to an environment variable for the
// body only), readFile, error (throws, as Jenkins' AbortException) and env.
// Every sh script text and all output are recorded to check no token leaks.
//
// usage: groovy -cp STUBS harness.groovy PLUGIN_DIR WORKSPACE SIGNET SERVER_URL
//        API_TOKEN_FILE ID_TOKEN_FILE TARBALL TARBALL_SHA256
// Prints "ok - ..." / "FAIL - ..." lines and "N passed, N failed"; exits 1 on
// any failure.

class StepError extends RuntimeException {
  StepError(String m) { super(m) }
}

def (pluginDir, wsPath, signet, serverUrl, apiTokFile, idTokFile, tgz, tgzSha) = args as List
File ws = new File(wsPath)
String apiTok = new File(apiTokFile).text.trim()
String idTok = new File(idTokFile).text.trim()
Map credentials = ['signet-api': apiTok, 'signet-oidc': idTok]
Map pipelineEnv = [SIGNET_CA_BUNDLE: "${wsPath}/pki/ca.pem".toString(), SIGNET_HTTP_MAX_ATTEMPTS: '1']
Map bound = [:]
List scripts = []
StringBuilder console = new StringBuilder()
StringBuilder everything = new StringBuilder()

def binding = new Binding()
binding.env = pipelineEnv
binding.error = { String msg -> throw new StepError(msg) }
binding.string = { Map m -> m }
binding.readFile = { String path -> new File(path.startsWith('/') ? path : "${wsPath}/${path}").text }
binding.withCredentials = { List bindings, Closure body ->
  bindings.each { b ->
    if (!credentials.containsKey(b.credentialsId)) throw new StepError("Could not find credentials entry with ID '${b.credentialsId}'")
    bound[b.variable] = credentials[b.credentialsId]
  }
  pipelineEnv.putAll(bound) // env.VAR sees it too, as in Jenkins
  try { return body() } finally { bindings.each { bound.remove(it.variable); pipelineEnv.remove(it.variable) } }
}
binding.sh = { Map m ->
  String script = m.script.toString()
  scripts << script
  def pb = new ProcessBuilder(['/bin/sh', '-xe', '-c', script]).directory(ws).redirectErrorStream(true)
  pb.environment().putAll(pipelineEnv)
  def p = pb.start()
  String out = p.inputStream.text
  int rc = p.waitFor()
  console << "+ sh (exit ${rc})\n" << out
  everything << out
  if (m.returnStatus) return rc
  if (rc != 0) throw new StepError("script returned exit code ${rc}")
  return m.returnStdout ? out : null
}

def loader = new GroovyClassLoader(this.class.classLoader)
loader.addClasspath("${pluginDir}/src")
def shell = new GroovyShell(loader, binding)
Map steps = ['signetSign', 'signetVerify'].collectEntries { [(it): shell.parse(new File("${pluginDir}/vars/${it}.groovy"))] }

int passed = 0, failed = 0
def check = { String what, boolean ok, String detail = '' ->
  if (ok) { passed++; println "ok   - ${what}" }
  else { failed++; println "FAIL - ${what}"; detail.readLines().take(30).each { println "       ${it}" } }
}
// step NAME CFG: runs the step; returns null, or the message it failed with.
def step = { String name, Map cfg ->
  console = new StringBuilder()
  try { steps[name].invokeMethod('call', cfg); return null }
  catch (StepError e) { return e.message ?: 'error without a message' }
  catch (Exception e) { return "unexpected ${e}" }
}
def exec = { List cmd -> def p = cmd.execute(null, ws); p.waitForProcessOutput(new StringBuilder(), new StringBuilder()); p.exitValue() }
def peerCms = { String f -> exec(['openssl', 'cms', '-verify', '-binary', '-inform', 'DER', '-in', "${f}.p7s", '-content', f,
                                  '-CAfile', 'pki/ca.pem', '-purpose', 'any', '-out', '/dev/null']) == 0 }
def text = { String f -> File x = new File(ws, f); x.exists() ? x.text : "(no ${f})" }
def reportOk = { String f, int n -> text(f).readLines().count { it.contains('"ok":true') } == n }
Map local = [key: 'file:pki/ec.key', args: ['--cert', 'pki/ec.chain.pem'], signet: signet]

// ---- file key: cms, a PE when there is one, odd file names ----------------------------------
String odd = "it's a \$(touch PWNED) file.bin"
new File(ws, odd).text = 'odd name'
List files = ['doc.bin', odd, '-dash.bin'] + (new File(ws, 'app.exe').exists() ? ['app.exe'] : [])
String r = step('signetSign', local + [files: files])
check('signetSign (file key) signs ' + files.size() + ' files', r == null, "${r}\n${console}")
check('signetSign: signet-sign.json has one ok line per file', reportOk('signet-sign.json', files.size()),
      text('signet-sign.json'))
check('signetSign: quoting keeps odd names whole and runs nothing from them',
      new File(ws, "${odd}.p7s").exists() && new File(ws, '-dash.bin.p7s').exists() && !new File(ws, 'PWNED').exists())
check('openssl cms -verify accepts doc.bin.p7s and the odd name\'s signature', peerCms('doc.bin') && peerCms(odd))
r = step('signetVerify', [files: files, trust: 'pki/ca.pem', signet: signet])
check('signetVerify accepts them all', r == null && reportOk('signet-verify.json', files.size()), "${r}\n${console}")
if (files.contains('app.exe')) {
  check('osslsigncode verify accepts the signed PE',
        ['which', 'osslsigncode'].execute().waitFor() != 0 || exec(['osslsigncode', 'verify', '-in', 'app.exe', '-CAfile', 'pki/ca.pem']) == 0)
}

// ---- failures: readable errors ------------------------------------------------------------------
r = step('signetSign', local + [files: ['doc.bin'], key: 'file:pki/missing.key'])
check('a wrong key fails the step with signet\'s message', r != null && r.startsWith('signet sign failed (exit 2, bad input)') &&
      r.contains('missing.key'), "message: ${r}")
new File(ws, 'tampered.bin').text = 'original'
step('signetSign', local + [files: ['tampered.bin'], format: 'cms'])
new File(ws, 'tampered.bin') << 'changed'
r = step('signetVerify', [files: ['tampered.bin'], trust: 'pki/ca.pem', signet: signet])
check('a tampered file fails signetVerify (exit 1) naming the file', r != null && r.startsWith('signet verify failed (exit 1') &&
      r.contains('tampered.bin'), "message: ${r}")
r = step('signetSign', [files: ['doc.bin']])
check('signetSign without key fails with a usage message', r == 'signetSign: files and key are required', "message: ${r}")

// ---- remote: API token and OIDC id token through withCredentials -------------------------------
['api': [credentialsId: 'signet-api', server: serverUrl, key: 'ec'],
 'oidc': [credentialsId: 'signet-oidc', key: "signet://${new URI(serverUrl).authority}/ec".toString()]].each { name, cfg ->
  new File(ws, "${name}.bin").text = "remote ${name}"
  r = step('signetSign', cfg + [files: ["${name}.bin".toString()], format: 'cms', signet: signet])
  check("signetSign remote (${name} token, ${cfg.credentialsId})", r == null && peerCms("${name}.bin"), "${r}\n${console}")
}
r = step('signetSign', [files: ['doc.bin'], server: serverUrl, key: 'ec', format: 'cms', signet: signet])
check('remote without a credential fails readably', r != null && r.startsWith('signet sign failed (exit '), "message: ${r}")
r = step('signetSign', [files: ['doc.bin'], server: serverUrl, key: 'ec', credentialsId: 'nope', signet: signet])
check('an unknown credentialsId fails the step', r != null && r.contains('nope'), "message: ${r}")
check('SIGNET_TOKEN is unbound after withCredentials', bound.isEmpty() && !pipelineEnv.containsKey('SIGNET_TOKEN'))

// ---- install from the release tarball -----------------------------------------------------------
r = step('signetSign', local.findAll { it.key != 'signet' } + [files: ['url.bin'], format: 'cms', signetUrl: "file://${tgz}", signetSha256: tgzSha])
check('signetUrl + signetSha256: installs signet and signs', r == null && peerCms('url.bin'), "${r}\n${console}")
r = step('signetSign', local.findAll { it.key != 'signet' } + [files: ['url.bin'], signetUrl: "file://${tgz}", signetSha256: '0' * 64])
check('a tarball with another SHA-256 is refused', r != null && r.contains('SHA-256 is not 000'), "message: ${r}\n${console}")

// ---- secrets --------------------------------------------------------------------------------------
boolean inScripts = scripts.any { it.contains(apiTok) || it.contains(idTok) }
check('no token in any sh script text (' + scripts.size() + ' scripts)', !inScripts)
check('no token in the output of any sh', !everything.toString().contains(apiTok) && !everything.toString().contains(idTok))

println "${passed} passed, ${failed} failed"
System.exit(failed == 0 ? 0 : 1)
