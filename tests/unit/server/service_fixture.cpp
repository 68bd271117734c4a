#include "service_fixture.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/file.h"
#include "identity/api_token.h"

namespace signet::testing {

ServiceFixture::ServiceFixture(const std::function<void(nlohmann::json&)>& edit) {
  ec_key = SharedKey(KeyKind::kEcP256);
  TestPki pki = MakePki(ec_key);
  dir.Write("ec.key", PrivateKeyPkcs8Pem(ec_key));
  dir.Write("ec.pem", pki.ChainPem());
  EVP_PKEY* other = SharedKey(KeyKind::kRsa2048);
  TestPki other_pki = MakePki(other);
  dir.Write("other.key", PrivateKeyPkcs8Pem(other));
  dir.Write("other.pem", other_pki.ChainPem());

  nlohmann::json j = {{"listen", "127.0.0.1:0"},
                      {"plain_http", true},
                      {"api_tokens_file", "tokens.json"},
                      {"keys",
                       {{"ec", {{"uri", "file:ec.key"}, {"certificate", "ec.pem"}}},
                        {"other", {{"uri", "file:other.key"}, {"certificate", "other.pem"}}}}},
                      {"policy",
                       {{"rules",
                         {{{"name", "bots"},
                           {"keys", {"ec"}},
                           {"issuer", "signet:api-token"},
                           {"claims", {{"subject", "bot"}}},
                           {"formats", {"cms", "raw"}}},
                          {{"name", "secret-rule-of-other"},
                           {"keys", {"other"}},
                           {"issuer", "signet:api-token"},
                           {"claims", {{"subject", "stranger"}}}}}}}},
                      {"audit", {{"db", "sqlite:audit.db"}}},
                      {"limits", {{"max_plans_per_request", 8}}}};
  if (edit) edit(j);
  config_path = dir.Write("server.json", "// a test configuration\n" + j.dump(2));

  auto bot = identity::ApiTokenStore::Create(dir.File("tokens.json"), "bot", {"ec"});
  auto stranger = identity::ApiTokenStore::Create(dir.File("tokens.json"), "stranger", {"*"});
  EXPECT_TRUE(bot.has_value() && stranger.has_value());
  if (bot) bot_token = std::string(bot->Reveal());
  if (stranger) stranger_token = std::string(stranger->Reveal());

  auto loaded = server::LoadServerConfig(config_path);
  EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().message);
  if (loaded) config = *loaded;
  RegisterBuiltinKeyBackends(keys);
  RegisterBuiltinFormats(formats);
}

std::unique_ptr<server::SigningService> ServiceFixture::Start(std::unique_ptr<audit::Store> audit) {
  server::ServiceEnvironment env;
  env.keys = &keys;
  env.formats = &formats;
  env.log = &log;
  env.metrics = &metrics;
  env.audit = std::move(audit);
  auto service = server::SigningService::Create(config, std::move(env));
  EXPECT_TRUE(service.has_value()) << (service ? "" : service.error().message);
  return service ? std::move(*service) : nullptr;
}

SigningPlan ServiceFixture::Plan(const std::string& name) {
  std::string content;
  for (int i = 0; i < 20; ++i) content += name;
  std::string path = dir.Write(name, content);
  auto file = InputFile::Open(path);
  EXPECT_TRUE(file.has_value());
  PrepareOptions options;
  options.signature_algorithm = {SignatureScheme::kEcdsa, DigestAlgorithm::kSha256};
  auto plan = formats.Find("cms")->Prepare(*file, options);
  EXPECT_TRUE(plan.has_value());
  return *plan;
}

server::ServerRequest ServiceFixture::SignRequest(const std::string& token, const std::string& key,
                                                  const std::vector<SigningPlan>& plans) const {
  nlohmann::json list = nlohmann::json::array();
  for (const SigningPlan& p : plans) list.push_back(p.ToJson());
  server::ServerRequest r = Get("/v1/sign", token);
  r.method = "POST";
  r.body = nlohmann::json{{"key", key}, {"plans", list}}.dump();
  return r;
}

server::ServerRequest ServiceFixture::Get(const std::string& path, const std::string& token) const {
  server::ServerRequest r;
  r.method = "GET";
  r.target = path;
  r.path = path;
  r.client_address = "127.0.0.1:40000";
  if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
  return r;
}

std::vector<audit::Record> ServiceFixture::AuditRecords() const {
  std::vector<audit::Record> out;
  auto store = audit::OpenStore(config.audit_db);
  EXPECT_TRUE(store.has_value());
  if (!store) return out;
  auto status = (*store)->ForEach([&out](const audit::Record& r) -> Status {
    out.push_back(r);
    return {};
  });
  EXPECT_TRUE(status.has_value());
  return out;
}

}  // namespace signet::testing
