// signetVerify: verifies signed files with signet (README.md). Arguments:
//   files      paths to verify (a list, or one path), required
//   trust      CA certificates (PEM), or publicKey: the expected signer's key
//   format, args (extra signet verify arguments)
//   signet, or signetUrl + signetSha256: the binary (default: signet on PATH)
//   report     signet's JSON lines (default signet-verify.json)
// Fails the build with signet's message when a file does not verify.
import signet.jenkins.Cli

def call(Map cfg = [:]) {
  if (!cfg.files || !(cfg.trust || cfg.publicKey)) error('signetVerify: files and trust (or publicKey) are required')
  List words = ['verify', '--format', cfg.format ?: 'auto']
  if (cfg.trust) words += ['--trust', cfg.trust]
  if (cfg.publicKey) words += ['--public-key', cfg.publicKey]
  words += Cli.list(cfg.args ?: []) + ['--'] + Cli.list(cfg.files)
  Cli.run(this, cfg + [credentialsId: null], 'verify', words, cfg.report ?: 'signet-verify.json')
}
