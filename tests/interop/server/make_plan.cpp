// signet_make_plan: prints what a remote client would send to the Signet
// server for one file -- a SigningPlan (formats/format.h), or a whole
// POST /v1/sign body (remote/protocol.h) -- so that the end-to-end tests can
// talk to the server with curl and the load generator can replay prepared
// bodies without hashing anything.
//
//   signet_make_plan [--format cms|pe|raw] [--key-type ec|rsa] [--digest sha256]
//                    [--key NAME [--count N]] [--tamper MODE] FILE
//
//   --key NAME   print {"key": NAME, "plans": [plan x N]} instead of one plan;
//                the copies are named FILE, FILE.1, FILE.2, ...
//   --tamper     content-digest: flip a bit of the declared content digest
//                (the signed attributes then commit to another digest);
//                tbs-digest: flip a bit of the to-be-signed digest;
//                size: declare a size of 1 TiB.
//
// Exit codes: 0 printed, 2 bad usage or input. Single-threaded test tool.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "crypto/algorithm.h"
#include "formats/format.h"

namespace {

int Usage(const std::string& why) {
  std::cerr << "signet_make_plan: " << why
            << "\nusage: signet_make_plan [--format cms|pe|raw] [--key-type ec|rsa] "
               "[--digest sha256|sha384|sha512] [--key NAME [--count N]] "
               "[--tamper content-digest|tbs-digest|size] FILE\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string format_name = "auto";
  std::string key_type = "ec";
  std::string digest = "sha256";
  std::string key;
  std::string tamper;
  std::string path;
  long count = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string n;
    bool ok = true;
    if (a == "--format") {
      ok = value(format_name);
    } else if (a == "--key-type") {
      ok = value(key_type);
    } else if (a == "--digest") {
      ok = value(digest);
    } else if (a == "--key") {
      ok = value(key);
    } else if (a == "--tamper") {
      ok = value(tamper);
    } else if (a == "--count") {
      ok = value(n);
      if (ok) count = std::strtol(n.c_str(), nullptr, 10);
    } else if (!a.starts_with("--") && path.empty()) {
      path = std::string(a);
    } else {
      return Usage("unknown argument " + std::string(a));
    }
    if (!ok) return Usage(std::string(a) + " needs a value");
  }
  if (path.empty()) return Usage("no FILE");
  if (count < 1 || count > 100000) return Usage("--count must be 1..100000");

  signet::FormatRegistry formats;
  signet::RegisterBuiltinFormats(formats);
  auto artifact = signet::InputFile::Open(path);
  if (!artifact) return Usage(artifact.error().message);
  auto format = formats.ForSigning(*artifact, format_name);
  if (!format) return Usage(format.error().message);
  auto alg = signet::ParseDigestAlgorithm(digest);
  if (!alg) return Usage(alg.error().message);

  signet::PrepareOptions options;
  signet::KeyType type = key_type == "rsa" ? signet::KeyType::kRsa : signet::KeyType::kEcP256;
  if (key_type != "rsa" && key_type != "ec") return Usage("--key-type must be ec or rsa");
  options.signature_algorithm.scheme = signet::DefaultScheme(type, false);
  options.signature_algorithm.digest = *alg;
  auto plan = (*format)->Prepare(*artifact, options);
  if (!plan) return Usage(plan.error().message);

  if (tamper == "content-digest") {
    if (plan->content_digest.empty()) return Usage("the plan has no content digest");
    plan->content_digest[0] ^= 0x01;
  } else if (tamper == "tbs-digest") {
    if (plan->to_be_signed_digest.empty()) return Usage("the plan has no to-be-signed digest");
    plan->to_be_signed_digest[0] ^= 0x01;
  } else if (tamper == "size") {
    plan->artifact_size = std::uint64_t{1} << 40;
  } else if (!tamper.empty()) {
    return Usage("unknown --tamper " + tamper);
  }

  nlohmann::json out;
  if (key.empty()) {
    out = plan->ToJson();
  } else {
    nlohmann::json plans = nlohmann::json::array();
    std::string name = plan->artifact;
    for (long i = 0; i < count; ++i) {
      plan->artifact = i == 0 ? name : name + "." + std::to_string(i);
      plans.push_back(plan->ToJson());
    }
    out = {{"key", key}, {"plans", std::move(plans)}};
  }
  std::cout << out.dump() << "\n";
  return std::cout.good() ? 0 : 2;
}
