// Shared by the signetSign and signetVerify steps (vars/): runs the signet
// CLI through `sh` with every word single-quoted for the shell. A token
// reaches signet only through the environment (withCredentials binds it to
// SIGNET_TOKEN); it is never part of the script text. Usage: README.md.
package signet.jenkins

import com.cloudbees.groovy.cps.NonCPS

class Cli implements Serializable {
  static final Map EXIT = [1: 'verification failed or signing refused', 2: 'bad input',
                           3: 'server or backend unavailable, retry', 4: 'internal error']

  // q: WORD as one shell word.
  static String q(Object word) { "'" + word.toString().replace("'", "'\\''") + "'" }

  static List list(Object x) { x instanceof Collection ? (x as List) : [x] }

  // The signet binary: cfg.signet, else one installed from cfg.signetUrl
  // (signet-VERSION-linux-x86_64.tar.gz, checked against cfg.signetSha256),
  // else `signet` from PATH.
  static String binary(def steps, Map cfg) {
    if (cfg.signet) return cfg.signet
    if (!cfg.signetUrl) return 'signet'
    if (!(cfg.signetSha256 ==~ /[0-9a-fA-F]{64}/)) {
      steps.error('signet: signetUrl needs signetSha256, the SHA-256 of the tarball (its .sha256 file)')
    }
    String dir = '.signet-install'
    int rc = steps.sh(returnStatus: true, script: """set -e
rm -rf ${q(dir)}; mkdir -p ${q(dir)}; cd ${q(dir)}
curl -fsSL --retry 3 -o signet.tar.gz ${q(cfg.signetUrl)}
echo ${q(cfg.signetSha256 + '  signet.tar.gz')} | sha256sum -c --quiet -
tar -xzf signet.tar.gz; find . -type f -name signet | head -n 1 >path""")
    String path = rc == 0 ? steps.readFile("${dir}/path").trim() : ''
    if (!path) {
      steps.error("signet: cannot install signet from ${cfg.signetUrl}: download failed, " +
                  "SHA-256 is not ${cfg.signetSha256}, or no signet in it")
    }
    return "${dir}/${path}"
  }

  // run: `signet --json WORDS >REPORT` with cfg.credentialsId's secret as
  // SIGNET_TOKEN; fails the build with signet's own message when it fails.
  static void run(def steps, Map cfg, String what, List words, String report) {
    String cmd = shellLine([binary(steps, cfg), '--json'] + words) + ' >' + q(report)
    int rc = 0
    if (cfg.credentialsId) {
      steps.withCredentials([steps.string(credentialsId: cfg.credentialsId, variable: 'SIGNET_TOKEN')]) {
        rc = steps.sh(script: cmd, returnStatus: true)
      }
    } else {
      rc = steps.sh(script: cmd, returnStatus: true)
    }
    if (rc == 0) return
    String why = 'see the log above'
    try { why = firstError(steps.readFile(report)) } catch (Exception ignored) { /* no report: the shell failed */ }
    steps.error("signet ${what} failed (exit ${rc}, ${EXIT[rc] ?: 'error'}): ${why}")
  }

  @NonCPS
  static String shellLine(List words) { words.collect { q(it) }.join(' ') }

  @NonCPS
  static String firstError(String report) {
    def m = report =~ /"message":"((?:[^"\\]|\\.)*)"/
    return m.find() ? m.group(1).replace('\\"', '"') : 'see the log above'
  }
}
