// signet server --config FILE [--port N] [--log-level L]
// signet server check --config FILE
// signet server token create NAME --scope KEY... --config FILE
#include <iostream>
#include <memory>
#include <ostream>

#include "cli/command.h"
#include "identity/api_token.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/service.h"

namespace signet::cli {
namespace {

class ServerCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    server_ = app.add_subcommand(
        "server", "Run the Signet signing server (keys, OIDC/API-token auth, policy, audit log)");
    server_->footer(
        "The configuration (JSON with comments) is described in docs/server.md. The server "
        "listens on HTTPS; plain HTTP needs \"plain_http\": true in the file (loopback tests "
        "only). SIGINT/SIGTERM stop it gracefully.\n" +
        std::string(kExitCodeHelp));
    server_->add_option("--config", config_path_, "Server configuration file")
        ->envname("SIGNET_SERVER_CONFIG");
    server_->add_option("--port", port_, "Listen on this port instead of the configured one");
    server_->add_option("--db", db_,
                        "Audit store URL instead of the configured one "
                        "(sqlite:PATH or postgresql://...)");
    server_->add_option("--log-level", log_level_, "debug, info, warn or error")
        ->default_val("info");
    server_->add_option("--port-file", port_file_,
                        "Write the bound port to this file once listening (for scripts)");

    check_ =
        server_->add_subcommand("check", "Load the configuration and open every key, then exit");
    check_->add_option("--config", config_path_, "Server configuration file")
        ->envname("SIGNET_SERVER_CONFIG");

    CLI::App* token = server_->add_subcommand("token", "Manage scoped API tokens");
    token->require_subcommand(1);
    create_ = token->add_subcommand(
        "create", "Create an API token (printed once; only its SHA-256 is stored)");
    create_->add_option("name", token_name_, "Token name (A-Z a-z 0-9 . _ -)")->required();
    create_->add_option("--scope", scopes_, "Key names the token may use ('*': all)")
        ->required()
        ->take_all();
    create_->add_option("--config", config_path_, "Server configuration file")
        ->envname("SIGNET_SERVER_CONFIG");
    return server_;
  }

  int Run(Context& ctx) override {
    if (config_path_.empty()) {
      return ReportError(ctx, "",
                         Error{ErrorCode::kInvalidArgument,
                               "signet server needs --config FILE (see docs/server.md)"});
    }
    auto config = server::LoadServerConfig(config_path_);
    if (!config) return ReportError(ctx, config_path_, config.error());
    if (create_->parsed()) return CreateToken(ctx, *config);
    if (port_) config->listen_port = *port_;
    if (!db_.empty()) config->audit_db = db_;
    return Serve(ctx, *config, check_->parsed());
  }

 private:
  int CreateToken(Context& ctx, const server::ServerConfig& config) {
    if (config.api_tokens_file.empty()) {
      return ReportError(ctx, config_path_,
                         Error{ErrorCode::kInvalidArgument,
                               "no \"api_tokens_file\" in the configuration: add one first"});
    }
    for (const std::string& scope : scopes_) {
      if (scope != "*" && !config.keys.contains(scope)) {
        return ReportError(ctx, config_path_,
                           Error{ErrorCode::kInvalidArgument,
                                 "--scope " + scope + ": no such key in the configuration"});
      }
    }
    auto token = identity::ApiTokenStore::Create(config.api_tokens_file, token_name_, scopes_);
    if (!token) return ReportError(ctx, config.api_tokens_file, token.error());
    // The token is shown once, on stdout, for the operator to hand over; it
    // is stored only as a hash.
    if (ctx.json) {
      PrintJson(ctx, {{"name", token_name_}, {"scopes", scopes_}, {"token", token->Reveal()}});
    } else {
      *ctx.out << token->Reveal() << "\n";
      if (!ctx.quiet) {
        *ctx.err << "signet: created API token " << token_name_ << " (stored as a SHA-256 in "
                 << config.api_tokens_file << "); it is not shown again\n";
      }
    }
    return kExitOk;
  }

  int Serve(Context& ctx, const server::ServerConfig& config, bool check_only) {
    auto level = server::ParseLogLevel(log_level_);
    if (!level) {
      return ReportError(ctx, "",
                         Error{ErrorCode::kInvalidArgument,
                               "--log-level " + log_level_ + ": use debug, info, warn or error"});
    }
    server::Logger log(std::cerr, *level);
    server::MetricsRegistry metrics;
    server::ServiceEnvironment env;
    env.keys = &ctx.keys;
    env.formats = &ctx.formats;
    env.log = &log;
    env.metrics = &metrics;
    auto service = server::SigningService::Create(config, std::move(env));
    if (!service) return ReportError(ctx, config_path_, service.error());
    if (check_only) {
      if (!ctx.quiet) {
        *ctx.out << config_path_ << ": ok (" << config.keys.size() << " keys, "
                 << config.issuers.size() << " issuers)\n";
      }
      return kExitOk;
    }

    server::HttpServerOptions options;
    options.listen_address = config.listen_host;
    options.port = config.listen_port;
    options.plain_http = config.plain_http;
    options.tls_certificate_path = config.tls_certificate_path;
    options.tls_key_path = config.tls_key_path;
    options.threads = config.threads;
    options.max_body_bytes = config.max_body_bytes;
    options.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
    options.logger = &log;
    options.metrics = &metrics;
    auto wait_for_signal = server::BlockTerminationSignals();
    server::SigningService* handler = service->get();
    auto http = server::HttpServer::Start(
        options, [handler](const server::ServerRequest& r) { return handler->Handle(r); });
    if (!http) return ReportError(ctx, config_path_, http.error());
    log.Info("listening", {{"address", config.listen_host},
                           {"port", static_cast<int>((*http)->port())},
                           {"tls", !config.plain_http},
                           {"keys", static_cast<int>(config.keys.size())}});
    if (!port_file_.empty()) {
      auto written = WriteFileAtomically(port_file_, ToBytes(std::to_string((*http)->port())));
      if (!written) {
        (*http)->Stop();
        return ReportError(ctx, port_file_, written.error());
      }
    }
    int signal = wait_for_signal();
    log.Info("stopping", {{"signal", signal}});
    (*http)->Stop();
    log.Info("stopped");
    return kExitOk;
  }

  CLI::App* server_ = nullptr;
  CLI::App* check_ = nullptr;
  CLI::App* create_ = nullptr;
  std::string config_path_;
  std::optional<std::uint16_t> port_;
  std::string db_;
  std::string log_level_ = "info";
  std::string port_file_;
  std::string token_name_;
  std::vector<std::string> scopes_;
};

}  // namespace

std::unique_ptr<Command> MakeServerCommand() { return std::make_unique<ServerCommand>(); }

}  // namespace signet::cli
