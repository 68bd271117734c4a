// signetSign: signs files with signet (README.md). Arguments:
//   files      paths to sign (a list, or one path), required
//   key        key URI (file:, pkcs11:, KMS, signet://HOST:PORT/NAME), or a key
//              name on `server`, required
//   server, format (auto|pe|cms|raw), tsa, args (extra signet sign arguments)
//   credentialsId  secret-text or oidc-provider id-token credential: the token
//              signet sends to its server (as SIGNET_TOKEN, never in the script)
//   signet, or signetUrl + signetSha256: the binary (default: signet on PATH)
//   report     signet's JSON lines (default signet-sign.json)
// Fails the build with signet's message when signing fails.
import signet.jenkins.Cli

def call(Map cfg = [:]) {
  if (!cfg.files || !cfg.key) error('signetSign: files and key are required')
  List words = ['sign', '--key', cfg.key, '--format', cfg.format ?: 'auto']
  if (cfg.server) words += ['--server', cfg.server]
  if (cfg.tsa) words += ['--tsa', cfg.tsa]
  words += Cli.list(cfg.args ?: []) + ['--'] + Cli.list(cfg.files)
  Cli.run(this, cfg, 'sign', words, cfg.report ?: 'signet-sign.json')
}
