#include "identity/oidc_issuer.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

extern char** environ;

namespace signet::testing {

namespace {

const std::string kScript = std::string(SIGNET_TEST_TOOLS_DIR) + "/oidc_issuer.py";

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::unique_ptr<OidcIssuer> OidcIssuer::Start(std::string* error) {
  std::unique_ptr<OidcIssuer> issuer(new OidcIssuer());
  std::string log = issuer->dir_.File("serve.log");
  std::vector<std::string> args = {SIGNET_TEST_PYTHON,  kScript,  "serve", "--dir",
                                   issuer->dir_.path(), "--port", "0"};
#ifdef SIGNET_TEST_ISSUER_SEED
  // Keys and certificates made once per build tree, not once per test process.
  args.insert(args.end(), {"--seed", SIGNET_TEST_ISSUER_SEED});
#endif
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  auto argv = Argv(args);
  int rc = posix_spawn(&issuer->pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = "cannot start " + args[0] + ": " + std::strerror(rc);
    issuer->pid_ = -1;
    return nullptr;
  }
  std::string url_file = issuer->dir_.File("url");
  for (int i = 0; i < 1500; ++i) {  // 15 s: key generation and TLS setup
    std::string url = Trim(ToString(ReadFileBytes(url_file)));
    if (!url.empty()) {
      issuer->url_ = url;
      net::HttpOptions options;
      options.ca_bundle = issuer->ca_pem();
      options.retry.max_attempts = 1;
      issuer->http_ = net::MakeCurlHttpClient(options);
      return issuer;
    }
    int status = 0;
    if (waitpid(issuer->pid_, &status, WNOHANG) == issuer->pid_) {
      issuer->pid_ = -1;
      *error = "oidc_issuer.py exited: " + ToString(ReadFileBytes(log));
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  *error = "oidc_issuer.py did not write its url: " + ToString(ReadFileBytes(log));
  return nullptr;
}

OidcIssuer::~OidcIssuer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string OidcIssuer::RequestToken() const {
  return Trim(ToString(ReadFileBytes(dir_.File("request_token"))));
}

std::string OidcIssuer::Mint(const std::vector<std::string>& args) const {
  net::HttpRequest request;
  request.method = "POST";
  request.url = url_ + "/mint";
  request.headers = {{"Authorization", "Bearer " + RequestToken()},
                     {"Content-Type", "application/json"}};
  request.body = nlohmann::json{{"args", args}}.dump();
  auto response = http_->Send(request);
  if (!response || response->status != 200) return "";
  auto doc = nlohmann::json::parse(response->body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("token")) return "";
  return doc["token"].get<std::string>();
}

std::string OidcIssuer::MintCli(const std::vector<std::string>& extra) const {
  std::vector<std::string> args = {SIGNET_TEST_PYTHON, kScript, "mint", "--dir", dir_.path()};
  args.insert(args.end(), extra.begin(), extra.end());
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  auto argv = Argv(args);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  std::string out;
  if (rc == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (rc != 0) return "";
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "";
  return Trim(out);
}

int OidcIssuer::JwksHits() const {
  std::string hits = Trim(ToString(ReadFileBytes(dir_.File("jwks_hits"))));
  return hits.empty() ? 0 : std::stoi(hits);
}

}  // namespace signet::testing
